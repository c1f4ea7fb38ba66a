/**
 * Linear least squares with the project's own optimizers, for the known
 * answers of SCIENCE §6.1–6.2: the minimum-norm interpolant X⁺y in float64,
 * and a trainer that runs any optimizer on w ∈ R^d from w₀ = 0 with the mean
 * squared loss ℓ(w) = (1/|B|) Σ_{i∈B} (x_iᵀw − y_i)² (SCIENCE §1.3).
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../../pipeline/rng.ts";
import type { OptimizerConfig } from "../nn/contracts.ts";
import { createOptimizer } from "../nn/optimizers.ts";

/** Rows x_i of X ([n·d], row-major) and targets y ([n]). */
export interface LinearProblem {
  x: Float64Array;
  y: Float64Array;
  n: number;
  d: number;
}

/**
 * X⁺y = Xᵀ(XXᵀ)⁻¹y for full-row-rank X with n < d, in float64: Cholesky of
 * the n×n Gram matrix, then two triangular solves.
 */
export function minNormSolution({ x, y, n, d }: LinearProblem): Float64Array {
  const gram = new Float64Array(n * n); // [n, n] = XXᵀ
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += x[i * d + k]! * x[j * d + k]!;
      gram[i * n + j] = s;
      gram[j * n + i] = s;
    }
  }
  const l = cholesky(gram, n);
  const z = new Float64Array(n); // L z = y
  for (let i = 0; i < n; i++) {
    let s = y[i]!;
    for (let k = 0; k < i; k++) s -= l[i * n + k]! * z[k]!;
    z[i] = s / l[i * n + i]!;
  }
  const a = new Float64Array(n); // Lᵀ a = z
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * a[k]!;
    a[i] = s / l[i * n + i]!;
  }
  const w = new Float64Array(d); // Xᵀ a
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) w[k]! += x[i * d + k]! * a[i]!;
  }
  return w;
}

/** Lower-triangular L with LLᵀ = A (A symmetric positive definite, [n, n]). */
export function cholesky(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      if (i === j) {
        if (!(s > 0)) {
          throw new Error(
            `cholesky: matrix is not positive definite (pivot ${i} = ${s})`,
          );
        }
        l[i * n + i] = Math.sqrt(s);
      } else {
        l[i * n + j] = s / l[j * n + j]!;
      }
    }
  }
  return l;
}

/** How to train: `epochs` passes of seeded random batches of `batch` samples (n = full batch). */
export interface LinearTraining {
  epochs: number;
  batch: number;
  rng: Rng;
}

/**
 * Trains w from 0 with the named optimizer (stages/nn/optimizers.ts) on
 * the mean squared loss; the gradient (2/|B|) X_Bᵀ(X_B w − y_B) is exact.
 * Returns the final w (float64 copy) and the full-data loss at it.
 */
export function trainLinear(
  problem: LinearProblem,
  config: OptimizerConfig,
  training: LinearTraining,
): { w: Float64Array; loss: number } {
  const { n, d } = problem;
  const x = tf.tensor2d(Float32Array.from(problem.x), [n, d]); // [n, d]
  const y = tf.tensor2d(Float32Array.from(problem.y), [n, 1]); // [n, 1]
  const w = tf.variable(tf.zeros([d, 1]), false); // [d, 1]
  const opt = createOptimizer(config, [w]);
  try {
    for (let epoch = 0; epoch < training.epochs; epoch++) {
      const order = training.batch >= n ? null : training.rng.permutation(n);
      for (let start = 0; start < n; start += training.batch) {
        tf.tidy(() => {
          let xb: tf.Tensor2D = x, yb: tf.Tensor2D = y;
          if (order !== null) {
            const idx = tf.tensor1d(
              Int32Array.from(order.subarray(start, start + training.batch)),
              "int32",
            );
            xb = tf.gather(x, idx); // [b, d]
            yb = tf.gather(y, idx); // [b, 1]
          }
          const residual = tf.sub(tf.matMul(xb, w), yb); // [b, 1]
          const g = tf.mul(
            2 / xb.shape[0],
            tf.matMul(xb, residual, true, false),
          ); // [d, 1]
          opt.step([g]);
        });
      }
    }
    const loss = tf.tidy(() =>
      tf.mean(tf.square(tf.sub(tf.matMul(x, w), y))).dataSync()[0]!
    );
    return { w: Float64Array.from(w.dataSync()), loss };
  } finally {
    opt.dispose();
    tf.dispose([x, y, w]);
  }
}

/** ||a||₂ in float64. */
export function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return Math.sqrt(s);
}

/** ||a − b||₂ in float64. */
export function distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}
