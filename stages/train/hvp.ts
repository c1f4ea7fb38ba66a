/**
 * Hessian-vector products by central finite differences of gradients
 * (SCIENCE §4.2). tfjs 4.22's double back-propagation is silently wrong
 * through softmax/logSoftmax/tanh, so second-order autodiff is never used.
 */
import * as tf from "@tensorflow/tfjs";

/** Default step, relative to max(1, ||w||): see `hvpFiniteDiff`. */
export const DEFAULT_RELATIVE_STEP = 1e-3;

/**
 * H v ≈ (∇L(w + h v̂) − ∇L(w − h v̂)) · ||v|| / (2h), v̂ = v/||v||.
 *
 * Step: h = 1e-3 · max(1, ||w||) unless given (an absolute step along the
 * unit vector v̂). In float32 three errors compete: truncation O(h²) relative
 * to the scale ||w|| on which the Hessian varies (~1e-6 here); rounding of
 * w ± h v̂ to float32, which perturbs the direction by ~2⁻²⁴·||w||/h (~6e-5);
 * and rounding of the gradients, ~2⁻²⁴·||∇L||/h. h/||w|| = 1e-3 keeps all
 * three below 1e-4 relative for ordinary nets. ReLU kinks crossed within h
 * add an error proportional to the fraction of units that flip.
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
  const vNorm = Math.sqrt(sumSquares(v));
  if (vNorm === 0) return variables.map((x) => tf.zerosLike(x));
  const step = h ??
    DEFAULT_RELATIVE_STEP * Math.max(1, Math.sqrt(sumSquares(variables)));
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

/** Σ ||t||² over tensors, accumulated in float64. */
function sumSquares(tensors: tf.Tensor[]): number {
  let sum = 0;
  for (const t of tensors) {
    const data = t.dataSync();
    for (let j = 0; j < data.length; j++) sum += data[j]! * data[j]!;
  }
  return sum;
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
