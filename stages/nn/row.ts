/**
 * The measured part of an epoch's record row, at given weights: the full IR
 * snapshot (SCIENCE §2) or the cheap evaluation, the training loss and error
 * on its clean and corrupted parts (SCIENCE §1.2, §4.3), and the test set.
 *
 * A pure function of its request: it runs on its own copy of the network, so
 * the training thread and a measuring Worker (measure_stream.ts) give the
 * same bits, and training can go on while a row is measured.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../pipeline/rng.ts";
import {
  autodiffGradient,
  type BatchGradient,
  mlpBackprop,
} from "./batch_gradient.ts";
import { mlpBlockGradients } from "./block_gradients.ts";
import type { ModelConfig, SnapshotSums } from "./contracts.ts";
import { rangeTensors, type Samples, type TrainData } from "./data.ts";
import { perSampleLoss } from "./losses.ts";
import { lossAndError, measureSnapshot } from "./snapshot.ts";
import { createModel, trainableVariables } from "./model.ts";

/** What a row's measurement needs: the end-of-epoch state, as plain arrays. */
export interface RowRequest {
  /** Variable values, in `trainableVariables` order. */
  weights: Float32Array[];
  /** The partition to measure every batch gradient over (SCIENCE §2), or null for the cheap evaluation. */
  batches: Uint32Array[] | null;
  /** The optimizer's v per variable with its ε (SCIENCE §2.5, §2.6), or null (SGD, GD, row 0). */
  preconditioner: { v: Float32Array[]; eps: number } | null;
}

/** Record columns the measurement fills (train_*, test_*, and the snapshot sums). */
export type RowFields = Record<string, number>;

/** Measures rows on its own copy of the network. */
export interface RowMeasurer {
  measure(request: RowRequest): RowFields;
  dispose(): void;
}

/** Rows per forward chunk of the cheap evaluation. */
const EVAL_CHUNK = 2000;

/** A measurer for networks built by `createModel(model)`, over the run's data. */
export function createRowMeasurer(
  model: ModelConfig,
  data: TrainData,
): RowMeasurer {
  // The initial values are overwritten by every request.
  const net = createModel(model, Rng.fromSeed("row-measurer"));
  const vars = trainableVariables(net);
  const forward = (x: tf.Tensor2D, training = false) =>
    net.apply(x, { training }) as tf.Tensor2D; // [b, 784] → [b, 10]
  const gradient = model.arch === "mlp"
    ? mlpBackprop(vars, model.loss)
    : autodiffGradient(vars, (x) => forward(x, true), model.loss);
  const copy: NetCopy = { model, vars, forward, gradient };

  const measure = (request: RowRequest): RowFields => {
    setWeights(vars, request.weights);
    const row: RowFields = {};
    const sums = request.batches !== null
      ? snapshotFields(copy, data.train, request, request.batches, row)
      : evaluate(forward, data.train, model.loss);
    row.train_loss = sums.loss;
    row.train_error = sums.error;
    const split = splitByCorruption(
      sums.losses,
      sums.correct,
      data.train.corrupted,
    );
    row.train_clean_loss = split.cleanLoss;
    row.train_clean_error = split.cleanError;
    row.train_corrupt_loss = split.corruptLoss;
    row.train_corrupt_error = split.corruptError;
    const t = evaluate(forward, data.test, model.loss);
    row.test_loss = t.loss;
    row.test_error = t.error;
    return row;
  };
  return { measure, dispose: () => net.dispose() };
}

/** A measurer's own network: its variables, forward pass and batch pass. */
interface NetCopy {
  model: ModelConfig;
  vars: tf.Variable[];
  forward: (x: tf.Tensor2D) => tf.Tensor2D;
  gradient: BatchGradient;
}

/** Per-sample losses and correctness over a set, with their mean and error rate. */
interface SetSums {
  losses: Float32Array;
  correct: Uint8Array;
  loss: number;
  error: number;
}

/**
 * The full snapshot over `batches` at the copy's weights: writes its sums and
 * `snapshot_seconds` into `row`, returns the training set's per-sample results.
 */
function snapshotFields(
  copy: NetCopy,
  train: Samples,
  request: RowRequest,
  batches: Uint32Array[],
  row: RowFields,
): SetSums {
  const { model, vars, forward, gradient } = copy;
  const t0 = performance.now();
  const pre = request.preconditioner;
  const v = pre
    ? pre.v.map((a, i) => tf.tensor(a, vars[i]!.shape, "float32"))
    : [];
  // The MLP's batch gradients over row blocks (block_gradients.ts), others batch by batch.
  const blocks = model.arch === "mlp"
    ? mlpBlockGradients(vars, model.loss)
    : null;
  let sums: SetSums;
  try {
    const s: SnapshotSums = measureSnapshot({
      variables: vars,
      forward: (x) => forward(x),
      loss: model.loss,
      samples: train,
      gradient,
      ...(blocks ? { blocks: blocks.run } : {}),
      batches,
      // scale only labels the record (pre_scale); the sums do not use it.
      preconditioner: pre ? { v, eps: pre.eps, scale: 1 } : null,
    });
    Object.assign(row, {
      sum_g2: s.sumG2,
      gbar2: s.gbar2,
      sum_dev2: s.sumDev2,
      full_grad2: s.fullGrad2,
      sum_pre: s.sumPre,
      sum_s_g2: s.sumSG2,
      one_norm: s.oneNorm,
    });
    sums = s;
  } finally {
    blocks?.dispose();
    tf.dispose(v);
  }
  row.snapshot_seconds = (performance.now() - t0) / 1000;
  return sums;
}

/**
 * Mean loss and error on the clean and the corrupted part of the training
 * set (SCIENCE §1.2, §4.3), both against the labels trained on (the noisy
 * ones): the corrupted error is 1 − memorization. NaN for an empty part.
 */
export function splitByCorruption(
  losses: Float32Array,
  correct: Uint8Array,
  corrupted: Uint8Array,
): {
  cleanLoss: number;
  cleanError: number;
  corruptLoss: number;
  corruptError: number;
} {
  const loss = [0, 0];
  const right = [0, 0];
  const count = [0, 0];
  for (let i = 0; i < losses.length; i++) {
    const part = corrupted[i] ? 1 : 0;
    loss[part]! += losses[i]!;
    right[part]! += correct[i]!;
    count[part]! += 1;
  }
  const mean = (x: number, c: number) => (c === 0 ? NaN : x / c);
  return {
    cleanLoss: mean(loss[0]!, count[0]!),
    cleanError: mean(count[0]! - right[0]!, count[0]!),
    corruptLoss: mean(loss[1]!, count[1]!),
    corruptError: mean(count[1]! - right[1]!, count[1]!),
  };
}

/** Per-sample losses and correctness over a whole set, forward passes in chunks (no gradients). */
function evaluate(
  forward: (x: tf.Tensor2D) => tf.Tensor2D,
  set: Samples,
  loss: ModelConfig["loss"],
): SetSums {
  const n = set.n;
  const losses = new Float32Array(n);
  const correct = new Uint8Array(n);
  for (let start = 0; start < n; start += EVAL_CHUNK) {
    const size = Math.min(EVAL_CHUNK, n - start);
    const { x, y } = rangeTensors(set, start, size); // [c, 784], [c]
    const [l, c] = tf.tidy(() => {
      const outputs = forward(x); // [c, 10]
      return [
        perSampleLoss(outputs, y, loss),
        tf.equal(tf.argMax(outputs, 1), y),
      ]; // [c], [c]
    });
    losses.set(l!.dataSync() as Float32Array, start);
    const ok = c!.dataSync();
    for (let i = 0; i < size; i++) correct[start + i] = ok[i] ? 1 : 0;
    tf.dispose([l!, c!, x, y]);
  }
  return { losses, correct, ...lossAndError(losses, correct) };
}

/** Sets the variables to `weights` (in order); throws on a count mismatch. */
export function setWeights(vars: tf.Variable[], weights: Float32Array[]): void {
  if (weights.length !== vars.length) {
    throw new Error(
      `weights: expected ${vars.length} arrays, got ${weights.length}`,
    );
  }
  vars.forEach((v, i) =>
    tf.tidy(() => v.assign(tf.tensor(weights[i]!, v.shape, "float32")))
  );
}
