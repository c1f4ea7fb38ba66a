/**
 * `reproduce --check`: cached instances rerun from their cached inputs in a
 * scratch area; a nondeterministic stage is named with its output, a
 * deterministic one passes, nothing is cached and the lock is untouched, and
 * what is not cached is reported, not passed.
 */
import { assert, assertEquals } from "../assert.ts";
import {
  fakeStage,
  PARAMS,
  stubModule,
  type TempProject,
  tempProject,
} from "./_project.ts";
import { checkReproduction, describeCheck } from "../../pipeline/check.ts";
import { runCliCaptured } from "./commands/_cli.ts";
import { encodeText } from "../../pipeline/artifact.ts";
import { sha256 } from "../../pipeline/hash.ts";
import type { Stage } from "../../pipeline/stage.ts";

/**
 * source → noisy (Math.random in its output) → after; `resumer` writes its
 * answer from whether its scratch folder already holds state, like training.
 */
function stages(p: TempProject): Stage[] {
  const module = (name: string) => stubModule(p, name);
  return [
    fakeStage(p, "source", { module: module("source"), params: ["a.x"] }),
    {
      name: "noisy",
      module: module("noisy"),
      params: [],
      inputs: { in: { stage: "source", output: "out" } },
      outputs: ["out", "stable"],
      run() {
        p.runs.push("noisy");
        return {
          out: encodeText(`noise ${Math.random()}`),
          stable: encodeText("always the same"),
        };
      },
    },
    fakeStage(p, "after", {
      module: module("after"),
      inputs: { in: { stage: "noisy", output: "stable" } },
    }),
    {
      name: "resumer",
      module: module("resumer"),
      params: [],
      inputs: { in: { stage: "source", output: "out" } },
      outputs: ["out"],
      async run(ctx) {
        p.runs.push("resumer");
        const state = `${ctx.scratchDir}/state`;
        const resumed = await Deno.stat(state).then(() => true, () => false);
        return { out: encodeText(resumed ? "resumed" : "fresh") };
      },
    },
  ];
}

/** Every file under `dir` with the hash of its bytes, sorted: the cache's whole state. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const path = `${d}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else {out.push(
          `${path.slice(dir.length)} ${sha256(await Deno.readFile(path))}`,
        );}
    }
  };
  await walk(dir);
  return out.sort();
}

Deno.test("checkReproduction() names the nondeterministic instance and output, passes the rest, and writes nothing", async () => {
  const p = await tempProject(stages);
  const first = await p.engine.reproduce({ experiment: "t", params: PARAMS });
  assertEquals(first.map((r) => r.outcome), ["ran", "ran", "ran", "ran"]);
  const cacheBefore = await tree(`${p.root}/.cache`);
  const lockBefore = await Deno.readFile(`${p.root}/test.lock`);
  p.runs.length = 0;

  const results = await checkReproduction(p.engine, { params: PARAMS });
  assertEquals(
    results.map((r) => [r.id, r.outcome]),
    [
      ["source", "same"],
      ["noisy", "differs"],
      ["after", "same"],
      ["resumer", "same"],
    ],
  );
  const noisy = results[1]!;
  const cachedOut = first[1]!.outputs!.out!;
  assertEquals(noisy.differences!.map((d) => [d.output, d.cached]), [
    ["out", cachedOut],
  ]);
  assert(noisy.differences![0]!.rerun !== cachedOut);
  // Every cached instance reran once, each from its cached inputs.
  assertEquals(p.runs.sort(), ["after", "noisy", "resumer", "source"]);
  // Nothing new in the cache, the lock file byte for byte as it was, no scratch left.
  assertEquals(await tree(`${p.root}/.cache`), cacheBefore);
  assertEquals(await Deno.readFile(`${p.root}/test.lock`), lockBefore);

  const { lines, ok } = describeCheck(results);
  assertEquals(ok, false);
  assertEquals(lines[0], "same        source");
  assertEquals(
    lines[1],
    `DIFFERS     noisy: output 'out' was ${
      cachedOut.slice(0, 12)
    }, rerun gives ${noisy.differences![0]!.rerun.slice(0, 12)}`,
  );
  assertEquals(
    lines.at(-1),
    "3 of 4 instance(s) reproduced their cached outputs bit for bit; 1 differ",
  );
});

Deno.test("checkReproduction() of a deterministic subgraph passes; a rerun never resumes a cached run's scratch state", async () => {
  const p = await tempProject(stages);
  const [source, , , resumer] = await p.engine.reproduce({
    experiment: "t",
    params: PARAMS,
  });
  // State left in the real scratch folder of resumer's key (as an interrupted run leaves it).
  const real = `${p.root}/.cache/scratch/${resumer!.key}`;
  await Deno.mkdir(real, { recursive: true });
  await Deno.writeTextFile(`${real}/state`, "epoch 3");
  p.runs.length = 0;
  const results = await checkReproduction(p.engine, {
    params: PARAMS,
    targets: ["resumer"],
  });
  assertEquals(results.map((r) => [r.id, r.outcome]), [
    ["source", "same"],
    ["resumer", "same"],
  ]);
  assertEquals(results[0]!.key, source!.key);
  assertEquals(p.runs.sort(), ["resumer", "source"]);
  assertEquals(describeCheck(results), {
    lines: [
      "same        source",
      "same        resumer",
      "2 of 2 instance(s) reproduced their cached outputs bit for bit",
    ],
    ok: true,
  });
  assertEquals(await Deno.readTextFile(`${real}/state`), "epoch 3");
});

Deno.test("checkReproduction() reports instances that are not cached and fails, checking the cached rest", async () => {
  const p = await tempProject(stages);
  await p.engine.reproduce({
    experiment: "t",
    params: PARAMS,
    targets: ["source"],
  });
  p.runs.length = 0;
  const results = await checkReproduction(p.engine, {
    params: PARAMS,
    targets: ["after"],
  });
  assertEquals(results.map((r) => [r.id, r.outcome]), [
    ["source", "same"],
    ["noisy", "not cached"],
    ["after", "not cached"],
  ]);
  assertEquals(p.runs, ["source"]);
  const { lines, ok } = describeCheck(results);
  assertEquals(ok, false);
  assert(
    lines[1]!.startsWith(
      "not cached  noisy: no cached outputs under its current key",
    ),
    lines[1],
  );
  assertEquals(
    lines[2],
    "not cached  after: its input from 'noisy' is not cached",
  );
  assertEquals(
    lines.at(-1),
    "1 of 3 instance(s) reproduced their cached outputs bit for bit; 2 not cached (run 'deno task reproduce' first)",
  );
  // A param change makes the cached outputs another key's: not cached either.
  const changed = await checkReproduction(p.engine, {
    params: { ...PARAMS, a: { ...PARAMS.a, x: 2 } },
    targets: ["source"],
  });
  assertEquals(changed.map((r) => r.outcome), ["not cached"]);
});

/** Runs the CLI on the project and returns its exit code and printed lines. */
async function cli(p: TempProject, args: string[]) {
  const { code, all } = await runCliCaptured({
    project: p.engine.project,
    defaultExperiment: "t",
    experiments: () => ["t"],
    loadExperiment: () => Promise.resolve(PARAMS),
    outDir: `${p.root}/out`,
    reportStages: ["report"],
  }, args);
  return { code, printed: all };
}

Deno.test("reproduce --check exits 1 naming a differing instance, 0 when all match, 2 with --force; --help lists it", async () => {
  const p = await tempProject(stages);
  assertEquals((await cli(p, ["reproduce"])).code, 0);
  const all = await cli(p, ["reproduce", "--check"]);
  assertEquals(all.code, 1);
  assert(
    all.printed.some((l) => /^DIFFERS {5}noisy: output 'out' was /.test(l)),
    all.printed.join("\n"),
  );
  const some = await cli(p, ["reproduce", "--check", "resumer"]);
  assertEquals(some.code, 0, some.printed.join("\n"));
  assertEquals(some.printed, [
    "same        source",
    "same        resumer",
    "2 of 2 instance(s) reproduced their cached outputs bit for bit",
  ]);
  const clash = await cli(p, ["reproduce", "--check", "--force"]);
  assertEquals(clash.code, 2);
  assertEquals(clash.printed, [
    "error: --check cannot be combined with --force: it reruns locally and caches nothing",
  ]);
  const help = await cli(p, ["reproduce", "--help"]);
  assert(help.printed.join("\n").includes("--check"));
});
