/**
 * Smith et al.'s explicit regularizer (SCIENCE §5.2): train on
 * ℓ_B(w) + λ_e ||∇ℓ_B(w)||² per mini-batch B, whose gradient is
 * ∇ℓ_B + 2λ_e H_B ∇ℓ_B. The Hessian-vector product H_B g is taken by central
 * finite differences of gradients (stages/train/hvp.ts), never by double
 * back-propagation, which tfjs 4.22 gets wrong through softmax (SCIENCE §4.2).
 */
import * as tf from "@tensorflow/tfjs";
import { hvpFiniteDiff } from "./hvp.ts";

/**
 * ∇ℓ_B + 2λ_e H_B ∇ℓ_B at the current weights, from g = ∇ℓ_B there (the
 * caller's batch pass, batch_gradient.ts). Takes ownership of `g`: returns
 * it as is when λ_e = 0, else disposes it and returns new tensors. λ_e > 0
 * costs two more gradient evaluations of `lossFn` (ℓ_B from the variables),
 * at w ± h ĝ along ĝ = g/||g||, with hvp.ts's step h = 3e-3 unless `h` is
 * given (its float32 error budget is documented there). λ_e = η/4 mimics
 * SGD's implicit term (SCIENCE §2.1).
 */
export function penalizedGradients(
  variables: tf.Variable[],
  lossFn: () => tf.Scalar,
  g: tf.Tensor[],
  lambda: number,
  h?: number,
): tf.Tensor[] {
  if (!(lambda >= 0) || !Number.isFinite(lambda)) {
    throw new Error(
      `train.explicit_penalty must be a finite number >= 0, got ${lambda}`,
    );
  }
  if (lambda === 0) return g;
  const hg = hvpFiniteDiff(variables, lossFn, g, h); // zeros when g = 0
  const grads = g.map((gi, i) =>
    tf.tidy(() => tf.add(gi, tf.mul(2 * lambda, tf.reshape(hg[i]!, gi.shape))))
  );
  tf.dispose([...g, ...hg]);
  return grads;
}
