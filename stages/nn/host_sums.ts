/**
 * Sums over tensors' float32 values taken on the host in float64, reading
 * the WASM heap in place. tfjs's own Sum accumulates in float32: on a
 * 784×512 gradient it was 1.5e-4 off the float64 sum, and Square + Sum +
 * AddN over the MLP's ten tensors took 0.8 ms a step against 0.3 ms here
 * (both measured side by side on the 575,050-parameter MLP).
 */
import * as tf from "@tensorflow/tfjs";

/** Backend internals that can lend a tensor's float32 data without copying it. */
interface HeapBackend {
  typedArrayFromHeap?: (t: tf.TensorInfo) => Float32Array;
}

/**
 * A tensor's float32 values: a view into the WASM heap when the backend
 * lends one (`typedArrayFromHeap`, public on tfjs-backend-wasm's class but
 * undocumented), else a copy. Read a view before the next tfjs call, which
 * may grow and move the heap.
 */
export function readFloat32(t: tf.Tensor): Float32Array {
  const backend = tf.backend() as unknown as HeapBackend;
  if (
    t.dtype === "float32" && typeof backend.typedArrayFromHeap === "function"
  ) {
    return backend.typedArrayFromHeap(t);
  }
  return t.dataSync() as Float32Array;
}

/**
 * Σ ||t||² over the tensors, in float64. Four running sums let the loop
 * pipeline; their order of addition is fixed, so the result is deterministic.
 */
export function squaredNorm(tensors: tf.Tensor[]): number {
  let sum = 0;
  for (const t of tensors) {
    const a = readFloat32(t);
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    const whole = a.length - (a.length % 4);
    let j = 0;
    for (; j < whole; j += 4) {
      const v0 = a[j]!, v1 = a[j + 1]!, v2 = a[j + 2]!, v3 = a[j + 3]!;
      s0 += v0 * v0;
      s1 += v1 * v1;
      s2 += v2 * v2;
      s3 += v3 * v3;
    }
    for (; j < a.length; j++) s0 += a[j]! * a[j]!;
    sum += (s0 + s1) + (s2 + s3);
  }
  return sum;
}

/**
 * Σ_j a_j·b_j over two tensors of the same size, in float64 (four running
 * sums in a fixed order, as `squaredNorm`). SWATS's projection (SCIENCE §3)
 * needs it: its float32 sums move γ_k by more than ε_switch.
 */
export function dot(a: tf.Tensor, b: tf.Tensor): number {
  if (a.size !== b.size) {
    throw new Error(
      `dot: tensors must have the same size, got ${a.size} and ${b.size}`,
    );
  }
  // Two heap views: neither read allocates, so the first stays valid.
  const x = readFloat32(a);
  const y = readFloat32(b);
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  const whole = x.length - (x.length % 4);
  let j = 0;
  for (; j < whole; j += 4) {
    s0 += x[j]! * y[j]!;
    s1 += x[j + 1]! * y[j + 1]!;
    s2 += x[j + 2]! * y[j + 2]!;
    s3 += x[j + 3]! * y[j + 3]!;
  }
  for (; j < x.length; j++) s0 += x[j]! * y[j]!;
  return (s0 + s1) + (s2 + s3);
}
