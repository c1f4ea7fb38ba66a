import { assert, assertEquals } from "../../assert.ts";
import { leastSquares, wilsonDataset } from "../../../stages/known/datasets.ts";
import { assertThrowsWith } from "../download/_helpers.ts";

/** Solves A z = b (A [n·n] row-major, symmetric positive definite) by Gaussian elimination. */
function solve(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const m = a.slice();
  const z = b.slice();
  for (let k = 0; k < n; k++) {
    for (let i = k + 1; i < n; i++) {
      const f = m[i * n + k]! / m[k * n + k]!;
      for (let j = k; j < n; j++) m[i * n + j]! -= f * m[k * n + j]!;
      z[i]! -= f * z[k]!;
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let j = i + 1; j < n; j++) s -= m[i * n + j]! * z[j]!;
    z[i] = s / m[i * n + i]!;
  }
  return z;
}

/** X w for X [n·d] row-major. */
function matVec(
  x: Float64Array,
  w: Float64Array,
  n: number,
  d: number,
): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[i * d + j]! * w[j]!;
    return s;
  });
}

/** The minimum-norm interpolant Xᵀ(XXᵀ)⁻¹y (SCIENCE §6.1). */
function minNorm(
  x: Float64Array,
  y: Float64Array,
  n: number,
  d: number,
): Float64Array {
  const gram = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += x[i * d + j]! * x[k * d + j]!;
      gram[i * n + k] = s;
    }
  }
  const alpha = solve(gram, y, n);
  return Float64Array.from({ length: d }, (_, j) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i * d + j]! * alpha[i]!;
    return s;
  });
}

Deno.test("leastSquares() shapes, seed and planted solution (Xw = y exactly without noise)", () => {
  const a = leastSquares({ n: 20, d: 50, noise: 0, seed: 1 });
  assertEquals([a.n, a.d, a.x.length, a.y.length, a.wPlanted.length], [
    20,
    50,
    1000,
    20,
    50,
  ]);
  const xw = matVec(a.x, a.wPlanted, 20, 50);
  xw.forEach((v, i) =>
    assert(Math.abs(v - a.y[i]!) < 1e-12, `row ${i}: ${v} vs ${a.y[i]}`)
  );
  assertEquals(leastSquares({ n: 20, d: 50, noise: 0, seed: 1 }), a);
  assert(leastSquares({ n: 20, d: 50, noise: 0, seed: 2 }).x[0] !== a.x[0]);
  // w_planted interpolates, so the minimum-norm interpolant is no longer than it.
  const norm = (v: Float64Array) => Math.hypot(...v);
  assert(norm(minNorm(a.x, a.y, 20, 50)) < norm(a.wPlanted));
  // Entries of X are N(0, 1): over 1000 draws the mean is within 4 standard errors (0.126) of 0.
  const mean = a.x.reduce((s, v) => s + v, 0) / a.x.length;
  assert(Math.abs(mean) < 0.126, `mean ${mean}`);
});

Deno.test("leastSquares() noise: same X and w, residual y − Xw has the requested scale", () => {
  const clean = leastSquares({ n: 200, d: 400, noise: 0, seed: 3 });
  const noisy = leastSquares({ n: 200, d: 400, noise: 0.5, seed: 3 });
  assertEquals(noisy.x, clean.x);
  assertEquals(noisy.wPlanted, clean.wPlanted);
  const r = Array.from(noisy.y, (v, i) => v - clean.y[i]!);
  const sd = Math.sqrt(r.reduce((s, v) => s + v * v, 0) / r.length);
  // sd of 200 N(0, 0.25) draws: standard error ≈ 0.5/√400 = 0.025; bound 4 of those.
  assert(Math.abs(sd - 0.5) < 0.1, `sd ${sd}`);
  // The min-norm interpolant fits the noisy targets too (n < d).
  const w = minNorm(noisy.x, noisy.y, 200, 400);
  matVec(noisy.x, w, 200, 400).forEach((v, i) =>
    assert(Math.abs(v - noisy.y[i]!) < 1e-8)
  );
});

Deno.test("leastSquares() rejects n >= d and bad sizes", () => {
  for (
    const [args, message] of [
      [
        { n: 5, d: 5, noise: 0, seed: 0 },
        "leastSquares needs n < d (an underdetermined problem), got n 5, d 5",
      ],
      [{ n: 0, d: 5, noise: 0, seed: 0 }, "n must be an integer >= 1"],
      [
        { n: 2, d: 5, noise: -1, seed: 0 },
        "noise must be a finite number >= 0, got -1",
      ],
    ] as const
  ) assertThrowsWith(() => leastSquares(args), message);
});

Deno.test("wilsonDataset() features: x1 = y, x2 = x3 = 1, own block of 1 (+1) or 5 (−1)", () => {
  const data = wilsonDataset({ nTrain: 30, nTest: 20, p: 0.7, seed: 0 });
  const { d } = data;
  const rows = [
    ...Array.from(
      { length: 30 },
      (_, i) => ({
        x: data.xTrain.subarray(i * d, (i + 1) * d),
        y: data.yTrain[i]!,
      }),
    ),
    ...Array.from(
      { length: 20 },
      (_, i) => ({
        x: data.xTest.subarray(i * d, (i + 1) * d),
        y: data.yTest[i]!,
      }),
    ),
  ];
  assertEquals([data.xTrain.length, data.xTest.length], [30 * d, 20 * d]);
  const owner = new Array(d).fill(-1);
  let total = 0;
  rows.forEach(({ x, y }, i) => {
    assert(y === 1 || y === -1);
    assertEquals([x[0], x[1], x[2]], [y, 1, 1]);
    const own: number[] = [];
    for (let j = 3; j < d; j++) {
      if (x[j] !== 0) {
        assertEquals(x[j], 1);
        assertEquals(owner[j], -1, `column ${j} shared`);
        owner[j] = i;
        own.push(j);
      }
    }
    assertEquals(own.length, y > 0 ? 1 : 5);
    assertEquals(own.at(-1)! - own[0]!, own.length - 1); // a contiguous block
    total += own.length;
  });
  assertEquals(d, 3 + total); // every column past the third is some sample's own
  assert(owner.slice(3).every((o) => o >= 0));
  assertEquals(wilsonDataset({ nTrain: 30, nTest: 20, p: 0.7, seed: 0 }), data);
});

Deno.test("wilsonDataset() label rate ≈ p", () => {
  const data = wilsonDataset({ nTrain: 900, nTest: 100, p: 0.8, seed: 1 });
  const positives =
    [...data.yTrain, ...data.yTest].filter((y) => y > 0).length / 1000;
  // Binomial(1000, 0.8) / 1000 has sd 0.0126; bound 4 sd.
  assert(Math.abs(positives - 0.8) < 0.051, `rate ${positives}`);
});

Deno.test("wilsonDataset() known answer: min-norm gets 0 test error, sign(Xᵀy) gets the −1 rate", () => {
  const data = wilsonDataset({ nTrain: 60, nTest: 200, p: 0.7, seed: 2 });
  const { d } = data;
  const w = minNorm(data.xTrain, data.yTrain, 60, d);
  const fit = matVec(data.xTrain, w, 60, d);
  fit.forEach((v, i) => assert(Math.abs(v - data.yTrain[i]!) < 1e-9));
  const errors = (scores: Float64Array) =>
    scores.filter((s, i) => Math.sign(s) !== data.yTest[i]).length / data.nTest;
  assertEquals(errors(matVec(data.xTest, w, 200, d)), 0);
  // The direction adaptive methods take from 0: sign(Xᵀy).
  const g = Float64Array.from({ length: d }, (_, j) => {
    let s = 0;
    for (let i = 0; i < 60; i++) s += data.xTrain[i * d + j]! * data.yTrain[i]!;
    return Math.sign(s);
  });
  const negatives = data.yTest.filter((y) => y < 0).length / data.nTest;
  assert(negatives > 0);
  assertEquals(errors(matVec(data.xTest, g, 200, d)), negatives);
});

Deno.test("wilsonDataset() rejects p <= 1/2 and bad sizes", () => {
  for (
    const [args, message] of [
      [
        { nTrain: 5, nTest: 5, p: 0.5, seed: 0 },
        "wilsonDataset p must be in (0.5, 1), got 0.5",
      ],
      [
        { nTrain: 0, nTest: 5, p: 0.7, seed: 0 },
        "nTrain must be an integer >= 1, got 0",
      ],
    ] as const
  ) assertThrowsWith(() => wilsonDataset(args), message);
});
