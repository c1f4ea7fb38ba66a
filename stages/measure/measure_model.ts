/**
 * The measurement behind `deno task measure`: every SCIENCE §2 sum and term
 * of a model on a labelled set, at its current weights, plus ||w|| and,
 * optionally, sharpness (§4.2). A softmax-ended model is measured through
 * its logits twin under cross-entropy (final_activation.ts). No file or
 * network access here.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../pipeline/rng.ts";
import { type EigenResult, eosThreshold } from "../metrics/sharpness.ts";
import { modelSharpness, sharpnessSubset } from "../metrics/sharpness_stage.ts";
import {
  deriveTerms,
  heavyBallBeta,
  type RawSums,
  type Terms,
} from "../metrics/terms.ts";
import type { OptimizerState } from "../nn/checkpoint.ts";
import type {
  LossName,
  OptimizerConfig,
  SnapshotSums,
} from "../nn/contracts.ts";
import { rowTensors } from "../nn/data.ts";
import { measureSnapshot } from "../nn/snapshot.ts";
import { trainableVariables } from "../nn/model.ts";
import { createOptimizer } from "../nn/optimizers.ts";
import {
  checkFinalActivation,
  type FinalActivation,
  finalActivation,
  logitsTwin,
  needsLogitsTwin,
} from "./final_activation.ts";

export interface MeasureInput {
  model: tf.LayersModel;
  /** Row-major pixels in [0, 1]: [n * d]. */
  images: Float32Array;
  /** Class labels: [n]. */
  labels: Int32Array;
  batch: number;
  /** null: batch k = samples k·B .. k·B+B−1 in order; else Rng.fromSeed(S).permutation(n) cut so. */
  shuffleSeed: number | null;
  lr: number;
  loss: LossName;
  optimizer: OptimizerConfig;
  /** The optimizer's saved state, for v (SCIENCE §2.5, §2.6); null without. */
  optimizerState: OptimizerState | null;
  sharpness:
    | { subset: number; tol: number; maxIter: number; seed: number }
    | null;
}

/** The report: the §2 raw sums as the record names them (terms.ts `RawSums`, no trajectory outside training), then the terms. */
export interface MeasureReport extends Omit<RawSums, "traj_g2"> {
  /**
   * The model's final activation and what the loss was taken of: "logits"
   * (a softmax removed under cross-entropy, or none there) or "outputs".
   */
  final_activation: FinalActivation & { loss_of: "logits" | "outputs" };
  n: number;
  batch_size: number;
  batches: string;
  terms: Omit<Terms, "ir_trajectory">;
  norm: number;
  loss: number;
  error: number;
  sharpness:
    | (Pick<EigenResult, "value" | "iterations" | "converged" | "residual"> & {
      subset: number;
      method: string;
      eos: number;
    })
    | null;
}

/** Batches of 0..n−1 (SCIENCE §1.4): in order, or a seeded permutation, cut every `batch`. */
export function measureBatches(
  n: number,
  batch: number,
  shuffleSeed: number | null,
): Uint32Array[] {
  const order = shuffleSeed === null
    ? Uint32Array.from({ length: n }, (_, i) => i)
    : Rng.fromSeed(shuffleSeed).permutation(n);
  const out: Uint32Array[] = [];
  for (let i = 0; i < n; i += batch) out.push(order.slice(i, i + batch));
  return out;
}

/**
 * Measures the model on the set; disposes every tensor it makes. Throws a
 * one-line error when the loss cannot use the final activation; under
 * cross-entropy a final softmax is taken off (the loss is of the logits).
 */
export async function measureModel(
  input: MeasureInput,
): Promise<MeasureReport> {
  const final = finalActivation(input.model);
  checkFinalActivation(final, input.loss);
  const twin = needsLogitsTwin(final, input.loss)
    ? await logitsTwin(input.model, final)
    : null;
  try {
    const lossOf = input.loss === "cross_entropy" ? "logits" : "outputs";
    return {
      final_activation: { ...final, loss_of: lossOf },
      ...measureOutputs({ ...input, model: twin ?? input.model }),
    };
  } finally {
    twin?.dispose();
  }
}

/** `measureModel` on a model whose outputs the loss takes as they are. */
function measureOutputs(
  input: MeasureInput,
): Omit<MeasureReport, "final_activation"> {
  const n = input.labels.length;
  const d = pixelsPerSample(n, input.images.length);
  const variables = trainableVariables(input.model);
  const samples = { n, d, images: input.images, labels: input.labels };
  const optimizer = input.optimizerState
    ? createOptimizer(input.optimizer, variables)
    : null;
  try {
    optimizer?.loadState(input.optimizerState!);
    const pre = optimizer?.preconditioner() ?? null;
    const sums = measureSnapshot({
      variables,
      forward: (x) => input.model.apply(x, { training: false }) as tf.Tensor2D,
      loss: input.loss,
      samples,
      batches: measureBatches(n, input.batch, input.shuffleSeed),
      preconditioner: pre,
    });
    const raw = rawSums(sums, input.lr, pre ? pre.scale : NaN);
    const { ir_trajectory: _, ...terms } = deriveTerms(raw, input.optimizer);
    const { traj_g2: _t, ...rawNoTrajectory } = raw; // no trajectory outside training
    const sharpness = input.sharpness
      ? measureSharpness(input, samples, input.sharpness)
      : null;
    return {
      n,
      batch_size: input.batch,
      batches: batchesNote(input.shuffleSeed),
      ...rawNoTrajectory,
      terms,
      norm: Math.sqrt(variables.reduce((acc, v) => acc + sumSquares(v), 0)),
      loss: sums.loss,
      error: sums.error,
      sharpness,
    };
  } finally {
    optimizer?.dispose();
  }
}

/** d, the pixels per sample; throws when the pixels are not n × d. */
function pixelsPerSample(n: number, pixels: number): number {
  if (n === 0 || pixels % n !== 0) {
    throw new Error(
      `images: expected n × d pixels for n = ${n} labels, got ${pixels}`,
    );
  }
  return pixels / n;
}

/** The snapshot's sums under the record's names (terms.ts `RawSums`); no trajectory (NaN) outside training. */
function rawSums(sums: SnapshotSums, lr: number, preScale: number): RawSums {
  return {
    lr,
    m: sums.m,
    sum_g2: sums.sumG2,
    gbar2: sums.gbar2,
    sum_dev2: sums.sumDev2,
    full_grad2: sums.fullGrad2,
    sum_pre: sums.sumPre,
    pre_scale: preScale,
    sum_s_g2: sums.sumSG2,
    one_norm: sums.oneNorm,
    traj_g2: NaN,
  };
}

/** How the batches were cut, for the report. */
function batchesNote(shuffleSeed: number | null): string {
  return shuffleSeed === null
    ? "sequential: batch k holds samples k·B .. k·B+B−1 in dataset order"
    : `shuffled: Rng.fromSeed(${shuffleSeed}).permutation(n) cut every B`;
}

/** The top Hessian eigenvalue on a seeded subset (SCIENCE §4.2), with the §2.4 stability line 2(1+β)/η for GD/SGD. */
function measureSharpness(
  input: MeasureInput,
  samples: { n: number; d: number; images: Float32Array; labels: Int32Array },
  s: NonNullable<MeasureInput["sharpness"]>,
): NonNullable<MeasureReport["sharpness"]> {
  const idx = sharpnessSubset(samples.n, s.subset, s.seed);
  const { x, y } = rowTensors(samples, idx);
  try {
    const r = modelSharpness(input.model, x, y, {
      loss: input.loss,
      tol: s.tol,
      maxIter: s.maxIter,
      start: `sharpness-start:${s.seed}:measure`,
    });
    const beta = heavyBallBeta(input.optimizer);
    return {
      value: r.value,
      iterations: r.iterations,
      converged: r.converged,
      residual: r.residual,
      subset: idx.length,
      method: r.method,
      eos: input.optimizer.name === "gd" || input.optimizer.name === "sgd"
        ? eosThreshold(input.lr, beta)
        : NaN,
    };
  } finally {
    tf.dispose([x, y]);
  }
}

/** Σ t², the squared norm of one tensor. */
function sumSquares(t: tf.Tensor): number {
  const data = t.dataSync();
  let s = 0;
  for (let j = 0; j < data.length; j++) s += data[j]! * data[j]!;
  return s;
}
