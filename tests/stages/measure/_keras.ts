/** A small Keras-convention model for the measure tests, as a user would save one from tf.js. */
import * as tf from "@tensorflow/tfjs";

/**
 * An MLP inputs → relu(hidden) → outputs with `activation` on its last layer
 * (named `name` if given); every kernel and bias is drawn from N(0, stddev²)
 * with its own fixed seed (1–4), so two calls build the same weights.
 */
export function seededMlp(
  [inputs, hidden, outputs]: [number, number, number],
  activation: string,
  options: { stddev: number; name?: string },
): tf.Sequential {
  const init = (seed: number) =>
    tf.initializers.randomNormal({ mean: 0, stddev: options.stddev, seed });
  return tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [inputs],
        units: hidden,
        activation: "relu",
        kernelInitializer: init(1),
        biasInitializer: init(2),
      }),
      tf.layers.dense({
        ...(options.name === undefined ? {} : { name: options.name }),
        units: outputs,
        activation: activation as "linear",
        kernelInitializer: init(3),
        biasInitializer: init(4),
      }),
    ],
  });
}
