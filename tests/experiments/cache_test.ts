/**
 * Sweeps and the cache: the real fan-out functions of train, tune and select
 * (with light fake run functions) through the real engine, to show which
 * instances rerun when one sweep value, one optimizer or one candidate lr
 * changes.
 */
import { assertEquals } from "../assert.ts";
import {
  fakeStage,
  stubModule,
  type TempProject,
  tempProject,
} from "../pipeline/_project.ts";
import type { InstanceResult } from "../../pipeline/engine.ts";
import type { Item, Json, ParamsSchema, Stage } from "../../pipeline/stage.ts";
import { trainItems } from "../../stages/train/items.ts";
import { trainForeach } from "../../stages/train/params.ts";
import {
  selectForeach,
  selectItems,
  tuneForeach,
  tuneItems,
} from "../../stages/tune/items.ts";

/** A stage's typed fan-out (params, schema, items) as the engine's Stage holds it. */
const fanOut = <F>(
  declared: { params: string[]; schema: ParamsSchema<F> },
  items: (params: F) => Item[],
) => ({ ...declared, items }) as unknown as NonNullable<Stage["foreach"]>;

/** noise → tune[opt × lr] → select[opt] → train[opt × seed × cell] → metrics. */
function stages(p: TempProject): Stage[] {
  const module = (name: string) => stubModule(p, name);
  return [
    fakeStage(p, "noise", { module: module("noise"), params: ["noise.seed"] }),
    fakeStage(p, "tune", {
      module: module("tune"),
      params: ["tuning.epochs"],
      foreach: fanOut(tuneForeach, tuneItems),
      inputs: { train: { stage: "noise", output: "out" } },
    }),
    fakeStage(p, "select", {
      module: module("select"),
      params: ["tuning.enabled"],
      foreach: fanOut(selectForeach, selectItems),
      inputs: { results: { stage: "tune", output: "out", select: "all" } },
    }),
    fakeStage(p, "train", {
      module: module("train"),
      params: ["train.batch_size"],
      foreach: fanOut(trainForeach, trainItems),
      inputs: {
        train: { stage: "noise", output: "out" },
        lr: { stage: "select", output: "out" },
      },
    }),
    fakeStage(p, "metrics", {
      module: module("metrics"),
      inputs: { records: { stage: "train", output: "out", select: "all" } },
    }),
  ];
}

const base = {
  noise: { seed: 0 },
  train: { batch_size: 64 },
  optimizers: [{ name: "sgd", lr: 0.01 }, { name: "adam", lr: 0.001 }],
  seeds: [0, 1],
  matrix: { "train.batch_size": [16, 32] },
  tuning: {
    enabled: false,
    lrs: [0.1, 0.01],
    epochs: 2,
    validation_size: 10,
    seed: 0,
  },
};

/** Ran instance ids of one stage, sorted. */
function ran(results: InstanceResult[], stage: string): string[] {
  return results
    .filter((r) => r.stage === stage && r.outcome === "ran")
    .map((r) => r.id)
    .sort();
}

function outcomes(results: InstanceResult[], stage: string) {
  const of = results.filter((r) => r.stage === stage);
  return {
    ran: of.filter((r) => r.outcome === "ran").length,
    cached: of.filter((r) => r.outcome === "cached").length,
  };
}

const reproduce = (p: TempProject, params: Json) =>
  p.newEngine(stages(p)).reproduce({ experiment: "test", params, jobs: 1 });

Deno.test("changing one matrix value reruns only that cell's train instances; the other cell comes from the cache", async () => {
  const p = await tempProject(stages);
  try {
    const first = await reproduce(p, base);
    assertEquals(outcomes(first, "train"), { ran: 8, cached: 0 });
    const second = await reproduce(p, {
      ...base,
      matrix: { "train.batch_size": [16, 64] },
    });
    assertEquals(outcomes(second, "train"), { ran: 4, cached: 4 });
    for (const id of ran(second, "train")) {
      assertEquals(id.includes("batch_size=64"), true, id);
    }
    assertEquals(outcomes(second, "noise"), { ran: 0, cached: 1 });
    assertEquals(outcomes(second, "select"), { ran: 0, cached: 2 });
    assertEquals(outcomes(second, "metrics"), { ran: 1, cached: 0 });
  } finally {
    await Deno.remove(p.root, { recursive: true });
  }
});

Deno.test("adding an optimizer runs only its select and train instances (select is fanned out per optimizer)", async () => {
  const p = await tempProject(stages);
  try {
    await reproduce(p, base);
    const more = {
      ...base,
      optimizers: [...base.optimizers, { name: "rmsprop", lr: 0.001 }],
    };
    const second = await reproduce(p, more);
    assertEquals(outcomes(second, "select"), { ran: 1, cached: 2 });
    assertEquals(outcomes(second, "train"), { ran: 4, cached: 8 });
    for (const id of ran(second, "train")) {
      assertEquals(id.includes("rmsprop"), true, id);
    }
  } finally {
    await Deno.remove(p.root, { recursive: true });
  }
});

Deno.test("with tuning on, a new candidate lr runs one tune instance per optimizer and reuses the others", async () => {
  const p = await tempProject(stages);
  try {
    const on = { ...base, tuning: { ...base.tuning, enabled: true } };
    const first = await reproduce(p, on);
    assertEquals(outcomes(first, "tune"), { ran: 4, cached: 0 });
    const second = await reproduce(p, {
      ...on,
      tuning: { ...on.tuning, lrs: [0.1, 0.01, 0.001] },
    });
    assertEquals(outcomes(second, "tune"), { ran: 2, cached: 4 });
    assertEquals(
      ran(second, "tune").every((id) => id.includes("lr=0.001")),
      true,
    );
  } finally {
    await Deno.remove(p.root, { recursive: true });
  }
});
