/**
 * The batch gradients of a snapshot (SCIENCE §2) for the Dense-ReLU MLP,
 * computed over row blocks. The forward pass and the back-propagation of
 * δ = ∂Ĉ_k/∂z do not depend on how rows are cut into batches, except for
 * the factor 1/|B_k| of each batch mean (SCIENCE §1.3): so they run once over
 * a block of consecutive batches (up to `BLOCK_ROWS` rows), where XNNPACK's
 * products are faster than at 64 rows and each weight matrix is packed once
 * per snapshot instead of once per batch. Only the weight gradients are
 * formed per batch, from the block's activations and δ:
 *
 *   ∂Ĉ_k/∂W_l = h_{l−1}[B_k]ᵀ · δ_l[B_k],   ∂Ĉ_k/∂b_l = Σ_{i∈B_k} δ_l[i]
 *
 * Same sums as the per-batch pass (batch_gradient.ts), to float32 rounding
 * (tests/stages/nn/block_gradients_test.ts).
 *
 * Not done, measured: the Gram route, ‖G_k‖² = Σ_{a,b∈B_k} (h_a·h_b)(δ_a·δ_b)
 * (2B²(in+out) flops instead of 2B·in·out). ḡ per coordinate (the one-norm,
 * SCIENCE §2.6) and ∇C still need Σ_i w_i·h_iᵀδ_i over all N rows, a
 * product as large as all m batch products together, so the Gram matrices
 * only replace the host fold of measure.ts, and cost more: on the paper's
 * 784×512 layer (CPU s per snapshot, same process, loaded machine) batch
 * products 0.85 + fold 0.45 against block product 0.4–0.9 + Grams 0.3–0.4.
 * The Grams are 2-D products (the batched kernel has no fast path,
 * matmul_plan.ts) whose right operand h_kᵀ is packed anew for every batch.
 */
import * as tf from "@tensorflow/tfjs";
import type { LossName } from "./contracts.ts";
import { rowTensors, type Samples } from "./data.ts";
import { lossAndOutputGradient } from "./losses.ts";
import { readFloat32 } from "./host_sums.ts";
import { mlpLayers } from "./weights.ts";

/** Rows per block: large enough for XNNPACK's fast products, small enough to keep the activations (≈ 14 MB for the paper's MLP). */
export const BLOCK_ROWS = 2048;

/**
 * Runs one block: `batches` are consecutive batches of the partition. Calls
 * `each(i, gs)` for each variable i in order, with gs[j] = ∇Ĉ_j for that
 * variable and the block's j-th batch; gs is valid only during the call.
 * Returns the per-sample losses and predicted classes, in the block's row
 * order (the batches' indices concatenated).
 */
export type BlockGradients = (
  samples: Samples,
  batches: Uint32Array[],
  each: (i: number, gs: Float32Array[]) => void,
) => { perSample: Float32Array; predicted: Int32Array };

/** Groups consecutive batches into blocks of at most `rows` rows (a larger batch is a block alone). */
export function groupBatches(
  batches: Uint32Array[],
  rows = BLOCK_ROWS,
): Uint32Array[][] {
  const blocks: Uint32Array[][] = [];
  let current: Uint32Array[] = [];
  let count = 0;
  for (const batch of batches) {
    if (current.length > 0 && count + batch.length > rows) {
      blocks.push(current);
      current = [];
      count = 0;
    }
    current.push(batch);
    count += batch.length;
  }
  if (current.length > 0) blocks.push(current);
  return blocks;
}

/**
 * Block gradients of the MLP whose `variables` are [W_1, b_1, …, W_L, b_L]
 * (W_l [in, out], as `trainableVariables` orders a model.ts MLP), at the
 * current weights. Row-major throughout: z_l = h_{l−1}·W_l + b_l and
 * δ_{l−1} = (δ_l·W_lᵀ) ⊙ [z_{l−1} > 0], with W_lᵀ transposed once, so every
 * block product has a weight matrix on the right, packed once and reused.
 * Call `dispose` when the snapshot is done.
 */
export function mlpBlockGradients(
  variables: tf.Variable[],
  loss: LossName,
): { run: BlockGradients; dispose: () => void } {
  const { kernels, biases } = mlpLayers(variables, "mlpBlockGradients");
  const transposed = kernels.map((w) => tf.transpose(w) as tf.Tensor2D); // W_lᵀ [out, in]
  const net: BlockNet = { kernels, biases, transposed, loss };

  const run: BlockGradients = (samples, batches, each) => {
    const rows = concat(batches);
    const r = rows.length;
    const { x, y } = rowTensors(samples, rows); // [R, d], [R]
    const scale = tf.tensor2d(batchMeanRescale(batches, r), [r, 1]);
    const kept = blockPass(net, x, y, scale);
    const layers = kernels.length;
    const [perSampleT, predictedT, ...rest] = kept;
    const perSample = perSampleT!.dataSync() as Float32Array;
    const predicted = predictedT!.dataSync() as Int32Array;
    // Host copies: per-batch operands are cut from them (tf.slice would copy the whole block each time).
    const hs = rest.slice(0, layers).map((t) => t.dataSync() as Float32Array);
    const ds = rest.slice(layers).map((t) => t.dataSync() as Float32Array);
    const widths = rest.slice(0, layers).map((t) => t.shape[1]!);
    const outs = rest.slice(layers).map((t) => t.shape[1]!);
    tf.dispose([...kept, x, y, scale]);

    const starts = batchStarts(batches);
    for (let l = 0; l < layers; l++) {
      const gWs = kernelGradients(batches, starts, hs[l]!, ds[l]!, [
        widths[l]!,
        outs[l]!,
      ]);
      // Views into the heap, read before the next tfjs call.
      each(2 * l, gWs.map((g) => readFloat32(g)));
      tf.dispose(gWs);
      each(2 * l + 1, biasGradients(batches, starts, ds[l]!, outs[l]!));
    }
    return { perSample, predicted };
  };
  return { run, dispose: () => tf.dispose(transposed) };
}

/** The MLP as a block pass uses it: W_l [in, out], b_l, and W_lᵀ [out, in] transposed once. */
interface BlockNet {
  kernels: tf.Variable[];
  biases: tf.Variable[];
  transposed: tf.Tensor2D[];
  loss: LossName;
}

/** R/|B_k| for each row of batch k (R rows in the block): δ_L for the block mean, rescaled to batch k's mean (SCIENCE §1.3). */
function batchMeanRescale(batches: Uint32Array[], r: number): Float32Array {
  const rescale = new Float32Array(r);
  let at = 0;
  for (const batch of batches) {
    rescale.fill(r / batch.length, at, at + batch.length);
    at += batch.length;
  }
  return rescale;
}

/**
 * The block's forward and back-propagation, once over all its rows:
 * [perSample [R], predicted [R], h_0 … h_{L−1} ([R, in_l]), δ_1 … δ_L ([R, out_l])],
 * with δ_L scaled per row by `scale` [R, 1]. New tensors the caller disposes.
 */
function blockPass(
  net: BlockNet,
  x: tf.Tensor2D,
  y: tf.Tensor1D,
  scale: tf.Tensor2D,
): tf.Tensor[] {
  const { kernels, biases, transposed, loss } = net;
  const layers = kernels.length;
  return tf.tidy(() => {
    const inputs: tf.Tensor2D[] = []; // h_{l−1}: [R, in_l]
    const preacts: tf.Tensor2D[] = []; // z_l: [R, out_l]
    let h: tf.Tensor2D = x;
    for (let l = 0; l < layers; l++) {
      inputs.push(h);
      const z = tf.add(tf.matMul(h, kernels[l]!), biases[l]!) as tf.Tensor2D;
      preacts.push(z);
      h = l < layers - 1 ? tf.relu(z) : z;
    }
    const { perSample, dOutputs } = lossAndOutputGradient(h, y, loss); // [R], [R, classes]
    const deltas: tf.Tensor2D[] = new Array(layers); // δ_l = ∂Ĉ_k/∂z_l: [R, out_l]
    let dz = tf.mul(dOutputs, scale) as tf.Tensor2D;
    deltas[layers - 1] = dz;
    for (let l = layers - 1; l > 0; l--) {
      const dh = tf.matMul(dz, transposed[l]!); // [R, in_l]
      dz = tf.mul(dh, tf.step(preacts[l - 1]!)) as tf.Tensor2D;
      deltas[l - 1] = dz;
    }
    return [perSample, tf.argMax(h, 1), ...inputs, ...deltas];
  });
}

/** The first row of each batch within the block. */
function batchStarts(batches: Uint32Array[]): number[] {
  const starts: number[] = [];
  let start = 0;
  for (const batch of batches) {
    starts.push(start);
    start += batch.length;
  }
  return starts;
}

/**
 * ∂Ĉ_k/∂W_l = h_{l−1}[B_k]ᵀ · δ_l[B_k] [in, out] per batch k, from the block's
 * host copies h [R·in] and d [R·out]; new tensors the caller disposes.
 */
function kernelGradients(
  batches: Uint32Array[],
  starts: number[],
  h: Float32Array,
  d: Float32Array,
  [n, o]: [number, number],
): tf.Tensor[] {
  return batches.map((batch, j) => {
    const b = batch.length;
    const r0 = starts[j]!;
    const hk = h.subarray(r0 * n, (r0 + b) * n); // h_{l−1}[B_k] [b, in]
    const dk = d.subarray(r0 * o, (r0 + b) * o); // δ_l[B_k] [b, out]
    // h_kᵀ·δ_k: the patched kernel transposes h_k in WASM (wasm_kernels.ts),
    // measured a little faster than transposing it here in JS.
    return tf.tidy(() =>
      tf.matMul(tf.tensor2d(hk, [b, n]), tf.tensor2d(dk, [b, o]), true)
    ); // [in, out]
  });
}

/** ∂Ĉ_k/∂b_l = Σ_{i∈B_k} δ_l[i] [out] per batch k, summed in float64 on the host. */
function biasGradients(
  batches: Uint32Array[],
  starts: number[],
  ds: Float32Array,
  o: number,
): Float32Array[] {
  return batches.map((batch, j) => {
    const b = batch.length;
    const d = ds.subarray(starts[j]! * o, (starts[j]! + b) * o);
    const gb = new Float32Array(o); // Σ_rows δ_l[B_k], summed in float64
    for (let c = 0; c < o; c++) {
      let s = 0;
      for (let i = 0; i < b; i++) s += d[i * o + c]!;
      gb[c] = s;
    }
    return gb;
  });
}

/** The block's row indices: its batches' indices concatenated. */
function concat(batches: Uint32Array[]): Uint32Array {
  const out = new Uint32Array(batches.reduce((s, b) => s + b.length, 0));
  let at = 0;
  for (const b of batches) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}
