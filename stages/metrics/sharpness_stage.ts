/**
 * The sharpness stage (SCIENCE §4.2): the top Hessian eigenvalue of the
 * training loss C at each saved checkpoint of a run, on a fixed seeded
 * subset of the (noisy) training set, by power iteration on finite-difference
 * Hessian-vector products. One instance per training run.
 */
import * as tf from "@tensorflow/tfjs";
import { encodeJson } from "../../pipeline/artifact.ts";
import { Rng } from "../../pipeline/rng.ts";
import {
  defineStage,
  type Item,
  type Params,
  type StageContext,
} from "../../pipeline/stage.ts";
import { initWasmBackend } from "../train/backend.ts";
import { type Checkpoint, readCheckpoints } from "../train/checkpoint.ts";
import type { LossName } from "../train/contracts.ts";
import { type DataSet, decodeTrainSet, rowTensors } from "../train/data.ts";
import { frozenReluMlpLoss, hvpOnArrays } from "../train/hvp.ts";
import {
  applyCell,
  cellOptimizer,
  itemCell,
  trainItems,
} from "../train/items.ts";
import { meanLoss } from "../train/losses.ts";
import { trainableVariables } from "../train/model.ts";
import {
  type EigenResult,
  eosThreshold,
  hutchinsonTrace,
  topEigenvalue,
} from "./sharpness.ts";

/** What one instance returns (read by the metrics stage's `SharpnessData`). */
export interface SharpnessOutput {
  epochs: number[];
  /** λ_max per checkpoint (loss per weight²). */
  sharpness: number[];
  /** Hessian-vector products used per checkpoint. */
  iterations: number[];
  /** Whether the power iteration met its tolerance. */
  converged: boolean[];
  /** Hutchinson's estimate of the Hessian trace per checkpoint, and its standard error; empty when off. */
  trace: number[];
  trace_stderr: number[];
  /** 2/η for GD/SGD, (2+2β)/η for heavy-ball β; NaN (JSON null) for adaptive methods. */
  eos: number;
  /** Training samples the Hessian was taken on. */
  subset: number;
  /**
   * How Hessian-vector products were taken: central differences of gradients
   * with ReLU gates frozen (MLPs), plain (other models: ReLU/max-pool kinks
   * add error), or none (disabled).
   */
  method: "fd-frozen-relu" | "fd" | "none";
}

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

/**
 * λ_max at each checkpoint. The power iteration's start vector is seeded by
 * (seed, epoch), so a rerun reproduces every value.
 */
export async function sharpnessSeries(
  checkpoints: Checkpoint[],
  train: DataSet,
  settings: SharpnessSettings,
  onProgress: (done: number, total: number) => void = () => {},
  signal?: AbortSignal,
): Promise<
  Pick<
    SharpnessOutput,
    | "epochs"
    | "sharpness"
    | "iterations"
    | "converged"
    | "trace"
    | "trace_stderr"
    | "method"
  >
> {
  const { x, y } = rowTensors(
    train,
    sharpnessSubset(train.n, settings.subset, settings.seed),
  ); // [subset, 784], [subset]
  const out = {
    epochs: [] as number[],
    sharpness: [] as number[],
    iterations: [] as number[],
    converged: [] as boolean[],
    trace: [] as number[],
    trace_stderr: [] as number[],
    method: "none" as SharpnessOutput["method"],
  };
  try {
    for (const [k, checkpoint] of checkpoints.entries()) {
      if (signal?.aborted) throw new Error("sharpness: aborted");
      const model = await checkpoint.load();
      try {
        const result = modelSharpness(model, x, y, {
          ...settings,
          start: `sharpness-start:${settings.seed}:${checkpoint.epoch}`,
        });
        out.method = result.method;
        out.epochs.push(checkpoint.epoch);
        out.sharpness.push(result.value);
        out.iterations.push(result.iterations);
        out.converged.push(result.converged);
        if (result.trace) {
          out.trace.push(result.trace.value);
          out.trace_stderr.push(result.trace.stderr);
        }
      } finally {
        model.dispose();
      }
      onProgress(k + 1, checkpoints.length);
    }
  } finally {
    tf.dispose([x, y]);
  }
  return out;
}

/**
 * λ_max of the Hessian of the mean loss of `model` on (x, y) by power
 * iteration (SCIENCE §4.2), starting from a vector seeded by `start`. MLPs
 * get finite differences with frozen ReLU gates, other models plain ones.
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
  },
): EigenResult & {
  method: "fd-frozen-relu" | "fd";
  trace?: { value: number; stderr: number };
} {
  const variables = trainableVariables(model);
  const lossOf = (outputs: tf.Tensor2D, labels: tf.Tensor1D) =>
    meanLoss(outputs, labels, options.loss);
  // C on the subset (SCIENCE §1.3: a mean over samples).
  const frozen = isReluMlp(model)
    ? frozenReluMlpLoss(variables, x, y, lossOf)
    : null;
  const lossFn = frozen?.lossFn ??
    (() =>
      tf.tidy(() =>
        lossOf(model.apply(x, { training: false }) as tf.Tensor2D, y)
      ));
  try {
    const hvp = hvpOnArrays(variables, lossFn);
    const shapes = variables.map((v) => v.shape);
    const result = topEigenvalue(hvp, shapes, {
      rng: Rng.fromSeed(options.start),
      tol: options.tol,
      maxIter: options.maxIter,
    });
    const method = frozen ? "fd-frozen-relu" as const : "fd" as const;
    if (!options.traceSamples) return { ...result, method };
    // Hutchinson's estimator with Rademacher vectors (SCIENCE §4.2), same HVP.
    const trace = hutchinsonTrace(hvp, shapes, {
      rng: Rng.fromSeed(`${options.start}:trace`),
      samples: options.traceSamples,
    });
    return {
      ...result,
      method,
      trace: { value: trace.value, stderr: trace.stderr },
    };
  } finally {
    frozen?.dispose();
  }
}

/** The stability line of a run's optimizer (SCIENCE §4.2), NaN where none applies. */
export function runThreshold(item: Item): number {
  const optimizer = cellOptimizer(item);
  const name = optimizer["name"];
  const lr = optimizer["lr"];
  if (typeof lr !== "number") return NaN;
  if (name === "gd" || name === "sgd") {
    const beta = typeof optimizer["momentum"] === "number"
      ? optimizer["momentum"]
      : 0;
    return eosThreshold(lr, beta);
  }
  return NaN;
}

/** Reads and checks the declared params (cell overrides applied). */
export function sharpnessSettings(
  params: Params,
  item: Item,
): SharpnessSettings & { enabled: boolean } {
  const p = applyCell(params, itemCell(item));
  const enabled = p["metrics.sharpness.enabled"] ?? true;
  if (typeof enabled !== "boolean") {
    throw new Error(
      `metrics.sharpness.enabled: expected true or false, got ${
        JSON.stringify(enabled)
      }`,
    );
  }
  const int = (path: string, fallback: number, min: number): number => {
    const v = p[path] ?? fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
      throw new Error(
        `${path}: expected an integer ≥ ${min}, got ${JSON.stringify(v)}`,
      );
    }
    return v;
  };
  const tol = p["metrics.sharpness.tol"] ?? 1e-3;
  if (typeof tol !== "number" || !(tol > 0)) {
    throw new Error(
      `metrics.sharpness.tol: expected a positive number, got ${
        JSON.stringify(tol)
      }`,
    );
  }
  const loss = p["model.loss"] ?? "cross_entropy";
  if (loss !== "cross_entropy" && loss !== "squared") {
    throw new Error(
      `model.loss: expected cross_entropy or squared, got ${
        JSON.stringify(loss)
      }`,
    );
  }
  return {
    enabled,
    subset: int("metrics.sharpness.subset", 1000, 1),
    tol,
    maxIter: int("metrics.sharpness.max_iter", 100, 1),
    seed: int("metrics.sharpness.seed", 0, 0),
    traceSamples: int("metrics.sharpness.trace_samples", 0, 0),
    loss,
  };
}

async function run(ctx: StageContext): Promise<Record<string, Uint8Array>> {
  const settings = sharpnessSettings(ctx.params, ctx.item);
  const eos = runThreshold(ctx.item);
  if (!settings.enabled) {
    const empty: SharpnessOutput = {
      epochs: [],
      sharpness: [],
      iterations: [],
      converged: [],
      trace: [],
      trace_stderr: [],
      eos,
      subset: 0,
      method: "none",
    };
    return { sharpness: encodeJson(empty) };
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
        `epoch ${
          series.epochs[i]
        }: power iteration did not reach tol ${settings.tol} in ${settings.maxIter} products`,
      );
    }
  });
  const output: SharpnessOutput = {
    ...series,
    eos,
    subset: Math.min(settings.subset, train.n),
  };
  return { sharpness: encodeJson(output) };
}

export const sharpnessStage = defineStage({
  name: "sharpness",
  module: import.meta.url,
  heavy: true,
  params: [
    "metrics.sharpness.enabled",
    "metrics.sharpness.subset",
    "metrics.sharpness.tol",
    "metrics.sharpness.max_iter",
    "metrics.sharpness.seed",
    "metrics.sharpness.trace_samples",
    "model.loss",
  ],
  foreach: { params: ["optimizers", "seeds", "matrix"], items: trainItems },
  inputs: {
    checkpoints: { stage: "train", output: "checkpoints" },
    train: { stage: "noise", output: "train" },
  },
  // A choice, not a version: the npm versions come from deno.lock.
  versions: { backend: "wasm" },
  outputs: ["sharpness"],
  run,
});
