import { assertAlmostEquals, assertEquals, assertThrows } from "./_assert.ts";
import type { OptimizerConfig } from "../../../stages/nn/contracts.ts";
import {
  deriveTerms,
  heavyBallBeta,
  irGd,
  irMomentum,
  irPreconditioned,
  irRmsPaper,
  irSgd,
  irSgdMean,
  irSgdVar,
  irTrajectory,
  ownTerm,
  ownValue,
  type RawSums,
} from "../../../stages/metrics/terms.ts";

const TOL = 1e-15;

Deno.test("irSgd() is η/(4m)·Σ||g_k||²: η=0.1, m=4, Σ=2 → 0.0125", () => {
  assertAlmostEquals(irSgd(0.1, 4, 2), 0.0125, TOL);
});

Deno.test("irSgdMean() and irSgdVar() split irSgd() exactly for g = (1, 3), η = 0.2", () => {
  // g1 = 1, g2 = 3: Σg² = 10, ḡ = 2, ||ḡ||² = 4, Σ(g−ḡ)² = 2, m = 2.
  assertAlmostEquals(irSgd(0.2, 2, 10), 0.25, TOL); // 0.2/8·10
  assertAlmostEquals(irSgdMean(0.2, 4), 0.2, TOL); // 0.2/4·4
  assertAlmostEquals(irSgdVar(0.2, 2, 2), 0.05, TOL); // 0.2/8·2
  assertAlmostEquals(
    irSgdMean(0.2, 4) + irSgdVar(0.2, 2, 2),
    irSgd(0.2, 2, 10),
    TOL,
  );
  assertAlmostEquals(irSgdVar(0.1, 4, 0.8), 0.005, TOL);
});

Deno.test("irGd() is η/4·||∇C||²: η=0.2, ||∇C||²=4 → 0.2", () => {
  assertAlmostEquals(irGd(0.2, 4), 0.2, TOL);
});

Deno.test("irMomentum() is 190× irSgd() at β=0.9 and equal at β=0", () => {
  assertAlmostEquals(irMomentum(0.1, 4, 2, 0.9), 2.375, 1e-12); // 1.9/0.01 · 0.0125
  assertAlmostEquals(irMomentum(0.1, 4, 2, 0), 0.0125, TOL);
  assertAlmostEquals(irMomentum(0.1, 4, 2, 0.5), 0.075, 1e-15); // 1.5/0.25 · 0.0125
});

Deno.test("irRmsPaper() is η/(4m)·Σ||s⊙g_k||²: η=0.001, m=157, Σ=3.14 → 5e-6", () => {
  assertAlmostEquals(irRmsPaper(0.001, 157, 3.14), 5e-6, 1e-18);
});

Deno.test("irPreconditioned() applies Adam's (1+β₁)/(1−β₁) = 19 and RMSprop's 1", () => {
  assertAlmostEquals(irPreconditioned(0.001, 2, 8, 19), 0.019, 1e-15); // 19 · 0.001/8 · 8
  assertAlmostEquals(irPreconditioned(0.001, 2, 8, 1), 0.001, 1e-15);
  assertEquals(irPreconditioned(0.001, 2, NaN, NaN), NaN);
});

Deno.test("irTrajectory() is η/4·mean||∇Ĉ_k(w_k)||²: η=0.1, mean=2 → 0.05", () => {
  // Same scaling as irSgd when all g_k are equal: η/(4m)·m·2 = η/4·2.
  assertAlmostEquals(irTrajectory(0.1, 2), 0.05, TOL);
  assertAlmostEquals(irTrajectory(0.1, 2), irSgd(0.1, 7, 14), TOL);
});

const SUMS: RawSums = {
  lr: 0.1,
  m: 4,
  sum_g2: 2,
  gbar2: 0.3,
  sum_dev2: 0.8,
  full_grad2: 0.32,
  sum_pre: 40,
  pre_scale: 1,
  sum_s_g2: 0.16,
  one_norm: 7,
  traj_g2: 0.6,
};

Deno.test("deriveTerms() gives every term of one snapshot from raw sums", () => {
  const t = deriveTerms(SUMS, { name: "rmsprop", lr: 0.1 });
  assertAlmostEquals(t.ir_sgd, 0.0125, TOL);
  assertAlmostEquals(t.ir_sgd_mean, 0.0075, TOL);
  assertAlmostEquals(t.ir_sgd_var, 0.005, TOL);
  assertAlmostEquals(t.ir_gd, 0.008, TOL);
  assertEquals(t.ir_momentum, NaN); // not heavy ball
  assertAlmostEquals(t.ir_rms_paper, 0.001, TOL); // 0.1/16 · 0.16
  assertAlmostEquals(t.ir_preconditioned, 0.25, TOL); // 0.1/16 · 40
  assertEquals(t.one_norm, 7);
  assertAlmostEquals(t.ir_trajectory, 0.015, TOL);
  assertEquals(deriveTerms(SUMS, { name: "sgd", lr: 0.1 }).ir_momentum, NaN); // β = 0
  const m = deriveTerms(SUMS, { name: "sgd", lr: 0.1, momentum: 0.9 });
  assertAlmostEquals(m.ir_momentum, 2.375, 1e-12);
});

Deno.test("deriveTerms() scales RMSprop-with-momentum's preconditioned term by (1+μ)/(1−μ)²", () => {
  // η/(4m)·sum_pre = 0.1/16 · 40 = 0.25; μ = 0.5: (1.5)/(0.5²) = 6 → 1.5;
  // μ = 0.9: 1.9/0.1² = 190 → 47.5. The record's pre_scale (1, as RMSprop
  // reported before) is not read: old records derive the right term.
  const mu5 = deriveTerms(SUMS, { name: "rmsprop", lr: 0.1, momentum: 0.5 });
  assertAlmostEquals(mu5.ir_preconditioned, 1.5, 1e-12);
  const mu9 = deriveTerms(SUMS, { name: "rmsprop", lr: 0.1, momentum: 0.9 });
  assertAlmostEquals(mu9.ir_preconditioned, 47.5, 1e-10);
  // Without momentum the factor is 1; Adam keeps (1+β₁)/(1−β₁) = 19 → 4.75.
  const plain = deriveTerms(SUMS, { name: "rmsprop", lr: 0.1 });
  assertAlmostEquals(plain.ir_preconditioned, 0.25, TOL);
  const adam = deriveTerms(SUMS, { name: "adam", lr: 0.1 });
  assertAlmostEquals(adam.ir_preconditioned, 4.75, 1e-12);
  const b5 = deriveTerms(SUMS, { name: "adam", lr: 0.1, beta1: 0.5 });
  assertAlmostEquals(b5.ir_preconditioned, 0.75, 1e-12); // 1.5/0.5 = 3
});

Deno.test("heavyBallBeta() reads SGD momentum, SWATS β₁, and is NaN for Adam", () => {
  assertEquals(heavyBallBeta({ name: "sgd", lr: 1 }), 0);
  assertEquals(heavyBallBeta({ name: "gd", lr: 1, momentum: 0.5 }), 0.5);
  assertEquals(heavyBallBeta({ name: "swats", lr: 1 }), 0.9);
  assertEquals(heavyBallBeta({ name: "adam", lr: 1 }), NaN);
});

Deno.test("ownTerm() picks each optimizer's own term", () => {
  assertEquals(ownTerm({ name: "gd", lr: 1 }), "ir_gd");
  assertEquals(ownTerm({ name: "gd", lr: 1, momentum: 0.9 }), "ir_momentum");
  assertEquals(ownTerm({ name: "sgd", lr: 1 }), "ir_sgd");
  assertEquals(ownTerm({ name: "sgd", lr: 1, momentum: 0 }), "ir_sgd");
  assertEquals(ownTerm({ name: "sgd", lr: 1, momentum: 0.9 }), "ir_momentum");
  assertEquals(ownTerm({ name: "rmsprop", lr: 1 }), "ir_preconditioned");
  assertEquals(ownTerm({ name: "adam", lr: 1 }), "ir_preconditioned");
  assertThrows(
    () => ownTerm({ name: "lbfgs", lr: 1 } as unknown as OptimizerConfig),
    Error,
    "optimizer.name",
  );
});

Deno.test("ownValue() switches SWATS from the preconditioned to the heavy-ball term", () => {
  const swats: OptimizerConfig = { name: "swats", lr: 0.1 };
  const adamPhase = deriveTerms({ ...SUMS, pre_scale: 19 }, swats);
  assertAlmostEquals(ownValue(adamPhase, swats), 4.75, 1e-12); // 19 · 0.25
  const sgdPhase = deriveTerms(
    { ...SUMS, sum_pre: NaN, pre_scale: NaN },
    swats,
  );
  assertAlmostEquals(ownValue(sgdPhase, swats), 2.375, 1e-12); // β₁ = 0.9: 190 · 0.0125
  assertAlmostEquals(
    ownValue(deriveTerms(SUMS, { name: "sgd", lr: 0.1 }), {
      name: "sgd",
      lr: 0.1,
    }),
    0.0125,
    TOL,
  );
});
