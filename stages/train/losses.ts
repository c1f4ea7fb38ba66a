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

/** Per-sample losses ℓ_i: outputs [batch, classes], labels int32 [batch] → [batch]. */
export function perSampleLoss(
  outputs: tf.Tensor2D,
  labels: tf.Tensor1D,
  loss: LossName,
): tf.Tensor1D {
  if (!LOSSES.includes(loss)) {
    throw new Error(
      `model.loss must be one of ${LOSSES.join(", ")}, got '${loss}'`,
    );
  }
  return tf.tidy(() => {
    const classes = outputs.shape[1];
    const onehot = tf.oneHot(tf.cast(labels, "int32"), classes); // [batch, classes]
    if (loss === "cross_entropy") {
      return tf.neg(
        tf.sum(tf.mul(onehot, tf.logSoftmax(outputs)), 1),
      ) as tf.Tensor1D;
    }
    return tf.sum(tf.square(tf.sub(outputs, onehot)), 1) as tf.Tensor1D;
  });
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
