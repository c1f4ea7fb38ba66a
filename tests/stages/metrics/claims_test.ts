import { assert, assertEquals } from "./_assert.ts";
import {
  cellClaims,
  compareTerms,
  evaluateClaims,
  finalVerdict,
  fmt,
  pickContenders,
  termVerdict,
} from "../../../stages/metrics/claims.ts";
import type { Claim } from "../../../stages/metrics/types.ts";
import { ADAM, fixtureRun, RMSPROP, SGD } from "./_runs.ts";

const byId = (claims: Claim[], id: string): Claim =>
  claims.find((c) => c.id === id)!;

/** SGD with Σ||g_k||² = 2 per epoch: ir_sgd = 0.1/16 · 2 = 0.0125. */
const sgd = (seed: number, extra: Record<string, number[]> = {}) =>
  fixtureRun(SGD, seed, { sum_g2: () => 2, ...extra }, { epochs: 10 });
/** RMSprop whose paper term is 0.1/16 · sums[e] per epoch e. */
const rms = (
  seed: number,
  sums: (e: number) => number,
  extra: Record<string, number[]> = {},
) =>
  fixtureRun(RMSPROP, seed, {
    sum_s_g2: sums,
    sum_pre: sums,
    pre_scale: () => 1,
    ...extra,
  }, {
    epochs: 10,
  });

Deno.test("compareTerms() counts epochs ≥ 1 where SGD's term is larger, per seed", () => {
  // RMSprop's term is larger at epoch 0 (excluded) and at epochs 9 and 10.
  const r = rms(0, (e) => (e === 0 || e >= 9 ? 3 : 1));
  const seeds = compareTerms([sgd(0)], [r], "ir_sgd", "ir_rms_paper");
  assertEquals(seeds, [{ seed: 0, measured: 10, above: 8 }]);
  assertEquals(compareTerms([sgd(0)], [r], "ir_sgd", "ir_momentum"), []); // never measured
  assertEquals(compareTerms([sgd(1)], [r], "ir_sgd", "ir_rms_paper"), []); // no seed pairs
});

Deno.test("termVerdict() holds at ≥ 90% for every seed, fails at ≤ 10%, else mixed", () => {
  assertEquals(termVerdict([{ seed: 0, measured: 10, above: 9 }]), "holds");
  assertEquals(termVerdict([{ seed: 0, measured: 10, above: 8 }]), "mixed");
  assertEquals(termVerdict([{ seed: 0, measured: 10, above: 1 }]), "fails");
  assertEquals(
    termVerdict([{ seed: 0, measured: 10, above: 10 }, {
      seed: 1,
      measured: 10,
      above: 0,
    }]),
    "mixed",
  );
  assertEquals(termVerdict([]), "not measured");
});

Deno.test("finalVerdict() needs SGD below every adaptive method on every seed", () => {
  const s = (sgd: number, adam: number, rmsprop: number) => ({
    seed: 0,
    sgd,
    others: { adam, rmsprop },
  });
  assertEquals(finalVerdict([s(1, 2, 3), s(1, 1.5, 1.2)]), "holds");
  assertEquals(finalVerdict([s(4, 2, 3), s(3, 2, 3)]), "fails"); // a tie counts as not below
  assertEquals(finalVerdict([s(2.5, 2, 3)]), "mixed"); // between the two
  assertEquals(finalVerdict([s(1, 2, 3), s(4, 2, 3)]), "mixed"); // differs between seeds
  assertEquals(finalVerdict([]), "not measured");
});

Deno.test("cellClaims() term claims hold, fail and are mixed on synthetic series", () => {
  const holds = cellClaims(
    [sgd(0), sgd(1), rms(0, () => 1), rms(1, () => 0.5)],
    {},
  );
  const paper = byId(holds, "ir_sgd_exceeds_rmsprop_paper");
  assertEquals(paper.verdict, "holds");
  assertEquals(paper.numbers["epochs_measured"], 20);
  assertEquals(paper.numbers["sgd_final_mean"], 0.0125);
  assertEquals(paper.numbers["rmsprop_final_mean"], 0.1 / 16 * 0.75); // mean of 1 and 0.5
  assert(paper.evidence.includes("20 of 20"), paper.evidence);
  assert(paper.evidence.includes("both at η = 0.1"), paper.evidence);

  const fails = cellClaims([sgd(0), rms(0, () => 4)], {});
  const pre = byId(fails, "ir_sgd_exceeds_rmsprop_preconditioned");
  assertEquals(pre.verdict, "fails");
  assert(pre.evidence.includes("contradict"), pre.evidence);
  assertEquals(pre.numbers["ratio_final"], 0.5); // 2 / 4

  const mixed = cellClaims([sgd(0), rms(0, (e) => (e % 2 === 0 ? 4 : 1))], {});
  assertEquals(byId(mixed, "ir_sgd_exceeds_rmsprop_paper").verdict, "mixed"); // 5 of 10 epochs
});

Deno.test("cellClaims() final claims on norms and test errors", () => {
  const norm = (v: number) => [...Array(10).fill(1), v];
  const err = (v: number) => [...Array(10).fill(0.9), v];
  const runs = [
    sgd(0, { norm: norm(5), test_error: err(0.3), dist_init: norm(0.1) }),
    sgd(1, { norm: norm(6), test_error: err(0.1), dist_init: norm(0.1) }),
    fixtureRun(ADAM, 0, {
      norm: norm(9),
      test_error: err(0.2),
      dist_init: norm(4),
    }, { epochs: 10 }),
    fixtureRun(ADAM, 1, {
      norm: norm(9),
      test_error: err(0.2),
      dist_init: norm(4),
    }, { epochs: 10 }),
    rms(0, () => 1, {
      norm: norm(8),
      test_error: err(0.2),
      dist_init: norm(3),
    }),
    rms(1, () => 1, {
      norm: norm(8),
      test_error: err(0.2),
      dist_init: norm(3),
    }),
  ];
  const claims = cellClaims(runs, {});
  const n = byId(claims, "sgd_smaller_norm");
  assertEquals(n.verdict, "holds");
  assertEquals(n.numbers["sgd_mean"], 5.5);
  assertEquals(n.numbers["adam_mean"], 9);
  assertEquals(n.numbers["rmsprop_mean"], 8);
  assert(n.evidence.includes("SGD 0.1, Adam 4, RMSprop 3"), n.evidence); // ||w − w₀||
  const t = byId(claims, "sgd_lower_test_error");
  assertEquals(t.verdict, "mixed"); // seed 0: 0.3 > 0.2; seed 1: 0.1 < 0.2
  assert(t.evidence.includes("1 of 2 seed(s)"), t.evidence);
});

Deno.test("cellClaims() says 'not measured' when optimizers are absent, and names a missing one", () => {
  const onlySgd = cellClaims([sgd(0)], {});
  assertEquals(onlySgd.map((c) => c.verdict), [
    "not measured",
    "not measured",
    "not measured",
    "not measured",
  ]);
  assert(
    onlySgd[0]!.evidence.includes("RMSprop not in this experiment"),
    onlySgd[0]!.evidence,
  );
  const noAdam = cellClaims([
    sgd(0, { norm: [...Array(10).fill(1), 2] }),
    rms(0, () => 1, { norm: [...Array(10).fill(1), 3] }),
  ], {});
  const n = byId(noAdam, "sgd_smaller_norm");
  assertEquals(n.verdict, "holds");
  assert(n.evidence.includes("Adam not in this experiment"), n.evidence);
});

Deno.test("pickContenders() takes plain SGD, not heavy ball, and the first label of each", () => {
  const heavy = fixtureRun(
    { name: "sgd", lr: 0.1, momentum: 0.9, label: "sgd-m" },
    0,
    {},
  );
  const plain = fixtureRun({ name: "sgd", lr: 0.1, label: "sgd" }, 0, {});
  const other = fixtureRun({ name: "sgd", lr: 0.5, label: "sgd-tuned" }, 0, {});
  const c = pickContenders([heavy, plain, other]);
  assertEquals(c.sgd.map((r) => r.label), ["sgd"]);
  assertEquals(c.adam, []);
});

Deno.test("evaluateClaims() evaluates each sweep cell and suffixes its ids", () => {
  const cell = { "train.batch_size": 16 };
  const runs = [
    sgd(0),
    rms(0, () => 1),
    fixtureRun(SGD, 0, { sum_g2: () => 2 }, { epochs: 10, cell }),
    fixtureRun(RMSPROP, 0, { sum_s_g2: () => 4 }, { epochs: 10, cell }),
  ];
  const claims = evaluateClaims(runs);
  assertEquals(claims.length, 8);
  assertEquals(byId(claims, "ir_sgd_exceeds_rmsprop_paper").verdict, "holds");
  assertEquals(
    byId(claims, "ir_sgd_exceeds_rmsprop_paper@batch_size=16").verdict,
    "fails",
  );
});

Deno.test("fmt() gives 3 significant digits and exponents for tiny numbers", () => {
  assertEquals(fmt(0.012345), "0.0123");
  assertEquals(fmt(5e-6), "5.00e-6");
  assertEquals(fmt(0), "0");
  assertEquals(fmt(NaN), "NaN");
});
