/**
 * Run provenance outside the content hash: the CLI stamps wall times and
 * hosts from the run cache into the files it writes (reports/out and
 * publish), while the cached outputs keep results only.
 */
import { assert, assertEquals } from "../assert.ts";
import { fakeStage, PARAMS, stubModule, tempProject } from "./_project.ts";
import { runCli } from "../../pipeline/cli.ts";
import { decodeText, encodeText } from "../../pipeline/artifact.ts";
import { readLock } from "../../pipeline/lock.ts";
import { describeHost } from "../../pipeline/job.ts";
import type { RunProvenance, Stage } from "../../pipeline/stage.ts";
import { commandLine, runContext } from "../../pipeline/provenance.ts";
import { stampReport } from "../../stages/report/stamp.ts";

/** source → report, whose `out` is written as page.txt and stamped with the runs. */
function stages(
  p: Awaited<ReturnType<typeof tempProject>>,
  seen: RunProvenance[],
): Stage[] {
  const module = (name: string) => stubModule(p, name);
  const source = fakeStage(p, "source", { module: module("source") });
  return [
    { ...source, run: (ctx) => (ctx.timings?.({ work: 7 }), source.run(ctx)) },
    fakeStage(p, "report", {
      module: module("report"),
      inputs: { in: { stage: "source", output: "out" } },
      files: { out: "page.txt" },
      stamp(output, bytes, runs) {
        seen.push(runs);
        const lines = [...runs.lineage, runs.instance].map((r) =>
          `${r.id} ${r.key.slice(0, 8)} ${r.host} ${JSON.stringify(r.timings)}`
        );
        return encodeText(
          `${decodeText(bytes)}\n${output}:\n${lines.join("\n")}`,
        );
      },
    }),
  ];
}

async function cli(root: string, stageList: Stage[], args: string[]) {
  const { log } = console;
  console.log = () => {};
  try {
    return await runCli({
      project: {
        root,
        cacheDir: `${root}/.cache`,
        lockPath: `${root}/test.lock`,
        stages: stageList,
      },
      defaultExperiment: "t",
      experiments: () => ["t"],
      loadExperiment: () => Promise.resolve(PARAMS),
      outDir: `${root}/out`,
      reportStages: ["report"],
    }, args);
  } finally {
    console.log = log;
  }
}

Deno.test("the CLI stamps run provenance into written and published files; the cached output stays unstamped", async () => {
  const seen: RunProvenance[] = [];
  const p = await tempProject((q) => stages(q, seen));
  const list = p.engine.project.stages;
  assertEquals(await cli(p.root, list, ["reproduce"]), 0);
  const entries = (await readLock(`${p.root}/test.lock`)).experiments.t!;
  const [source, report] = [entries.source!, entries.report!];
  const host = describeHost();
  const expected = [
    `source ${source.key.slice(0, 8)} ${host} {"work":7}`,
    `report ${report.key.slice(0, 8)} ${host} undefined`,
  ];
  const cached = decodeText(
    (await p.engine.store.get(report.outputs.out!))!,
  );
  assert(!cached.includes(host), "the cached output has no host");
  assertEquals(
    await Deno.readTextFile(`${p.root}/out/t/page.txt`),
    `${cached}\nout:\n${expected.join("\n")}`,
  );
  // The run records are the lock's provenance fields, as the run cache holds them.
  assertEquals(seen[0]!.lineage[0]!.seconds, source.seconds);
  assertEquals(seen[0]!.instance.finished, report.finished);

  // Published from the cache: the same stamp, from the same run records.
  assertEquals(
    await cli(p.root, list, ["publish", `${p.root}/pub`]),
    0,
  );
  assertEquals(
    await Deno.readTextFile(`${p.root}/pub/page.txt`),
    `${cached}\nout:\n${expected.join("\n")}`,
  );

  // A --force rerun: same output hashes in the lock, and it stamps again.
  assertEquals(await cli(p.root, list, ["reproduce", "--force"]), 0);
  const again = (await readLock(`${p.root}/test.lock`)).experiments.t!;
  assertEquals(again.report!.outputs, report.outputs);
  assertEquals(again.source!.outputs, source.outputs);
  assertEquals(seen.length, 3);
});

/** Runs git in `dir`; its trimmed stdout. */
async function git(dir: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("git", {
    args: ["-c", "user.name=t", "-c", "user.email=t@t", ...args],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("the written report holds the commit, the date and the command; the cached report holds none of them", async () => {
  const p = await tempProject((q) => {
    const source = fakeStage(q, "source", {
      module: q.writeModule("source.ts", "export const source = 1;\n"),
    });
    const report: Stage = {
      name: "report",
      module: q.writeModule("report.ts", "export const report = 1;\n"),
      params: [],
      inputs: { in: { stage: "source", output: "out" } },
      outputs: ["html"],
      files: { html: "index.html" },
      stamp: stampReport,
      run: (ctx) => ({
        html: encodeText(
          `<header></header><p>${
            decodeText(ctx.input("in"))
          }</p><!--run-provenance--><!--/run-provenance-->`,
        ),
      }),
    };
    return [source, report];
  });
  await git(p.root, "init", "-q");
  await git(p.root, "add", "src");
  await git(p.root, "commit", "-q", "-m", "first");
  const head = await git(p.root, "rev-parse", "HEAD");
  const list = p.engine.project.stages;
  const args = ["reproduce", "--set", "a.x=2"];
  assertEquals(await cli(p.root, list, args), 0);
  const entries = (await readLock(`${p.root}/test.lock`)).experiments.t!;
  const cached = decodeText(
    (await p.engine.store.get(entries.report!.outputs.html!))!,
  );
  // (This test's experiment loader ignores --set: no variant folder.)
  const written = await Deno.readTextFile(`${p.root}/out/t/index.html`);
  assert(written.includes(`<code>${head}</code>`), written);
  assert(
    written.includes("<code>deno task reproduce --set a.x=2</code>"),
    written,
  );
  assert(/<th>Written<\/th><td>\d{4}-\d\d-\d\dT/.test(written), written);
  assert(!cached.includes(head), "the cached report names no commit");
  assert(!cached.includes("Commit"), "nor a command or date");

  // A tracked file edited: the commit is marked as having uncommitted changes.
  await Deno.writeTextFile(`${p.root}/src/source.ts`, "// edited\n");
  assertEquals(await runContext("x", p.root).then((c) => c.dirty), true);
  await Deno.remove(p.root, { recursive: true });
});

Deno.test("runContext() says 'unknown' outside a git repository", async () => {
  const dir = await Deno.makeTempDir();
  const context = await runContext(
    "deno task report",
    dir,
    () => new Date("2026-01-02T03:04:05Z"),
  );
  assertEquals(context, {
    commit: "unknown",
    date: "2026-01-02T03:04:05.000Z",
    command: "deno task report",
  });
  assertEquals(
    commandLine(["reproduce", "--set", "name=it's"]),
    `deno task reproduce --set 'name=it'\\''s'`,
  );
  await Deno.remove(dir);
});
