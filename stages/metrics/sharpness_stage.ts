/**
 * The sharpness stage (SCIENCE §4.2): the top Hessian eigenvalue of the
 * training loss C at each saved checkpoint of a run, on a fixed seeded
 * subset of the (noisy) training set, by the Lanczos iteration on exact
 * Hessian-vector products for the MLP (R-operator, stages/nn/hvp.ts) and
 * finite-difference ones for other models, stopping on a residual bound that
 * each value reports; for RMSprop and Adam also the preconditioned sharpness
 * λ₁(P⁻¹H) with the optimizer's P saved in the checkpoint (SCIENCE §4.2.1).
 * One instance per training run.
 */
import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import { encodeJson } from "../../pipeline/artifact.ts";
import { Rng } from "../../pipeline/rng.ts";
import {
  defineStage,
  type Item,
  type StageContext,
} from "../../pipeline/stage.ts";
import { initWasmBackend } from "../nn/backend.ts";
import { type Checkpoint, readCheckpoints } from "../nn/checkpoint.ts";
import type { LossName } from "../nn/contracts.ts";
import { type DataSet, decodeTrainSet, rowTensors } from "../nn/data.ts";
import { hvpFiniteDiff, hvpOnArrays, mlpHessianAt } from "../nn/hvp.ts";
import { cellOptimizer, itemCell, trainItems } from "../train/items.ts";
import { modelFields, trainForeach } from "../train/params.ts";
import { declareParams, pick, under } from "../params.ts";
import { sharpnessFields } from "./params.ts";
import { meanLoss } from "../nn/losses.ts";
import { trainableVariables } from "../nn/model.ts";
import {
  type EigenResult,
  hutchinsonTrace,
  type Hvp,
  lanczosTopEigenvalue,
  scaledHvp,
} from "./sharpness.ts";
import type { OptimizerConfig } from "../nn/contracts.ts";
import {
  inverseSqrtPreconditioner,
  isPreconditioned,
} from "./preconditioned.ts";

/** What one instance returns (read by the metrics stage's `SharpnessData`). */
export interface SharpnessOutput {
  epochs: number[];
  /** λ_max per checkpoint (loss per weight²). */
  sharpness: number[];
  /** Hessian-vector products used per checkpoint. */
  iterations: number[];
  /** Whether the residual bound met the tolerance (`metrics.sharpness.tol`) within `max_iter` products. */
  converged: boolean[];
  /**
   * The relative residual bound reached per checkpoint: an eigenvalue lies
   * within residual·|sharpness| of the reported value (SCIENCE §4.2; see
   * `EigenResult` in sharpness.ts), up to the products' own error.
   */
  residual: number[];
  /** Hutchinson's estimate of the Hessian trace per checkpoint, and its standard error; empty when off. */
  trace: number[];
  trace_stderr: number[];
  /**
   * λ₁(P⁻¹H) per checkpoint with the optimizer's preconditioner P frozen at
   * it (SCIENCE §4.2.1), for RMSprop and Adam (empty for other optimizers);
   * NaN (JSON null) at step 0, where P is not defined. Same Lanczos
   * iteration and tolerance as `sharpness`, on D·H·D with D = P^{-1/2}.
   */
  preconditioned_sharpness: number[];
  /** Its relative residual bound, products and convergence per checkpoint (as `residual`). */
  preconditioned_residual: number[];
  preconditioned_iterations: number[];
  preconditioned_converged: boolean[];
  /** Training samples the Hessian was taken on. */
  subset: number;
  /**
   * How Hessian-vector products were taken: exact R-operator with the ReLU
   * gates of the point (MLPs), central differences of gradients (other
   * models: ReLU/max-pool kinks and the step add error, see hvp.ts), or none
   * (disabled).
   */
  method: SharpnessMethod | "none";
}

/** How a sharpness value's Hessian-vector products were taken. */
export type SharpnessMethod = "exact-relu-mlp" | "fd";

/** Whether every layer is Dense, ReLU on all but the last, linear on the last. */
export function isReluMlp(model: tf.LayersModel): boolean {
  const layers = model.layers;
  return layers.length > 0 && layers.every((layer, i) => {
    const activation =
      (layer.getConfig() as { activation?: unknown }).activation;
    return layer.getClassName() === "Dense" &&
      layer.trainableWeights.length === 2 &&
      activation === (i === layers.length - 1 ? "linear" : "relu");
  });
}

export interface SharpnessSettings {
  subset: number;
  /**
   * The run's optimizer: RMSprop and Adam also get the preconditioned
   * sharpness from each checkpoint's saved state (SCIENCE §4.2.1).
   */
  optimizer?: OptimizerConfig;
  /** Rademacher samples for the trace (0 = no trace). */
  traceSamples: number;
  tol: number;
  maxIter: number;
  seed: number;
  loss: LossName;
}

/**
 * The fixed subset (SCIENCE §4.2): `size` distinct indices of 0..n−1, drawn
 * from `metrics.sharpness.seed` alone so every run of an experiment is
 * measured on the same samples; sorted.
 */
export function sharpnessSubset(
  n: number,
  size: number,
  seed: number,
): Uint32Array {
  const k = Math.min(size, n);
  return Rng.fromSeed(`sharpness-subset:${seed}`).sample(n, k).sort();
}

/** The per-checkpoint part of `SharpnessOutput` (all but the subset size). */
export type SharpnessSeries = Omit<SharpnessOutput, "subset">;

/** A series with no checkpoint measured (method "none"). */
export function emptySeries(): SharpnessSeries {
  return {
    epochs: [],
    sharpness: [],
    iterations: [],
    converged: [],
    residual: [],
    trace: [],
    trace_stderr: [],
    method: "none",
    preconditioned_sharpness: [],
    preconditioned_residual: [],
    preconditioned_iterations: [],
    preconditioned_converged: [],
  };
}

/** What `modelSharpness` measures at one checkpoint. */
export type CheckpointSharpness = ReturnType<typeof modelSharpness>;

/** Appends one checkpoint's values; the preconditioned ones only for adaptive runs (NaN where P is undefined). */
function appendCheckpoint(
  out: SharpnessSeries,
  epoch: number,
  result: CheckpointSharpness,
  adaptive: boolean,
): void {
  out.method = result.method;
  out.epochs.push(epoch);
  out.sharpness.push(result.value);
  out.iterations.push(result.iterations);
  out.converged.push(result.converged);
  out.residual.push(result.residual);
  if (result.trace) {
    out.trace.push(result.trace.value);
    out.trace_stderr.push(result.trace.stderr);
  }
  if (adaptive) {
    const p = result.preconditioned;
    out.preconditioned_sharpness.push(p ? p.value : NaN);
    out.preconditioned_residual.push(p ? p.residual : NaN);
    out.preconditioned_iterations.push(p ? p.iterations : 0);
    out.preconditioned_converged.push(p ? p.converged : false);
  }
}

/** λ_max (and λ₁(P⁻¹H) for adaptive runs, SCIENCE §4.2.1) of one checkpoint, its model disposed after. */
async function checkpointSharpness(
  checkpoint: Checkpoint,
  x: tf.Tensor2D,
  y: tf.Tensor1D,
  settings: SharpnessSettings,
  adaptive: OptimizerConfig | null,
): Promise<CheckpointSharpness> {
  const model = await checkpoint.load();
  try {
    const scaling = adaptive
      ? inverseSqrtPreconditioner(
        adaptive,
        checkpoint.optimizerState(),
        model.trainableWeights.length,
      )
      : null;
    return modelSharpness(model, x, y, {
      ...settings,
      start: `sharpness-start:${settings.seed}:${checkpoint.epoch}`,
      ...(scaling ? { preconditioner: scaling } : {}),
    });
  } finally {
    model.dispose();
  }
}

/**
 * λ_max at each checkpoint. The Lanczos start vector is seeded by
 * (seed, epoch), so a rerun reproduces every value.
 */
export async function sharpnessSeries(
  checkpoints: Checkpoint[],
  train: DataSet,
  settings: SharpnessSettings,
  onProgress: (done: number, total: number) => void = () => {},
  signal?: AbortSignal,
): Promise<SharpnessSeries> {
  const { x, y } = rowTensors(
    train,
    sharpnessSubset(train.n, settings.subset, settings.seed),
  ); // [subset, 784], [subset]
  const out = emptySeries();
  const optimizer = settings.optimizer;
  const adaptive = optimizer && isPreconditioned(optimizer) ? optimizer : null;
  try {
    for (const [k, checkpoint] of checkpoints.entries()) {
      if (signal?.aborted) throw new Error("sharpness: aborted");
      const result = await checkpointSharpness(
        checkpoint,
        x,
        y,
        settings,
        adaptive,
      );
      appendCheckpoint(out, checkpoint.epoch, result, adaptive !== null);
      onProgress(k + 1, checkpoints.length);
    }
  } finally {
    tf.dispose([x, y]);
  }
  return out;
}

/** The Hessian-vector product of the mean loss at the model's point: exact for ReLU MLPs, else finite differences (SCIENCE §4.2). */
function modelHvp(
  model: tf.LayersModel,
  x: tf.Tensor2D,
  y: tf.Tensor1D,
  loss: LossName,
): { hvp: Hvp; shapes: number[][]; method: SharpnessMethod; dispose(): void } {
  const variables = trainableVariables(model);
  const exact = isReluMlp(model) ? mlpHessianAt(variables, x, y, loss) : null;
  // C on the subset (SCIENCE §1.3: a mean over samples).
  const lossFn = () =>
    tf.tidy(() =>
      meanLoss(model.apply(x, { training: false }) as tf.Tensor2D, y, loss)
    );
  return {
    hvp: hvpOnArrays(
      variables,
      exact
        ? (v) => exact.product(v)
        : (v) => hvpFiniteDiff(variables, lossFn, v),
    ),
    shapes: variables.map((v) => v.shape),
    method: exact ? "exact-relu-mlp" : "fd",
    dispose: () => exact?.dispose(),
  };
}

/**
 * λ_max of the Hessian of the mean loss of `model` on (x, y) by the Lanczos
 * iteration (SCIENCE §4.2), starting from a vector seeded by `start`, with
 * its residual bound. MLPs get the exact product (R-operator with the gates
 * of the point); other models central differences of gradients (hvp.ts's
 * step 3e-3, whose O(h²) error and kink jumps add to the reported bound).
 * With `preconditioner` d = P^{-1/2}, also λ₁(P⁻¹H) = λ₁(D·H·D) by the same
 * iteration on the same products (SCIENCE §4.2.1), from its own seeded start.
 */
export function modelSharpness(
  model: tf.LayersModel,
  x: tf.Tensor2D,
  y: tf.Tensor1D,
  options: {
    loss: LossName;
    tol: number;
    maxIter: number;
    start: string;
    traceSamples?: number;
    /** d = P^{-1/2} per variable (`inverseSqrtPreconditioner`). */
    preconditioner?: Float32Array[];
  },
): EigenResult & {
  method: SharpnessMethod;
  trace?: { value: number; stderr: number };
  preconditioned?: EigenResult;
} {
  const { hvp, shapes, method, dispose } = modelHvp(model, x, y, options.loss);
  const lanczos = (product: Hvp, seed: string) =>
    lanczosTopEigenvalue(product, shapes, {
      rng: Rng.fromSeed(seed),
      tol: options.tol,
      maxIter: options.maxIter,
    });
  try {
    const result = lanczos(hvp, options.start);
    const preconditioned = options.preconditioner
      ? lanczos(
        scaledHvp(hvp, options.preconditioner),
        `${options.start}:preconditioned`,
      )
      : undefined;
    const withPre = preconditioned ? { preconditioned } : {};
    if (!options.traceSamples) return { ...result, method, ...withPre };
    // Hutchinson's estimator with Rademacher vectors (SCIENCE §4.2), same HVP.
    const trace = hutchinsonTrace(hvp, shapes, {
      rng: Rng.fromSeed(`${options.start}:trace`),
      samples: options.traceSamples,
    });
    return {
      ...result,
      method,
      trace: { value: trace.value, stderr: trace.stderr },
      ...withPre,
    };
  } finally {
    dispose();
  }
}

/** The run's optimizer config (a sweep cell's `optimizer.<field>` applied), or null without a numeric lr. */
export function runOptimizer(item: Item): OptimizerConfig | null {
  const optimizer = cellOptimizer(item);
  return typeof optimizer["lr"] === "number" &&
      typeof optimizer["name"] === "string"
    ? optimizer as unknown as OptimizerConfig
    : null;
}

/** The sharpness stage's declared params: its section and the loss. */
const sharpnessParams = declareParams({
  ...under("metrics.sharpness", sharpnessFields),
  ...under("model", pick(modelFields, ["loss"])),
});
export type SharpnessParams = z.infer<typeof sharpnessParams.schema>;

/**
 * The settings from the parsed params, with a sweep cell's `model.loss`
 * applied (every cell was validated with the experiment).
 */
export function sharpnessSettings(
  params: SharpnessParams,
  item: Item,
): SharpnessSettings & { enabled: boolean } {
  const cell = itemCell(item);
  return {
    enabled: params["metrics.sharpness.enabled"],
    subset: params["metrics.sharpness.subset"],
    tol: params["metrics.sharpness.tol"],
    maxIter: params["metrics.sharpness.max_iter"],
    seed: params["metrics.sharpness.seed"],
    traceSamples: params["metrics.sharpness.trace_samples"],
    loss: (cell["model.loss"] ?? params["model.loss"]) as LossName,
  };
}

/**
 * The output when sharpness is off: every series empty, no subset, method
 * "none" (fields in the order the stage always wrote them, so its bytes stay).
 */
export function disabledOutput(): SharpnessOutput {
  const { method, ...series } = emptySeries();
  return { ...series, subset: 0, method };
}

async function run(
  ctx: StageContext<SharpnessParams>,
): Promise<Record<string, Uint8Array>> {
  const optimizer = runOptimizer(ctx.item);
  const settings = {
    ...sharpnessSettings(ctx.params, ctx.item),
    ...(optimizer ? { optimizer } : {}),
  };
  if (!settings.enabled) {
    return { sharpness: encodeJson(disabledOutput()) };
  }
  await initWasmBackend();
  const train = decodeTrainSet(ctx.input("train"));
  const checkpoints = readCheckpoints(ctx.input("checkpoints"));
  const series = await sharpnessSeries(
    checkpoints,
    train,
    settings,
    (d, t) => ctx.progress(d, t),
    ctx.signal,
  );
  series.converged.forEach((ok, i) => {
    if (!ok) {
      ctx.log.warn(
        `epoch ${series.epochs[i]}: sharpness residual bound ${
          series.residual[i]!.toExponential(2)
        } did not reach tol ${settings.tol} in ${settings.maxIter} products`,
      );
    }
  });
  series.preconditioned_converged.forEach((ok, i) => {
    if (!ok && Number.isFinite(series.preconditioned_sharpness[i])) {
      ctx.log.warn(
        `epoch ${series.epochs[i]}: preconditioned sharpness residual bound ${
          series.preconditioned_residual[i]!.toExponential(2)
        } did not reach tol ${settings.tol} in ${settings.maxIter} products`,
      );
    }
  });
  const output: SharpnessOutput = {
    ...series,
    subset: Math.min(settings.subset, train.n),
  };
  return { sharpness: encodeJson(output) };
}

export const sharpnessStage = defineStage({
  name: "sharpness",
  module: import.meta.url,
  heavy: true,
  ...sharpnessParams,
  foreach: { ...trainForeach, items: trainItems },
  inputs: {
    checkpoints: { stage: "train", output: "checkpoints" },
    train: { stage: "noise", output: "train" },
  },
  // A choice, not a version: the npm versions come from deno.lock.
  versions: { backend: "wasm" },
  outputs: ["sharpness"],
  run,
});
