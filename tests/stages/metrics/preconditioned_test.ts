import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertThrowsMatch } from "../../assert.ts";
import { Rng } from "../../../pipeline/rng.ts";
import {
  inverseSqrtPreconditioner,
  stabilityThresholds,
} from "../../../stages/metrics/preconditioned.ts";
import {
  lanczosTopEigenvalue,
  scaledHvp,
} from "../../../stages/metrics/sharpness.ts";
import { modelSharpness } from "../../../stages/metrics/sharpness_stage.ts";
import { initWasmBackend } from "../../../stages/nn/backend.ts";
import type {
  LossName,
  OptimizerConfig,
} from "../../../stages/nn/contracts.ts";
import { hvpOnArrays, mlpHessianAt } from "../../../stages/nn/hvp.ts";
import { createModel } from "../../../stages/nn/model.ts";
import { splitTheta } from "../../fixtures/hessian_reference.ts";

/** tests/fixtures/preconditioned_sharpness.py's output: PyTorch's optimizers, full Hessians, eigvalsh. */
interface Reference {
  dims: number[];
  x: number[][];
  y: number[];
  cases: Array<{
    name: string;
    config: OptimizerConfig;
    loss: LossName;
    steps: number;
    theta: number[];
    state: Record<string, number[]>;
    /** Top eigenvalues of P^{-1/2} H P^{-1/2}. */
    top: number[];
    /** Top eigenvalues of H. */
    plain_top: number[];
  }>;
}

const reference: Reference = JSON.parse(
  await Deno.readTextFile(
    new URL("../../fixtures/preconditioned_sharpness.json", import.meta.url),
  ),
);

const close = (a: number, b: number, rel: number) =>
  Math.abs(a - b) <= rel * Math.abs(b);

Deno.test("stabilityThresholds() gives 2/η, (2+2β)/η, and Adam's (2+2β₁)/((1−β₁)η) = 38/η (SCIENCE §4.2, §4.2.1)", () => {
  const t = (c: Parameters<typeof stabilityThresholds>[0]) =>
    stabilityThresholds(c);
  assertEquals(t({ name: "gd", lr: 0.1 }), { plain: 20, preconditioned: NaN });
  assert(close(t({ name: "sgd", lr: 0.01, momentum: 0.9 }).plain, 380, 1e-12));
  assertEquals(t({ name: "rmsprop", lr: 0.01 }), {
    plain: NaN,
    preconditioned: 200,
  });
  // RMSprop with momentum μ is heavy ball on the preconditioned problem.
  assert(
    close(
      t({ name: "rmsprop", lr: 0.01, momentum: 0.5 }).preconditioned,
      300,
      1e-12,
    ),
  );
  // β₁ = 0.9 (PyTorch's default): (2 + 1.8)/0.1 = 38.
  assert(close(t({ name: "adam", lr: 0.001 }).preconditioned, 38000, 1e-12));
  assert(
    close(t({ name: "adam", lr: 0.1, beta1: 0.5 }).preconditioned, 60, 1e-12),
  );
  assertEquals(t({ name: "swats", lr: 0.001 }), {
    plain: NaN,
    preconditioned: NaN,
  });
});

Deno.test("inverseSqrtPreconditioner() on hand-derived states: RMSprop √s + ε, centered √(s − ḡ²) + ε, Adam (1−β₁^t)(√v̂ + ε)", () => {
  const state = (arrays: Record<string, number[]>, steps: number) => ({
    arrays: Object.fromEntries(
      Object.entries(arrays).map(([k, v]) => [k, Float32Array.from(v)]),
    ),
    scalars: { steps },
  });
  // s = 4, 0.25: P ≈ 2, 0.5 (ε = 1e-8 is below float32 resolution here).
  const rms = inverseSqrtPreconditioner(
    { name: "rmsprop" },
    state({ "square_avg.0": [4, 0.25], "square_avg.1": [1] }, 3),
    2,
  )!;
  assert(close(rms[0]![0]!, Math.SQRT1_2, 1e-6));
  assert(close(rms[0]![1]!, Math.SQRT2, 1e-6));
  assert(close(rms[1]![0]!, 1, 1e-6));
  // Centered: s − ḡ² = 5 − 1 = 4.
  const centered = inverseSqrtPreconditioner(
    { name: "rmsprop", centered: true },
    state({ "square_avg.0": [5], "grad_avg.0": [1] }, 1),
    1,
  )!;
  assert(close(centered[0]![0]!, Math.SQRT1_2, 1e-6));
  // Adam at t = 1: v̂ = v/(1 − 0.999) = 0.004/0.001 = 4, P = (1 − 0.9)·2 = 0.2, d = √5.
  const adam = inverseSqrtPreconditioner(
    { name: "adam" },
    state({ "exp_avg_sq.0": [0.004], "exp_avg.0": [7] }, 1),
    1,
  )!;
  assert(close(adam[0]![0]!, Math.sqrt(5), 1e-5), String(adam[0]![0]));
  // A zero v gives P = (1−β₁^t)·ε: the largest scale, finite.
  const zero = inverseSqrtPreconditioner(
    { name: "adam" },
    state({ "exp_avg_sq.0": [0] }, 1),
    1,
  )!;
  assert(close(zero[0]![0]!, 1 / Math.sqrt(0.1 * 1e-8), 1e-6));
  // Not defined: no preconditioner (GD, SWATS), or before the first step.
  assertEquals(
    inverseSqrtPreconditioner({ name: "gd" }, state({}, 5), 1),
    null,
  );
  assertEquals(
    inverseSqrtPreconditioner(
      { name: "adam" },
      state({ "exp_avg_sq.0": [0] }, 0),
      1,
    ),
    null,
  );
  assertThrowsMatch(
    () =>
      inverseSqrtPreconditioner(
        { name: "adam" },
        state({ "exp_avg_sq.0": [1] }, 2),
        2,
      ),
    /array 'exp_avg_sq\.1' is missing \(adam saves exp_avg_sq\.0 … exp_avg_sq\.1\)/,
  );
  assertThrowsMatch(
    () =>
      inverseSqrtPreconditioner(
        { name: "rmsprop" },
        { arrays: {}, scalars: {} },
        1,
      ),
    /scalars\.steps must be a non-negative integer, got undefined/,
  );
});

for (const c of reference.cases) {
  Deno.test(`preconditioned sharpness (${c.name}) matches PyTorch: eigvalsh of P^{-1/2} H P^{-1/2} after ${c.steps} torch.optim steps`, async () => {
    await initWasmBackend();
    const { dims } = reference;
    const weights = splitTheta(c.theta, dims).map((w) =>
      tf.tensor(w.data, w.shape)
    );
    const x = tf.tensor2d(reference.x);
    const y = tf.tensor1d(reference.y, "int32");
    const state = {
      arrays: Object.fromEntries(
        Object.entries(c.state).map(([k, v]) => [k, Float32Array.from(v)]),
      ),
      scalars: { steps: c.steps },
    };
    const d = inverseSqrtPreconditioner(c.config, state, weights.length)!;
    assertEquals(d.length, weights.length);
    // The exact product (R-operator) scaled on both sides, by Lanczos.
    const hessian = mlpHessianAt(weights, x, y, c.loss);
    const result = lanczosTopEigenvalue(
      scaledHvp(hvpOnArrays(weights, (v) => hessian.product(v)), d),
      weights.map((w) => w.shape),
      { rng: Rng.fromSeed(3), tol: 1e-6, maxIter: 200 },
    );
    hessian.dispose();
    const top = c.top[0]!;
    // Float32 products and d: allow 1e-4·λ beyond the residual bound.
    assert(result.converged, `${c.name}: residual ${result.residual}`);
    assert(
      Math.abs(result.value - top) <= result.residual * top + 1e-4 * top,
      `${c.name}: ${result.value} vs eigvalsh ${top} (next ${c.top[1]})`,
    );
    // The same through modelSharpness, beside the plain sharpness.
    const model = createModel({
      arch: "mlp",
      hidden: dims.slice(1, -1),
      loss: c.loss,
      inputSize: dims[0]!,
      classes: dims.at(-1)!,
    }, Rng.fromSeed(0));
    model.setWeights(weights);
    const r = modelSharpness(model, x, y, {
      loss: c.loss,
      tol: 1e-3,
      maxIter: 100,
      start: "fixture",
      preconditioner: d,
    });
    const plain = c.plain_top[0]!;
    assert(
      Math.abs(r.value - plain) <= r.residual * plain + 1e-5 * plain,
      `${c.name} plain: ${r.value} vs ${plain}`,
    );
    const p = r.preconditioned!;
    assert(p.converged && p.residual <= 1e-3, `${c.name}: ${p.residual}`);
    assert(
      Math.abs(p.value - top) <= p.residual * top + 1e-4 * top,
      `${c.name}: ${p.value} ± ${p.residual} vs eigvalsh ${top}`,
    );
    // Without a preconditioner there is no preconditioned value.
    const none = modelSharpness(model, x, y, {
      loss: c.loss,
      tol: 1e-3,
      maxIter: 100,
      start: "fixture",
    });
    assertEquals(none.preconditioned, undefined);
    assertEquals(none.value, r.value);
    model.dispose();
    tf.dispose([...weights, x, y]);
  });
}
