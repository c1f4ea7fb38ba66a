import { assert, assertStrictEquals, assertThrowsMatch } from "../../assert.ts";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../../pipeline/rng.ts";
import { initWasmBackend } from "../../../stages/nn/backend.ts";
import {
  batchPenaltyProduct,
  partitionPenalizedGradients,
  penalizedGradients,
} from "../../../stages/nn/penalty.ts";
import { mlpBackprop } from "../../../stages/nn/batch_gradient.ts";
import { hvpFiniteDiff, mlpBatchHvp } from "../../../stages/nn/hvp.ts";
import {
  penaltyBatch,
  penaltyPoint,
  reference,
  splitTheta,
} from "../../fixtures/hessian_reference.ts";
import partition from "../../fixtures/partition_penalty.json" with {
  type: "json",
};

await initWasmBackend();

/** ∇lossFn by autodiff, aligned with the variables. */
function gradientOf(vars: tf.Variable[], lossFn: () => tf.Scalar): tf.Tensor[] {
  const { value, grads } = tf.variableGrads(lossFn, vars);
  value.dispose();
  return vars.map((v) => grads[v.name]!);
}

function assertClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: number,
  what: string,
) {
  let err = 0, scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  assert(err <= tol * scale, `${what}: max error ${err} vs scale ${scale}`);
}

Deno.test("penalizedGradients() on least squares equals g + 2λ·(2/n)XᵀX g in float64", () => {
  // ℓ(w) = (1/n)||Xw − y||²: g = (2/n)Xᵀ(Xw − y), H = (2/n)XᵀX (constant).
  const n = 6, d = 4, lambda = 0.3;
  const rng = Rng.fromSeed("penalty-test");
  const X = Array.from(
    { length: n },
    () => Array.from({ length: d }, () => rng.normal()),
  );
  const y = Array.from({ length: n }, () => rng.normal());
  const w0 = Array.from({ length: d }, () => rng.normal());
  const Xw = X.map((row) => row.reduce((s, x, j) => s + x * w0[j]!, 0));
  const g = Array.from(
    { length: d },
    (_, j) =>
      (2 / n) * X.reduce((s, row, i) => s + row[j]! * (Xw[i]! - y[i]!), 0),
  );
  const Xg = X.map((row) => row.reduce((s, x, j) => s + x * g[j]!, 0));
  const Hg = Array.from(
    { length: d },
    (_, j) => (2 / n) * X.reduce((s, row, i) => s + row[j]! * Xg[i]!, 0),
  );
  const want = g.map((gj, j) => gj + 2 * lambda * Hg[j]!);

  const w = tf.variable(tf.tensor1d(w0));
  const xt = tf.tensor2d(X), yt = tf.tensor1d(y);
  const lossFn = () =>
    tf.mean(
      tf.square(tf.sub(tf.squeeze(tf.matMul(xt, tf.reshape(w, [d, 1]))), yt)),
    ) as tf.Scalar;
  const fd = (v: tf.Tensor[]) => hvpFiniteDiff([w], lossFn, v);
  const out = penalizedGradients(fd, gradientOf([w], lossFn), lambda);
  assertClose(out[0]!.dataSync(), want, 1e-4, "penalized gradient");
  assertClose(w.dataSync(), w0, 1e-7, "weights restored");
  // λ = 0 hands back the plain gradient itself.
  const plain = gradientOf([w], lossFn);
  const same = penalizedGradients(
    () => {
      throw new Error("no product at λ = 0");
    },
    plain,
    0,
  );
  assertStrictEquals(same[0], plain[0]);
  assertClose(same[0]!.dataSync(), g, 1e-5, "plain gradient");
});

Deno.test("penalizedGradients() on L = Σ w⁴/4 (non-constant H) equals w³ + 2λ·3w⁵", () => {
  // g = w³, H = diag(3w²), so ∇(L + λ||g||²) = w³ + 6λ w⁵ across two variables.
  const a0 = [0.5, -1.2, 0.8], b0 = [1.1, -0.3];
  const a = tf.variable(tf.tensor1d(a0)), b = tf.variable(tf.tensor1d(b0));
  const lossFn = () =>
    tf.div(tf.add(tf.sum(tf.pow(a, 4)), tf.sum(tf.pow(b, 4))), 4) as tf.Scalar;
  const lambda = 0.05;
  const g = gradientOf([a, b], lossFn);
  const out = penalizedGradients(
    (v) => hvpFiniteDiff([a, b], lossFn, v),
    g,
    lambda,
  );
  assertStrictEquals(out.length, 2);
  assert(g.every((t) => t.isDisposed), "the unpenalized gradient is consumed");
  const want = (w: number[]) => w.map((x) => x ** 3 + 6 * lambda * x ** 5);
  assertClose(out[0]!.dataSync(), want(a0), 5e-4, "a");
  assertClose(out[1]!.dataSync(), want(b0), 5e-4, "b");
});

Deno.test("penalizedGradients() rejects a negative or non-finite λ", () => {
  const w = tf.variable(tf.tensor1d([1]));
  assertThrowsMatch(
    () =>
      penalizedGradients(
        (v) => v.map((t) => tf.zerosLike(t)),
        [tf.onesLike(w)],
        -1,
      ),
    /train\.explicit_penalty must be a finite number >= 0, got -1/,
  );
});

for (const point of reference.penalty.points) {
  Deno.test(`penalizedGradients() on the explicit-reg MLP (784-256-128-10, B = 50, λ_e = 0.0125) equals PyTorch double back-propagation at ${point.name}`, () => {
    // The loop's path: g by mlpBackprop, H g by mlpBatchHvp, both on the variables.
    const { dims, lambda, batch } = reference.penalty;
    const { theta, penalized } = penaltyPoint(point);
    const vars = splitTheta(theta, dims).map((w) =>
      tf.variable(tf.tensor(w.data, w.shape))
    );
    const { pixels, labels } = penaltyBatch();
    const x = tf.tensor2d(pixels, [batch, dims[0]!]);
    const y = tf.tensor1d(labels, "int32");
    const pass = mlpBackprop(vars, "cross_entropy")(x, y);
    assert(
      Math.abs(pass.loss.dataSync()[0]! - point.loss) < 1e-5 * point.loss,
      `loss ${pass.loss.dataSync()[0]} vs ${point.loss}`,
    );
    tf.dispose([pass.loss, pass.perSample, pass.logits]);
    const hessian = mlpBatchHvp(vars, "cross_entropy");
    const out = penalizedGradients(
      (v) => hessian(x, y, v),
      pass.grads,
      lambda,
    );
    const got = out.flatMap((t) => Array.from(t.dataSync()));
    let d2 = 0;
    for (let i = 0; i < got.length; i++) d2 += (got[i]! - penalized[i]!) ** 2;
    const err = Math.sqrt(d2);
    // ≤ 1e-3 of the whole gradient (issue 15), and ≤ 1% of the penalty's own
    // part 2λHg, so that an error in Hg alone cannot hide behind g.
    assert(
      err <= 1e-3 * point.norm_penalized,
      `||a − b|| / ||b|| = ${err / point.norm_penalized}`,
    );
    assert(
      err <= 1e-2 * point.norm_penalty_term,
      `||a − b|| / ||2λHg|| = ${err / point.norm_penalty_term}`,
    );
    tf.dispose([...out, ...vars, x, y]);
  });
}

Deno.test("partitionPenalizedGradients() equals PyTorch's ∇(C + λ_e (1/m) Σ_k ||∇Ĉ_k||²) over a partition with a short last batch (GD's penalty, SCIENCE §5.2)", () => {
  // tests/fixtures/partition_penalty.py: a 12-7-5-3 ReLU MLP, N = 10 cut into
  // batches of 4, 4 and 2, λ_e = 0.05, by double back-propagation in float64.
  const { dims, lambda, batches, theta, labels, pixels } = partition;
  const n = labels.length, d = dims[0]!;
  const vars = splitTheta(Float32Array.from(theta), dims).map((w) =>
    tf.variable(tf.tensor(w.data, w.shape))
  );
  const samples = {
    n,
    d,
    images: Float32Array.from(pixels),
    labels: Int32Array.from(labels),
  };
  const gradient = mlpBackprop(vars, "cross_entropy");
  const hessian = mlpBatchHvp(vars, "cross_entropy");
  const x = tf.tensor2d(samples.images, [n, d]);
  const y = tf.tensor1d(samples.labels, "int32");
  const full = gradient(x, y);
  assert(
    Math.abs(full.loss.dataSync()[0]! - partition.loss) < 1e-5,
    `loss ${full.loss.dataSync()[0]} vs ${partition.loss}`,
  );
  tf.dispose([full.loss, full.perSample, full.logits, x, y]);
  const rows = batches.map((b) => Uint32Array.from(b));
  const out = partitionPenalizedGradients(
    full.grads,
    rows.length,
    (k) => batchPenaltyProduct(gradient, hessian, samples, rows[k]!),
    lambda,
  );
  const got = out.flatMap((t) => Array.from(t.dataSync()));
  const want = partition.penalized;
  // The penalty's own part, so that an error in it cannot hide behind ∇C.
  const part = want.map((w, i) => w - partition.gradient[i]!);
  const gotPart = got.map((g, i) => g - partition.gradient[i]!);
  assertClose(got, want, 1e-5, "penalized gradient");
  assertClose(gotPart, part, 1e-3, "penalty part (2λ/m) Σ H_k g_k");
  tf.dispose([...out, ...vars]);
});

Deno.test("partitionPenalizedGradients() with λ = 0 hands back ∇C untouched, and refuses m < 1", () => {
  const g = [tf.tensor1d([1, 2])];
  const noProduct = () => {
    throw new Error("no product at λ = 0");
  };
  assertStrictEquals(partitionPenalizedGradients(g, 3, noProduct, 0)[0], g[0]);
  assertThrowsMatch(
    () => partitionPenalizedGradients(g, 0, () => [tf.zeros([2])], 0.1),
    /m must be an integer ≥ 1, got 0/,
  );
  tf.dispose(g);
});
