/**
 * Losses as means over samples (SCIENCE §1.3) and per-sample errors.
 *
 * - cross_entropy: ℓ = −log softmax(f(x))_y, with f(x) the logits the model
 *   outputs (the paper's softmax layer lives here, via log-softmax).
 * - squared: ℓ = ||f(x) − onehot(y)||² on the raw outputs (no softmax, as is
 *   standard for regression on one-hot targets). Summed over classes and
 *   averaged over samples, so it is `classes` times PyTorch's default
 *   MSELoss(reduction="mean"), which also averages over classes.
 */
import * as tf from "@tensorflow/tfjs";
import type { LossName } from "./contracts.ts";

const LOSSES: readonly LossName[] = ["cross_entropy", "squared"];

/** Throws unless `loss` is one this module computes. */
function checkLoss(loss: LossName): void {
  if (!LOSSES.includes(loss)) {
    throw new Error(
      `model.loss must be one of ${LOSSES.join(", ")}, got '${loss}'`,
    );
  }
}

/**
 * One-hot targets as float32 [batch, classes]. Made as int32 and cast once:
 * tfjs-backend-wasm 4.22's OneHot ignores a float32 dtype and writes int32
 * bits (1 reads as 1.4e-45), and an int32 one-hot in float arithmetic costs
 * a cast of each operand per op.
 */
function oneHotTargets(labels: tf.Tensor1D, classes: number): tf.Tensor2D {
  return tf.tidy(() => {
    const indices = labels.dtype === "int32"
      ? labels
      : tf.cast(labels, "int32");
    return tf.cast(tf.oneHot(indices, classes), "float32") as tf.Tensor2D;
  });
}

/** ℓ_i from the outputs and float32 one-hot targets (the formulas of the module doc). */
function lossTerms(
  outputs: tf.Tensor2D,
  onehot: tf.Tensor2D,
  loss: LossName,
): tf.Tensor1D {
  if (loss === "cross_entropy") {
    return tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(outputs)), 1));
  }
  return tf.sum(tf.square(tf.sub(outputs, onehot)), 1);
}

/** Per-sample losses ℓ_i: outputs [batch, classes], labels int32 [batch] → [batch]. */
export function perSampleLoss(
  outputs: tf.Tensor2D,
  labels: tf.Tensor1D,
  loss: LossName,
): tf.Tensor1D {
  checkLoss(loss);
  return tf.tidy(() =>
    lossTerms(outputs, oneHotTargets(labels, outputs.shape[1]), loss)
  );
}

/**
 * The per-sample losses and ∂Ĉ/∂outputs of their mean Ĉ = (1/b) Σ ℓ_i, from
 * one one-hot (back-propagation starts here, batch_gradient.ts):
 *   cross_entropy: ∂Ĉ/∂f = (softmax(f) − onehot(y)) / b
 *   squared:       ∂Ĉ/∂f = 2 (f − onehot(y)) / b
 */
export function lossAndOutputGradient(
  outputs: tf.Tensor2D,
  labels: tf.Tensor1D,
  loss: LossName,
): { perSample: tf.Tensor1D; dOutputs: tf.Tensor2D } {
  checkLoss(loss);
  const [perSample, dOutputs] = tf.tidy(() => {
    const b = outputs.shape[0];
    const onehot = oneHotTargets(labels, outputs.shape[1]);
    const d = loss === "cross_entropy"
      ? tf.div(tf.sub(tf.softmax(outputs), onehot), b)
      : tf.mul(tf.sub(outputs, onehot), 2 / b);
    return [lossTerms(outputs, onehot, loss), d];
  });
  return {
    perSample: perSample as tf.Tensor1D,
    dOutputs: dOutputs as tf.Tensor2D,
  };
}

/** The mean loss Ĉ = (1/|B|) Σ ℓ_i over the batch (SCIENCE §1.3). */
export function meanLoss(
  outputs: tf.Tensor2D,
  labels: tf.Tensor1D,
  loss: LossName,
): tf.Scalar {
  return tf.tidy(() =>
    tf.mean(perSampleLoss(outputs, labels, loss)) as tf.Scalar
  );
}

/** 1 where argmax of the outputs differs from the label, else 0 (float32 [batch]). */
export function errors(outputs: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() =>
    tf.cast(
      tf.notEqual(tf.argMax(outputs, 1), tf.cast(labels, "int32")),
      "float32",
    ) as tf.Tensor1D
  );
}
