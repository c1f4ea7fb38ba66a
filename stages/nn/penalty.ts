/**
 * Smith et al.'s explicit regularizer (SCIENCE §5.2): train on
 * ℓ_B(w) + λ_e ||∇ℓ_B(w)||² per mini-batch B, whose gradient is
 * ∇ℓ_B + 2λ_e H_B ∇ℓ_B. The Hessian-vector product H_B g comes from
 * stages/nn/hvp.ts: exact for the MLP (R-operator, `mlpBatchHvp`), by
 * finite differences only for the CNN (`finiteDiffBatchHvp`).
 */
import * as tf from "@tensorflow/tfjs";

/**
 * ∇ℓ_B + 2λ_e H_B ∇ℓ_B at the current weights, from g = ∇ℓ_B there (the
 * caller's batch pass, batch_gradient.ts) and `hvp`, v ↦ H_B v on the same
 * batch at the same weights (it is called only when λ_e > 0, once, with
 * v = g). Takes ownership of `g`: returns it as is when λ_e = 0, else
 * disposes it and returns new tensors. λ_e = η/4 mimics SGD's implicit term
 * (SCIENCE §2.1).
 */
export function penalizedGradients(
  hvp: (v: tf.Tensor[]) => tf.Tensor[],
  g: tf.Tensor[],
  lambda: number,
): tf.Tensor[] {
  if (!(lambda >= 0) || !Number.isFinite(lambda)) {
    throw new Error(
      `train.explicit_penalty must be a finite number >= 0, got ${lambda}`,
    );
  }
  if (lambda === 0) return g;
  const hg = hvp(g);
  const grads = g.map((gi, i) =>
    tf.tidy(() => tf.add(gi, tf.mul(2 * lambda, tf.reshape(hg[i]!, gi.shape))))
  );
  tf.dispose([...g, ...hg]);
  return grads;
}
