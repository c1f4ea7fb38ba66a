/**
 * One forward and backward pass on a mini-batch: the mean loss Ĉ_B, its
 * per-sample terms, the logits, and ∇Ĉ_B per variable (SCIENCE §1.3).
 *
 * Two implementations with one contract:
 * - `mlpBackprop`, hand-written back-propagation for the Dense-ReLU MLP that
 *   model.ts builds. It runs about half the tfjs ops of automatic
 *   differentiation (no tape, no saved-tensor clones, no layers bookkeeping)
 *   and is what trains and measures every MLP; it agrees with autodiff to
 *   float32 rounding (tests/stages/nn/batch_gradient_test.ts).
 * - `autodiffGradient`, tf.variableGrads through any forward function: the
 *   CNN, the tests' reference, and networks built outside model.ts.
 */
import * as tf from "@tensorflow/tfjs";
import type { LossName } from "./contracts.ts";
import { lossAndOutputGradient, perSampleLoss } from "./losses.ts";
import { mlpLayers } from "./weights.ts";

/** What a batch pass returns; every tensor is new and owned by the caller. */
export interface BatchPass {
  /** Ĉ_B = mean of `perSample`. */
  loss: tf.Scalar;
  /** ℓ_i for each sample of the batch: [b]. */
  perSample: tf.Tensor1D;
  /** The network's outputs: [b, classes]. */
  logits: tf.Tensor2D;
  /** ∇Ĉ_B, aligned with the variables (zeros where a variable does not reach the loss). */
  grads: tf.Tensor[];
}

/** x [b, d] and int32 labels [b] → the batch pass at the current weights. */
export type BatchGradient = (x: tf.Tensor2D, y: tf.Tensor1D) => BatchPass;

/** ∇ by tf.variableGrads of the mean of `perSampleLoss(forward(x), y)`. */
export function autodiffGradient(
  variables: tf.Variable[],
  forward: (x: tf.Tensor2D) => tf.Tensor2D,
  loss: LossName,
): BatchGradient {
  return (x, y) => {
    let perSample: tf.Tensor1D | null = null;
    let logits: tf.Tensor2D | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const out = forward(x); // [b, classes]
      const ls = perSampleLoss(out, y, loss); // [b]
      logits = tf.keep(out);
      perSample = tf.keep(ls);
      return tf.mean(ls) as tf.Scalar;
    }, variables);
    return {
      loss: value,
      perSample: perSample!,
      logits: logits!,
      grads: variables.map((v) => grads[v.name] ?? tf.zerosLike(v)),
    };
  };
}

/**
 * Back-propagation written out for z_l = h_{l−1}·W_l + b_l, h_l = relu(z_l)
 * (hidden layers), logits = z_L. `variables` are [W_1, b_1, …, W_L, b_L]
 * with W_l [in, out], as `trainableVariables` orders a model.ts MLP.
 *
 *   ∂Ĉ/∂z_L = (softmax(z_L) − onehot(y)) / b      cross-entropy
 *           = 2 (z_L − onehot(y)) / b              squared error
 *   ∂Ĉ/∂W_l = h_{l−1}ᵀ · ∂Ĉ/∂z_l,  ∂Ĉ/∂b_l = Σ_rows ∂Ĉ/∂z_l
 *   ∂Ĉ/∂z_{l−1} = (∂Ĉ/∂z_l · W_lᵀ) ⊙ [z_{l−1} > 0]
 *
 * The ReLU derivative at exactly 0 is taken as 0, as tfjs and PyTorch do.
 *
 * Activations are kept transposed, [features, batch]: then every product
 * takes the small activation matrix as its right operand as it is (the
 * operand the WASM matmul packs, see matmul_plan.ts), the input gradient
 * W_l·∂Ĉ/∂z_lᵀ needs no transpose at all, and only W_l (forward) and
 * ∂Ĉ/∂z_l (weight gradient) are transposed. Each product sums the same terms
 * in the same order as the row-major formulas above.
 */
export function mlpBackprop(
  variables: tf.Variable[],
  loss: LossName,
): BatchGradient {
  const { kernels, biases } = mlpLayers(variables, "mlpBackprop");
  const layers = kernels.length;
  kernels.forEach((w, l) => {
    const b = biases[l]!;
    if (w.rank !== 2 || b.rank !== 1 || b.shape[0] !== w.shape[1]) {
      throw new Error(
        `mlpBackprop: layer ${l} needs a kernel [in, out] and a bias [out], got [${w.shape}] and [${b.shape}]`,
      );
    }
  });
  return (x, y) => {
    const kept = tf.tidy(() => {
      const inputsT: tf.Tensor2D[] = []; // h_{l−1}ᵀ, the input of layer l: [in_l, b]
      const preactsT: tf.Tensor2D[] = []; // z_lᵀ: [out_l, b]
      let hT = tf.transpose(x) as tf.Tensor2D; // [d, b]
      for (let l = 0; l < layers; l++) {
        inputsT.push(hT);
        const bias = tf.reshape(biases[l]!, [-1, 1]); // [out, 1]
        const zT = tf.add(tf.matMul(kernels[l]!, hT, true, false), bias); // [out, b]
        preactsT.push(zT as tf.Tensor2D);
        hT = (l < layers - 1 ? tf.relu(zT) : zT) as tf.Tensor2D;
      }
      const logits = tf.transpose(hT) as tf.Tensor2D; // [b, classes]
      const { perSample, dOutputs: dz } = lossAndOutputGradient(
        logits,
        y,
        loss,
      ); // [b], ∂Ĉ/∂z_L [b, classes]
      let dzT = tf.transpose(dz) as tf.Tensor2D; // [classes, b]
      const grads: tf.Tensor[] = new Array(variables.length);
      for (let l = layers - 1; l >= 0; l--) {
        grads[2 * l] = tf.matMul(inputsT[l]!, dzT, false, true); // [in, out]
        grads[2 * l + 1] = tf.sum(dzT, 1); // [out]
        if (l > 0) {
          const dhT = tf.matMul(kernels[l]!, dzT); // [in, b]
          dzT = tf.mul(dhT, tf.step(preactsT[l - 1]!));
        }
      }
      return [tf.mean(perSample), perSample, logits, ...grads];
    });
    const [lossValue, perSample, logits, ...grads] = kept;
    return {
      loss: lossValue as tf.Scalar,
      perSample: perSample as tf.Tensor1D,
      logits: logits as tf.Tensor2D,
      grads: grads as tf.Tensor[],
    };
  };
}
