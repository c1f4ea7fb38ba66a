/** Tiny data and model checkpoints for the stage tests that read a train run's checkpoints (barrier, sharpness, export, tune). */
import * as tf from "@tensorflow/tfjs";
import { encodeBundle } from "../../pipeline/artifact.ts";
import { Rng } from "../../pipeline/rng.ts";
import {
  captureCheckpoint,
  encodeCheckpoints,
} from "../../stages/nn/checkpoint.ts";
import type {
  LossName,
  ModelConfig,
  Optimizer,
  OptimizerConfig,
} from "../../stages/nn/contracts.ts";
import { createModel, trainableVariables } from "../../stages/nn/model.ts";
import { createOptimizer } from "../../stages/nn/optimizers.ts";

/** Pixels per MNIST image (28 × 28). */
export const PIXELS = 784;

/**
 * A noise-stage "train" bundle of `n` random images (80 % of the pixels 0,
 * the rest uniform u8) and random labels, seeded by `seed`; also the pixels
 * scaled to [0, 1] per sample, for float64 references.
 */
export function sparseImages(
  seed: string,
  n: number,
): { bytes: Uint8Array; x: number[][]; labels: number[] } {
  const rng = Rng.fromSeed(seed);
  const images = Uint8Array.from(
    { length: n * PIXELS },
    () => (rng.float() < 0.8 ? 0 : rng.int(256)),
  );
  const labels = Uint8Array.from({ length: n }, () => rng.int(10));
  const x = Array.from(
    { length: n },
    (_, i) =>
      Array.from(
        images.subarray(i * PIXELS, (i + 1) * PIXELS),
        (p) => p / 255,
      ),
  );
  return { bytes: encodeBundle({ images, labels }), x, labels: [...labels] };
}

/** The project's MLP on MNIST (784 in, 10 classes) with these hidden widths. */
export function mnistMlp(
  hidden: number[],
  loss: LossName = "cross_entropy",
): ModelConfig {
  return { arch: "mlp", hidden, loss, inputSize: PIXELS, classes: 10 };
}

/** Parameters of the MLP 784 → hidden… → 10, counted by hand: Σ (fan_in·fan_out + fan_out). */
export function mlpParams(hidden: number[]): number {
  const sizes = [PIXELS, ...hidden, 10];
  let n = 0;
  for (let i = 1; i < sizes.length; i++) {
    n += sizes[i - 1]! * sizes[i]! + sizes[i]!;
  }
  return n;
}

/**
 * Checkpoints of a linear model (hidden []: logits = xW + b, init seeded by
 * `seed`) at epoch 0 and at `last`, where the kernel is epoch 0's times
 * `scale`; with each epoch's weights [kernel [784·10], bias [10]].
 */
export async function linearCheckpoints(
  seed: string,
  options: { loss?: LossName; last: number; scale: number },
): Promise<{ bytes: Uint8Array; weights: Map<number, number[][]> }> {
  const model = createModel(
    mnistMlp([], options.loss),
    Rng.fromSeed(seed),
  );
  const vars = trainableVariables(model);
  const optimizer = createOptimizer({ name: "sgd", lr: 0.1 }, vars);
  const weights = new Map<number, number[][]>();
  let files = {};
  for (const epoch of [0, options.last]) {
    if (epoch === options.last) {
      vars[0]!.assign(tf.mul(vars[0]!, options.scale));
    }
    weights.set(epoch, vars.map((v) => Array.from(v.dataSync())));
    files = { ...files, ...(await captureCheckpoint(model, optimizer, epoch)) };
  }
  optimizer.dispose();
  model.dispose();
  return { bytes: encodeCheckpoints(files), weights };
}

/**
 * A model (init seeded by `seed`) moved by `steps` steps of `optimizer` on the
 * gradients `gradients(vars, step)` gives, with its checkpoints at epoch 0
 * (before any step) and at `epoch` (after them). The caller disposes the model
 * and the optimizer.
 */
export async function steppedCheckpoints(
  config: ModelConfig,
  seed: string,
  options: {
    optimizer: OptimizerConfig;
    steps: number;
    epoch: number;
    gradients: (vars: tf.Variable[], step: number) => tf.Tensor[];
  },
): Promise<{
  bytes: Uint8Array;
  model: tf.LayersModel;
  vars: tf.Variable[];
  optimizer: Optimizer;
}> {
  const model = createModel(config, Rng.fromSeed(seed));
  const vars = trainableVariables(model);
  const optimizer = createOptimizer(options.optimizer, vars);
  const first = await captureCheckpoint(model, optimizer, 0);
  for (let step = 0; step < options.steps; step++) {
    const grads = options.gradients(vars, step);
    optimizer.step(grads);
    tf.dispose(grads);
  }
  const last = await captureCheckpoint(model, optimizer, options.epoch);
  return {
    bytes: encodeCheckpoints({ ...first, ...last }),
    model,
    vars,
    optimizer,
  };
}
