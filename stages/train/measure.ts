/**
 * The implicit-regularization snapshot (SCIENCE §2): every mini-batch
 * gradient g_k = ∇Ĉ_k(w) of one epoch's partition at the SAME weights w,
 * reduced to the raw sums of `SnapshotSums`, plus the training loss and
 * error from the same forward passes: one forward + backward per batch, or
 * for the MLP one per block of batches (block_gradients.ts).
 *
 * Precision: each g_k is computed in float32 by tfjs and downloaded once;
 * every sum is accumulated in float64 in JS. ḡ and Σ_k ||g_k − ḡ||² come
 * from Welford's streaming update (per coordinate, summed over coordinates),
 * which avoids the cancellation of Σ||g_k||² − m||ḡ||² when the batch
 * gradients nearly agree; its rounding error is O(m·2⁻⁵³) relative to the
 * sums themselves, far below the float32 error of the gradients.
 */
import * as tf from "@tensorflow/tfjs";
import type { LossName, Preconditioner, SnapshotSums } from "./contracts.ts";
import { autodiffGradient, type BatchGradient } from "./batch_gradient.ts";
import { type BlockGradients, groupBatches } from "./block_gradients.ts";
import { rowTensors, type Samples } from "./data.ts";
import { readFloat32 } from "./host_sums.ts";

/** ε of the perturbed one-norm when no optimizer supplies one (SCIENCE §2.6). */
export const DEFAULT_ONE_NORM_EPS = 1e-8;

export interface SnapshotArgs {
  /** The weights w, in the order the sums are taken over (all are included). */
  variables: tf.Variable[];
  /** The network's outputs (logits) for a batch: [b, d] → [b, classes]. */
  forward: (x: tf.Tensor2D) => tf.Tensor2D;
  loss: LossName;
  /**
   * The batch pass (batch_gradient.ts), e.g. `mlpBackprop` for a model.ts
   * MLP; default: automatic differentiation through `forward`.
   */
  gradient?: BatchGradient;
  /**
   * The batch gradients over row blocks (block_gradients.ts, the MLP):
   * when given, used instead of `gradient`; same sums to float32 rounding.
   */
  blocks?: BlockGradients;
  /** Rows per block with `blocks` (default `BLOCK_ROWS`). */
  blockRows?: number;
  /** The whole training set (pixels in [0, 1] and class labels), on the host. */
  samples: Samples;
  /** The epoch's partition of 0..N−1 into batches (SCIENCE §1.4); must cover each sample once. */
  batches: Uint32Array[];
  /** The optimizer's v (SCIENCE §2.5, §2.6), or null for SGD/GD. */
  preconditioner: Preconditioner | null;
}

/**
 * Measures one snapshot (SCIENCE §2.1–2.3, 2.5, 2.6): all batch gradients at
 * the current weights, without changing them. Creates no lasting tensors.
 */
export function measureSnapshot(args: SnapshotArgs): SnapshotSums {
  const { variables, forward, loss, samples, batches } = args;
  const gradient = args.gradient ?? autodiffGradient(variables, forward, loss);
  const { n, d } = samples;
  if (samples.labels.length !== n || samples.images.length !== n * d) {
    throw new Error(
      `samples: expected ${n} labels and ${n} × ${d} pixels, got ${samples.labels.length} and ${samples.images.length}`,
    );
  }
  checkPartition(batches, n);
  const m = batches.length;
  const sizes = variables.map((v) => v.size);
  const total = sizes.reduce((a, b) => a + b, 0);

  // Preconditioner factors, downloaded once: 1/(√v+ε) and s² (s = v).
  const pre = args.preconditioner;
  let inv: Float64Array | null = null;
  let s2: Float64Array | null = null;
  if (pre) {
    if (pre.v.length !== variables.length) {
      throw new Error(
        `preconditioner.v: expected ${variables.length} tensors (one per variable), got ${pre.v.length}`,
      );
    }
    const invA = new Float64Array(total);
    const s2A = new Float64Array(total);
    let off = 0;
    pre.v.forEach((t, i) => {
      if (t.size !== sizes[i]) {
        throw new Error(
          `preconditioner.v[${i}]: expected ${
            sizes[i]
          } elements, got ${t.size}`,
        );
      }
      const data = t.dataSync() as Float32Array;
      for (let j = 0; j < data.length; j++) {
        const v = data[j]!;
        invA[off + j] = 1 / (Math.sqrt(v) + pre.eps);
        s2A[off + j] = v * v;
      }
      off += data.length;
    });
    inv = invA;
    s2 = s2A;
  }

  const mean = new Float64Array(total); // Welford running mean of g_k → ḡ
  const full = new Float64Array(total); // Σ_k |B_k| g_k → N ∇C
  let sumG2 = 0;
  let sumDev2 = 0;
  let sumPre = 0;
  let sumSG2 = 0;
  const losses = new Float32Array(n);
  const correct = new Uint8Array(n);
  const labelData = samples.labels; // [N]

  const offsets = sizes.map((_, i) =>
    sizes.slice(0, i).reduce((a, b) => a + b, 0)
  );
  /** Folds ∇Ĉ_k, ∇Ĉ_{k+1}, … of variable i into the sums; k runs 0, 1, … in order. */
  const fold = (k: number, i: number, gs: Float32Array[]) => {
    const sums = accumulate(gs, offsets[i]!, k, batches, mean, full, inv, s2);
    sumG2 += sums.g2;
    sumDev2 += sums.dev2;
    sumPre += sums.pre;
    sumSG2 += sums.sg2;
  };
  /** Per-sample losses and correctness of the rows `rows`, in their order. */
  const record = (
    rows: ArrayLike<number>,
    lossData: Float32Array,
    predData: Int32Array,
  ) => {
    for (let i = 0; i < rows.length; i++) {
      const idx = rows[i]!;
      losses[idx] = lossData[i]!;
      correct[idx] = predData[i] === labelData[idx] ? 1 : 0;
    }
  };

  if (args.blocks) {
    let k0 = 0;
    for (const block of groupBatches(batches, args.blockRows)) {
      const { perSample, predicted } = args.blocks(
        samples,
        block,
        (i, gs) => fold(k0, i, gs),
      );
      let at = 0;
      for (const batch of block) {
        record(
          batch,
          perSample.subarray(at, at + batch.length),
          predicted.subarray(at, at + batch.length),
        );
        at += batch.length;
      }
      k0 += block.length;
    }
  } else {
    batches.forEach((batch, k) => {
      const { grads, perSample, predicted } = batchGradient(
        gradient,
        samples,
        batch,
      );
      record(
        batch,
        perSample.dataSync() as Float32Array,
        predicted.dataSync() as Int32Array,
      );
      tf.dispose([perSample, predicted]);
      grads.forEach((gt, i) => {
        fold(k, i, [readFloat32(gt)]);
        gt.dispose();
      });
    });
  }

  const eps = pre ? pre.eps : DEFAULT_ONE_NORM_EPS;
  let gbar2 = 0;
  let fullGrad2 = 0;
  let oneNorm = 0;
  for (let j = 0; j < total; j++) {
    const gb = mean[j]!;
    gbar2 += gb * gb;
    const f = full[j]! / n;
    fullGrad2 += f * f;
    oneNorm += Math.sqrt(gb * gb + eps);
  }
  let lossSum = 0;
  let right = 0;
  for (let i = 0; i < n; i++) {
    lossSum += losses[i]!;
    right += correct[i]!;
  }
  return {
    m,
    sumG2,
    gbar2,
    sumDev2,
    fullGrad2,
    sumPre: pre ? sumPre : NaN,
    sumSG2: pre ? sumSG2 : NaN,
    oneNorm,
    loss: lossSum / n,
    error: 1 - right / n,
    correct,
    losses,
  };
}

/**
 * Folds the gradients gs[0], gs[1], … of batches k, k+1, … for coordinates
 * off … off+|g|−1 into the running sums, in float64: Welford's update of the
 * mean ḡ with rate 1/(k+1), its deviation sum, the sample-weighted sum for
 * ∇C, Σg², and with a preconditioner Σ g²/(√v+ε) and Σ (v·g)². Coordinate
 * by coordinate, each taking the batches in order, so the float64 running
 * values stay in registers across a block. Returns these gradients' shares.
 */
function accumulate(
  gs: Float32Array[],
  off: number,
  k: number,
  batches: Uint32Array[],
  mean: Float64Array,
  full: Float64Array,
  inv: Float64Array | null,
  s2: Float64Array | null,
): { g2: number; dev2: number; pre: number; sg2: number } {
  const count = gs.length;
  const weights = Float64Array.from(gs, (_, j) => batches[k + j]!.length);
  const rates = Float64Array.from(gs, (_, j) => 1 / (k + j + 1));
  const length = gs[0]!.length;
  let g2 = 0;
  let dev2 = 0;
  let pre = 0;
  let sg2 = 0;
  for (let c = 0; c < length; c++) {
    const jj = off + c;
    let m = mean[jj]!;
    let f = full[jj]!;
    let x2s = 0;
    for (let j = 0; j < count; j++) {
      const x = gs[j]![c]!;
      x2s += x * x;
      const d = x - m;
      const next = m + d * rates[j]!;
      dev2 += d * (x - next);
      m = next;
      f += weights[j]! * x;
    }
    mean[jj] = m;
    full[jj] = f;
    g2 += x2s;
    // The preconditioned sums are linear in x², per coordinate.
    if (inv !== null) pre += x2s * inv[jj]!;
    if (s2 !== null) sg2 += x2s * s2[jj]!;
  }
  return { g2, dev2, pre, sg2 };
}

/**
 * One forward + backward pass on a batch: the gradient of the batch mean
 * loss per variable, and the per-sample losses and predicted classes from
 * the same forward pass.
 */
function batchGradient(
  gradient: BatchGradient,
  samples: Samples,
  batch: Uint32Array,
): {
  grads: tf.Tensor[];
  perSample: tf.Tensor1D;
  predicted: tf.Tensor1D;
} {
  const { x, y } = rowTensors(samples, batch); // [b, d], [b]
  const pass = gradient(x, y);
  const predicted = tf.argMax(pass.logits, 1) as tf.Tensor1D; // [b]
  tf.dispose([pass.loss, pass.logits, x, y]);
  return { grads: pass.grads, perSample: pass.perSample, predicted };
}

/** Throws unless `batches` covers each of 0..n−1 exactly once (SCIENCE §1.4). */
function checkPartition(batches: Uint32Array[], n: number): void {
  const seen = new Uint8Array(n);
  let count = 0;
  for (const batch of batches) {
    if (batch.length === 0) {
      throw new Error("batches: every batch must hold at least one index");
    }
    for (const i of batch) {
      if (i >= n || seen[i]) {
        throw new Error(
          `batches: must partition 0..${
            n - 1
          }; index ${i} is out of range or repeated`,
        );
      }
      seen[i] = 1;
      count++;
    }
  }
  if (count !== n) {
    throw new Error(`batches: must cover all ${n} samples, got ${count}`);
  }
}
