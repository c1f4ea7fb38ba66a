import { assertAlmostEquals, assertEquals, assertThrows } from "./_assert.ts";
import {
  groupSummary,
  lastFinite,
  runSummary,
} from "../../../stages/metrics/summary.ts";
import { fixtureRun, SGD } from "./_runs.ts";

const COLUMNS = {
  train_error: [0.9, 0.2, 0.1, 0.05],
  test_error: [0.9, 0.3, 0.2, 0.25],
  train_clean_error: [0.9, 0.1, 0.05, 0.02],
  train_corrupt_error: [0.9, 0.9, 0.8, 0.6],
  norm: [10, 11, 12, 13],
  sum_g2: [8, 4, 2, NaN], // last snapshot not measured: final ir_sgd is epoch 2's
};

Deno.test("runSummary() computes gap, memorisation, best and final numbers", () => {
  const s = runSummary(fixtureRun(SGD, 0, COLUMNS, { epochs: 3 }));
  assertEquals(s["final_epoch"], 3);
  assertAlmostEquals(s["generalization_gap"]!, 0.2, 1e-15); // 0.25 − 0.05
  assertAlmostEquals(s["memorised_fraction"]!, 0.4, 1e-15); // 1 − 0.6
  assertAlmostEquals(s["memorisation_gap"]!, 0.58, 1e-15); // 0.6 − 0.02
  assertEquals(s["best_test_error"], 0.2);
  assertEquals(s["best_test_epoch"], 2);
  assertEquals(s["final_test_error"], 0.25);
  assertEquals(s["final_norm"], 13);
  assertEquals(s["final_ir_sgd"], 0.0125); // 0.1/16 · 2 at epoch 2
  assertEquals(s["final_ir_own"], 0.0125);
  assertEquals(s["final_ir_rms_paper"], NaN);
});

Deno.test("runSummary() of a diverged run keeps best_test_error but no final numbers", () => {
  const s = runSummary(
    fixtureRun(SGD, 0, COLUMNS, { epochs: 3, status: "diverged" }),
  );
  assertEquals(s["final_test_error"], NaN);
  assertEquals(s["generalization_gap"], NaN);
  assertEquals(s["best_test_error"], 0.2);
});

Deno.test("lastFinite() returns the last finite value and its epoch", () => {
  const run = fixtureRun(SGD, 0, { norm: [1, 2, NaN] }, { epochs: 2 });
  assertEquals(lastFinite(run, "norm"), { epoch: 1, value: 2 });
  assertEquals(lastFinite(run, "sharpness"), { epoch: NaN, value: NaN });
});

Deno.test("groupSummary() aggregates over seeds and counts diverged runs", () => {
  const runs = [
    fixtureRun(SGD, 1, { ...COLUMNS, test_error: [0.9, 0.3, 0.2, 0.3] }, {
      epochs: 3,
    }),
    fixtureRun(SGD, 0, COLUMNS, { epochs: 3 }),
    fixtureRun(SGD, 2, COLUMNS, { epochs: 3, status: "diverged" }),
  ];
  const g = groupSummary(runs);
  assertEquals(g.group, "sgd");
  assertEquals(g.seeds, [0, 1, 2]);
  assertEquals(g.diverged, 1);
  const final = g.numbers["final_test_error"]!;
  assertAlmostEquals(final.mean, 0.275, 1e-15); // (0.3 + 0.25)/2, diverged run left out
  assertAlmostEquals(final.std, Math.sqrt(2 * 0.025 ** 2), 1e-15);
  assertEquals(final.count, 2);
  const best = g.numbers["best_test_error"]!;
  assertAlmostEquals(best.mean, 0.2, 1e-15);
  assertAlmostEquals(best.std, 0, 1e-15);
  assertEquals(best.count, 3);
  assertEquals(g.numbers["final_ir_rms_paper"], undefined); // never measured: left out
  assertThrows(() => groupSummary([]), Error, "at least one run");
});
