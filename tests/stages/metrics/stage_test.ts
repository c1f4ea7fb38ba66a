import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertThrows,
} from "./_assert.ts";
import { decodeJson, encodeJson } from "../../../pipeline/artifact.ts";
import { Rng } from "../../../pipeline/rng.ts";
import type {
  InputValue,
  Item,
  Json,
  StageContext,
} from "../../../pipeline/stage.ts";
import { metricsStage, optimizerOf } from "../../../stages/metrics/stage.ts";
import type {
  KnownAnswer,
  MetricsDoc,
  Series,
} from "../../../stages/metrics/types.ts";
import { makeRecord } from "./_fixtures.ts";
import { stageContext } from "../_context.ts";

const OPTIMIZERS: Array<Record<string, Json>> = [
  { name: "sgd", lr: 0.001, label: "sgd" },
  { name: "adam", lr: 0.001, label: "adam" },
  { name: "rmsprop", lr: 0.001, label: "rmsprop" },
];
const KNOWN: KnownAnswer[] = [{
  id: "min_norm",
  title: "Minimum-norm interpolation",
  expected: "GD reaches X⁺y",
  rows: [{ optimizer: "gd", distance: 1e-9 }],
  verdict: "holds",
}];

/** Per optimizer: test error falls by 0.1 per epoch (+0.01·seed); norms and sums set per name. */
function records(): InputValue[] {
  const out: InputValue[] = [];
  for (const optimizer of OPTIMIZERS) {
    const adaptive = optimizer["name"] !== "sgd";
    const offset = optimizer["name"] === "sgd" ? 0 : 0.05; // SGD ends with the lower test error
    for (const seed of [0, 1]) {
      const item: Item = { optimizer, seed, cell: {} };
      out.push({
        item,
        data: makeRecord({
          epochs: 5,
          optimizer,
          seed,
          columns: {
            test_error: (e) => 0.9 - 0.1 * e + 0.01 * seed + offset,
            train_error: (e) => 0.9 - 0.15 * e,
            norm: (e) => (adaptive ? 20 : 10) + e,
            dist_init: (e) => (adaptive ? 2 : 0.1) * e,
            sum_g2: () => 2,
            ...(adaptive
              ? {
                sum_pre: () => 8,
                sum_s_g2: () => 1e-6,
                pre_scale: () => (optimizer["name"] === "adam" ? 19 : 1),
              }
              : {}),
          },
        }),
      });
    }
  }
  return out;
}

function sharpness(): InputValue[] {
  return [0, 1].map((seed) => ({
    item: { optimizer: OPTIMIZERS[0]!, seed, cell: {} },
    data: encodeJson({
      epochs: [0, 5],
      sharpness: [1 + seed, 3 + seed],
      iterations: [10, 12],
      residual: [1e-4 * (1 + seed), 3e-4],
    }),
  }));
}

function context(inputs: {
  sharpness?: InputValue[];
  known?: KnownAnswer[];
  findings?: string[];
}): {
  ctx: StageContext;
  warnings: string[];
} {
  const warnings: string[] = [];
  const ctx = stageContext({
    params: {
      "experiment.name": "paper",
      ...(inputs.findings ? { "metrics.findings": inputs.findings } : {}),
    },
    rng: Rng.fromSeed(0),
    log: { info: () => {}, warn: (m) => warnings.push(m) },
    inputs: inputs.known ? { known: encodeJson(inputs.known) } : {},
    all: {
      records: records(),
      ...(inputs.sharpness ? { sharpness: inputs.sharpness } : {}),
    },
  });
  return { ctx, warnings };
}

async function runStage(inputs: Parameters<typeof context>[0]) {
  const { ctx, warnings } = context(inputs);
  const out = await metricsStage.run(ctx);
  assertEquals(Object.keys(out), [
    "metrics",
    "runs_csv",
    "runs_parquet",
    "schema",
  ]);
  const text = new TextDecoder().decode(out["metrics"]);
  const runsCsv = new TextDecoder().decode(out["runs_csv"]);
  return {
    doc: decodeJson<MetricsDoc>(out["metrics"]!),
    text,
    warnings,
    runsCsv,
  };
}

function series(
  doc: MetricsDoc,
  group: string,
  quantity: string,
): Series | undefined {
  return doc.series.find((s) => s.group === group && s.quantity === quantity);
}

Deno.test("metricsStage aggregates 3 optimizers × 2 seeds × 5 epochs end to end", async () => {
  const { doc, text, runsCsv } = await runStage({
    sharpness: sharpness(),
    known: KNOWN,
  });
  // runs.csv: one row per run × epoch (3 optimizers × 2 seeds × 6 rows), plus the header.
  assertEquals(runsCsv.trimEnd().split("\n").length, 1 + 3 * 2 * 6);
  assertEquals(doc.experiment, "paper");
  assertEquals(doc.lr, { sgd: 0.001, adam: 0.001, rmsprop: 0.001 });
  assertEquals(doc.optimizers?.["adam"], {
    name: "adam",
    lr: 0.001,
    label: "adam",
  });
  assert(!text.includes("null"), "the document has no NaN (null) numbers");
  // What the charts read: η as recorded, β, and the stability lines: 2/η =
  // 2/0.001 on H for SGD; on P⁻¹H 38/η for Adam and 2/η for RMSprop (SCIENCE §4.2.1).
  assertEquals(
    doc.groups.map((g) => [
      g.group,
      g.kind,
      g.lr,
      g.beta,
      g.stability.map((l) => [l.label, Math.round(l.value), l.quantity]),
    ]),
    [
      ["sgd", "sgd", 0.001, 0, [["2/η", 2000, "sharpness"]]],
      ["adam", "adam", 0.001, undefined, [[
        "38/η (P⁻¹H)",
        38000,
        "preconditioned_sharpness",
      ]]],
      ["rmsprop", "rmsprop", 0.001, undefined, [[
        "2/η (P⁻¹H)",
        2000,
        "preconditioned_sharpness",
      ]]],
    ],
  );
  assertEquals(doc.groups[0]!.seeds, [0, 1]);
  assertEquals(doc.groups[0]!.epochs, 5);
  assertEquals(doc.scope.enough, false);
  assertEquals([doc.scope.seeds, doc.scope.epochs], [2, 5]);

  const test = series(doc, "sgd", "test_error")!;
  assertEquals(test.epochs, [0, 1, 2, 3, 4, 5]);
  assertAlmostEquals(test.mean[2]!, 0.705, 1e-12); // (0.7 + 0.71)/2
  assertAlmostEquals(test.std[2]!, 0.01 / Math.SQRT2, 1e-12);
  assertEquals(test.count, [2, 2, 2, 2, 2, 2]);

  // Adam's own term: 19 · 0.001/(4·4) · 8 = 0.0095; RMSprop's: 0.0005.
  const adamOwn = series(doc, "adam", "ir_own")!;
  assertEquals(adamOwn.epochs, [1, 2, 3, 4, 5]); // epoch 0 has no optimizer state
  assertAlmostEquals(adamOwn.mean[3]!, 0.0095, 1e-15);
  assertAlmostEquals(series(doc, "rmsprop", "ir_own")!.mean[3]!, 0.0005, 1e-15);
  assertAlmostEquals(series(doc, "sgd", "ir_own")!.mean[3]!, 0.000125, 1e-15); // 0.001/16 · 2
  assertEquals(series(doc, "sgd", "ir_rms_paper"), undefined); // not measured for SGD

  const sharp = series(doc, "sgd", "sharpness")!;
  assertEquals(sharp.epochs, [0, 5]);
  assertEquals(sharp.mean, [1.5, 3.5]);
  assertEquals(series(doc, "adam", "sharpness"), undefined);
  // Its residual bound travels beside it, into the series and the summary.
  const bound = series(doc, "sgd", "sharpness_residual")!;
  assertEquals(bound.epochs, [0, 5]);
  assertAlmostEquals(bound.mean[0]!, 1.5e-4, 1e-18);
  assertAlmostEquals(
    doc.summaries[0]!.numbers["final_sharpness_residual"]!.mean,
    3e-4,
    1e-18,
  );
  assertEquals(
    Object.keys(doc.summaries[0]!.numbers).indexOf("final_sharpness_residual"),
    Object.keys(doc.summaries[0]!.numbers).indexOf("final_sharpness") + 1,
  );

  assertEquals(doc.summaries.map((s) => s.group), ["sgd", "adam", "rmsprop"]);
  const sgd = doc.summaries[0]!;
  assertEquals(sgd.seeds, [0, 1]);
  assertAlmostEquals(sgd.numbers["final_test_error"]!.mean, 0.405, 1e-12);
  assertAlmostEquals(
    sgd.numbers["generalization_gap"]!.mean,
    0.405 - 0.15,
    1e-12,
  );

  // Two seeds: every measured claim is inconclusive, its numbers descriptive
  // (SCIENCE §7.1), however large the differences.
  assertEquals(
    doc.claims.map((c) => [c.id, c.verdict, c.descriptive]),
    [
      ["ir_sgd_exceeds_rmsprop_paper", "inconclusive", true], // 1.25e-4 against 6.25e-11
      ["ir_sgd_exceeds_rmsprop_preconditioned", "inconclusive", true], // 1.25e-4 against 5e-4
      ["sgd_smaller_norm", "inconclusive", true], // 15 against 25
      ["sgd_lower_test_error", "inconclusive", true], // 0.405 against 0.455
    ],
  );
  const paper = doc.claims[0]!.comparisons[0]!;
  assertEquals([paper.n, paper.seeds], [2, [0, 1]]);
  assertAlmostEquals(paper.mean, Math.log10(1.25e-4 / 6.25e-11), 1e-9);
  assertEquals(doc.known, KNOWN);
});

Deno.test("metricsStage runs without sharpness and known inputs and says so", async () => {
  const { doc, warnings } = await runStage({});
  assertEquals(doc.known, []);
  assertEquals(doc.series.filter((s) => s.quantity === "sharpness"), []);
  assert(warnings.some((w) => w.includes("'sharpness'")), warnings.join("\n"));
  assert(warnings.some((w) => w.includes("'known'")), warnings.join("\n"));
});

Deno.test("metricsStage adds the findings the experiment names, and none when it names none", async () => {
  const { doc } = await runStage({ findings: ["ir_terms", "norms"] });
  assertEquals(doc.findings!.map((f) => f.id), [
    "ir_terms.ir_sgd_exceeds_rmsprop_paper",
    "ir_terms.ir_sgd_exceeds_rmsprop_preconditioned",
    "norms",
  ]);
  // Two seeds: the claim's own comparison, descriptive, inconclusive.
  const terms = doc.findings![0]!;
  assertEquals(terms.comparisons, doc.claims[0]!.comparisons);
  assertEquals([terms.verdict, terms.descriptive], ["inconclusive", true]);
  assertEquals(doc.findings![2]!.figure, "norms-over-epochs");
  assertEquals((await runStage({})).doc.findings, undefined);
  const bad = await runStage({ findings: ["nope"] }).then(
    () => "",
    (e: Error) => e.message,
  );
  assert(bad.includes("metrics.findings: expected one of ir_terms"), bad);
});

Deno.test("optimizerOf() prefers the recorded config, else applies the cell's optimizer overrides", () => {
  const item: Item = {
    optimizer: { name: "sgd", lr: 0.1, label: "sgd" },
    seed: 0,
    cell: { "optimizer.lr": 0.01, "train.batch_size": 16 },
  };
  assertEquals(
    optimizerOf(item, { name: "sgd", lr: 0.01, label: "sgd" }).lr,
    0.01,
  );
  assertEquals(optimizerOf(item, null), {
    name: "sgd",
    lr: 0.01,
    label: "sgd",
  });
  assertEquals(optimizerOf({}, { name: "adam", lr: 1 }).name, "adam");
  assertThrows(
    () => optimizerOf({ optimizer: { name: "sgd" } }, null),
    Error,
    "'lr'",
  );
});
