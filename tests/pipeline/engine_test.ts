import {
  assert,
  assertEquals,
  assertNotEquals,
  assertRejects,
} from "../assert.ts";
import {
  PARAMS,
  SEED_CHAIN_IDS,
  seedChain,
  type TempProject,
  tempProject,
} from "./_project.ts";
import { cacheKey, PipelineError } from "../../pipeline/engine.ts";
import type { Json, Stage } from "../../pipeline/stage.ts";

/** download → train[seed] → report, with one helper module imported by train. */
function chain(p: TempProject, extra: { failTrain?: boolean } = {}): Stage[] {
  p.writeModule("helper.ts", "export const h = 1;\n");
  p.writeModule("unrelated.ts", "export const u = 1;\n");
  const train = p.writeModule(
    "train.ts",
    'import { h } from "./helper.ts";\nexport const t = h;\n',
  );
  return seedChain(p, { modules: { train }, ...extra });
}

const run = (
  p: TempProject,
  params: Json = PARAMS,
  extra: { force?: boolean; targets?: string[] } = {},
) => p.engine.reproduce({ experiment: "test", params, ...extra });

// The pinned value is sha256 of the canonical JSON written out by hand:
// {"code":"efef…","inputs":{"data":"abab…"},"item":{"seed":0},"params":{"train.lr":0.001},"stage":"train","versions":{"deno":"2.9.6"}}
Deno.test("cacheKey() is pinned for fixed parts", () => {
  const key = cacheKey({
    stage: "train",
    item: { seed: 0 },
    params: { "train.lr": 0.001 },
    inputs: { data: "ab".repeat(32) },
    code: {
      files: { "stages/train.ts": "cd".repeat(32) },
      hash: "ef".repeat(32),
      packages: [],
    },
    versions: { deno: "2.9.6" },
  });
  assertEquals(
    key,
    "88ca6a2e582b4edefdd12c08f4a8a209db06386d902aee35017f873beef657c5",
  );
});

Deno.test("reproduce() runs everything once, then a second run executes zero stages", async () => {
  const p = await tempProject(chain);
  const first = await run(p);
  assertEquals(p.runs[0], "download");
  assertEquals(p.runs.slice(1, 3).sort(), [
    'train{"seed":0}',
    'train{"seed":1}',
  ]);
  assertEquals(p.runs[3], "report");
  assertEquals(first.map((r) => r.outcome), ["ran", "ran", "ran", "ran"]);
  p.runs.length = 0;
  const second = await p.newEngine(chain(p)).reproduce({
    experiment: "test",
    params: PARAMS,
  });
  assertEquals(p.runs, []);
  assertEquals(second.map((r) => r.outcome), Array(4).fill("cached"));
});

Deno.test("reproduce() with force reruns every instance", async () => {
  const p = await tempProject(chain);
  await run(p);
  p.runs.length = 0;
  await run(p, PARAMS, { force: true });
  assertEquals(p.runs.length, 4);
});

Deno.test("a declared param change reruns its stage and dependents; an undeclared one reruns nothing", async () => {
  const p = await tempProject(chain);
  await run(p);
  p.runs.length = 0;
  await run(p, { ...PARAMS, a: { x: 1, unused: "changed" } });
  assertEquals(p.runs, []);
  await run(p, { ...PARAMS, b: { y: [3] } });
  assertEquals(p.runs.sort(), ["report", 'train{"seed":0}', 'train{"seed":1}']);
});

Deno.test("adding a seed runs only the new fan-out instance and what reads all of them", async () => {
  const p = await tempProject(chain);
  await run(p);
  p.runs.length = 0;
  await run(p, { ...PARAMS, seeds: [0, 1, 2] });
  assertEquals(p.runs, ['train{"seed":2}', "report"]);
});

Deno.test("editing a module the stage imports reruns it; editing an unrelated file does not", async () => {
  const p = await tempProject(chain);
  await run(p);
  p.runs.length = 0;
  p.writeModule("unrelated.ts", "export const u = 2;\n");
  await p.newEngine(chain(p)).reproduce({ experiment: "test", params: PARAMS });
  assertEquals(p.runs, []);
  const stages = chain(p);
  p.writeModule("helper.ts", "export const h = 2;\n");
  await p.newEngine(stages).reproduce({ experiment: "test", params: PARAMS });
  // The fake train's output does not depend on its code, so report's inputs are unchanged.
  assertEquals(p.runs.sort(), ['train{"seed":0}', 'train{"seed":1}']);
});

Deno.test("editing the stage's own module reruns it", async () => {
  const p = await tempProject(chain);
  await run(p);
  p.runs.length = 0;
  const stages = chain(p);
  p.writeModule("download.ts", "export const d = 2;\n");
  await p.newEngine(stages).reproduce({ experiment: "test", params: PARAMS });
  // download's output is byte-identical, so train's input hash is unchanged and train stays cached.
  assertEquals(p.runs, ["download"]);
});

Deno.test("a corrupted cache object is detected, deleted and recomputed", async () => {
  const p = await tempProject(chain);
  const results = await run(p);
  const hash = results.find((r) => r.id === "download")!.outputs!.out!;
  await Deno.writeTextFile(p.engine.store.objectPath(hash), "garbage");
  p.runs.length = 0;
  await run(p);
  assertEquals(p.runs, ["download"]);
  assert(
    p.warnings.some((w) => w.includes("damaged")),
    "a warning names the damaged object",
  );
  assertEquals(
    new TextDecoder().decode(await p.engine.store.get(hash)).startsWith(
      "download|",
    ),
    true,
  );
});

Deno.test("a stage that throws leaves no cache entry and an unchanged lock file; siblings stay cached", async () => {
  const p = await tempProject(chain);
  await run(p);
  const lockBefore = await Deno.readTextFile(`${p.root}/test.lock`);
  const failing = p.newEngine(chain(p, { failTrain: true }));
  p.runs.length = 0;
  const error = await assertRejects(
    () =>
      failing.reproduce({
        experiment: "test",
        params: { ...PARAMS, b: { y: [9] } },
      }),
    PipelineError,
    "2 stage instance(s) failed, 1 skipped",
  );
  assert(error.message.includes("train[seed=0]: train exploded"));
  assertEquals(await Deno.readTextFile(`${p.root}/test.lock`), lockBefore);
  assertEquals(p.runs.sort(), ['train{"seed":0}', 'train{"seed":1}']);
  const lines = await failing.status("test", { ...PARAMS, b: { y: [9] } });
  assertEquals(lines.map((l) => l.fresh), [true, false, false, false]);
});

Deno.test("status() is fresh after a run and names the changed param with --why", async () => {
  const p = await tempProject(chain);
  await run(p);
  const fresh = await p.engine.status("test", PARAMS);
  assertEquals(fresh.every((l) => l.fresh), true);
  const stale = await p.engine.status("test", {
    ...PARAMS,
    b: { y: [1, 2, 3] },
  });
  const train = stale.find((l) => l.id === "train[seed=0]")!;
  assertEquals(train.fresh, false);
  assertEquals(train.reasons, ["param b.y: [1,2] → [1,2,3]"]);
  const report = stale.find((l) => l.id === "report")!;
  assertEquals(report.state, "waiting");
  assertEquals(report.reasons, [
    "reads 'train[seed=0]', which is stale: reruns if its outputs change",
    "reads 'train[seed=1]', which is stale: reruns if its outputs change",
  ]);
});

Deno.test("status() names a changed source file", async () => {
  const p = await tempProject(chain);
  await run(p);
  const stages = chain(p);
  p.writeModule("helper.ts", "export const h = 3;\n");
  const lines = await p.newEngine(stages).status("test", PARAMS);
  assertEquals(lines.find((l) => l.id === "train[seed=0]")!.reasons, [
    "source src/helper.ts changed",
  ]);
});

Deno.test("a damaged lock file is reported and the run restores from the cache", async () => {
  const p = await tempProject(chain);
  await run(p);
  await Deno.writeTextFile(
    `${p.root}/test.lock`,
    '{"version": 1, "experiments": {"test": ',
  );
  p.runs.length = 0;
  const results = await run(p);
  assertEquals(p.runs, []);
  assertEquals(results.every((r) => r.outcome === "cached"), true);
  assert(p.warnings.some((w) => w.includes("is not valid")));
  const lock = JSON.parse(await Deno.readTextFile(`${p.root}/test.lock`));
  assertEquals(Object.keys(lock.experiments.test).sort(), SEED_CHAIN_IDS);
});

Deno.test("keys differ across items and params", async () => {
  const p = await tempProject(chain);
  const a = await run(p);
  const keys = a.map((r) => r.key);
  assertEquals(new Set(keys).size, keys.length);
  const b = await run(p, { ...PARAMS, a: { x: 2, unused: "u" } });
  assertNotEquals(b[0]!.key, a[0]!.key);
});

Deno.test("dry run reports what would run and runs nothing", async () => {
  const p = await tempProject(chain);
  const results = await p.engine.reproduce({
    experiment: "test",
    params: PARAMS,
    dryRun: true,
  });
  assertEquals(p.runs, []);
  assertEquals(results.map((r) => r.outcome), [
    "would run",
    "would run",
    "would run",
    "would run",
  ]);
});
