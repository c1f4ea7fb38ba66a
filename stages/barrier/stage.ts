/**
 * The barrier stage (the `momentum` experiment's question: do runs from the
 * same initial weights end in different basins?). For every pair of runs
 * with the same seed and cell and different optimizers (pairs.ts), the mean
 * training loss C (SCIENCE §1.3, noisy labels) along the straight line
 * between their final weights, on a fixed seeded subset (interpolate.ts);
 * and, as the yardstick, every optimizer against itself across seeds
 * (seedPairs: different initial weights, `seed_b` in the entry).
 * Off unless `metrics.barrier` is true; then it returns [].
 */
import * as tf from "@tensorflow/tfjs";
import { encodeJson } from "../../pipeline/artifact.ts";
import { Rng } from "../../pipeline/rng.ts";
import {
  defineStage,
  type InputValue,
  type Json,
  type StageContext,
} from "../../pipeline/stage.ts";
import { initWasmBackend } from "../nn/backend.ts";
import { readCheckpoints } from "../nn/checkpoint.ts";
import type { LossName } from "../nn/contracts.ts";
import { type DataSet, decodeTrainSet, rowTensors } from "../nn/data.ts";
import { cellOptimizer, itemCell } from "../train/items.ts";
import { meanLoss } from "../nn/losses.ts";
import { trainableVariables } from "../nn/model.ts";
import { type BarrierCurve, barrierCurve, DEFAULT_TS } from "./interpolate.ts";
import { z } from "zod";
import { metricsFields } from "../metrics/params.ts";
import { declareParams, pick, under } from "../params.ts";
import { modelFields } from "../train/params.ts";
import { barrierPairs, type RunRef, seedPairs } from "./pairs.ts";

/** Training samples the loss is averaged over, drawn once per experiment. */
export const BARRIER_SUBSET = 1000;

/** One compared pair (the stage's output is a list of these). */
export interface BarrierResult extends BarrierCurve {
  a: string;
  b: string;
  seed: number;
  /** Seed-against-seed pairs only (a === b): the second run's seed. */
  seed_b?: number;
  cell: Json;
}

const barrierParams = declareParams({
  ...under("metrics", pick(metricsFields, ["barrier"])),
  ...under("model", pick(modelFields, ["loss"])),
});
type BarrierParams = z.infer<typeof barrierParams.schema>;

export const barrierStage = defineStage({
  name: "barrier",
  module: import.meta.url,
  heavy: true,
  ...barrierParams,
  inputs: {
    checkpoints: { stage: "train", output: "checkpoints", select: "all" },
    train: { stage: "noise", output: "train" },
  },
  // A choice, not a version: the npm versions come from deno.lock.
  versions: { backend: "wasm" },
  outputs: ["barriers"],
  run,
});

/** `size` distinct sorted indices of 0..n−1, from a fixed seed. */
export function barrierSubset(n: number, size: number): Uint32Array {
  return Rng.fromSeed("barrier-subset:0").sample(n, Math.min(size, n)).sort();
}

/** The run identity of a train item: optimizer label, seed, cell. */
export function runRef(item: InputValue["item"]): RunRef {
  const optimizer = cellOptimizer(item);
  const seed = item["seed"];
  if (typeof seed !== "number") {
    throw new Error(
      `item.seed: expected a number, got ${JSON.stringify(seed)}`,
    );
  }
  return {
    label: String(optimizer["label"] ?? optimizer["name"]),
    seed,
    cell: itemCell(item),
  };
}

async function run(
  ctx: StageContext<BarrierParams>,
): Promise<Record<string, Uint8Array>> {
  if (!ctx.params["metrics.barrier"]) {
    return { barriers: encodeJson([]) };
  }
  const runs = ctx.inputAll("checkpoints");
  const refs = runs.map((r) => runRef(r.item));
  // Same seed across optimizers, then same optimizer across seeds (the yardstick).
  const pairs = [...barrierPairs(refs), ...seedPairs(refs)];
  if (pairs.length === 0) {
    ctx.log.warn("no two runs share a seed and cell: no barrier to measure");
    return { barriers: encodeJson([]) };
  }
  await initWasmBackend();
  const train = decodeTrainSet(ctx.input("train"));
  const finals = runs.map((r) => readCheckpoints(r.data).at(-1) ?? null);
  const out: BarrierResult[] = [];
  for (const [k, [i, j]] of pairs.entries()) {
    ctx.signal.throwIfAborted();
    const a = refs[i]!;
    const b = refs[j]!;
    const ca = finals[i];
    const cb = finals[j];
    if (!ca || !cb) {
      throw new Error(
        `barrier: run ${a.label} or ${b.label} has no checkpoint`,
      );
    }
    // A sweep may override the loss; every cell was validated with the experiment.
    const cell = itemCell(runs[i]!.item);
    const loss = (cell["model.loss"] ?? ctx.params["model.loss"]) as LossName;
    const curve = pairCurve(
      await ca.load(),
      await cb.load(),
      train,
      loss,
    );
    ctx.log.info(
      `seed ${a.seed}${
        a.seed === b.seed ? "" : `↔${b.seed}`
      }: ${a.label} (epoch ${ca.epoch}) ↔ ${b.label} (epoch ${cb.epoch}): barrier ${
        curve.barrier.toPrecision(4)
      }`,
    );
    out.push({
      a: a.label,
      b: b.label,
      seed: a.seed,
      ...(a.seed === b.seed ? {} : { seed_b: b.seed }),
      cell: a.cell,
      ...curve,
    });
    ctx.progress(k + 1, pairs.length);
  }
  return { barriers: encodeJson(out) };
}

/** The loss curve between two loaded models (disposed here), on the fixed subset. */
function pairCurve(
  modelA: tf.LayersModel,
  modelB: tf.LayersModel,
  train: DataSet,
  loss: LossName,
): BarrierCurve {
  const { x, y } = rowTensors(train, barrierSubset(train.n, BARRIER_SUBSET)); // [subset, 784], [subset]
  try {
    const vars = trainableVariables(modelA);
    const read = (m: tf.LayersModel) =>
      trainableVariables(m).map((v) => (v.dataSync() as Float32Array).slice());
    const wa = read(modelA);
    const wb = read(modelB);
    const lossAt = (weights: Float32Array[]): number => {
      vars.forEach((v, i) =>
        tf.tidy(() => v.assign(tf.tensor(weights[i]!, v.shape, "float32")))
      );
      const l = tf.tidy(() =>
        meanLoss(modelA.apply(x, { training: false }) as tf.Tensor2D, y, loss)
      );
      const value = l.dataSync()[0]!;
      l.dispose();
      return value;
    };
    return barrierCurve(lossAt, wa, wb, DEFAULT_TS);
  } finally {
    tf.dispose([x, y]);
    modelA.dispose();
    modelB.dispose();
  }
}
