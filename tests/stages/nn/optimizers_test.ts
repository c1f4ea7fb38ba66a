/**
 * Each optimizer against the PyTorch 1.13 update rules written out here in
 * float64 JS (never by calling the code under test). Problem: two variables
 * (a 2×2 "kernel" and a 2-vector "bias", flattened to 6 coordinates) on the
 * diagonal quadratic L(w) = ½ Σ a_j w_j² + c_j w_j, so g = a ⊙ w + c.
 */
import {
  assert,
  assertEquals,
  assertStrictEquals,
  assertThrowsMatch,
} from "../../assert.ts";
import * as tf from "@tensorflow/tfjs";
import { initWasmBackend } from "../../../stages/nn/backend.ts";
import type {
  Optimizer,
  OptimizerConfig,
} from "../../../stages/nn/contracts.ts";
import { createOptimizer } from "../../../stages/nn/optimizers.ts";
import { OPTIMIZER_NAMES } from "../../../stages/train/params.ts";
import { Rng } from "../../../pipeline/rng.ts";

await initWasmBackend();

const W0 = [0.5, -1.0, 2.0, 0.25, -0.3, 0.8];
const A = [1.0, 2.0, 0.5, 3.0, 1.5, 0.2];
const C = [0.1, -0.2, 0.3, 0.0, -0.5, 0.05];
const grad = (w: number[]) => w.map((wj, j) => A[j]! * wj + C[j]!);

function makeVars(w: number[] = W0): tf.Variable[] {
  return [
    tf.variable(tf.tensor2d(w.slice(0, 4), [2, 2])),
    tf.variable(tf.tensor1d(w.slice(4))),
  ];
}
const read = (vs: tf.Variable[]) => vs.flatMap((v) => Array.from(v.dataSync()));

/** Runs `steps` steps of the optimizer with g = a ⊙ w + c evaluated at the current weights. */
function run(opt: Optimizer, vs: tf.Variable[], steps: number): number[][] {
  const path: number[][] = [];
  for (let k = 0; k < steps; k++) {
    const g = grad(read(vs));
    const gs = [tf.tensor2d(g.slice(0, 4), [2, 2]), tf.tensor1d(g.slice(4))];
    opt.step(gs);
    for (const t of gs) t.dispose();
    path.push(read(vs));
  }
  return path;
}

function assertPath(got: number[][], want: number[][], tol = 2e-6) {
  assertStrictEquals(got.length, want.length);
  got.forEach((row, k) =>
    row.forEach((x, j) => {
      const y = want[k]![j]!;
      assert(
        Math.abs(x - y) <= tol * (1 + Math.abs(y)),
        `step ${k + 1} coord ${j}: ${x} vs ${y}`,
      );
    })
  );
}

/** Runs the optimizer from W0 and compares three steps with the float64 reference. */
function check(
  config: OptimizerConfig,
  reference: (w: number[], steps: number) => number[][],
) {
  const vs = makeVars();
  const opt = createOptimizer(config, vs);
  assertPath(run(opt, vs, 3), reference([...W0], 3));
  assertStrictEquals(opt.steps, 3);
  opt.dispose();
  for (const v of vs) v.dispose();
}

// ---- float64 references, straight from the update rules ----

function sgdRef(lr: number, beta: number, nesterov: boolean, wd: number) {
  return (w: number[], steps: number) => {
    const buf = w.map(() => 0);
    const out: number[][] = [];
    for (let t = 1; t <= steps; t++) {
      const g = grad(w).map((gj, j) => gj + wd * w[j]!);
      for (let j = 0; j < w.length; j++) {
        let d = g[j]!;
        if (beta > 0) {
          buf[j] = t === 1 ? g[j]! : beta * buf[j]! + g[j]!; // PyTorch: first buf = g
          d = nesterov ? g[j]! + beta * buf[j]! : buf[j]!;
        }
        w[j] = w[j]! - lr * d;
      }
      out.push([...w]);
    }
    return out;
  };
}

function rmspropRef(
  lr: number,
  alpha: number,
  eps: number,
  centered: boolean,
  mu: number,
) {
  return (w: number[], steps: number) => {
    const s = w.map(() => 0), ga = w.map(() => 0), buf = w.map(() => 0);
    const out: number[][] = [];
    for (let t = 1; t <= steps; t++) {
      const g = grad(w);
      for (let j = 0; j < w.length; j++) {
        s[j] = alpha * s[j]! + (1 - alpha) * g[j]! ** 2;
        let avg: number;
        if (centered) {
          ga[j] = alpha * ga[j]! + (1 - alpha) * g[j]!;
          avg = Math.sqrt(s[j]! - ga[j]! ** 2) + eps;
        } else {
          avg = Math.sqrt(s[j]!) + eps;
        }
        if (mu > 0) {
          buf[j] = mu * buf[j]! + g[j]! / avg;
          w[j] = w[j]! - lr * buf[j]!;
        } else {
          w[j] = w[j]! - lr * g[j]! / avg;
        }
      }
      out.push([...w]);
    }
    return out;
  };
}

function adamRef(lr: number, b1: number, b2: number, eps: number, wd: number) {
  return (w: number[], steps: number) => {
    const m = w.map(() => 0), v = w.map(() => 0);
    const out: number[][] = [];
    for (let t = 1; t <= steps; t++) {
      const g = grad(w).map((gj, j) => gj + wd * w[j]!);
      for (let j = 0; j < w.length; j++) {
        m[j] = b1 * m[j]! + (1 - b1) * g[j]!;
        v[j] = b2 * v[j]! + (1 - b2) * g[j]! ** 2;
        const denom = Math.sqrt(v[j]!) / Math.sqrt(1 - b2 ** t) + eps;
        w[j] = w[j]! - (lr / (1 - b1 ** t)) * m[j]! / denom;
      }
      out.push([...w]);
    }
    return out;
  };
}

// ---- the tests ----

Deno.test("createOptimizer() sgd matches three hand-computed steps", () => {
  // Step 1 by hand, coordinate 0: g = 1·0.5 + 0.1 = 0.6, w = 0.5 − 0.1·0.6 = 0.44.
  const vs = makeVars();
  const opt = createOptimizer({ name: "sgd", lr: 0.1 }, vs);
  const first = run(opt, vs, 1)[0]!;
  assert(Math.abs(first[0]! - 0.44) < 1e-7);
  opt.dispose();
  check({ name: "sgd", lr: 0.1 }, sgdRef(0.1, 0, false, 0));
});

Deno.test("createOptimizer() gd is the same update as plain sgd", () => {
  check({ name: "gd", lr: 0.3 }, sgdRef(0.3, 0, false, 0));
});

Deno.test("createOptimizer() sgd heavy-ball momentum matches three hand-computed steps", () => {
  // Coordinate 0, β = 0.9, η = 0.1: g₁ = 0.6, buf₁ = 0.6, w₁ = 0.44;
  // g₂ = 0.54, buf₂ = 0.9·0.6 + 0.54 = 1.08, w₂ = 0.332;
  // g₃ = 0.432, buf₃ = 0.972 + 0.432 = 1.404, w₃ = 0.1916.
  const vs = makeVars();
  const opt = createOptimizer({ name: "sgd", lr: 0.1, momentum: 0.9 }, vs);
  const path = run(opt, vs, 3);
  [0.44, 0.332, 0.1916].forEach((x, k) =>
    assert(Math.abs(path[k]![0]! - x) < 1e-6, `step ${k + 1}`)
  );
  opt.dispose();
  check({ name: "sgd", lr: 0.1, momentum: 0.9 }, sgdRef(0.1, 0.9, false, 0));
});

Deno.test("createOptimizer() sgd nesterov matches three hand-computed steps", () => {
  check(
    { name: "sgd", lr: 0.05, momentum: 0.8, nesterov: true },
    sgdRef(0.05, 0.8, true, 0),
  );
});

Deno.test("createOptimizer() sgd weight decay adds wd·w to the gradient", () => {
  check(
    { name: "sgd", lr: 0.1, momentum: 0.5, weight_decay: 0.01 },
    sgdRef(0.1, 0.5, false, 0.01),
  );
});

Deno.test("createOptimizer() rmsprop matches three hand-computed steps", () => {
  // Step 1 by hand: s = 0.01·g², so w ← w − η g/(0.1|g| + ε) = w − 10η·sign(g) (up to ε).
  const vs = makeVars();
  const opt = createOptimizer({ name: "rmsprop", lr: 0.001 }, vs);
  const first = run(opt, vs, 1)[0]!;
  assert(Math.abs(first[0]! - (0.5 - 0.01)) < 1e-7, `${first[0]}`);
  assert(Math.abs(first[1]! - (-1.0 + 0.01)) < 1e-7, `${first[1]}`); // g = −2 − 0.2 < 0
  opt.dispose();
  check(
    { name: "rmsprop", lr: 0.001 },
    rmspropRef(0.001, 0.99, 1e-8, false, 0),
  );
});

Deno.test("createOptimizer() rmsprop centered matches three hand-computed steps", () => {
  check(
    { name: "rmsprop", lr: 0.001, centered: true, alpha: 0.9 },
    rmspropRef(0.001, 0.9, 1e-8, true, 0),
  );
});

Deno.test("createOptimizer() rmsprop with momentum and eps matches three hand-computed steps", () => {
  check(
    { name: "rmsprop", lr: 0.002, momentum: 0.9, eps: 0.1 },
    rmspropRef(0.002, 0.99, 0.1, false, 0.9),
  );
});

Deno.test("createOptimizer() adam matches three hand-computed steps", () => {
  // Step 1 by hand: m = 0.1g, v = 0.001g², so w ← w − η g/(|g| + ε) = w − η·sign(g).
  const vs = makeVars();
  const opt = createOptimizer({ name: "adam", lr: 0.01 }, vs);
  const first = run(opt, vs, 1)[0]!;
  first.forEach((x, j) =>
    assert(
      Math.abs(x - (W0[j]! - 0.01 * Math.sign(grad(W0)[j]!))) < 1e-6,
      `coord ${j}`,
    )
  );
  opt.dispose();
  check({ name: "adam", lr: 0.01 }, adamRef(0.01, 0.9, 0.999, 1e-8, 0));
  check(
    { name: "adam", lr: 0.05, beta1: 0.5, beta2: 0.9, eps: 0.01 },
    adamRef(0.05, 0.5, 0.9, 0.01, 0),
  );
});

Deno.test("createOptimizer() adam weight decay is the L2 form added to the gradient", () => {
  check(
    { name: "adam", lr: 0.01, weight_decay: 0.1, eps: 0.05 },
    adamRef(0.01, 0.9, 0.999, 0.05, 0.1),
  );
});

Deno.test("createOptimizer() swats runs Adam, switches on a constant gradient at k = 2, then momentum SGD", () => {
  // Constant gradient g: every Adam step is p = −η g/(|g| + ε) (ε = 0 here), so
  // γ_k = pᵀp/(−pᵀg) = η·d/Σ|g_j| for every k, λ_k = γ(1 − β₂^k), λ_k/(1 − β₂^k) = γ:
  // the rule fires at the first k > 1, i.e. k = 2, with Λ = γ.
  const g = [0.5, -1, 2, 0.25, -4, 1];
  const eta = 0.01, b1 = 0.9;
  const gamma = eta * 6 / g.reduce((s, x) => s + Math.abs(x), 0);
  const vs = makeVars();
  const opt = createOptimizer({
    name: "swats",
    lr: eta,
    eps: 0,
    switch_eps: 1e-6,
  }, vs);
  const steps = [g, g, [1, 2, 3, 4, 5, 6], [-1, 0, 1, 0, 2, 0.5]];
  const path: number[][] = [];
  for (const s of steps) {
    const gs = [tf.tensor2d(s.slice(0, 4), [2, 2]), tf.tensor1d(s.slice(4))];
    opt.step(gs);
    for (const t of gs) t.dispose();
    path.push(read(vs));
  }
  const sw = opt.saveState().scalars;
  assertStrictEquals(sw.switch_step, 2);
  assert(
    Math.abs(sw.sgd_lr! - gamma) < 1e-6 * gamma,
    `Λ ${sw.sgd_lr} vs ${gamma}`,
  );
  assert(Math.abs(opt.lr() - (1 - b1) * gamma) < 1e-6 * gamma);
  assertStrictEquals(opt.preconditioner(), null);
  // Reference: two Adam steps of −η·sign(g), then v ← β₁v + g, w ← w − (1−β₁)Λ v from v = 0.
  const w = [...W0];
  const want: number[][] = [];
  for (let k = 0; k < 2; k++) {
    for (let j = 0; j < 6; j++) w[j] = w[j]! - eta * Math.sign(g[j]!);
    want.push([...w]);
  }
  const v = w.map(() => 0);
  for (const s of steps.slice(2)) {
    for (let j = 0; j < 6; j++) {
      v[j] = b1 * v[j]! + s[j]!;
      w[j] = w[j]! - (1 - b1) * gamma * v[j]!;
    }
    want.push([...w]);
  }
  assertPath(path, want);
  opt.dispose();
});

Deno.test("createOptimizer() swats does not switch while the projection keeps moving", () => {
  // On the quadratic the Adam steps shrink and γ_k changes: with ε_switch = 1e-9 no switch in 3 steps.
  const vs = makeVars();
  const opt = createOptimizer({ name: "swats", lr: 0.01 }, vs);
  assertPath(run(opt, vs, 3), adamRef(0.01, 0.9, 0.999, 1e-8, 0)([...W0], 3));
  assertStrictEquals(opt.saveState().scalars.switch_step, 0);
  assert(opt.preconditioner() !== null);
  opt.dispose();
});

Deno.test("createOptimizer() swats decides its switch on float64 dot products where float32 sums disagree", () => {
  // Step 1: g₁ over 16,384 coordinates (|g| in [0.5, 1.5], random signs); step 2:
  // g₂ = g₁ with its first half times r = −0.9039857, found offline by bisection so
  // that γ₂ = γ₁ in float64: |Λ₂ − γ₂| = β₂|γ₁ − γ₂|/(1+β₂) ≈ 8e-12, far below
  // ε_switch = 1e-9. The sign flip changes the pattern of p, so a float32 Sum errs
  // differently at the two steps and puts |Λ₂ − γ₂| near 8e-8: it would not switch.
  const n = 16384, eta = 1e-3, b2 = 0.999, switchEps = 1e-9;
  const rng = Rng.fromSeed("swats-float64-switch");
  const g1 = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    g1[j] = rng.uniform(0.5, 1.5) * (rng.float() < 0.5 ? -1 : 1);
  }
  const g2 = g1.map((x, j) => (j < n / 2 ? x * -0.9006109 : x));
  const w = tf.variable(tf.zeros([n]));
  const opt = createOptimizer(
    { name: "swats", lr: eta, switch_eps: switchEps },
    [w],
  );
  // γ_k from p_k·p_k and p_k·g_k, in float64 (plain JS) and in float32 (tfjs Sum).
  const gamma64: number[] = [];
  const gamma32: number[] = [];
  for (const g of [g1, g2]) {
    const gt = tf.tensor1d(g);
    w.assign(tf.zerosLike(w)); // Adam's step ignores w, so w after the step is p_k exactly
    opt.step([gt]);
    const p = w.dataSync() as Float32Array;
    let pp = 0, pg = 0;
    for (let j = 0; j < n; j++) {
      pp += p[j]! * p[j]!;
      pg += p[j]! * g[j]!;
    }
    gamma64.push(pp / -pg);
    const [pp32, pg32] = tf.tidy(() =>
      Array.from(
        tf.stack([tf.sum(tf.mul(w, w)), tf.sum(tf.mul(w, gt))])
          .dataSync(),
      )
    );
    gamma32.push(pp32! / -pg32!);
    gt.dispose();
  }
  /** SCIENCE §3's rule on a γ sequence: the switch step (0 = none) and Λ there. */
  const decide = (gammas: number[]) => {
    let lambda = 0;
    for (const [i, gamma] of gammas.entries()) {
      const k = i + 1;
      lambda = b2 * lambda + (1 - b2) * gamma;
      const big = lambda / (1 - b2 ** k);
      if (k > 1 && big > 0 && Math.abs(big - gamma) < switchEps) {
        return { step: k, big };
      }
    }
    return { step: 0, big: NaN };
  };
  const want = decide(gamma64);
  assertStrictEquals(want.step, 2);
  assertStrictEquals(
    decide(gamma32).step,
    0,
    "the case separates float32 from float64",
  );
  const sw = opt.saveState().scalars;
  assertStrictEquals(sw.switch_step, want.step);
  assert(
    Math.abs(sw.sgd_lr! - want.big) < 1e-12 * want.big,
    `Λ ${sw.sgd_lr} vs ${want.big}`,
  );
  opt.dispose();
  w.dispose();
});

Deno.test("preconditioner() returns RMSprop's s, Adam's bias-corrected v̂ and the (1+β₁)/(1−β₁) scale", () => {
  const g0 = grad(W0);
  const cases: Array<[OptimizerConfig, (gj: number) => number, number]> = [
    [{ name: "rmsprop", lr: 0.001 }, (gj) => 0.01 * gj * gj, 1],
    [{ name: "adam", lr: 0.001 }, (gj) => gj * gj, 19], // v̂₁ = 0.001g²/(1 − 0.999) = g²
  ];
  for (const [config, want, scale] of cases) {
    const vs = makeVars();
    const opt = createOptimizer(config, vs);
    run(opt, vs, 1);
    const p = opt.preconditioner()!;
    const got = p.v.flatMap((t) => Array.from(t.dataSync()));
    got.forEach((x, j) =>
      assert(
        Math.abs(x - want(g0[j]!)) < 1e-5 * (1 + want(g0[j]!)),
        `${config.name} ${j}`,
      )
    );
    assert(Math.abs(p.scale - scale) < 1e-12 && p.eps === 1e-8);
    opt.dispose();
  }
  const opt = createOptimizer({ name: "sgd", lr: 0.1 }, makeVars());
  assertStrictEquals(opt.preconditioner(), null);
});

Deno.test("preconditioner() scale is (1+μ)/(1−μ)² for RMSprop with momentum μ (SCIENCE §2.6)", () => {
  const cases: Array<[OptimizerConfig, number]> = [
    [{ name: "rmsprop", lr: 0.001, momentum: 0.5 }, 6], // 1.5/0.25
    [{ name: "rmsprop", lr: 0.001, momentum: 0.9, centered: true }, 190], // 1.9/0.01
    [{ name: "rmsprop", lr: 0.001, momentum: 0 }, 1],
    [{ name: "swats", lr: 0.001, beta1: 0.5 }, 3], // (1+β₁)/(1−β₁), Adam phase
  ];
  for (const [config, scale] of cases) {
    const vs = makeVars();
    const opt = createOptimizer(config, vs);
    run(opt, vs, 1);
    const p = opt.preconditioner()!;
    assert(
      Math.abs(p.scale - scale) < 1e-12 * scale,
      `${JSON.stringify(config)}: ${p.scale} vs ${scale}`,
    );
    opt.dispose();
    for (const v of vs) v.dispose();
  }
});

Deno.test("saveState()/loadState() resume bit-for-bit", () => {
  const configs: OptimizerConfig[] = [
    { name: "sgd", lr: 0.1, momentum: 0.9, nesterov: true },
    { name: "rmsprop", lr: 0.001, centered: true, momentum: 0.5 },
    { name: "adam", lr: 0.01, weight_decay: 0.01 },
    { name: "swats", lr: 0.01, switch_eps: 1e-3 },
  ];
  for (const config of configs) {
    const vs = makeVars();
    const opt = createOptimizer(config, vs);
    run(opt, vs, 3);
    const state = opt.saveState();
    const resumedVars = makeVars(read(vs));
    const resumed = createOptimizer(config, resumedVars);
    resumed.loadState(structuredClone(state));
    assertStrictEquals(resumed.steps, 3);
    assertEquals(run(resumed, resumedVars, 3), run(opt, vs, 3), config.name);
    assertEquals(resumed.saveState(), opt.saveState());
    opt.dispose();
    resumed.dispose();
  }
});

Deno.test("step() keeps the tensor count constant over 10 steps", () => {
  for (const name of OPTIMIZER_NAMES) {
    const vs = makeVars();
    const config: OptimizerConfig = name === "sgd"
      ? { name, lr: 0.01, momentum: 0.9 }
      : { name, lr: 0.01 };
    const opt = createOptimizer(config, vs);
    run(opt, vs, 1);
    opt.preconditioner();
    const before = tf.memory().numTensors;
    run(opt, vs, 10);
    opt.preconditioner();
    opt.preconditioner();
    assertStrictEquals(tf.memory().numTensors, before, name);
    opt.dispose();
  }
});

Deno.test("createOptimizer() checks the gradients it is given (configs are checked by the schema: tests/stages/train/params_test.ts)", () => {
  const vs = makeVars();
  assertThrowsMatch(
    () =>
      createOptimizer({ name: "sgd", lr: 0.1 }, vs).step([tf.zeros([2, 2])]),
    /needs 2 gradients/,
  );
});

Deno.test("preconditioner() tensors survive a caller's tf.tidy and are freed by the next step", () => {
  for (
    const config of [{ name: "adam", lr: 0.01 }, {
      name: "rmsprop",
      lr: 0.01,
      centered: true,
    }] as const
  ) {
    const vs = makeVars();
    const opt = createOptimizer(config, vs);
    run(opt, vs, 2);
    const before = tf.memory().numTensors;
    const v = tf.tidy(() => {
      opt.preconditioner();
      return undefined;
    });
    assertStrictEquals(v, undefined);
    const p = opt.preconditioner()!;
    assert(!p.v[0]!.isDisposed, config.name);
    assertStrictEquals(
      tf.memory().numTensors,
      before + 2,
      "one cached tensor per variable",
    );
    run(opt, vs, 1);
    assert(p.v[0]!.isDisposed, "the old cache is released on step()");
    opt.dispose();
  }
});

Deno.test("createOptimizer() then dispose() leaves no tensors behind", async () => {
  await initWasmBackend();
  const variables = [tf.variable(tf.ones([3, 2])), tf.variable(tf.zeros([2]))];
  for (const name of ["sgd", "rmsprop", "adam", "swats"] as const) {
    const before = tf.memory().numTensors;
    createOptimizer(
      { name, lr: 0.1, momentum: name === "sgd" ? 0.9 : 0 },
      variables,
    ).dispose();
    assertStrictEquals(tf.memory().numTensors, before, `${name} leaked`);
  }
  variables.forEach((v) => v.dispose());
});
