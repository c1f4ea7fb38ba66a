/**
 * What a user's model ends with, and what the loss is taken of (SCIENCE
 * §1.3). Keras and tfjs classifiers end in `activation: "softmax"`; the
 * project's losses take cross-entropy of logits (losses.ts), so such a model
 * is measured through its logits twin: the same weights with the softmax
 * replaced by the identity. Applying cross-entropy to its outputs would
 * softmax twice.
 */
import * as tf from "@tensorflow/tfjs";
import type { LossName } from "../nn/contracts.ts";

/** The last layer that transforms the outputs, and its activation. */
export interface FinalActivation {
  /** The layer's name in the model. */
  layer: string;
  /** tfjs's identifier ("linear", "softmax", "tanh", …); "linear" for a layer without one. */
  activation: string;
}

/** Layers that pass values through at inference: the activation is looked for before them. */
const PASS_THROUGH = new Set([
  "Dropout",
  "AlphaDropout",
  "GaussianDropout",
  "GaussianNoise",
  "SpatialDropout1D",
  "Flatten",
  "Reshape",
]);

/** Activation layers whose class names the activation (tf.layers.reLU etc.). */
const ACTIVATION_CLASSES: Record<string, string> = {
  Softmax: "softmax",
  ReLU: "relu",
  LeakyReLU: "leakyrelu",
  ELU: "elu",
  PReLU: "prelu",
  ThresholdedReLU: "thresholdedrelu",
};

/** The activations cross-entropy of logits can be taken through: none, or a softmax it removes. */
export const CROSS_ENTROPY_ACTIVATIONS = ["linear", "softmax"] as const;

/** The model's final activation, looking back through dropout/reshape layers. */
export function finalActivation(model: tf.LayersModel): FinalActivation {
  if (model.outputs.length !== 1) {
    throw new Error(
      `--model: expected a model with one output, got ${model.outputs.length}`,
    );
  }
  let layer = model.outputs[0]!.sourceLayer as tf.layers.Layer;
  while (PASS_THROUGH.has(layer.getClassName())) {
    const inbound = layer.inboundNodes[0]?.inboundLayers ?? [];
    if (inbound.length !== 1) break;
    layer = inbound[0]!;
  }
  if (layer instanceof tf.LayersModel) {
    throw new Error(
      `--model: the output comes from the nested model '${layer.name}'; measure needs its layers at the top level`,
    );
  }
  const className = layer.getClassName();
  const activation = ACTIVATION_CLASSES[className] ??
    (layer.getConfig() as { activation?: unknown }).activation;
  return {
    layer: layer.name,
    activation: typeof activation === "string" ? activation : "linear",
  };
}

/**
 * Throws a one-line error unless the loss can use the final activation.
 * cross_entropy: linear (logits) or softmax (removed, see `logitsTwin`).
 * squared: any, since ℓ = ||f(x) − onehot(y)||² is of the model's output
 * f(x) as it is (SCIENCE §1.3); after a softmax that is the Brier score.
 */
export function checkFinalActivation(
  final: FinalActivation,
  loss: LossName,
): void {
  const allowed: readonly string[] = CROSS_ENTROPY_ACTIVATIONS;
  if (loss === "cross_entropy" && !allowed.includes(final.activation)) {
    throw new Error(
      `--model: final layer '${final.layer}' has activation '${final.activation}'; --loss cross_entropy needs one of ${
        allowed.join(", ")
      } (or use --loss squared)`,
    );
  }
}

/** Whether the loss is taken of the pre-softmax logits (a logits twin is needed). */
export function needsLogitsTwin(
  final: FinalActivation,
  loss: LossName,
): boolean {
  return loss === "cross_entropy" && final.activation === "softmax";
}

/** A layer entry of a layers-model topology (Sequential or functional). */
interface LayerEntry {
  class_name: string;
  config: { name: string; activation?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/**
 * The logits twin of a model: its topology with the final layer's softmax
 * replaced by the identity (an activation layer becomes Activation('linear')),
 * holding copies of the same weights. The caller disposes it.
 */
export async function logitsTwin(
  model: tf.LayersModel,
  final: FinalActivation,
): Promise<tf.LayersModel> {
  // toJSON(_, false) is the topology as an object (tfjs's PyJsonDict).
  const json = structuredClone(model.toJSON(null, false)) as Parameters<
    typeof tf.models.modelFromJSON
  >[0];
  const topology = json as unknown as {
    config: LayerEntry[] | { layers: LayerEntry[] };
  };
  const layers = Array.isArray(topology.config)
    ? topology.config
    : topology.config.layers;
  const entry = layers.find((l) => l.config.name === final.layer);
  if (!entry) {
    throw new Error(
      `--model: no layer '${final.layer}' in the model's topology`,
    );
  }
  if (entry.class_name in ACTIVATION_CLASSES) {
    // Keep name, trainable, dtype where set (tfjs's parser rejects undefined).
    const kept = Object.entries(entry.config).filter(([k, v]) =>
      ["trainable", "dtype"].includes(k) && v !== undefined
    );
    entry.class_name = "Activation";
    entry.config = {
      ...Object.fromEntries(kept),
      name: entry.config.name,
      activation: "linear",
    };
  } else {
    entry.config.activation = "linear";
  }
  const twin = await tf.models.modelFromJSON(json);
  twin.setWeights(model.getWeights());
  return twin;
}
