/**
 * The network factory: tf.layers models (so checkpoints are the tfjs layers
 * format, model.json + weights.bin) initialised like PyTorch's defaults from
 * the project's seeded Rng.
 *
 * The last layer is linear: it outputs logits. The paper's softmax output
 * layer is applied inside the cross-entropy loss (stages/nn/losses.ts),
 * which is the same function and numerically stabler (log-softmax).
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../../pipeline/rng.ts";
import type { ModelConfig } from "./contracts.ts";

const ARCHS = ["mlp", "cnn"] as const;
const LOSSES = ["cross_entropy", "squared"] as const;

/** Throws a one-line error naming the field if the model config is invalid. */
export function validateModelConfig(config: ModelConfig): void {
  if (!(ARCHS as readonly string[]).includes(config.arch)) {
    throw new Error(
      `model.arch must be one of ${ARCHS.join(", ")}, got '${config.arch}'`,
    );
  }
  if (!(LOSSES as readonly string[]).includes(config.loss)) {
    throw new Error(
      `model.loss must be one of ${LOSSES.join(", ")}, got '${config.loss}'`,
    );
  }
  if (!Array.isArray(config.hidden)) {
    throw new Error(
      `model.hidden must be a list of positive integers, got ${
        JSON.stringify(config.hidden)
      }`,
    );
  }
  for (const [i, h] of config.hidden.entries()) {
    if (!Number.isInteger(h) || h <= 0) {
      throw new Error(
        `model.hidden[${i}] must be a positive integer, got ${
          JSON.stringify(h)
        }`,
      );
    }
  }
  for (const field of ["inputSize", "classes"] as const) {
    const v = config[field];
    if (!Number.isInteger(v) || v <= 0) {
      throw new Error(
        `model.${field} must be a positive integer, got ${JSON.stringify(v)}`,
      );
    }
  }
  if (config.arch === "cnn" && !Number.isInteger(Math.sqrt(config.inputSize))) {
    throw new Error(
      `model.inputSize must be a square (e.g. 784 = 28x28) for arch 'cnn', got ${config.inputSize}`,
    );
  }
}

/**
 * Builds a fresh model (never shared). Input [batch, inputSize], output logits
 * [batch, classes].
 * - mlp: Dense(hidden[i], relu)… then Dense(classes, linear).
 * - cnn: reshape to [s, s, 1], conv 3x3x16 relu, maxpool 2, conv 3x3x32 relu,
 *   maxpool 2, flatten, Dense(classes, linear). `hidden` is ignored.
 * Weights and biases are drawn from `rng` (see `pytorchInit`).
 * Model and layers are named explicitly: tfjs's default names count the
 * models made so far in the process (`dense_Dense3`), which would make a
 * checkpoint's model.json, and so its hash, depend on what ran before.
 */
export function createModel(config: ModelConfig, rng: Rng): tf.LayersModel {
  validateModelConfig(config);
  const model = tf.sequential({ name: config.arch });
  if (config.arch === "mlp") addMlpLayers(model, config);
  else addCnnLayers(model, config);
  pytorchInit(model, rng);
  return model;
}

/** Zero initialisers: every weight is drawn afterwards by `pytorchInit`. */
const ZEROS = {
  kernelInitializer: "zeros",
  biasInitializer: "zeros",
} as const;

/** Dense(hidden[i], relu)… then Dense(classes, linear). */
function addMlpLayers(model: tf.Sequential, config: ModelConfig): void {
  config.hidden.forEach((units, i) => {
    model.add(tf.layers.dense({
      units,
      activation: "relu",
      name: `dense_${i}`,
      ...ZEROS,
      ...(i === 0 ? { inputShape: [config.inputSize] } : {}),
    }));
  });
  model.add(tf.layers.dense({
    units: config.classes,
    activation: "linear",
    name: "logits",
    ...ZEROS,
    ...(config.hidden.length === 0 ? { inputShape: [config.inputSize] } : {}),
  }));
}

/** Reshape to [s, s, 1], two (conv 3x3 relu, maxpool 2) stages of 16 and 32 filters, flatten, Dense(classes, linear). */
function addCnnLayers(model: tf.Sequential, config: ModelConfig): void {
  const side = Math.round(Math.sqrt(config.inputSize));
  model.add(
    tf.layers.reshape({
      targetShape: [side, side, 1],
      inputShape: [config.inputSize],
      name: "image",
    }),
  );
  [16, 32].forEach((filters, i) => {
    model.add(
      tf.layers.conv2d({
        filters,
        kernelSize: 3,
        activation: "relu",
        name: `conv_${i}`,
        ...ZEROS,
      }),
    );
    model.add(tf.layers.maxPooling2d({ poolSize: 2, name: `pool_${i}` }));
  });
  model.add(tf.layers.flatten({ name: "flatten" }));
  model.add(
    tf.layers.dense({
      units: config.classes,
      activation: "linear",
      name: "logits",
      ...ZEROS,
    }),
  );
}

/**
 * PyTorch's default init of nn.Linear / nn.Conv2d (kaiming_uniform with a=√5):
 * weights AND biases uniform in ±1/√fan_in, fan_in = inputs of the layer
 * (in_channels·kh·kw for a convolution). Draws in layer order, kernel then
 * bias, each in tfjs's row-major order of its shape.
 */
export function pytorchInit(model: tf.LayersModel, rng: Rng): void {
  for (const layer of parameterLayers(model)) {
    const weights = layer.getWeights();
    const kernel = weights[0]!;
    // Dense kernel [in, out]; conv kernel [kh, kw, in, out]: fan_in = all but the last dim.
    const fanIn = kernel.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const bound = 1 / Math.sqrt(fanIn);
    const fresh = weights.map((w) => {
      const values = new Float32Array(w.size);
      for (let i = 0; i < values.length; i++) {
        values[i] = rng.uniform(-bound, bound);
      }
      return tf.tensor(values, w.shape, "float32");
    });
    layer.setWeights(fresh);
    for (const t of fresh) t.dispose();
  }
}

/** Layers that own trainable weights (Dense, Conv2D), in model order. */
export function parameterLayers(model: tf.LayersModel): tf.layers.Layer[] {
  return model.layers.filter((l) => l.trainableWeights.length > 0);
}

/** Trainable variables in a stable order: layer order, kernel then bias. */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return parameterLayers(model).flatMap((l) =>
    l.trainableWeights.map((w) => w.read() as tf.Variable)
  );
}

/** One entry per trainable variable (aligned with `trainableVariables`). */
export interface VariableInfo {
  /** Index among the parameter layers (0 = first Dense/Conv2D): `norm_layer_<i>`. */
  layer: number;
  kind: "kernel" | "bias";
  name: string;
  shape: number[];
}

/** Which layer each trainable variable belongs to, and whether it is a bias. */
export function variableInfo(model: tf.LayersModel): VariableInfo[] {
  return parameterLayers(model).flatMap((l, layer) =>
    l.trainableWeights.map((w) => ({
      layer,
      kind: w.shape.length === 1 ? "bias" as const : "kernel" as const,
      name: w.name,
      shape: w.shape.map((d) => d ?? -1),
    }))
  );
}

/** Layer index of each trainable variable (per-layer norm = kernel + bias of that layer). */
export function layerIndexOfVariable(model: tf.LayersModel): number[] {
  return variableInfo(model).map((v) => v.layer);
}

/** Number of trainable scalars. */
export function countParams(model: tf.LayersModel): number {
  return trainableVariables(model).reduce((n, v) => n + v.size, 0);
}
