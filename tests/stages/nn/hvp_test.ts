import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertThrowsMatch } from "../../assert.ts";
import { initWasmBackend } from "../../../stages/nn/backend.ts";
import {
  hvpFiniteDiff,
  hvpOnArrays,
  mlpBatchHvp,
  mlpHessianAt,
  mlpHvp,
} from "../../../stages/nn/hvp.ts";
import type { LossName } from "../../../stages/nn/contracts.ts";
import { Rng } from "../../../pipeline/rng.ts";
import {
  reference as torchReference,
  splitTheta,
  type TinyCase,
} from "../../fixtures/hessian_reference.ts";

await initWasmBackend();

/** max_i |a_i − b_i| ≤ rel · max_i |b_i|. */
function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rel: number,
  what: string,
) {
  assertEquals(actual.length, expected.length);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]!));
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  }
  assert(worst <= rel * scale, `${what}: max error ${worst} vs scale ${scale}`);
}

const flat = (ts: tf.Tensor[]) => ts.flatMap((t) => Array.from(t.dataSync()));

Deno.test("hvpFiniteDiff() on ½wᵀAw returns A v, and restores the weights bit for bit", () => {
  // w = (a [2,2] row-major, b [2]) → 6 coordinates; A symmetric, indefinite.
  const A = [
    [4, 1, 0, -2, 0.5, 0],
    [1, 3, 1, 0, 0, 0],
    [0, 1, -2, 1, 0, 0.3],
    [-2, 0, 1, 5, 1, 0],
    [0.5, 0, 0, 1, 2, -1],
    [0, 0, 0.3, 0, -1, 1],
  ];
  const a = tf.variable(tf.tensor2d([[0.3, -1.2], [2.5, 0.7]]), true, "quad_a");
  const b = tf.variable(tf.tensor1d([-0.4, 1.1]), true, "quad_b");
  const At = tf.tensor2d(A);
  const lossFn = () =>
    tf.tidy(() => {
      const w = tf.concat([tf.reshape(a, [4]), b]).reshape([6, 1]);
      return tf.mul(0.5, tf.sum(tf.mul(w, tf.matMul(At, w)))) as tf.Scalar;
    });
  const before = flat([a, b]);
  const v = [tf.tensor2d([[1, 0.5], [-2, 0]]), tf.tensor1d([3, -1])];
  const vFlat = flat(v);
  const expected = A.map((row) =>
    row.reduce((s, x, j) => s + x * vFlat[j]!, 0)
  );
  const count = tf.memory().numTensors;
  const hv = hvpFiniteDiff([a, b], lossFn, v);
  assertEquals(
    tf.memory().numTensors,
    count + 2,
    "only the two outputs remain",
  );
  assertEquals(hv[0]!.shape, [2, 2]);
  // The gradient is linear: only float32 rounding of w ± h v̂ and of A w enters.
  assertClose(flat(hv), expected, 1e-4, "A v");
  assertEquals(flat([a, b]), before);
  tf.dispose([...hv, ...v, a, b, At]);
});

Deno.test("hvpFiniteDiff() on logistic regression matches Xᵀdiag(p(1−p))X v / n", () => {
  const rng = Rng.fromSeed("logreg");
  const n = 40;
  const d = 6;
  const X = Array.from(
    { length: n },
    () => Array.from({ length: d }, () => rng.normal()),
  );
  const y = Array.from({ length: n }, () => rng.int(2));
  const w0 = Array.from({ length: d }, () => 0.5 * rng.normal());
  const w = tf.variable(tf.tensor1d(w0), true, "logreg_w");
  const Xt = tf.tensor2d(X);
  const yt = tf.tensor1d(y);
  // L = mean(softplus(z) − y z), z = X w: the logistic loss.
  const lossFn = () =>
    tf.tidy(() => {
      const z = tf.reshape(tf.matMul(Xt, tf.reshape(w, [d, 1])), [n]);
      return tf.mean(tf.sub(tf.softplus(z), tf.mul(yt, z))) as tf.Scalar;
    });
  for (let trial = 0; trial < 3; trial++) {
    const v = Array.from({ length: d }, () => rng.normal());
    const expected = new Array<number>(d).fill(0);
    for (const x of X) {
      const z = x.reduce((s, xi, j) => s + xi * w0[j]!, 0);
      const p = 1 / (1 + Math.exp(-z));
      const xv = x.reduce((s, xi, j) => s + xi * v[j]!, 0);
      x.forEach((xi, j) => expected[j]! += (p * (1 - p) * xv * xi) / n);
    }
    const vt = tf.tensor1d(v);
    const [hv] = hvpFiniteDiff([w], lossFn, [vt]);
    assertClose(hv!.dataSync(), expected, 1e-3, `trial ${trial}`);
    tf.dispose([vt, hv!]);
  }
  tf.dispose([w, Xt, yt]);
});

Deno.test("hvpFiniteDiff() through logSoftmax matches the softmax-regression closed form", () => {
  // Where tfjs double back-propagation is wrong (SCIENCE §4.2); FD must not be.
  const rng = Rng.fromSeed("softmax");
  const n = 30;
  const d = 4;
  const c = 3;
  const X = Array.from(
    { length: n },
    () => Array.from({ length: d }, () => rng.normal()),
  );
  const labels = Array.from({ length: n }, () => rng.int(c));
  const W0 = Array.from(
    { length: d },
    () => Array.from({ length: c }, () => rng.normal()),
  );
  const W = tf.variable(tf.tensor2d(W0), true, "softmax_W");
  const Xt = tf.tensor2d(X);
  const onehot = tf.oneHot(tf.tensor1d(labels, "int32"), c);
  const lossFn = () =>
    tf.tidy(() =>
      tf.neg(
        tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(tf.matMul(Xt, W))), 1)),
      ) as tf.Scalar
    );
  const V = Array.from(
    { length: d },
    () => Array.from({ length: c }, () => rng.normal()),
  );
  // H V [a, i] = (1/n) Σ_x x_a (p_i u_i − p_i (p·u)), u = Vᵀx.
  const expected = new Array<number>(d * c).fill(0);
  for (const x of X) {
    const z = Array.from(
      { length: c },
      (_, i) => x.reduce((s, xa, a) => s + xa * W0[a]![i]!, 0),
    );
    const zmax = Math.max(...z);
    const e = z.map((zi) => Math.exp(zi - zmax));
    const p = e.map((ei) => ei / e.reduce((s, q) => s + q, 0));
    const u = Array.from(
      { length: c },
      (_, i) => x.reduce((s, xa, a) => s + xa * V[a]![i]!, 0),
    );
    const pu = p.reduce((s, pi, i) => s + pi * u[i]!, 0);
    x.forEach((xa, a) => {
      for (let i = 0; i < c; i++) {
        expected[a * c + i]! += (xa * (p[i]! * u[i]! - p[i]! * pu)) / n;
      }
    });
  }
  const vt = tf.tensor2d(V);
  const [hv] = hvpFiniteDiff([W], lossFn, [vt]);
  assertClose(hv!.dataSync(), expected, 1e-3, "H V");
  tf.dispose([W, Xt, onehot, vt, hv!]);
});

Deno.test("hvpOnArrays() wraps the product for plain arrays; zero v gives zero; bad shapes throw", () => {
  const a = tf.variable(tf.tensor1d([1, 2]), true, "arr_a");
  const lossFn = () =>
    tf.tidy(() =>
      tf.sum(tf.mul(tf.tensor1d([3, 5]), tf.square(a))) as tf.Scalar
    );
  const hvp = hvpOnArrays([a], (v) => hvpFiniteDiff([a], lossFn, v));
  // H = diag(6, 10).
  assertClose(hvp([Float32Array.from([1, -1])])[0]!, [6, -10], 1e-4, "diag");
  assertEquals(Array.from(hvp([new Float32Array(2)])[0]!), [0, 0]);
  const bad = tf.tensor1d([1, 2, 3]);
  assertThrowsMatch(
    () => hvpFiniteDiff([a], lossFn, [bad]),
    /v\[0\]: expected 2 elements, got 3/,
  );
  tf.dispose([a, bad]);
});

Deno.test("mlpHvp() is exact next to a ReLU gate, where plain finite differences make an O(1) error", () => {
  const rng = Rng.fromSeed("kink");
  const n = 6;
  const xData = Array.from(
    { length: n },
    () => Array.from({ length: 3 }, () => rng.normal()),
  );
  const w1Data = Array.from(
    { length: 3 },
    () => Array.from({ length: 4 }, () => rng.normal()),
  );
  // Put sample 0's unit 0 at z = 1e-5, just above its kink.
  const b1Data = Array.from({ length: 4 }, () => rng.normal());
  b1Data[0] = 1e-5 - xData[0]!.reduce((s, xa, a) => s + xa * w1Data[a]![0]!, 0);
  const x = tf.tensor2d(xData);
  const labels = tf.tensor1d([0, 1, 1, 0, 1, 0], "int32");
  const vars = [
    tf.variable(tf.tensor2d(w1Data), true, "kink_w1"),
    tf.variable(tf.tensor1d(b1Data), true, "kink_b1"),
    tf.variable(
      tf.tensor2d(
        Array.from({ length: 4 }, () => [rng.normal(), rng.normal()]),
      ),
      true,
      "kink_w2",
    ),
    tf.variable(tf.tensor1d([0.1, -0.2]), true, "kink_b2"),
  ];
  const squared = (out: tf.Tensor2D, y: tf.Tensor1D) =>
    tf.mean(tf.sum(tf.square(tf.sub(out, tf.oneHot(y, 2))), 1)) as tf.Scalar;
  const forward = (ws: tf.Tensor[]) =>
    tf.add(
      tf.matMul(tf.relu(tf.add(tf.matMul(x, ws[0]!), ws[1]!)), ws[2]!),
      ws[3]!,
    ) as tf.Tensor2D;
  const plain = () => tf.tidy(() => squared(forward(vars), labels));
  const v = vars.map((w) =>
    tf.tensor(
      Float32Array.from({ length: w.size }, () => rng.normal()),
      w.shape,
    )
  );
  // Reference: the almost-everywhere Hessian (relu'' = 0) by tfjs double
  // back-propagation, which is right for ReLU + squared error (SCIENCE §4.2).
  const gradOf = tf.grads((...ws: tf.Tensor[]) => squared(forward(ws), labels));
  const reference = flat(
    tf.grads((...ws: tf.Tensor[]) =>
      tf.addN(gradOf(ws).map((g, i) => tf.sum(tf.mul(g, v[i]!)))) as tf.Scalar
    )(
      vars,
    ),
  );
  const exact = mlpHvp(vars, x, labels, v, "squared");
  assertClose(flat(exact), reference, 1e-5, "R-operator");
  const kinked = flat(hvpFiniteDiff(vars, plain, v));
  const err = Math.max(...kinked.map((k, i) => Math.abs(k - reference[i]!)));
  assert(
    err > 0.1 * Math.max(...reference.map(Math.abs)),
    `plain FD error ${err} should be large`,
  );
  tf.dispose([...vars, ...v, ...exact, x, labels]);
});

/** Weights of a fixture net as tensors, its batch, and the float64 Hessian. */
function tinyNet(c: TinyCase) {
  const weights = splitTheta(c.theta, c.dims).map((w) =>
    tf.tensor(w.data, w.shape)
  );
  const x = tf.tensor2d(c.x);
  const y = tf.tensor1d(c.y, "int32");
  return { weights, x, y };
}

/** ||a − b|| / ||b|| in float64. */
function relNorm(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, n = 0;
  for (let i = 0; i < b.length; i++) {
    d += (a[i]! - b[i]!) ** 2;
    n += b[i]! ** 2;
  }
  return Math.sqrt(d / n);
}

/** Seeded directions split like `weights`, plus their flat float32 values. */
function directions(weights: tf.Tensor[], count: number, seed: string) {
  const rng = Rng.fromSeed(seed);
  return Array.from({ length: count }, () => {
    const v = weights.map((w) =>
      tf.tensor(
        Float32Array.from({ length: w.size }, () => rng.normal()),
        w.shape,
      )
    );
    return { v, flat: flat(v) };
  });
}

for (const c of torchReference.tiny) {
  Deno.test(
    `mlpHvp() equals PyTorch's float64 Hessian times v on a ${
      c.dims.join("-")
    } ReLU net with biases, ${c.loss}`,
    () => {
      const { weights, x, y } = tinyNet(c);
      for (const { v, flat: vf } of directions(weights, 4, `tiny:${c.loss}`)) {
        const want = c.hessian.map((row) =>
          row.reduce((s, h, j) => s + h * vf[j]!, 0)
        );
        const got = mlpHvp(weights, x, y, v, c.loss);
        const err = relNorm(flat(got), want);
        assert(err < 2e-6, `||Hv − H_torch v|| / ||H_torch v|| = ${err}`);
        tf.dispose([...got, ...v]);
      }
      tf.dispose([...weights, x, y]);
    },
  );
}

/**
 * ∇Ĉ in float64 on the host for a Dense-ReLU MLP (flat parameters, the
 * fixture's layout), and whether any ReLU gate differs from `gates`: an
 * implementation independent of the tfjs code under test.
 */
function hostGradient(
  theta: Float64Array,
  dims: number[],
  xs: number[][],
  ys: number[],
  loss: LossName,
): { grad: Float64Array; gates: string } {
  const L = dims.length - 1;
  const offsets: number[] = [];
  let k = 0;
  for (let l = 0; l < L; l++) {
    offsets.push(k);
    k += dims[l]! * dims[l + 1]! + dims[l + 1]!;
  }
  const W = (l: number, i: number, o: number) =>
    theta[offsets[l]! + i * dims[l + 1]! + o]!;
  const B = (l: number, o: number) =>
    theta[offsets[l]! + dims[l]! * dims[l + 1]! + o]!;
  const grad = new Float64Array(theta.length);
  let gates = "";
  const n = xs.length;
  xs.forEach((x0, s) => {
    const hs: number[][] = [x0];
    const zs: number[][] = [];
    for (let l = 0; l < L; l++) {
      const h = hs[l]!;
      const z = Array.from(
        { length: dims[l + 1]! },
        (_, o) => h.reduce((acc, hi, i) => acc + hi * W(l, i, o), B(l, o)),
      );
      zs.push(z);
      if (l < L - 1) {
        gates += z.map((v) => (v > 0 ? "1" : "0")).join("");
        hs.push(z.map((v) => Math.max(v, 0)));
      }
    }
    const f = zs[L - 1]!;
    let delta: number[];
    if (loss === "cross_entropy") {
      const m = Math.max(...f);
      const e = f.map((v) => Math.exp(v - m));
      const sum = e.reduce((a, b) => a + b, 0);
      delta = e.map((v, i) => (v / sum - (i === ys[s] ? 1 : 0)) / n);
    } else delta = f.map((v, i) => (2 * (v - (i === ys[s] ? 1 : 0))) / n);
    for (let l = L - 1; l >= 0; l--) {
      const h = hs[l]!;
      h.forEach((hi, i) =>
        delta.forEach((d, o) =>
          grad[offsets[l]! + i * dims[l + 1]! + o]! += hi * d
        )
      );
      delta.forEach((d, o) =>
        grad[offsets[l]! + dims[l]! * dims[l + 1]! + o]! += d
      );
      if (l > 0) {
        const zPrev = zs[l - 1]!;
        delta = h.map((_, i) =>
          zPrev[i]! > 0 ? delta.reduce((a, d, o) => a + d * W(l, i, o), 0) : 0
        );
      }
    }
  });
  return { grad, gates };
}

Deno.test("mlpHvp() agrees with central differences of a float64 gradient, whose error falls as h²", () => {
  // The deepest tiny net with cross-entropy: curvature changes with w, so the
  // central difference has a truncation error (h²/6)·∇³Ĉ[v, v, ·].
  const c = torchReference.tiny.find((t) =>
    t.dims.length === 4 && t.loss === "cross_entropy"
  )!;
  const { weights, x, y } = tinyNet(c);
  const { v, flat: vf } = directions(weights, 1, "fd-steps")[0]!;
  const vNorm = Math.hypot(...vf);
  const rop = flat(mlpHvp(weights, x, y, v, c.loss));
  const theta = Float64Array.from(c.theta);
  const at = (t: number) =>
    hostGradient(
      theta.map((w, i) => w + t * vf[i]! / vNorm),
      c.dims,
      c.x,
      c.y,
      c.loss,
    );
  const gates = at(0).gates;
  const errors: number[] = [];
  for (const h of [4e-2, 2e-2, 1e-2, 5e-3]) {
    const plus = at(h);
    const minus = at(-h);
    // No gate flips within ±h: the difference sees one smooth piece.
    assertEquals([plus.gates, minus.gates], [gates, gates]);
    const fd = plus.grad.map((g, i) => (g - minus.grad[i]!) * vNorm / (2 * h));
    errors.push(relNorm(rop, fd));
  }
  // Halving h divides the error by about 4 (O(h²)), down to 1e-5 or less.
  for (let i = 1; i < errors.length; i++) {
    const ratio = errors[i - 1]! / errors[i]!;
    assert(ratio > 3.5 && ratio < 4.5, `errors ${errors}: ratio ${ratio}`);
  }
  assert(errors.at(-1)! < 1e-4, `errors ${errors}`);
  tf.dispose([...weights, ...v, x, y]);
});

Deno.test("mlpHessianAt() serves many products from one state, leaks nothing, and names bad inputs", () => {
  const c = torchReference.tiny[1]!;
  const { weights, x, y } = tinyNet(c);
  const dirs = directions(weights, 3, "state");
  const before = tf.memory().numTensors;
  const hessian = mlpHessianAt(weights, x, y, c.loss);
  for (const { v } of dirs) {
    const once = mlpHvp(weights, x, y, v, c.loss);
    const again = hessian.product(v);
    assertEquals(flat(again), flat(once));
    tf.dispose([...once, ...again]);
  }
  hessian.dispose();
  assertEquals(tf.memory().numTensors, before);
  // A flat direction of the right sizes works; wrong counts and sizes throw.
  const flatV = dirs[0]!.v.map((t) => tf.reshape(t, [-1]));
  const viaFlat = mlpHvp(weights, x, y, flatV, c.loss);
  const viaShaped = mlpHvp(weights, x, y, dirs[0]!.v, c.loss);
  assertEquals(flat(viaFlat), flat(viaShaped));
  assertThrowsMatch(
    () => mlpHvp(weights, x, y, dirs[0]!.v.slice(1), c.loss),
    /v: expected 4 tensors \(one per weight\), got 3/,
  );
  assertThrowsMatch(
    () => mlpHvp(weights.slice(0, 3), x, y, dirs[0]!.v, c.loss),
    /weights: expected \[kernel, bias\] pairs of a Dense MLP, got 3 tensors/,
  );
  assertThrowsMatch(
    () =>
      mlpHvp(
        [weights[2]!, weights[3]!, weights[0]!, weights[1]!],
        x,
        y,
        dirs[0]!.v,
        c.loss,
      ),
    /weights: layer 1 needs a kernel \[2, out\] and a bias \[out\], got \[3,4\] and \[4\]/,
  );
  // The loop's form reads the variables' current values.
  const vars = weights.map((w) => tf.variable(w));
  const batchHvp = mlpBatchHvp(vars, c.loss);
  const fromVars = batchHvp(x, y, dirs[0]!.v);
  assertEquals(flat(fromVars), flat(viaShaped));
  tf.dispose([
    ...viaFlat,
    ...viaShaped,
    ...flatV,
    ...fromVars,
    ...vars,
    ...weights,
    ...dirs.flatMap((d) => d.v),
    x,
    y,
  ]);
});
