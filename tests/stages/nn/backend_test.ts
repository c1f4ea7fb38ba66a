import { assert, assertThrowsMatch } from "../../assert.ts";
import * as tf from "@tensorflow/tfjs";
import {
  assertBackend,
  backendVersions,
  initWasmBackend,
  kernelsPatched,
  setKernelPatches,
} from "../../../stages/nn/backend.ts";
import { transposeLastTwo } from "../../../stages/nn/wasm_kernels.ts";

await initWasmBackend();

/** Max |a − b| / (1 + max |b|) over two equally long arrays. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) {
    throw new Error(`lengths ${a.length} vs ${b.length}`);
  }
  let err = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return err / (1 + scale);
}

/** Runs `f` with the patch off, then on, and returns both outputs as arrays. */
function bothWays(
  f: () => tf.Tensor | tf.Tensor[],
): [Float32Array[], Float32Array[]] {
  const run = (on: boolean) => {
    setKernelPatches(on);
    return tf.tidy(() => {
      const out = f();
      return (Array.isArray(out) ? out : [out]).map((t) =>
        t.dataSync() as Float32Array
      );
    });
  };
  const off = run(false);
  const on = run(true);
  return [off, on];
}

Deno.test("assertBackend() makes a WASM fallback an error naming the backend", () => {
  assertThrowsMatch(
    () => assertBackend("cpu"),
    /fell back to 'cpu'.*13x slower/,
  );
  assertThrowsMatch(
    () => assertBackend(undefined, "no wasm file"),
    /fell back to 'none'.*no wasm file/,
  );
  assertBackend("wasm");
});

Deno.test("initWasmBackend() is idempotent and leaves wasm active with the patch", async () => {
  await initWasmBackend();
  await initWasmBackend();
  assert(tf.getBackend() === "wasm");
  assert(kernelsPatched());
  const v = backendVersions();
  assert(
    v.tfjs === tf.version_core && v.backend === "wasm" && v.simd === "true",
    JSON.stringify(v),
  );
});

Deno.test("patched BatchMatMul equals the unpatched kernel and a float64 reference", () => {
  const a = tf.randomNormal([7, 5], 0, 1, "float32", 1);
  const b = tf.randomNormal([5, 3], 0, 1, "float32", 2);
  // Float64 reference of a·b.
  const av = a.dataSync(), bv = b.dataSync();
  const ref = new Float64Array(21);
  for (let i = 0; i < 7; i++) {
    for (let j = 0; j < 3; j++) {
      for (let k = 0; k < 5; k++) {
        ref[i * 3 + j]! += av[i * 5 + k]! * bv[k * 3 + j]!;
      }
    }
  }
  const at = a.transpose(), bt = b.transpose();
  for (
    const [ta, tb] of [[false, false], [true, false], [false, true], [
      true,
      true,
    ]] as const
  ) {
    const [off, on] = bothWays(() =>
      tf.matMul(ta ? at : a, tb ? bt : b, ta, tb)
    );
    assert(
      relErr(on[0]!, off[0]!) < 1e-6,
      `transposeA=${ta} transposeB=${tb} patched vs unpatched`,
    );
    assert(
      relErr(on[0]!, ref) < 1e-5,
      `transposeA=${ta} transposeB=${tb} vs float64`,
    );
  }
  // Shapes where each of the two patched strategies is the cheaper one, and a batched case.
  const cases: Array<[number[], number[], boolean, boolean]> = [
    [[64, 78], [64, 51], true, false], // dW = xᵀ·dy
    [[64, 51], [78, 51], false, true], // dx = dy·Wᵀ (output-transpose route)
    [[3, 9, 4], [3, 6, 9], true, true], // rank 3
    [[3, 4, 9], [6, 9], false, true], // broadcast batch
  ];
  for (const [sa, sb, ta, tb] of cases) {
    const x = tf.randomNormal(sa, 0, 1, "float32", 3);
    const y = tf.randomNormal(sb, 0, 1, "float32", 4);
    const [off, on] = bothWays(() => tf.matMul(x, y, ta, tb));
    assert(relErr(on[0]!, off[0]!) < 1e-6, `shapes ${sa} ${sb} ${ta} ${tb}`);
  }
  setKernelPatches(true);
});

Deno.test("patched _FusedMatMul (bias, relu, transposes) equals the unfused float32 result", () => {
  // tfjs-backend-wasm 4.22.0's own _FusedMatMul adds the bias wrongly when a
  // transpose flag is set (rows after the first are off by O(1)); the patch
  // transposes first, so it must match the unfused computation.
  const a = tf.randomNormal([6, 8], 0, 1, "float32", 5);
  const b = tf.randomNormal([5, 8], 0, 1, "float32", 6);
  const bias = tf.randomNormal([5], 0, 1, "float32", 7);
  const ref = tf.relu(tf.add(tf.matMul(a, b.transpose()), bias)).dataSync();
  setKernelPatches(true);
  const at = a.transpose();
  for (
    const [ta, tb] of [[false, true], [true, false], [true, true]] as const
  ) {
    const got = tf.fused.matMul({
      a: ta ? at : a,
      b: tb ? b : b.transpose(),
      transposeA: ta,
      transposeB: tb,
      bias,
      activation: "relu",
    }).dataSync();
    assert(relErr(got, ref) < 1e-6, `transposeA=${ta} transposeB=${tb}`);
  }
  // Without a bias the unpatched kernel is right: both must agree.
  const [off, on] = bothWays(() =>
    tf.fused.matMul({ a: at, b, transposeA: true, transposeB: true })
  );
  assert(relErr(on[0]!, off[0]!) < 1e-6);
  setKernelPatches(true);
});

Deno.test("patched kernels give the same dense-layer gradients and leak no buffers", () => {
  const x = tf.randomNormal([16, 12], 0, 1, "float32", 8);
  const w1 = tf.randomNormal([12, 9], 0, 0.3, "float32", 9);
  const w2 = tf.randomNormal([9, 4], 0, 0.3, "float32", 10);
  const loss = (p: tf.Tensor, q: tf.Tensor) =>
    tf.sum(
      tf.square(tf.matMul(tf.relu(tf.fused.matMul({ a: x, b: p })), q)),
    ) as tf.Scalar;
  const grads = () => tf.grads(loss)([w1, w2]);
  const [off, on] = bothWays(grads);
  assert(relErr(on[0]!, off[0]!) < 1e-5 && relErr(on[1]!, off[1]!) < 1e-5);
  const before = tf.memory();
  for (let i = 0; i < 3; i++) {
    tf.tidy(() => {
      grads();
    });
  }
  const after = tf.memory();
  assert(after.numTensors === before.numTensors, "tensors leaked");
  assert(
    (after as unknown as { numDataBuffers: number }).numDataBuffers ===
      (before as unknown as { numDataBuffers: number }).numDataBuffers,
    "data buffers leaked",
  );
});

/** Exact equality of two float32 arrays (bit-identical, NaN-free inputs). */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

Deno.test("patched matmuls give the stock fast path's bits in either orientation", () => {
  // The paper's layer-1 products at batch 64: forward (swapped when W is fresh,
  // direct once W is reused), weight gradient (transposeA), input gradient
  // (transposeB). The reference is the stock kernel without flags on explicitly
  // transposed inputs (its flagged path is a different, blocked summation).
  const x = tf.randomNormal([64, 784], 0, 1, "float32", 11);
  const w = tf.randomNormal([784, 512], 0, 0.05, "float32", 12);
  const dy = tf.randomNormal([64, 512], 0, 1, "float32", 13);
  const products: Array<[string, () => tf.Tensor, () => tf.Tensor]> = [
    ["forward, fresh W", () => tf.matMul(x, w), () => tf.matMul(x, w)],
    ["forward, reused W", () => tf.matMul(x, w), () => tf.matMul(x, w)],
    [
      "weight gradient",
      () => tf.matMul(x, dy, true, false),
      () => tf.matMul(x.transpose(), dy),
    ],
    [
      "input gradient",
      () => tf.matMul(dy, w, false, true),
      () => tf.matMul(dy, w.transpose()),
    ],
    [
      "rank 3",
      () => tf.matMul(x.reshape([1, 64, 784]), w.reshape([1, 784, 512])),
      () => tf.matMul(x, w),
    ],
  ];
  for (const [what, patched, reference] of products) {
    setKernelPatches(false);
    const want = tf.tidy(() => reference().dataSync() as Float32Array);
    setKernelPatches(true);
    const got = tf.tidy(() => patched().dataSync() as Float32Array);
    assert(sameBits(got, want), what);
  }
  tf.dispose([x, w, dy]);
});

Deno.test("transposeLastTwo() pads power-of-two row counts and still equals a plain transpose", () => {
  const backend = tf.backend();
  const ops = {
    transpose: tf.getKernel("Transpose", "wasm")!.kernelFunc,
    pad: tf.getKernel("PadV2", "wasm")!.kernelFunc,
    slice: tf.getKernel("Slice", "wasm")!.kernelFunc,
  };
  // [512, 256] and [2, 256, 384] take the padded route; [100, 30] the plain one.
  for (const shape of [[512, 256], [2, 256, 384], [100, 30]]) {
    const x = tf.randomNormal(shape, 0, 1, "float32", 14);
    const r = shape.length;
    const perm = [...shape.keys()];
    [perm[r - 1], perm[r - 2]] = [r - 2, r - 1];
    const want = tf.transpose(x, perm);
    const info = transposeLastTwo(x, backend, ops);
    const got = tf.engine().makeTensorFromTensorInfo(info);
    assert(
      JSON.stringify(got.shape) === JSON.stringify(want.shape),
      `${got.shape}`,
    );
    assert(
      sameBits(got.dataSync() as Float32Array, want.dataSync() as Float32Array),
    );
    tf.dispose([x, want, got]);
  }
});

Deno.test("the patched Identity shares the buffer instead of copying it, and a clone outlives its source", () => {
  const x = tf.randomNormal([300, 200], 0, 1, "float32", 15);
  const values = x.dataSync().slice();
  const y = tf.clone(x);
  const wasm = tf.backend() as unknown as {
    dataIdMap: { get(id: object): { memoryOffset: number } };
  };
  assert(
    wasm.dataIdMap.get(y.dataId).memoryOffset ===
      wasm.dataIdMap.get(x.dataId).memoryOffset,
    "one buffer for both",
  );
  x.dispose();
  assert(sameBits(y.dataSync() as Float32Array, values as Float32Array));
  y.dispose();
});
