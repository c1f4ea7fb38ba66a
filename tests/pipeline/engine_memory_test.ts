/**
 * The engine run in memory (MemoryFs, a fixed clock): each test asserts the
 * exact sequence of its effects, the cache lookups, runs, writes of the run
 * cache and of the lock, as Observable Framework's loader tests do. The file
 * system throws on any path outside the virtual project `/mem`, and this
 * file runs under `deno task test` whose write permission excludes `/mem`,
 * so nothing here can write to the disk (it passes with no --allow-write at
 * all). The one file read from disk is the tokenizer's package.json, whose
 * version names the scan memo (tokens.ts).
 */
import { assertEquals, assertRejects } from "../assert.ts";
import { Engine, PipelineError } from "../../pipeline/engine.ts";
import { MemoryFs } from "../../pipeline/memory_fs.ts";
import type { Clock } from "../../pipeline/effects.ts";
import type { Json, Stage, StageContext } from "../../pipeline/stage.ts";
import { decodeText, encodeText } from "../../pipeline/artifact.ts";

const ROOT = "/mem";
const CACHE = `${ROOT}/.cache`;
const LOCK = `${ROOT}/test.lock`;

/** A project in memory whose every effect lands in `events`, in order. */
function memoryProject() {
  const events: string[] = [];
  const fs = new MemoryFs((op, path) => {
    if (!path.startsWith(`${ROOT}/`)) {
      throw new Error(`Touched a real path: ${op} ${path}`);
    }
    const event = describe(op, path);
    if (event) events.push(event);
  });
  let ms = 0;
  const clock: Clock = {
    now: () => (ms += 500),
    date: () => new Date(Date.UTC(2026, 0, 1)),
  };
  const source = (name: string, text: string) => {
    fs.files.set(`${ROOT}/src/${name}`, new TextEncoder().encode(text));
    return `file://${ROOT}/src/${name}`;
  };
  const stage = (
    name: string,
    options: Partial<Stage> & { fail?: boolean } = {},
  ): Stage => ({
    name,
    module: source(`${name}.ts`, `export const ${name} = 1;\n`),
    params: [],
    outputs: ["out"],
    ...options,
    run(ctx: StageContext) {
      events.push(
        `run ${name}${
          Object.keys(ctx.item).length ? JSON.stringify(ctx.item) : ""
        }`,
      );
      if (options.fail) throw new Error(`${name} exploded`);
      const parts = [name, JSON.stringify(ctx.params)];
      for (const [input, spec] of Object.entries(options.inputs ?? {})) {
        if (spec.select === "all") {
          parts.push(...ctx.inputAll(input).map((v) => decodeText(v.data)));
        } else parts.push(decodeText(ctx.input(input)));
      }
      return { out: encodeText(parts.join("|")) };
    },
  });
  const engine = (stages: Stage[]) =>
    new Engine(
      { root: ROOT, cacheDir: CACHE, lockPath: LOCK, stages },
      (m) => events.push(`warn ${m}`),
      { fs, clock },
    );
  return { events, fs, stage, engine };
}

/** An effect as a test reads it; memo and package-lock reads are left out. */
function describe(op: string, path: string): string | undefined {
  if (path === LOCK) return `${op} lock`;
  if (path.startsWith(`${CACHE}/runs/`)) return `${op} run`;
  if (path.startsWith(`${CACHE}/objects/`)) return `${op} object`;
  if (path.startsWith(`${CACHE}/scratch/`)) return `${op} scratch`;
  return undefined;
}

/** download → train[seed] → report. */
function chain(p: ReturnType<typeof memoryProject>, failTrain = false) {
  return [
    p.stage("download", { params: ["a.x"] }),
    p.stage("train", {
      params: ["b.y"],
      inputs: { data: { stage: "download", output: "out" } },
      foreach: {
        params: ["seeds"],
        items: (q) => (q.seeds as number[]).map((seed) => ({ seed })),
      },
      ...(failTrain ? { fail: true } : {}),
    }),
    p.stage("report", {
      inputs: { runs: { stage: "train", output: "out", select: "all" } },
    }),
  ];
}

const PARAMS = { a: { x: 1 }, b: { y: 2 }, seeds: [0] };

const reproduce = (engine: Engine, params: Json = PARAMS) =>
  engine.reproduce({ experiment: "test", params, jobs: 1 });

/** What one instance that runs does, in order: it reads `inputs` objects. */
const ran = (name: string, inputs = 0) => [
  "read run", // lookup by key: a miss
  "mkdir scratch",
  ...Array(inputs).fill("read object"),
  `run ${name}`,
  "read object", // the store checks the object is absent
  "write object",
  "write run",
  "read lock", // fresh read: other experiments' entries survive
  "write lock",
  "remove scratch",
];

Deno.test("in memory: a cold run looks up, runs, stores and records each instance in order", async () => {
  const p = memoryProject();
  const results = await reproduce(p.engine(chain(p)));
  assertEquals(results.map((r) => r.outcome), ["ran", "ran", "ran"]);
  assertEquals(p.events, [
    "read lock",
    ...ran("download"),
    ...ran('train{"seed":0}', 1),
    ...ran("report", 1),
  ]);
  assertEquals(results[2]!.seconds, 0.5, "seconds come from the clock");
});

Deno.test("in memory: a warm run finds every instance cached and writes nothing", async () => {
  const p = memoryProject();
  await reproduce(p.engine(chain(p)));
  p.events.length = 0;
  const results = await reproduce(p.engine(chain(p)));
  assertEquals(results.map((r) => r.outcome), ["cached", "cached", "cached"]);
  // Each lookup reads the run entry and checks its one object.
  assertEquals(p.events, [
    "read lock",
    ...Array(3).fill(["read run", "read object"]).flat(),
  ]);
});

Deno.test("in memory: a param change reruns exactly its dependents", async () => {
  const p = memoryProject();
  await reproduce(p.engine(chain(p)), { ...PARAMS, seeds: [0, 1] });
  p.events.length = 0;
  const results = await reproduce(p.engine(chain(p)), {
    ...PARAMS,
    b: { y: 3 },
    seeds: [0, 1],
  });
  assertEquals(
    results.map((r) => `${r.id} ${r.outcome}`),
    [
      "download cached",
      "train[seed=0] ran",
      "train[seed=1] ran",
      "report ran",
    ],
  );
  assertEquals(p.events.filter((e) => e.startsWith("run ")), [
    'run train{"seed":0}',
    'run train{"seed":1}',
    "run report",
  ]);
  assertEquals(p.events.filter((e) => e === "write lock").length, 3);
});

Deno.test("in memory: a failed instance leaves the lock and the run cache untouched", async () => {
  const p = memoryProject();
  await reproduce(p.engine(chain(p)));
  const lockBefore = decodeText(p.fs.files.get(LOCK)!);
  const filesBefore = [...p.fs.files.keys()].sort();
  p.events.length = 0;
  const error = await assertRejects(
    () => reproduce(p.engine(chain(p, true)), { ...PARAMS, b: { y: 9 } }),
    PipelineError,
    "train[seed=0]: train exploded",
  );
  assertEquals((error as PipelineError).skipped, 1);
  assertEquals(p.events, [
    "read lock",
    "read run", // download: cached
    "read object",
    "read run", // train: a miss, runs and fails
    "mkdir scratch",
    "read object", // its input
    'run train{"seed":0}',
    "remove scratch", // the empty scratch folder goes
  ]);
  assertEquals(decodeText(p.fs.files.get(LOCK)!), lockBefore);
  assertEquals([...p.fs.files.keys()].sort(), filesBefore);
});

Deno.test("in memory: with one slot the costliest ready instance starts first, then plan order", async () => {
  const p = memoryProject();
  const stages = [
    p.stage("cheap", { cost: () => 1 }),
    p.stage("dear", { cost: () => 100 }),
    p.stage("middling", { cost: () => 10 }),
    p.stage("after", {
      inputs: {
        a: { stage: "cheap", output: "out" },
        b: { stage: "dear", output: "out" },
      },
    }),
  ];
  await reproduce(p.engine(stages), {});
  assertEquals(p.events.filter((e) => e.startsWith("run ")), [
    "run dear",
    "run middling",
    "run cheap",
    "run after",
  ]);
});

Deno.test("in memory: a dry run looks up keys and writes nothing", async () => {
  const p = memoryProject();
  const results = await p.engine(chain(p)).reproduce({
    experiment: "test",
    params: PARAMS,
    dryRun: true,
  });
  assertEquals(results.map((r) => r.outcome), [
    "would run",
    "would run",
    "would run",
  ]);
  assertEquals(p.events, ["read lock", "read run"]);
  assertEquals(
    [...p.fs.files.keys()].filter((k) => k.startsWith(CACHE)).length,
    0,
  );
});
