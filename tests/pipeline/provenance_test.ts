/**
 * Run provenance outside the content hash: the CLI stamps wall times and
 * hosts from the run cache into the files it writes (reports/out and
 * publish), while the cached outputs keep results only.
 */
import { assert, assertEquals } from "../assert.ts";
import { fakeStage, PARAMS, tempProject } from "./_project.ts";
import { runCli } from "../../pipeline/cli.ts";
import { decodeText, encodeText } from "../../pipeline/artifact.ts";
import { readLock } from "../../pipeline/lock.ts";
import { describeHost } from "../../pipeline/job.ts";
import type { RunProvenance, Stage } from "../../pipeline/stage.ts";

/** source → report, whose `out` is written as page.txt and stamped with the runs. */
function stages(
  p: Awaited<ReturnType<typeof tempProject>>,
  seen: RunProvenance[],
): Stage[] {
  const module = (name: string) =>
    p.writeModule(`${name}.ts`, `export const ${name} = 1;\n`);
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
