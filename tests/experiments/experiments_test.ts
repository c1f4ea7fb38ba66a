import { assert, assertEquals, assertThrows } from "../assert.ts";
import { buildGraph, type Instance } from "../../pipeline/graph.ts";
import type { Json } from "../../pipeline/stage.ts";
import {
  experimentParams,
  loadExperimentFile,
  validateExperiment,
} from "../../stages/experiment.ts";
import { STAGES } from "../../stages/mod.ts";
import { mlpParams } from "../stages/_models.ts";

const DIR = new URL("../../experiments", import.meta.url).pathname;
const NAMES = [...Deno.readDirSync(DIR)]
  .filter((e) => e.isFile && e.name.endsWith(".json"))
  .map((e) => e.name.slice(0, -5))
  .sort();

const count = (instances: Instance[], stage: string) =>
  instances.filter((i) => i.stage.name === stage).length;

Deno.test("every shipped experiment validates and builds the whole graph", async () => {
  assert(NAMES.length >= 10, `expected the shipped experiments, got ${NAMES}`);
  for (const name of NAMES) {
    const tree = await loadExperimentFile(DIR, name, []);
    const graph = buildGraph(STAGES, tree);
    assertEquals(count(graph.instances, "metrics"), 1, name);
    const description = (tree as { description: string }).description;
    if (name !== "paper") {
      assert(/minute|hour/.test(description), `${name}: say how long it takes`);
    }
    // Every experiment that answers one of the paper's questions has ≥ 3 seeds, except the paper itself.
    const t = tree as { seeds: number[]; metrics: { findings: string[] } };
    if (name !== "paper" && t.metrics.findings.length > 0) {
      assert(t.seeds.length >= 3, `${name}: ${t.seeds.length} seeds`);
    }
  }
});

/** Expected instance counts: train = optimizers × seeds × cells. */
const EXPECTED: Record<
  string,
  { optimizers: number; seeds: number; cells: number; tune: number }
> = {
  "paper": { optimizers: 3, seeds: 1, cells: 1, tune: 0 },
  "paper-tuned": { optimizers: 3, seeds: 3, cells: 1, tune: 27 },
  "momentum": { optimizers: 4, seeds: 3, cells: 1, tune: 0 },
  "batch-size": { optimizers: 1, seeds: 3, cells: 7, tune: 0 },
  "explicit-reg": { optimizers: 3, seeds: 3, cells: 2, tune: 0 },
  "adaptive-vs-sgd": { optimizers: 4, seeds: 3, cells: 1, tune: 0 },
  "architectures": { optimizers: 2, seeds: 3, cells: 3, tune: 0 },
  "datasets": { optimizers: 3, seeds: 3, cells: 1, tune: 0 },
  "adaptive-eos": { optimizers: 2, seeds: 3, cells: 1, tune: 0 },
};

Deno.test("matrix expansion: train and sharpness fan out to cells × optimizers × seeds, tune to optimizers × lrs, select to optimizers", async () => {
  for (const [name, e] of Object.entries(EXPECTED)) {
    const graph = buildGraph(STAGES, await loadExperimentFile(DIR, name, []));
    const runs = e.optimizers * e.seeds * e.cells;
    assertEquals(count(graph.instances, "train"), runs, `${name} train`);
    assertEquals(
      count(graph.instances, "sharpness"),
      runs,
      `${name} sharpness`,
    );
    assertEquals(count(graph.instances, "tune"), e.tune, `${name} tune`);
    assertEquals(
      count(graph.instances, "select"),
      e.optimizers,
      `${name} select`,
    );
    assertEquals(count(graph.instances, "barrier"), 1, `${name} barrier`);
  }
});

Deno.test("batch-size sweeps B = 16 … 1024 by ×2 for SGD: one train instance per B and seed", async () => {
  const graph = buildGraph(
    STAGES,
    await loadExperimentFile(DIR, "batch-size", []),
  );
  const sizes = graph.instances
    .filter((i) => i.stage.name === "train" && i.item["seed"] === 0)
    .map((i) => (i.item["cell"] as Record<string, number>)["train.batch_size"]);
  assertEquals(sizes, [16, 32, 64, 128, 256, 512, 1024]);
});

Deno.test("architectures compares MLPs whose parameter counts agree within 1%", async () => {
  const tree = await loadExperimentFile(DIR, "architectures", []) as {
    matrix: Record<string, number[][]>;
  };
  const counts = tree.matrix["model.hidden"]!.map(mlpParams);
  assertEquals(counts, [575050, 574795, 575055]);
  const spread = (Math.max(...counts) - Math.min(...counts)) /
    Math.min(...counts);
  assert(spread < 0.01, `spread ${spread}`);
});

Deno.test("paper-tuned is the paper with tuning on lrs 2^-16 … 2^0 by ×4 and the IR snapshot every 5 epochs", async () => {
  const paper = await loadExperimentFile(DIR, "paper", []) as Record<
    string,
    Json
  >;
  const tuned = await loadExperimentFile(DIR, "paper-tuned", []) as Record<
    string,
    Json
  >;
  for (const key of ["data", "noise", "model", "optimizers"]) {
    assertEquals(tuned[key], paper[key], key);
  }
  // The same training; only the snapshot interval differs (training does not depend on it).
  assertEquals(tuned["train"], {
    ...(paper["train"] as Record<string, Json>),
    snapshot_every: 5,
  });
  // The paper's one seed; the question it answers needs at least 3 (issue 20).
  assertEquals(paper["seeds"], [0]);
  assertEquals(tuned["seeds"], [0, 1, 2]);
  assertEquals(tuned["tuning"], {
    enabled: true,
    lrs: [-16, -14, -12, -10, -8, -6, -4, -2, 0].map((k) => 2 ** k),
    epochs: 10,
    validation_size: 2000,
    seed: 0,
  });
  assertEquals(paper["tuning"], {
    enabled: false,
    lrs: [0.001],
    epochs: 1,
    validation_size: 1,
    seed: 0,
  });
});

Deno.test("momentum: four heavy-ball β from the same seeds with barriers on", async () => {
  const tree = await loadExperimentFile(DIR, "momentum", []) as {
    optimizers: Array<{ momentum: number; label: string }>;
    metrics: { barrier: boolean };
  };
  assertEquals(tree.optimizers.map((o) => o.momentum), [0, 0.5, 0.9, 0.99]);
  assertEquals(tree.metrics.barrier, true);
});

Deno.test("validateExperiment() rejects tuning that leaves nothing to train on or fights an lr sweep", async () => {
  const raw = JSON.parse(
    await Deno.readTextFile(`${DIR}/paper-tuned.json`),
  ) as Record<string, Record<string, Json>>;
  const tooBig = structuredClone(raw);
  tooBig["tuning"]!["validation_size"] = 10000;
  assertThrows(
    () => validateExperiment("x", tooBig),
    Error,
    "tuning.validation_size",
  );
  const swept = structuredClone(raw);
  swept["matrix"] = { "optimizer.lr": [0.1, 0.01] };
  assertThrows(() => validateExperiment("x", swept), Error, "optimizer.lr");
  // Absent sections get their defaults, so old files stay valid.
  const quick = JSON.parse(await Deno.readTextFile(`${DIR}/quick.json`));
  const params = experimentParams("quick", quick, []) as {
    metrics: { barrier: boolean };
    tuning: { enabled: boolean };
  };
  assertEquals(params.metrics.barrier, false);
  assertEquals(params.tuning.enabled, false);
});

Deno.test("--set turns tuning and barriers on for a file that does not mention them", async () => {
  const tree = await loadExperimentFile(DIR, "quick", [
    "tuning.enabled=true",
    "tuning.lrs=0.1,0.01",
    "tuning.validation_size=500",
    "metrics.barrier=true",
  ]);
  const graph = buildGraph(STAGES, tree);
  assertEquals(count(graph.instances, "tune"), 3 * 2);
  const t = (tree as { tuning: Record<string, Json> }).tuning;
  assertEquals([t["enabled"], t["lrs"], t["validation_size"]], [true, [
    0.1,
    0.01,
  ], 500]);
});
