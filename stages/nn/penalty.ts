/**
 * Smith et al.'s explicit regularizer (SCIENCE §5.2): train on
 * ℓ_B(w) + λ_e ||∇ℓ_B(w)||² per mini-batch B, whose gradient is
 * ∇ℓ_B + 2λ_e H_B ∇ℓ_B. The Hessian-vector product H_B g comes from
 * stages/nn/hvp.ts: exact for the MLP (R-operator, `mlpBatchHvp`), by
 * finite differences only for the CNN (`finiteDiffBatchHvp`).
 */
import * as tf from "@tensorflow/tfjs";
import type { BatchGradient } from "./batch_gradient.ts";
import { rowTensors, type Samples } from "./data.ts";
import type { BatchHvp } from "./hvp.ts";

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
  checkLambda(lambda);
  if (lambda === 0) return g;
  const hg = hvp(g);
  const grads = g.map((gi, i) =>
    tf.tidy(() => tf.add(gi, tf.mul(2 * lambda, tf.reshape(hg[i]!, gi.shape))))
  );
  tf.dispose([...g, ...hg]);
  return grads;
}

/**
 * The same regularizer for full-batch GD (SCIENCE §5.2), whose one batch is
 * all N samples: ∇C + (2λ_e/m) Σ_k H_k ∇Ĉ_k, the gradient of
 * C + λ_e (1/m) Σ_k ||∇Ĉ_k||² over `batches`, a partition into m
 * mini-batches. With m = 1 it would be λ_e ||∇C||², GD's own implicit term
 * (SCIENCE §2.1) over again; only the partition adds SGD's variance part
 * λ_e (1/m) Σ_k ||∇Ĉ_k − ∇C||². Takes ownership of `g` = ∇C (returned as
 * is when λ_e = 0); `batchHvp(k)` returns H_k ∇Ĉ_k of batch k as new tensors.
 */
export function partitionPenalizedGradients(
  g: tf.Tensor[],
  m: number,
  batchHvp: (k: number) => tf.Tensor[],
  lambda: number,
): tf.Tensor[] {
  checkLambda(lambda);
  if (lambda === 0) return g;
  if (!(Number.isInteger(m) && m >= 1)) {
    throw new Error(
      `partitionPenalizedGradients: m must be an integer ≥ 1, got ${m}`,
    );
  }
  let sum: tf.Tensor[] | null = null;
  for (let k = 0; k < m; k++) {
    const hg = batchHvp(k);
    const previous: tf.Tensor[] | null = sum;
    sum = previous === null ? hg : hg.map((t, i) => tf.add(previous[i]!, t));
    if (previous !== null) tf.dispose([...previous, ...hg]);
  }
  const total = sum!;
  const grads = g.map((gi, i) =>
    tf.tidy(() =>
      tf.add(gi, tf.mul((2 * lambda) / m, tf.reshape(total[i]!, gi.shape)))
    )
  );
  tf.dispose([...g, ...total]);
  return grads;
}

/** Throws unless λ_e is a finite number ≥ 0. */
function checkLambda(lambda: number): void {
  if (!(lambda >= 0) || !Number.isFinite(lambda)) {
    throw new Error(
      `train.explicit_penalty must be a finite number >= 0, got ${lambda}`,
    );
  }
}

/** H_k ∇Ĉ_k on the training rows `rows` (SCIENCE §5.2), as new tensors. */
export function batchPenaltyProduct(
  gradient: BatchGradient,
  hessian: BatchHvp,
  samples: Samples,
  rows: Uint32Array,
): tf.Tensor[] {
  const { x, y } = rowTensors(samples, rows);
  const pass = gradient(x, y);
  tf.dispose([pass.loss, pass.perSample, pass.logits]);
  const hg = hessian(x, y, pass.grads);
  tf.dispose([...pass.grads, x, y]);
  return hg;
}
