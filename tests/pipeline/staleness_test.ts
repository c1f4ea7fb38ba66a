/**
 * `status`, `reproduce --dry-run` and `reproduce` apply one staleness rule:
 * what status calls stale is what runs, what it calls waiting runs only if
 * an input changes; `--why` names param paths (per optimizer), inputs,
 * files and versions; running instances show as running.
 */
import { assert, assertEquals } from "../assert.ts";
import {
  fakeStage,
  PARAMS,
  seedChain,
  type TempProject,
  tempProject,
} from "./_project.ts";
import type { Json, Stage } from "../../pipeline/stage.ts";
import { diffJson } from "../../pipeline/staleness.ts";
import { acquireRunLock } from "../../pipeline/run_lock.ts";
import {
  readRunning,
  RunningFile,
  runningPath,
} from "../../pipeline/running.ts";
import { Engine } from "../../pipeline/engine.ts";
import { Store } from "../../pipeline/store.ts";

/** download → train[seed] → report (reads all trains). */
const chain = (p: TempProject): Stage[] => seedChain(p);

const states = (lines: Array<{ id: string; state: string }>) =>
  Object.fromEntries(lines.map((l) => [l.id, l.state]));

Deno.test("a code edit whose outputs do not change: status, the dry run and reproduce agree on what runs", async () => {
  const p = await tempProject(chain);
  await p.engine.reproduce({ experiment: "test", params: PARAMS });
  const stages = chain(p);
  // The download stage's code changes; its output (name, params, item) does not.
  p.writeModule("download.ts", "export const d = 2;\n");
  const engine = p.newEngine(stages);
  const status = await engine.status("test", PARAMS);
  assertEquals(states(status), {
    download: "stale",
    "train[seed=0]": "waiting",
    "train[seed=1]": "waiting",
    report: "waiting",
  });
  assertEquals(status[0]!.reasons, ["source src/download.ts changed"]);
  const dry = await p.newEngine(stages).reproduce({
    experiment: "test",
    params: PARAMS,
    dryRun: true,
  });
  assertEquals(dry.map((r) => r.outcome), [
    "would run",
    "may run",
    "may run",
    "may run",
  ]);
  p.runs.length = 0;
  const results = await p.newEngine(stages).reproduce({
    experiment: "test",
    params: PARAMS,
  });
  assertEquals(p.runs, ["download"], "only what status called stale ran");
  assertEquals(
    results.filter((r) => r.outcome === "ran").map((r) => r.id),
    status.filter((l) => l.state === "stale").map((l) => l.id),
  );
  const after = await p.newEngine(stages).status("test", PARAMS);
  assert(after.every((l) => l.state === "fresh"));
});

Deno.test("an instance whose own code changed is stale even while it waits on a stale upstream", async () => {
  const p = await tempProject(chain);
  await p.engine.reproduce({ experiment: "test", params: PARAMS });
  const stages = chain(p);
  p.writeModule("download.ts", "export const d = 2;\n");
  p.writeModule("report.ts", "export const r = 2;\n");
  const status = await p.newEngine(stages).status("test", PARAMS);
  const report = status.find((l) => l.id === "report")!;
  assertEquals(report.state, "stale");
  assertEquals(report.reasons[0], "source src/report.ts changed");
  const dry = await p.newEngine(stages).reproduce({
    experiment: "test",
    params: PARAMS,
    dryRun: true,
  });
  assertEquals(dry.at(-1)!.outcome, "would run");
});

/** train[optimizer × seed] reading the optimizer from its item, and a report declaring the whole list. */
function optimizers(p: TempProject): Stage[] {
  const train = p.writeModule("train.ts", "export const t = 1;\n");
  const report = p.writeModule("report.ts", "export const r = 1;\n");
  return [
    fakeStage(p, "train", {
      module: train,
      params: ["train.epochs"],
      foreach: {
        params: ["optimizers", "seeds"],
        items: (q) =>
          (q.optimizers as Json[]).flatMap((optimizer) =>
            (q.seeds as number[]).map((seed) => ({ optimizer, seed }))
          ),
      },
    }),
    fakeStage(p, "report", {
      module: report,
      params: ["optimizers"],
      inputs: { runs: { stage: "train", output: "out", select: "all" } },
    }),
  ];
}

const OPTIMIZERS = {
  train: { epochs: 3 },
  seeds: [0],
  optimizers: [
    { name: "sgd", lr: 0.01 },
    { name: "adam", lr: 0.001, beta1: 0.9 },
  ],
};

Deno.test("status --why names an optimizer's changed lr by its param path", async () => {
  const p = await tempProject(optimizers);
  await p.engine.reproduce({ experiment: "test", params: OPTIMIZERS });
  const changed = structuredClone(OPTIMIZERS);
  changed.optimizers[1]!.lr = 0.002;
  const status = await p.engine.status("test", changed);
  assertEquals(states(status), {
    "train[optimizer=sgd,seed=0]": "fresh",
    "train[optimizer=adam,seed=0]": "stale",
    report: "stale",
  });
  assertEquals(status[1]!.reasons, [
    "param optimizers[adam].lr: 0.001 → 0.002",
  ]);
  assertEquals(status[2]!.reasons, [
    "param optimizers[adam].lr: 0.001 → 0.002",
    "reads 'train[optimizer=adam,seed=0]', which is stale: reruns if its outputs change",
  ]);
  // And every changed path at once, old → new.
  changed.optimizers[1] = { name: "adam", lr: 0.003, beta1: 0.95 };
  changed.train.epochs = 4;
  const again = await p.engine.status("test", changed);
  assertEquals(again[1]!.reasons, [
    "param train.epochs: 3 → 4",
    "param optimizers[adam].beta1: 0.9 → 0.95",
    "param optimizers[adam].lr: 0.001 → 0.003",
  ]);
});

Deno.test("diffJson() names nested paths, labelled entries, indices and added or removed fields", () => {
  assertEquals(
    diffJson("model", { hidden: [8, 8], loss: "ce" }, {
      hidden: [8, 16],
      loss: "ce",
      arch: "mlp",
    }),
    ['model.arch: none → "mlp"', "model.hidden: [8,8] → [8,16]"],
  );
  assertEquals(
    diffJson("optimizers", [{ name: "sgd", lr: 1 }], [
      { name: "sgd", lr: 2 },
      { name: "adam", lr: 1 },
    ]),
    [
      'optimizers[adam]: none → {"name":"adam","lr":1}',
      "optimizers[sgd].lr: 1 → 2",
    ],
  );
  assertEquals(
    diffJson("cells", [{ a: 1 }, { a: 2 }], [{ a: 1 }, { a: 3 }]),
    ["cells[1].a: 2 → 3"],
  );
  assertEquals(diffJson("x", 1, 1), []);
});

/** Two stages whose modules import different npm packages, and a deno.json/deno.lock fixture. */
function packages(p: TempProject): Stage[] {
  const charts = p.writeModule(
    "charts.ts",
    'import * as vega from "vega";\nimport type { Z } from "zod";\nexport const c = vega;\n',
  );
  const schema = p.writeModule(
    "schema.ts",
    'import { z } from "zod";\nexport const s = z;\n',
  );
  return [
    fakeStage(p, "charts", { module: charts }),
    fakeStage(p, "schema", { module: schema }),
  ];
}

/** Writes the fixture lock: vega (with one dependency) and zod. */
function writeLock(
  root: string,
  change: { vega?: string; d3Integrity?: string } = {},
): void {
  const vega = change.vega ?? "6.4.0";
  Deno.writeTextFileSync(
    `${root}/deno.json`,
    JSON.stringify({
      imports: { vega: `npm:vega@${vega}`, zod: "npm:zod@4.6.7" },
    }),
  );
  Deno.writeTextFileSync(
    `${root}/deno.lock`,
    JSON.stringify({
      version: "5",
      specifiers: { [`npm:vega@${vega}`]: vega, "npm:zod@4.6.7": "4.6.7" },
      npm: {
        [`vega@${vega}`]: {
          integrity: `sha512-vega-${vega}`,
          dependencies: ["d3-array"],
        },
        "d3-array@3.2.4": {
          integrity: change.d3Integrity ?? "sha512-d3-array",
        },
        "zod@4.6.7": { integrity: "sha512-zod" },
      },
    }),
  );
}

Deno.test("a version bump in deno.lock invalidates exactly the stages importing that package, and --why says old → new", async () => {
  const p = await tempProject((q) => {
    writeLock(q.root);
    return packages(q);
  });
  await p.engine.reproduce({ experiment: "test", params: {} });
  const lock = JSON.parse(Deno.readTextFileSync(`${p.root}/test.lock`));
  assertEquals(
    Object.keys(lock.experiments.test.charts.versions).sort(),
    ["deno", "npm:vega"],
    "a type-only import (zod) is no dependency",
  );
  assert(
    lock.experiments.test.charts.versions["npm:vega"].startsWith("6.4.0 lock:"),
  );

  writeLock(p.root, { vega: "6.5.1" });
  let status = await p.newEngine(packages(p)).status("test", {});
  assertEquals(states(status), { charts: "stale", schema: "fresh" });
  assertEquals(status[0]!.reasons, ["version npm:vega: 6.4.0 → 6.5.1"]);

  // A transitive dependency's integrity alone changes the key too.
  writeLock(p.root, { d3Integrity: "sha512-other" });
  status = await p.newEngine(packages(p)).status("test", {});
  assertEquals(states(status), { charts: "stale", schema: "fresh" });
  assert(
    status[0]!.reasons[0]!.startsWith(
      "version npm:vega: 6.4.0, but its locked integrity or dependencies changed",
    ),
    status[0]!.reasons[0],
  );
  p.runs.length = 0;
  await p.newEngine(packages(p)).reproduce({ experiment: "test", params: {} });
  assertEquals(p.runs, ["charts"]);
});

Deno.test("status shows the instances another reproduce is running as running, and forgets them when it ends", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  let started!: () => void;
  const running = new Promise<void>((r) => started = r);
  const p = await tempProject((q) => {
    const slow = fakeStage(q, "slow", {
      module: q.writeModule("slow.ts", "export const s = 1;\n"),
    });
    const fast = fakeStage(q, "fast", {
      module: q.writeModule("fast.ts", "export const f = 1;\n"),
    });
    const run = slow.run;
    slow.run = async (ctx) => {
      started();
      await gate;
      return await run(ctx);
    };
    return [fast, slow];
  });
  const lockPath = `${p.root}/.cache/run.lock`;
  const unlock = await acquireRunLock(lockPath);
  const file = new RunningFile(runningPath(lockPath));
  const run = p.engine.reproduce({
    experiment: "test",
    params: {},
    running: file,
    jobs: 1, // fast, then slow
  });
  await running;
  const seen = await readRunning(lockPath);
  assert(seen, "the running file is read while the lock is held");
  assertEquals([...seen.ids.keys()], ["slow"]);
  const status = await p.newEngine(p.engine.project.stages).status(
    "test",
    {},
    [],
    { running: seen },
  );
  assertEquals(states(status), { fast: "fresh", slow: "running" });
  assertEquals(status[1]!.reasons, [
    `being run by pid ${Deno.pid} on ${seen.host}`,
  ]);
  release();
  await run;
  assertEquals([...(await readRunning(lockPath))!.ids.keys()], []);
  await file.close();
  await unlock();
  assertEquals(await readRunning(lockPath), undefined);

  // A running file left behind by a run that died says nothing.
  Deno.writeTextFileSync(
    runningPath(lockPath),
    JSON.stringify({ pid: 1, host: "x", instances: { slow: "k" } }),
  );
  assertEquals(await readRunning(lockPath), undefined);
});

Deno.test("a read-only store (status) reports a damaged object without claiming to delete it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ir-store-" });
  const writable = new Store(dir);
  const hash = await writable.put(new TextEncoder().encode("intact"));
  const path = writable.objectPath(hash);
  Deno.writeTextFileSync(path, "damaged");
  const warnings: string[] = [];
  const store = new Store(dir, (m) => warnings.push(m), { readOnly: true });
  assertEquals(await store.get(hash), undefined);
  assertEquals(warnings.length, 1);
  assert(!warnings[0]!.includes("deleted"), warnings[0]);
  assert(warnings[0]!.includes("left in place"), warnings[0]);
  assertEquals(Deno.readTextFileSync(path), "damaged", "still there");
  // A writable store deletes it, and says so.
  const repaired: string[] = [];
  assertEquals(
    await new Store(dir, (m) => repaired.push(m)).get(hash),
    undefined,
  );
  assert(repaired[0]!.includes("deleted, will recompute"), repaired[0]);
  let gone = false;
  try {
    Deno.statSync(path);
  } catch {
    gone = true;
  }
  assert(gone);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the engine of status opens its store read-only", async () => {
  const p = await tempProject(chain);
  const engine = new Engine(p.engine.project, () => {}, { readOnly: true });
  assert(engine.store instanceof Store);
  // Damage the first output, then ask status: the object stays where it was.
  await p.engine.reproduce({ experiment: "test", params: PARAMS });
  const lock = JSON.parse(Deno.readTextFileSync(`${p.root}/test.lock`));
  const hash = lock.experiments.test.download.outputs.out as string;
  Deno.writeTextFileSync(engine.store.objectPath(hash), "x");
  const warnings: string[] = [];
  const status = await new Engine(
    p.engine.project,
    (m) => warnings.push(m),
    { readOnly: true },
  ).status("test", PARAMS);
  assertEquals(status[0]!.state, "stale");
  assertEquals(status[0]!.reasons, ["outputs missing from the cache"]);
  assert(warnings.some((w) => w.includes("left in place")), warnings.join());
  assertEquals(Deno.readTextFileSync(engine.store.objectPath(hash)), "x");
});
