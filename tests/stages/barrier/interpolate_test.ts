import {
  assertAlmostEquals,
  assertEquals,
  assertThrows,
} from "../../assert.ts";
import {
  barrierCurve,
  DEFAULT_TS,
  interpolate,
} from "../../../stages/barrier/interpolate.ts";
import { barrierPairs, seedPairs } from "../../../stages/barrier/pairs.ts";

const w = (...xs: number[]) => [Float32Array.from(xs)];

Deno.test("barrierCurve() of two identical weight vectors is a flat curve with barrier 0", () => {
  const a = [Float32Array.from([0.3, -1.2]), Float32Array.from([2])];
  const b = a.map((x) => x.slice());
  const lossAt = (ws: Float32Array[]) =>
    ws.flatMap((x) => [...x]).reduce((s, v) => s + Math.sin(v) ** 2, 0);
  const c = barrierCurve(lossAt, a, b);
  assertEquals(c.t, [...DEFAULT_TS]);
  assertEquals(c.barrier, 0);
  for (const l of c.loss) assertEquals(l, c.loss[0]);
});

Deno.test("barrierCurve() of the concave L(w) = −w² from 0 to 1 is max_t (t − t²) = 1/4 at t = 1/2", () => {
  // L(t) = −t², chord (1−t)·0 + t·(−1) = −t, gap t − t².
  const c = barrierCurve((ws) => -(ws[0]![0]! ** 2), w(0), w(1));
  assertAlmostEquals(c.barrier, 0.25, 1e-7);
  assertAlmostEquals(c.loss[3]!, -0.09, 1e-7);
});

Deno.test("barrierCurve() of the concave L(w) = −w² from −1 to 1 is 1 (the chord is flat at −1)", () => {
  const c = barrierCurve((ws) => -(ws[0]![0]! ** 2), w(-1), w(1));
  assertAlmostEquals(c.barrier, 1, 1e-7);
});

Deno.test("barrierCurve() of a convex loss is 0: the curve stays under the chord, touching it at the ends", () => {
  // L(w) = w², 0 → 2: L(t) = 4t², chord 4t, gap 4t² − 4t ≤ 0, = 0 at t = 0, 1.
  const c = barrierCurve((ws) => ws[0]![0]! ** 2, w(0), w(2));
  assertEquals(c.barrier, 0);
  assertAlmostEquals(c.loss[5]!, 1, 1e-7);
});

Deno.test("barrierCurve() is NaN when a loss on the path is not finite", () => {
  const c = barrierCurve((ws) => 1 / (ws[0]![0]! - 0.5), w(0), w(1));
  assertEquals(Number.isNaN(c.barrier), true);
});

Deno.test("interpolate() is (1−t)·a + t·b and refuses different shapes", () => {
  assertAlmostEquals(interpolate(w(2, 4), w(4, 0), 0.25)[0]![1]!, 3, 1e-7);
  assertThrows(() => interpolate(w(1, 2), w(1), 0.5), Error, "architecture");
});

Deno.test("barrierPairs() pairs different optimizers with the same seed and cell only", () => {
  const runs = [
    { label: "sgd", seed: 0, cell: {} },
    { label: "adam", seed: 0, cell: {} },
    { label: "sgd", seed: 1, cell: {} },
    { label: "adam", seed: 1, cell: {} },
    { label: "rmsprop", seed: 0, cell: { "train.batch_size": 16 } },
    { label: "sgd", seed: 0, cell: { "train.batch_size": 16 } },
  ];
  assertEquals(barrierPairs(runs), [[0, 1], [2, 3], [4, 5]]);
  assertEquals(barrierPairs([runs[0]!, runs[2]!]), []);
});

Deno.test("seedPairs() pairs one optimizer across seeds: cyclic for 3+, once for 2, never across cells", () => {
  const runs = [
    { label: "m0", seed: 2, cell: {} },
    { label: "m0", seed: 0, cell: {} },
    { label: "m0", seed: 1, cell: {} },
    { label: "m9", seed: 0, cell: {} },
    { label: "m9", seed: 1, cell: {} },
    { label: "m9", seed: 0, cell: { "train.batch_size": 16 } },
  ];
  // m0 sorted by seed: indices 1 (s0), 2 (s1), 0 (s2) → (0,1), (1,2), (2,0).
  assertEquals(seedPairs(runs), [[1, 2], [2, 0], [0, 1], [3, 4]]);
});
