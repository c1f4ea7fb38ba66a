import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertThrows } from "../../assert.ts";
import { initWasmBackend } from "../../../stages/nn/backend.ts";
import { measureSnapshot } from "../../../stages/nn/snapshot.ts";
import { perSampleLoss } from "../../../stages/nn/losses.ts";
import type { LossName, Preconditioner } from "../../../stages/nn/contracts.ts";
import { Rng } from "../../../pipeline/rng.ts";

await initWasmBackend();

const N = 23;
const D = 5;
const H = 4;
const C = 3;

/** A tiny ReLU MLP built from variables: x [b, 5] → relu(xW1+b1)W2+b2 [b, 3]. */
function tinyNet(seed: number) {
  const rng = Rng.fromSeed(seed);
  const draw = (shape: number[], scale: number) =>
    tf.variable(
      tf.tensor(
        Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () =>
          scale * rng.normal()),
        shape,
      ),
      true,
      `tiny${seed}_${shape.join("x")}_${rng.int(1e9)}`,
    );
  const vars = [
    draw([D, H], 0.8),
    draw([H], 0.3),
    draw([H, C], 0.8),
    draw([C], 0.3),
  ];
  const [w1, b1, w2, b2] = vars as [
    tf.Variable,
    tf.Variable,
    tf.Variable,
    tf.Variable,
  ];
  const forward = (x: tf.Tensor2D) =>
    tf.add(
      tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2),
      b2,
    ) as tf.Tensor2D;
  return { vars, forward };
}

function tinyData(seed: number) {
  const rng = Rng.fromSeed(`data${seed}`);
  const images = tf.tensor2d(
    Float32Array.from({ length: N * D }, () => rng.float()),
    [N, D],
  );
  const labels = tf.tensor1d(
    Int32Array.from({ length: N }, () => rng.int(C)),
    "int32",
  );
  return { images, labels };
}

/** The host view of the tensors that measureSnapshot cuts its batches from. */
function samples(images: tf.Tensor2D, labels: tf.Tensor1D) {
  return {
    n: N,
    d: D,
    images: images.dataSync() as Float32Array,
    labels: labels.dataSync() as Int32Array,
  };
}

/** Cuts a seeded permutation of 0..N−1 into batches of the given sizes. */
function partition(sizes: number[], seed: number): Uint32Array[] {
  const perm = Rng.fromSeed(`perm${seed}`).permutation(N);
  const out: Uint32Array[] = [];
  let start = 0;
  for (const s of sizes) {
    out.push(perm.slice(start, start + s));
    start += s;
  }
  return out;
}

/** g = ∇ mean loss over `idx`, flattened to float64, by a plain separate call. */
/** Every sample's index: the batch of the full-batch gradient ∇C. */
const ALL = Uint32Array.from({ length: N }, (_, i) => i);

function plainGradient(
  vars: tf.Variable[],
  forward: (x: tf.Tensor2D) => tf.Tensor2D,
  images: tf.Tensor2D,
  labels: tf.Tensor1D,
  idx: Uint32Array,
  loss: LossName,
): Float64Array {
  const i = tf.tensor1d(Int32Array.from(idx), "int32");
  const x = tf.gather(images, i) as tf.Tensor2D;
  const y = tf.gather(labels, i) as tf.Tensor1D;
  const { value, grads } = tf.variableGrads(
    () => tf.mean(perSampleLoss(forward(x), y, loss)) as tf.Scalar,
    vars,
  );
  const flat = vars.flatMap((v) => Array.from(grads[v.name]!.dataSync()));
  tf.dispose([i, x, y, value, ...Object.values(grads)]);
  return Float64Array.from(flat);
}

const dot = (a: Float64Array, b: Float64Array) =>
  a.reduce((s, x, j) => s + x * b[j]!, 0);

function assertAlmostEquals(actual: number, expected: number, tol: number) {
  assert(
    Math.abs(actual - expected) <= tol,
    `${actual} vs ${expected} (tol ${tol})`,
  );
}

function assertRel(
  actual: number,
  expected: number,
  rel: number,
  what: string,
) {
  assert(
    Math.abs(actual - expected) <= rel * Math.abs(expected),
    `${what}: ${actual} vs ${expected} (rel ${
      Math.abs(actual - expected) / Math.abs(expected)
    })`,
  );
}

for (
  const [label, sizes, loss] of [
    ["equal batches, cross-entropy", [8, 8, 7], "cross_entropy"],
    ["unequal batches, squared", [10, 2, 6, 5], "squared"],
  ] as const
) {
  Deno.test(`measureSnapshot() ${label}: every sum matches a brute-force per-batch loop`, () => {
    const { vars, forward } = tinyNet(1);
    const { images, labels } = tinyData(1);
    const batches = partition([...sizes], 1);
    const rng = Rng.fromSeed("v");
    const vTensors = vars.map((v) =>
      tf.tensor(
        Float32Array.from({ length: v.size }, () => rng.float() * 0.01),
        v.shape,
      )
    );
    const pre: Preconditioner = { v: vTensors, eps: 1e-3, scale: 1 };
    const before = tf.memory().numTensors;
    const s = measureSnapshot({
      variables: vars,
      forward,
      loss,
      samples: samples(images, labels),
      batches,
      preconditioner: pre,
    });
    assertEquals(tf.memory().numTensors, before, "no tensors leak");

    // Brute force: each g_k separately, stored, then two-pass sums.
    const gs = batches.map((b) =>
      plainGradient(vars, forward, images, labels, b, loss)
    );
    const m = gs.length;
    const P = gs[0]!.length;
    const gbar = new Float64Array(P);
    for (const g of gs) g.forEach((x, j) => gbar[j]! += x / m);
    const vFlat = Float64Array.from(
      vTensors.flatMap((t) => Array.from(t.dataSync())),
    );
    let sumG2 = 0, sumDev2 = 0, sumPre = 0, sumSG2 = 0;
    for (const g of gs) {
      sumG2 += dot(g, g);
      g.forEach((x, j) => {
        sumDev2 += (x - gbar[j]!) ** 2;
        sumPre += x * x / (Math.sqrt(vFlat[j]!) + 1e-3);
        sumSG2 += (vFlat[j]! * x) ** 2;
      });
    }
    const full = plainGradient(vars, forward, images, labels, ALL, loss);
    const oneNorm = gbar.reduce((a, x) => a + Math.sqrt(x * x + 1e-3), 0);

    assertEquals(s.m, m);
    assertRel(s.sumG2, sumG2, 1e-6, "sumG2");
    assertRel(s.gbar2, dot(gbar, gbar), 1e-6, "gbar2");
    assertRel(s.sumDev2, sumDev2, 1e-6, "sumDev2");
    assertRel(s.sumPre, sumPre, 1e-6, "sumPre");
    assertRel(s.sumSG2, sumSG2, 1e-6, "sumSG2");
    assertRel(s.oneNorm, oneNorm, 1e-6, "oneNorm");
    // ∇C from one full-batch pass: differs only by float32 summation order.
    assertRel(s.fullGrad2, dot(full, full), 1e-5, "fullGrad2");

    // SCIENCE §2.2 decomposition, in float64 accumulation.
    assertRel(s.sumG2 / m, s.gbar2 + s.sumDev2 / m, 1e-12, "decomposition");

    // Loss, error and per-sample values against one direct forward pass.
    const direct = Array.from(
      tf.tidy(() => perSampleLoss(forward(images), labels, loss)).dataSync(),
    );
    const pred = Array.from(
      tf.tidy(() => tf.argMax(forward(images), 1)).dataSync(),
    );
    const lab = Array.from(labels.dataSync());
    direct.forEach((l, i) =>
      assertAlmostEquals(s.losses[i]!, l, 1e-5 * Math.max(1, Math.abs(l)))
    );
    pred.forEach((p, i) =>
      assertEquals(s.correct[i], p === lab[i] ? 1 : 0, `correct[${i}]`)
    );
    assertRel(s.loss, direct.reduce((a, b) => a + b, 0) / N, 1e-6, "loss");
    assertAlmostEquals(
      s.error,
      1 - s.correct.reduce((a, b) => a + b, 0) / N,
      1e-15,
    );
    tf.dispose([...vars, images, labels, ...vTensors]);
  });
}

Deno.test("measureSnapshot() with unequal batches: ḡ differs from ∇C, which matches the full-batch gradient", () => {
  const { vars, forward } = tinyNet(2);
  const { images, labels } = tinyData(2);
  const batches = partition([20, 3], 2);
  const s = measureSnapshot({
    variables: vars,
    forward,
    loss: "cross_entropy",
    samples: samples(images, labels),
    batches,
    preconditioner: null,
  });
  const full = plainGradient(
    vars,
    forward,
    images,
    labels,
    ALL,
    "cross_entropy",
  );
  assertRel(s.fullGrad2, dot(full, full), 1e-5, "fullGrad2");
  // ∇C = (20 g₁ + 3 g₂)/23 while ḡ = (g₁ + g₂)/2: they differ for this net.
  assert(
    Math.abs(s.gbar2 - s.fullGrad2) > 1e-3 * s.fullGrad2,
    `${s.gbar2} vs ${s.fullGrad2}`,
  );
  assertRel(s.sumG2 / 2, s.gbar2 + s.sumDev2 / 2, 1e-12, "decomposition");
  assert(
    Number.isNaN(s.sumPre) && Number.isNaN(s.sumSG2),
    "no preconditioner → NaN",
  );
  // Without an optimizer ε the one-norm uses 1e-8: Σ_j √(ḡ_j² + 1e-8).
  const g1 = plainGradient(
    vars,
    forward,
    images,
    labels,
    batches[0]!,
    "cross_entropy",
  );
  const g2 = plainGradient(
    vars,
    forward,
    images,
    labels,
    batches[1]!,
    "cross_entropy",
  );
  const one = g1.reduce(
    (a, x, j) => a + Math.sqrt(((x + g2[j]!) / 2) ** 2 + 1e-8),
    0,
  );
  assertRel(s.oneNorm, one, 1e-6, "oneNorm");
  tf.dispose([...vars, images, labels]);
});

Deno.test("measureSnapshot() leaves the weights unchanged and rejects a non-partition", () => {
  const { vars, forward } = tinyNet(3);
  const { images, labels } = tinyData(3);
  const before = vars.map((v) => Array.from(v.dataSync()));
  const args = {
    variables: vars,
    forward,
    loss: "cross_entropy" as const,
    samples: samples(images, labels),
    preconditioner: null,
  };
  measureSnapshot({ ...args, batches: partition([N], 3) });
  vars.forEach((v, i) => assertEquals(Array.from(v.dataSync()), before[i]));
  const repeated = partition([12, 11], 3);
  repeated[1]![0] = repeated[0]![0]!;
  assertThrows(
    () => measureSnapshot({ ...args, batches: repeated }),
    Error,
    "batches: must partition",
  );
  assertThrows(
    () => measureSnapshot({ ...args, batches: partition([12], 3) }),
    Error,
    "must cover all 23",
  );
  tf.dispose([...vars, images, labels]);
});

Deno.test("measureSnapshot(): Σ||g_k − ḡ||² keeps its digits when the batch gradients nearly agree", () => {
  // Prescribed float32 batch gradients g_k = c + 1e-6·u_k with c ≈ 1: the
  // mean part m||ḡ||² exceeds the spread ~1e12-fold, so Σ||g_k||² − m||ḡ||²
  // in float64 would keep only a few digits of it.
  const { vars, forward } = tinyNet(4);
  const { images, labels } = tinyData(4);
  const batches = partition([6, 6, 6, 5], 4);
  const rng = Rng.fromSeed("near");
  const sizes = vars.map((v) => v.size);
  const P = sizes.reduce((a, b) => a + b, 0);
  const gs = batches.map(() =>
    Float32Array.from(
      { length: P },
      (_, j) => 0.5 + j / (2 * P) + 1e-6 * (rng.float() - 0.5),
    )
  );
  let k = 0;
  const gradient = (x: tf.Tensor2D) => {
    const g = gs[k++]!;
    let at = 0;
    const grads = vars.map((v) => {
      const t = tf.tensor(g.slice(at, at + v.size), v.shape);
      at += v.size;
      return t;
    });
    const b = x.shape[0];
    return {
      loss: tf.scalar(0),
      perSample: tf.zeros([b]) as tf.Tensor1D,
      logits: tf.zeros([b, C]) as tf.Tensor2D,
      grads,
    };
  };
  const s = measureSnapshot({
    variables: vars,
    forward,
    loss: "squared",
    gradient,
    samples: samples(images, labels),
    batches,
    preconditioner: null,
  });
  // Two passes in float64 over the same float32 values.
  const m = gs.length;
  const gbar = new Float64Array(P);
  for (const g of gs) g.forEach((x, j) => gbar[j]! += x / m);
  let sumDev2 = 0;
  for (const g of gs) g.forEach((x, j) => sumDev2 += (x - gbar[j]!) ** 2);
  assertRel(s.sumDev2, sumDev2, 1e-8, "sumDev2");
  assertRel(s.gbar2, dot(gbar, gbar), 1e-12, "gbar2");
  // The unshifted identity, from the same float64 sums, is far off: the test
  // can tell the two apart.
  const naive = s.sumG2 - m * s.gbar2;
  assert(
    Math.abs(naive - sumDev2) > 1e-4 * sumDev2,
    `naive ${naive} vs ${sumDev2}`,
  );
  tf.dispose([...vars, images, labels]);
});
