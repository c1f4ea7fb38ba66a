/**
 * The quantity registry (stages/quantities.ts) is the one list of quantity
 * names: the record columns, the metrics series order, the summary numbers,
 * the data dictionary and the axis titles are read from it.
 */
import { assert, assertEquals, assertThrowsMatch } from "../assert.ts";
import {
  axisTitle,
  finalQuantities,
  QUANTITIES,
  type Quantity,
  QUANTITY_INFO,
  QUANTITY_ORDER,
  quantityInfo,
  type QuantitySpec,
  RECORD_COLUMNS,
  recordColumns,
  seriesOrder,
} from "../../stages/quantities.ts";
import { recordColumnNames } from "../../stages/nn/record.ts";
import { deriveTerms, TERM_QUANTITIES } from "../../stages/metrics/terms.ts";
import { metricsSchema, runsCsv } from "../../stages/metrics/tidy.ts";
import { runSummary } from "../../stages/metrics/summary.ts";
import { FIGURES } from "../../stages/charts/figures.ts";
import { fixtureRun, SGD } from "./metrics/_runs.ts";

/** The record's columns before the registry existed: a record written today has the same bytes. */
const RECORD_COLUMNS_BEFORE = [
  "epoch",
  "lr",
  "train_loss",
  "train_error",
  "train_clean_loss",
  "train_clean_error",
  "train_corrupt_loss",
  "train_corrupt_error",
  "test_loss",
  "test_error",
  "norm",
  "norm_no_bias",
  "dist_init",
  "m",
  "sum_g2",
  "gbar2",
  "sum_dev2",
  "full_grad2",
  "sum_pre",
  "sum_s_g2",
  "one_norm",
  "pre_scale",
  "traj_g2",
];

Deno.test("the train record's columns come from the registry, in the order records were written before it", () => {
  assertEquals([...RECORD_COLUMNS], RECORD_COLUMNS_BEFORE);
  assertEquals(recordColumnNames(2), [
    ...RECORD_COLUMNS_BEFORE,
    "norm_layer_0",
    "norm_layer_1",
  ]);
  for (const q of QUANTITIES.filter((q) => q.source === "record")) {
    assert(
      (RECORD_COLUMNS as readonly string[]).includes(q.id),
      `${q.id} is a record column`,
    );
  }
});

Deno.test("the registry's derived quantities are exactly what deriveTerms computes, plus ir_own", () => {
  const terms = deriveTerms({
    lr: 0.1,
    m: 4,
    sum_g2: 8,
    gbar2: 1,
    sum_dev2: 4,
    full_grad2: 1,
    sum_pre: 2,
    pre_scale: 1,
    sum_s_g2: 3,
    one_norm: 5,
    traj_g2: 2,
  }, { name: "sgd", lr: 0.1, momentum: 0.5 });
  const derived = QUANTITIES.filter((q) => q.source === "derived").map((q) =>
    q.id
  );
  assertEquals([...TERM_QUANTITIES, "ir_own"].sort(), [...derived].sort());
  assertEquals(Object.keys(terms).sort(), [...TERM_QUANTITIES].sort());
  // One value by hand: ir_sgd = η/(4m) Σ‖g_k‖² = 0.1/16 · 8 (SCIENCE §2.1).
  assertEquals(terms.ir_sgd, 0.1 / 16 * 8);
});

Deno.test("the metrics series order, summary numbers, data dictionary and figures use only registry quantities", () => {
  assertEquals(QUANTITY_ORDER.length, 24);
  assertEquals(QUANTITY_ORDER[0], "train_loss");
  assert(!(QUANTITY_ORDER as readonly string[]).includes("train_clean_loss"));
  assertEquals(Object.keys(QUANTITY_INFO), [...QUANTITY_ORDER]);
  const run = fixtureRun(SGD, 0, { test_error: [0.9, 0.5], norm: [1, 2] }, {
    epochs: 1,
  });
  const summary = runSummary(run);
  for (const q of finalQuantities(QUANTITIES)) {
    assert(`final_${q}` in summary, `final_${q} in the summary`);
  }
  assertEquals(summary["final_test_error"], 0.5);
  assert(!("final_hessian_trace" in summary));
  for (const f of FIGURES) {
    for (const p of "parts" in f ? f.parts : []) {
      assert(QUANTITY_ORDER.includes(p.quantity), `${f.id}: ${p.quantity}`);
    }
  }
  const testError = FIGURES.find((f) => f.id === "test_error")!;
  assertEquals(testError.y.title, "test error (fraction)");
  assertEquals(
    axisTitle(QUANTITIES, "train_loss", "loss"),
    "loss (loss units)",
  );
  assertThrowsMatch(
    () => axisTitle(QUANTITIES, "nope"),
    /Quantity 'nope' is not one of train_loss, /,
  );
});

/**
 * The "Done when": a new recorded quantity is one registry row (plus
 * the training code that fills its column); every derived list picks it up
 * with no other module edited.
 */
Deno.test("a quantity added to the registry appears in the record columns, series order, summaries, CSV header, data dictionary and axis titles", () => {
  const fake = {
    id: "grad_cosine",
    label: "gradient cosine",
    unit: "cosine (−1 to 1)",
    axis: "cosine",
    description: "cosine between consecutive full-batch gradients",
    science: "§9.9",
    source: "record",
    series: true,
    final: true,
    aggregate: "mean_std",
  } as const satisfies QuantitySpec;
  const registry = [...QUANTITIES, fake];

  const columns = recordColumns(registry);
  // A record quantity: after dist_init and before the raw sums.
  assertEquals(
    columns.indexOf("grad_cosine"),
    columns.indexOf("dist_init") + 1,
  );
  assertEquals(columns.indexOf("m"), columns.indexOf("grad_cosine") + 1);
  assertEquals(seriesOrder(registry).at(-1), "grad_cosine");
  assertEquals(finalQuantities(registry).at(-1), "grad_cosine");
  assertEquals(quantityInfo(registry)["grad_cosine"], {
    description: "cosine between consecutive full-batch gradients",
    unit: "cosine (−1 to 1)",
    science: "§9.9",
  });
  assertEquals(axisTitle(registry, "grad_cosine"), "gradient cosine (cosine)");

  // The metrics CSV and data dictionary take the order and entries as given.
  const run = fixtureRun(SGD, 0, { test_error: [0.9, 0.5] }, { epochs: 1 });
  run.series["grad_cosine" as Quantity] = {
    epochs: Float64Array.of(0, 1),
    values: Float64Array.of(NaN, 0.25),
  };
  const order = seriesOrder(registry) as Quantity[];
  const csv = runsCsv([run], order).split("\n");
  assertEquals(
    csv[0],
    "group,optimizer,optimizer_name,lr,seed,status,epoch,test_error,grad_cosine",
  );
  assertEquals(csv[2], "sgd,sgd,sgd,0.1,0,ok,1,0.5,0.25");
  const schema = metricsSchema([run], order, registry) as {
    quantities: Record<string, unknown>;
  };
  assertEquals(Object.keys(schema.quantities), ["test_error", "grad_cosine"]);
  assertEquals(
    schema.quantities["grad_cosine"],
    quantityInfo(registry)["grad_cosine"],
  );
  // The shipped registry does not know it.
  assert(!(QUANTITY_ORDER as readonly string[]).includes("grad_cosine"));
});
