/**
 * Smith et al.'s explicit regularizer (SCIENCE §5.2): train on
 * ℓ_B(w) + λ_e ||∇ℓ_B(w)||² per mini-batch B, whose gradient is
 * ∇ℓ_B + 2λ_e H_B ∇ℓ_B. The Hessian-vector product H_B g is taken by central
 * finite differences of gradients (stages/train/hvp.ts), never by double
 * back-propagation, which tfjs 4.22 gets wrong through softmax (SCIENCE §4.2).
 */
import * as tf from "@tensorflow/tfjs";
import type { BatchPass } from "./batch_gradient.ts";
import { hvpFiniteDiff } from "./hvp.ts";

/** What one penalized gradient evaluation returns; the caller disposes `grads`. */
export interface PenalizedGradients {
  /** ∇ℓ_B + 2λ_e H_B ∇ℓ_B, aligned with the variables. */
  grads: tf.Tensor[];
  /** ℓ_B(w), the unpenalized batch loss. */
  loss: number;
  /** ||∇ℓ_B(w)||², so the penalty λ_e·gradNorm2 can be logged. */
  gradNorm2: number;
}

/**
 * The gradient of ℓ_B + λ_e ||∇ℓ_B||² at the current weights. Costs three
 * gradient evaluations (one at w, two at w ± h ĝ) when λ_e > 0, one when
 * λ_e = 0 (then it is plain ∇ℓ_B). `lossFn` must compute ℓ_B from the
 * variables. The step h defaults to hvp.ts's 1e-3·max(1, ||w||) along the
 * unit vector ĝ = g/||g|| (its float32 error budget is documented there);
 * λ_e = η/4 mimics SGD's implicit term (SCIENCE §2.1). `pass`, when given,
 * computes ℓ_B and ∇ℓ_B at w (e.g. by hand-written back-propagation, see
 * batch_gradient.ts); the Hessian-vector product always differentiates
 * `lossFn`.
 */
export function penalizedGradients(
  variables: tf.Variable[],
  lossFn: () => tf.Scalar,
  lambda: number,
  h?: number,
  pass?: () => BatchPass,
): PenalizedGradients {
  if (!(lambda >= 0) || !Number.isFinite(lambda)) {
    throw new Error(
      `train.explicit_penalty must be a finite number >= 0, got ${lambda}`,
    );
  }
  let g: tf.Tensor[];
  let loss: number;
  if (pass) {
    const p = pass();
    loss = p.loss.dataSync()[0]!;
    tf.dispose([p.loss, p.perSample, p.logits]);
    g = p.grads;
  } else {
    const { value, grads: named } = tf.variableGrads(lossFn, variables);
    loss = value.dataSync()[0]!;
    value.dispose();
    g = variables.map((v) => named[v.name] ?? tf.zerosLike(v));
  }
  const gradNorm2 = tf.tidy(() =>
    tf.addN(g.map((t) => tf.sum(tf.square(t)))).dataSync()[0]!
  );
  if (lambda === 0 || gradNorm2 === 0) return { grads: g, loss, gradNorm2 };
  const hg = hvpFiniteDiff(variables, lossFn, g, h);
  const grads = g.map((gi, i) =>
    tf.tidy(() => tf.add(gi, tf.mul(2 * lambda, tf.reshape(hg[i]!, gi.shape))))
  );
  tf.dispose([...g, ...hg]);
  return { grads, loss, gradNorm2 };
}
