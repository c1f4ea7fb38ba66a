import {
  assert,
  assertEquals,
  assertStrictEquals,
  assertThrowsMatch,
} from "../../assert.ts";
import * as tf from "@tensorflow/tfjs";
import { initWasmBackend } from "../../../stages/nn/backend.ts";
import { dot, readFloat32, squaredNorm } from "../../../stages/nn/host_sums.ts";

await initWasmBackend();

Deno.test("squaredNorm() sums squares over tensors of any length, 4-unrolled or not", () => {
  const a = tf.tensor1d([3, 4]); // shorter than one unrolled block
  const b = tf.tensor2d([[1, 2, 2], [0, 5, 1]]); // 6 = one block + 2 left over
  assertStrictEquals(squaredNorm([a, b]), 9 + 16 + 1 + 4 + 4 + 0 + 25 + 1);
  assertStrictEquals(squaredNorm([]), 0);
  tf.dispose([a, b]);
});

Deno.test("squaredNorm() accumulates in float64 where tfjs's float32 Sum loses the small terms", () => {
  // 100² + 10,000 × 0.01² = 10,000 + 1 exactly; every 0.01² is an exact-enough
  // float32 (0.01 rounds to 0.00999999977648), so the float64 sum is within 1e-8.
  const values = new Float32Array(10001).fill(0.01);
  values[0] = 100;
  const t = tf.tensor1d(values);
  const small = Math.fround(0.01) ** 2;
  const want = 1e4 + 10000 * small;
  const got = squaredNorm([t]);
  assert(Math.abs(got - want) < 1e-8, `${got} vs ${want}`);
  // tfjs's Sum adds 1e-4 to 1e4 in float32 (ulp 0.00098) and is visibly off.
  const tfjs = tf.tidy(() => tf.sum(tf.square(t)).dataSync()[0]!);
  assert(Math.abs(tfjs - want) > 1e-3, `tfjs gave ${tfjs}`);
  t.dispose();
});

Deno.test("readFloat32() returns the tensor's values (a heap view on WASM)", () => {
  const t = tf.tensor2d([[1.5, -2], [0, 3.25]]);
  assertEquals(Array.from(readFloat32(t)), [1.5, -2, 0, 3.25]);
  t.dispose();
});

Deno.test("dot() sums products in float64 over any length and rejects mismatched sizes", () => {
  const a = tf.tensor2d([[1, 2, 3], [4, 5, -6]]); // one unrolled block + 2 left over
  const b = tf.tensor1d([0.5, -1, 2, 0, 1, 1]);
  assertStrictEquals(dot(a, b), 0.5 - 2 + 6 + 0 + 5 - 6);
  // 1e4 + 10,000 × 1e-4 in float64; float32 would drop every small product.
  const big = new Float32Array(10001).fill(0.01);
  big[0] = 100;
  const x = tf.tensor1d(big);
  const want = 1e4 + 10000 * Math.fround(0.01) ** 2;
  assert(Math.abs(dot(x, x) - want) < 1e-8, `${dot(x, x)} vs ${want}`);
  assertThrowsMatch(
    () => dot(a, x),
    /^Error: dot: tensors must have the same size, got 6 and 10001$/,
  );
  tf.dispose([a, b, x]);
});
