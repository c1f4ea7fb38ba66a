/**
 * Checks and views of a network's weight list, shared by the batch passes
 * (batch_gradient.ts, block_gradients.ts), the Hessian products (hvp.ts) and
 * the snapshot (measure.ts).
 */
import type * as tf from "@tensorflow/tfjs";

/**
 * The kernels W_l and biases b_l of a model.ts MLP's [W_1, b_1, …, W_L, b_L]
 * (as `trainableVariables` orders it); throws unless they come in pairs.
 */
export function mlpLayers<T extends tf.Tensor>(
  weights: T[],
  caller: string,
): { kernels: T[]; biases: T[] } {
  if (weights.length === 0 || weights.length % 2 !== 0) {
    throw new Error(
      `${caller}: expected [kernel, bias] per layer, got ${weights.length} variables`,
    );
  }
  return {
    kernels: weights.filter((_, i) => i % 2 === 0),
    biases: weights.filter((_, i) => i % 2 === 1),
  };
}

/** Throws unless `tensors` (named `name`) has one tensor per weight, of the same size. */
export function checkAligned(
  name: string,
  weights: readonly { size: number }[],
  tensors: readonly { size: number }[],
): void {
  if (tensors.length !== weights.length) {
    throw new Error(
      `${name}: expected ${weights.length} tensors (one per weight), got ${tensors.length}`,
    );
  }
  tensors.forEach((t, i) => {
    if (t.size !== weights[i]!.size) {
      throw new Error(
        `${name}[${i}]: expected ${weights[i]!.size} elements, got ${t.size}`,
      );
    }
  });
}
