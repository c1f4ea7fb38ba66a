/**
 * Hessian-vector products of a mean loss (SCIENCE §1.3, §4.2, §5.2).
 *
 * - `mlpHessianAt` / `mlpHvp`: exact, for the Dense-ReLU MLP that model.ts
 *   builds, by forward-mode differentiation of the hand-written
 *   back-propagation of batch_gradient.ts (Pearlmutter's R-operator) with
 *   the ReLU gates of the current point. Used by the explicit penalty and by
 *   sharpness.
 * - `hvpFiniteDiff`: central differences of gradients, for models with no
 *   exact product (the CNN); its step and error are documented there.
 *
 * tfjs 4.22's double back-propagation is silently wrong through
 * softmax/logSoftmax/tanh, so second-order autodiff is never used.
 */
import * as tf from "@tensorflow/tfjs";
import type { LossName } from "./contracts.ts";
import { squaredNorm } from "./host_sums.ts";
import { lossAndOutputGradient } from "./losses.ts";
import { checkAligned, mlpLayers } from "./weights.ts";

/** Default finite-difference step along the unit direction v̂, in weight units: see `hvpFiniteDiff`. */
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
 * ReLU net. ReLU and max-pool kinks crossed within h make errors of O(1)
 * that do not shrink with h: on the 784-256-128-10 MLP (B = 50) the
 * penalized gradient g + 2λHg was 8.5–13% off at initialisation (17% and
 * 25% at the two points of tests/fixtures/hessian_reference.py), and
 * even with the gates held the O(h²) term moved λ_max by 3.4e-3 on a
 * well-fit network, more than sharpness's default tolerance. Use
 * `mlpHessianAt`/`mlpHvp` wherever the model is an MLP; this remains for
 * the CNN.
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
  checkAligned("v", variables, v);
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
 * A tensor product v ↦ Hv on plain arrays (one Float32Array per weight), the
 * shape `stages/metrics/sharpness.ts` iterates on; e.g.
 * `hvpOnArrays(vars, (v) => hessian.product(v))`.
 */
export function hvpOnArrays(
  weights: tf.Tensor[],
  product: (v: tf.Tensor[]) => tf.Tensor[],
): (v: Float32Array[]) => Float32Array[] {
  return (v) => {
    const tensors = v.map((data, i) =>
      tf.tensor(data, weights[i]!.shape, "float32")
    );
    try {
      const out = product(tensors);
      const arrays = out.map((t) => t.dataSync() as Float32Array);
      tf.dispose(out);
      return arrays;
    } finally {
      tf.dispose(tensors);
    }
  };
}

/** H v on one batch: `v` aligned with the weights; new tensors the caller disposes. */
export type BatchHvp = (
  x: tf.Tensor2D,
  y: tf.Tensor1D,
  v: tf.Tensor[],
) => tf.Tensor[];

/** The Hessian of one batch's mean loss at fixed weights, ready for many products. */
export interface HessianAt {
  /** H v, `v` aligned with the weights (any shapes of the same sizes); new tensors. */
  product(v: tf.Tensor[]): tf.Tensor[];
  /** Frees the forward and backward state kept for the products. */
  dispose(): void;
}

/**
 * The exact Hessian of the mean loss Ĉ of a model.ts MLP on (x, y)
 * (SCIENCE §1.3) at `weights` = [W_1, b_1, …, W_L, b_L], W_l [in, out].
 *
 * One forward and backward pass at w keeps, for each layer, its input
 * h_{l−1}, its ReLU gate m_l = 1[z_l > 0] (hidden layers) and
 * δ_l = ∂Ĉ/∂z_l (batch_gradient.ts's `mlpBackprop`, written out there).
 * A product then applies Pearlmutter's R-operator R(·) = d/dt(·)(w + t v)|₀
 * to that back-propagation, with v = (V_l, c_l):
 *
 *   forward   R(z_l) = R(h_{l−1}) W_l + h_{l−1} V_l + c_l,   R(h_0) = 0
 *             R(h_l) = R(z_l) ⊙ m_l       (gates held: ReLU'' = 0 a.e.)
 *   output    R(δ_L) = (p ⊙ R(f) − p (pᵀR(f))) / b      cross-entropy, p = softmax(f)
 *                    = 2 R(f) / b                       squared error
 *   backward  (Hv)_{W_l} = R(h_{l−1})ᵀ δ_l + h_{l−1}ᵀ R(δ_l)
 *             (Hv)_{b_l} = Σ_rows R(δ_l)
 *             R(δ_{l−1}) = (R(δ_l) W_lᵀ + δ_l V_lᵀ) ⊙ m_{l−1}
 *
 * This is Hv exactly (up to float32 rounding) wherever no pre-activation is
 * exactly 0, i.e. almost everywhere; at 0 the gate is 0, as in tfjs's and
 * PyTorch's ReLU gradient. Each product costs about two gradients' worth of
 * matrix products, and no finite-difference step enters. Activations are
 * kept transposed ([features, batch]) as in `mlpBackprop`, for the same WASM
 * reasons (matmul_plan.ts). Tested against PyTorch's full Hessian and double
 * back-propagation (tests/stages/nn/hvp_test.ts, penalty_test.ts).
 * The state is taken at construction: do not change `weights` before the
 * last product.
 */
export function mlpHessianAt(
  weights: tf.Tensor[],
  x: tf.Tensor2D,
  y: tf.Tensor1D,
  loss: LossName,
): HessianAt {
  checkMlpWeights(weights);
  const layers = mlpLayers(weights, "mlpHessianAt");
  const kernels = layers.kernels as tf.Tensor2D[];
  const state = hessianState(kernels, layers.biases, x, y, loss);
  return {
    product(v: tf.Tensor[]): tf.Tensor[] {
      checkAligned("v", weights, v);
      return tf.tidy(() => {
        const dir = mlpLayers(
          v.map((t, i) => tf.reshape(t, weights[i]!.shape)),
          "v",
        ); // V_l [in, out], c_l [out]
        const dirKernels = dir.kernels as tf.Tensor2D[];
        const r = rForward(kernels, state, dirKernels, dir.biases);
        return rBackward(kernels, state, dirKernels, r.rInputsT, r.rfT);
      });
    },
    dispose: () => tf.dispose(state.all),
  };
}

/**
 * What `mlpHessianAt` keeps from the pass at w, all transposed: inputs
 * h_{l−1}ᵀ [in_l, b], gates m_lᵀ [out_l, b] (hidden layers), δ_lᵀ [out_l, b],
 * and softmax(f)ᵀ [classes, b] for cross-entropy (else null).
 */
interface HessianState {
  inputsT: tf.Tensor2D[];
  gatesT: tf.Tensor2D[];
  deltasT: tf.Tensor2D[];
  probsT: tf.Tensor2D | null;
  /** Every tensor above, for disposal. */
  all: tf.Tensor2D[];
}

/** The forward and backward pass at w that every product of `mlpHessianAt` reuses. */
function hessianState(
  kernels: tf.Tensor2D[],
  biases: tf.Tensor[],
  x: tf.Tensor2D,
  y: tf.Tensor1D,
  loss: LossName,
): HessianState {
  const layers = kernels.length;
  const all = tf.tidy(() => {
    const inputsT: tf.Tensor2D[] = [];
    const gatesT: tf.Tensor2D[] = [];
    let hT = tf.transpose(x) as tf.Tensor2D; // [d, b]
    for (let l = 0; l < layers; l++) {
      inputsT.push(hT);
      const bias = tf.reshape(biases[l]!, [-1, 1]); // [out, 1]
      const zT = tf.add(tf.matMul(kernels[l]!, hT, true, false), bias); // [out, b]
      if (l < layers - 1) {
        gatesT.push(tf.step(zT) as tf.Tensor2D);
        hT = tf.relu(zT) as tf.Tensor2D;
      } else hT = zT as tf.Tensor2D;
    }
    const logits = tf.transpose(hT) as tf.Tensor2D; // [b, classes]
    const { dOutputs } = lossAndOutputGradient(logits, y, loss); // ∂Ĉ/∂f [b, classes]
    const deltasT: tf.Tensor2D[] = new Array(layers);
    deltasT[layers - 1] = tf.transpose(dOutputs) as tf.Tensor2D;
    for (let l = layers - 1; l > 0; l--) {
      deltasT[l - 1] = tf.mul(
        tf.matMul(kernels[l]!, deltasT[l]!),
        gatesT[l - 1]!,
      ) as tf.Tensor2D; // [in_l, b]
    }
    const probsT = loss === "cross_entropy"
      ? [tf.transpose(tf.softmax(logits)) as tf.Tensor2D]
      : [];
    return [...inputsT, ...gatesT, ...deltasT, ...probsT] as tf.Tensor2D[];
  });
  return {
    inputsT: all.slice(0, layers),
    gatesT: all.slice(layers, 2 * layers - 1),
    deltasT: all.slice(2 * layers - 1, 3 * layers - 1),
    probsT: all[3 * layers - 1] ?? null,
    all,
  };
}

/** The R-forward pass: R(h_{l−1})ᵀ per layer input (null for the data), and R(f)ᵀ [classes, b]. */
function rForward(
  kernels: tf.Tensor2D[],
  state: HessianState,
  dirKernels: tf.Tensor2D[],
  dirBiases: tf.Tensor[],
): { rInputsT: Array<tf.Tensor2D | null>; rfT: tf.Tensor2D } {
  const layers = kernels.length;
  const rInputsT: Array<tf.Tensor2D | null> = [];
  let rhT: tf.Tensor2D | null = null;
  for (let l = 0; l < layers; l++) {
    rInputsT.push(rhT);
    let rzT = tf.add(
      tf.matMul(dirKernels[l]!, state.inputsT[l]!, true, false), // V_lᵀ h_{l−1}ᵀ
      tf.reshape(dirBiases[l]!, [-1, 1]),
    ); // [out, b]
    if (rhT) rzT = tf.add(rzT, tf.matMul(kernels[l]!, rhT, true, false));
    rhT = (l < layers - 1 ? tf.mul(rzT, state.gatesT[l]!) : rzT) as tf.Tensor2D;
  }
  return { rInputsT, rfT: rhT! };
}

/** R(δ_L) from R(f), then the backward R pass: Hv per weight, [W_1, b_1, …]. */
function rBackward(
  kernels: tf.Tensor2D[],
  state: HessianState,
  dirKernels: tf.Tensor2D[],
  rInputsT: Array<tf.Tensor2D | null>,
  rfT: tf.Tensor2D,
): tf.Tensor[] {
  const { inputsT, gatesT, deltasT, probsT } = state;
  const layers = kernels.length;
  const b = rfT.shape[1];
  let rdT: tf.Tensor2D = probsT
    ? tf.div(
      tf.sub(
        tf.mul(probsT, rfT),
        tf.mul(probsT, tf.sum(tf.mul(probsT, rfT), 0, true)),
      ),
      b,
    )
    : tf.mul(rfT, 2 / b);
  const out: tf.Tensor[] = new Array(2 * layers);
  for (let l = layers - 1; l >= 0; l--) {
    let gw = tf.matMul(inputsT[l]!, rdT, false, true); // h_{l−1}ᵀ R(δ_l) [in, out]
    const rIn = rInputsT[l];
    if (rIn) gw = tf.add(gw, tf.matMul(rIn, deltasT[l]!, false, true));
    out[2 * l] = gw;
    out[2 * l + 1] = tf.sum(rdT, 1); // [out]
    if (l > 0) {
      rdT = tf.mul(
        tf.add(
          tf.matMul(kernels[l]!, rdT),
          tf.matMul(dirKernels[l]!, deltasT[l]!),
        ),
        gatesT[l - 1]!,
      ) as tf.Tensor2D; // R(δ_{l−1})ᵀ [in_l, b]
    }
  }
  return out;
}

/** (weights, batch, v) → Hv: `mlpHessianAt` for a single product. */
export function mlpHvp(
  weights: tf.Tensor[],
  x: tf.Tensor2D,
  y: tf.Tensor1D,
  v: tf.Tensor[],
  loss: LossName,
): tf.Tensor[] {
  const hessian = mlpHessianAt(weights, x, y, loss);
  try {
    return hessian.product(v);
  } finally {
    hessian.dispose();
  }
}

/** The exact batch product of a model.ts MLP at its variables' current values. */
export function mlpBatchHvp(
  variables: tf.Variable[],
  loss: LossName,
): BatchHvp {
  checkMlpWeights(variables);
  return (x, y, v) => mlpHvp(variables, x, y, v, loss);
}

/**
 * The finite-difference batch product (`hvpFiniteDiff`, step `h`) of
 * `lossOf(x, y)`, a function of the variables: for models with no exact
 * product (the CNN).
 */
export function finiteDiffBatchHvp(
  variables: tf.Variable[],
  lossOf: (x: tf.Tensor2D, y: tf.Tensor1D) => tf.Scalar,
  h?: number,
): BatchHvp {
  return (x, y, v) => hvpFiniteDiff(variables, () => lossOf(x, y), v, h);
}

/** Throws unless `weights` are [kernel [in, out], bias [out]] pairs that chain. */
function checkMlpWeights(weights: tf.Tensor[]): void {
  if (weights.length === 0 || weights.length % 2 !== 0) {
    throw new Error(
      `weights: expected [kernel, bias] pairs of a Dense MLP, got ${weights.length} tensors`,
    );
  }
  for (let l = 0; l < weights.length / 2; l++) {
    const w = weights[2 * l]!;
    const b = weights[2 * l + 1]!;
    const previous = l > 0 ? weights[2 * l - 2]!.shape[1] : w.shape[0];
    if (
      w.rank !== 2 || b.rank !== 1 || b.shape[0] !== w.shape[1] ||
      w.shape[0] !== previous
    ) {
      throw new Error(
        `weights: layer ${l} needs a kernel [${previous}, out] and a bias [out], got [${w.shape}] and [${b.shape}]`,
      );
    }
  }
}
