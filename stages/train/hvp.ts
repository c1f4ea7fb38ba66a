/**
 * Hessian-vector products by central finite differences of gradients
 * (SCIENCE §4.2). tfjs 4.22's double back-propagation is silently wrong
 * through softmax/logSoftmax/tanh, so second-order autodiff is never used.
 */
import * as tf from "@tensorflow/tfjs";
import { squaredNorm } from "./host_sums.ts";

/** Default step along the unit direction v̂, in weight units: see `hvpFiniteDiff`. */
export const DEFAULT_STEP = 3e-3;

/**
 * H v ≈ (∇L(w + h v̂) − ∇L(w − h v̂)) · ||v|| / (2h), v̂ = v/||v||.
 *
 * Step: h = 3e-3 (weight units along the unit vector v̂) unless given.
 * In float32, truncation (h²/6)·∇³L[v̂,v̂] competes with rounding of the
 * gradients (~2⁻²⁴·Σ|terms|/h) and of w ± h v̂ (~2⁻²⁴·||w||/h). The
 * curvature of softmax changes over O(1) changes of the logits, and a step
 * h moves them by about h·||activations||, so h must be small in absolute
 * terms: a step of 1e-3·||w|| was 3% off on a linear softmax model with
 * ||w|| ≈ 73, 3e-3 was within 1e-4. Measured at h = 3e-3 (tests): ≤ 3e-5
 * relative on quadratic, logistic and softmax closed forms, 3e-4 on a tiny
 * ReLU net. ReLU kinks crossed within h make errors of O(1) that do not
 * shrink with h: differentiate `frozenReluMlpLoss` for MLPs.
 *
 * The weights are restored exactly afterwards (from saved copies, never by
 * subtracting back). `lossFn` must read the variables; tensors in `v` are
 * aligned with `variables`. Returns new tensors the caller disposes.
 */
export function hvpFiniteDiff(
  variables: tf.Variable[],
  lossFn: () => tf.Scalar,
  v: tf.Tensor[],
  h?: number,
): tf.Tensor[] {
  if (v.length !== variables.length) {
    throw new Error(
      `v: expected ${variables.length} tensors (one per variable), got ${v.length}`,
    );
  }
  v.forEach((t, i) => {
    if (t.size !== variables[i]!.size) {
      throw new Error(
        `v[${i}]: expected ${variables[i]!.size} elements, got ${t.size}`,
      );
    }
  });
  const vNorm = Math.sqrt(squaredNorm(v));
  if (vNorm === 0) return variables.map((x) => tf.zerosLike(x));
  const step = h ?? DEFAULT_STEP;
  if (!(step > 0) || !Number.isFinite(step)) {
    throw new Error(`h: expected a positive finite step, got ${step}`);
  }
  const saved = variables.map((x) => tf.clone(x));
  try {
    const plus = gradientAt(variables, saved, v, step / vNorm, lossFn);
    const minus = gradientAt(variables, saved, v, -step / vNorm, lossFn);
    const scale = vNorm / (2 * step);
    const out = plus.map((gp, i) =>
      tf.tidy(() => tf.mul(tf.sub(gp, minus[i]!), scale))
    );
    tf.dispose([...plus, ...minus]);
    return out;
  } finally {
    variables.forEach((x, i) => x.assign(saved[i]!));
    tf.dispose(saved);
  }
}

/** ∇L at w₀ + c·v, with w₀ the saved weights; zeros where a variable does not reach L. */
function gradientAt(
  variables: tf.Variable[],
  saved: tf.Tensor[],
  v: tf.Tensor[],
  c: number,
  lossFn: () => tf.Scalar,
): tf.Tensor[] {
  variables.forEach((x, i) => {
    const moved = tf.tidy(() =>
      tf.add(saved[i]!, tf.mul(tf.reshape(v[i]!, x.shape), c))
    );
    x.assign(moved);
    moved.dispose();
  });
  const { value, grads } = tf.variableGrads(lossFn, variables);
  value.dispose();
  return variables.map((x) => grads[x.name] ?? tf.zerosLike(x));
}

/**
 * The same product on plain arrays (one Float32Array per variable), the
 * shape `stages/metrics/sharpness.ts` iterates on.
 */
export function hvpOnArrays(
  variables: tf.Variable[],
  lossFn: () => tf.Scalar,
  h?: number,
): (v: Float32Array[]) => Float32Array[] {
  return (v) => {
    const tensors = v.map((data, i) =>
      tf.tensor(data, variables[i]!.shape, "float32")
    );
    const out = hvpFiniteDiff(variables, lossFn, tensors, h);
    const arrays = out.map((t) => t.dataSync() as Float32Array);
    tf.dispose([...tensors, ...out]);
    return arrays;
  };
}

/**
 * The mean loss of a Dense-ReLU MLP on (x, labels) with every ReLU gate
 * frozen at the current weights: h_l = (h_{l−1} W_l + b_l) ⊙ 1[z_l(w) > 0].
 * It equals the true loss at w and has the same gradient and (almost
 * everywhere) the same Hessian, but it is smooth, so finite differences of
 * its gradient do not jump at ReLU kinks. Without freezing, a step h along a
 * random unit direction of the 575k-parameter MLP flipped 19 gates of 500
 * samples at h = 1e-3 and made the central difference 2x asymmetric; with
 * freezing, λ_max agreed with tfjs's double back-propagation (correct for
 * ReLU + squared error) to 3e-6 and did not depend on h ∈ [1e-3, 1e-2].
 *
 * `variables` are [W₁, b₁, …, W_L, b_L] (model.ts order), ReLU after every
 * layer but the last. Call `dispose()` to free the masks.
 */
export function frozenReluMlpLoss(
  variables: tf.Variable[],
  x: tf.Tensor2D,
  labels: tf.Tensor1D,
  lossOf: (outputs: tf.Tensor2D, labels: tf.Tensor1D) => tf.Scalar,
): { lossFn: () => tf.Scalar; dispose: () => void } {
  if (variables.length === 0 || variables.length % 2 !== 0) {
    throw new Error(
      `variables: expected [kernel, bias] pairs of a Dense MLP, got ${variables.length} tensors`,
    );
  }
  const layers = variables.length / 2;
  // Masks at the current weights: [n, units] per hidden layer.
  const masks = tf.tidy(() => {
    const out: tf.Tensor[] = [];
    let h: tf.Tensor = x;
    for (let l = 0; l < layers - 1; l++) {
      const z = tf.add(tf.matMul(h, variables[2 * l]!), variables[2 * l + 1]!);
      const m = tf.cast(tf.greater(z, 0), "float32");
      out.push(m);
      h = tf.mul(z, m);
    }
    return out;
  });
  const lossFn = () =>
    tf.tidy(() => {
      let h: tf.Tensor = x; // [n, d]
      for (let l = 0; l < layers; l++) {
        h = tf.add(tf.matMul(h, variables[2 * l]!), variables[2 * l + 1]!);
        if (l < layers - 1) h = tf.mul(h, masks[l]!);
      }
      return lossOf(h as tf.Tensor2D, labels); // outputs [n, classes]
    });
  return { lossFn, dispose: () => tf.dispose(masks) };
}
