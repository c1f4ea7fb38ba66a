/**
 * The preconditioned sharpness of SCIENCE §4.2.1 (Cohen et al. 2022,
 * "Adaptive Gradient Methods at the Edge of Stability"): the optimizer's
 * preconditioner P frozen at a checkpoint, read from its saved state, and the
 * stability lines the plain and the preconditioned sharpness are compared
 * with. Pure functions of an optimizer config and its saved state.
 */
import type { OptimizerConfig } from "../nn/contracts.ts";
import { OPTIMIZER_DEFAULTS } from "../train/params.ts";
import { eosThreshold } from "./sharpness.ts";

/** An optimizer's saved state (`Optimizer.saveState()`): arrays `slot.i` per variable, scalars with `steps`. */
export interface SavedOptimizerState {
  arrays: Record<string, Float32Array>;
  scalars: Record<string, number>;
}

/** The optimizers whose update divides by a diagonal preconditioner P (SCIENCE §4.2.1). */
export function isPreconditioned(config: Pick<OptimizerConfig, "name">) {
  return config.name === "rmsprop" || config.name === "adam";
}

/**
 * The stability lines of a run (SCIENCE §4.2, §4.2.1): `plain` for the top
 * eigenvalue of H, 2/η for GD/SGD and (2+2β)/η for heavy-ball β (NaN for
 * adaptive methods, stable against a preconditioned limit instead);
 * `preconditioned` for λ₁(P⁻¹H): RMSprop 2/η without momentum and
 * (2+2μ)/η with momentum μ (PyTorch's buf = μ·buf + g/P, w −= η·buf is
 * heavy-ball on the preconditioned problem, the §4.2 line); Adam
 * (2+2β₁)/((1−β₁)η), 38/η at β₁ = 0.9, since its m is an average
 * (damped by 1−β₁) with P including the bias correction 1−β₁^t. NaN where
 * no line applies (SWATS switches rules mid-run; GD has P = I).
 */
export function stabilityThresholds(
  config: Pick<OptimizerConfig, "name" | "lr" | "momentum" | "beta1">,
): { plain: number; preconditioned: number } {
  const lr = config.lr;
  const momentum = config.momentum ?? OPTIMIZER_DEFAULTS.momentum;
  switch (config.name) {
    case "gd":
    case "sgd":
      return { plain: eosThreshold(lr, momentum), preconditioned: NaN };
    case "rmsprop":
      return { plain: NaN, preconditioned: eosThreshold(lr, momentum) };
    case "adam": {
      const b1 = config.beta1 ?? OPTIMIZER_DEFAULTS.beta1;
      return { plain: NaN, preconditioned: (2 + 2 * b1) / ((1 - b1) * lr) };
    }
    default:
      return { plain: NaN, preconditioned: NaN };
  }
}

/**
 * d = P^{-1/2} per variable, so that D·H·D (`scaledHvp(hvp, d)`) has the
 * eigenvalues of P⁻¹H (SCIENCE §4.2.1), with P frozen at the saved state:
 * RMSprop P = √v + ε with v = s (centered: s − ḡ², what its update divides
 * by); Adam P = (1−β₁^t)·(√v̂ + ε), v̂ = v/(1−β₂^t), so that its step is
 * exactly −η·P⁻¹m. Computed in float64, returned as float32 like the
 * Hessian-vector products. The state is the one saved with the checkpoint's
 * weights w_t: its v has seen the gradients up to w_{t−1}; the P of the next
 * step (Cohen et al.'s P_t) adds g(w_t)² with weight 1−β₂ (Adam 0.001;
 * RMSprop 1−α = 0.01), which moves P_j by about (1−β₂)(g_j²/v_j − 1)/2
 * relative. Null when P is not defined: optimizers without a
 * preconditioner, and t = 0 (before the first step v is PyTorch's zero
 * init, not an estimate, and Adam's P is 0). `variables` is the number of
 * parameter tensors (the state holds one array per tensor, `slot.i`).
 */
export function inverseSqrtPreconditioner(
  config: Pick<
    OptimizerConfig,
    "name" | "eps" | "beta1" | "beta2" | "centered"
  >,
  state: SavedOptimizerState,
  variables: number,
): Float32Array[] | null {
  if (!isPreconditioned(config)) return null;
  const t = state.scalars["steps"];
  if (t === undefined || !Number.isInteger(t) || t < 0) {
    throw new Error(
      `optimizer state: scalars.steps must be a non-negative integer, got ${t}`,
    );
  }
  if (t === 0) return null;
  const eps = config.eps ?? OPTIMIZER_DEFAULTS.eps;
  const array = (name: string, i: number): Float32Array => {
    const a = state.arrays[`${name}.${i}`];
    if (a === undefined) {
      throw new Error(
        `optimizer state: array '${name}.${i}' is missing (${config.name} saves ${name}.0 … ${name}.${
          variables - 1
        })`,
      );
    }
    return a;
  };
  const out: Float32Array[] = [];
  for (let i = 0; i < variables; i++) {
    let p: Float64Array;
    if (config.name === "adam") {
      const b1 = config.beta1 ?? OPTIMIZER_DEFAULTS.beta1;
      const b2 = config.beta2 ?? OPTIMIZER_DEFAULTS.beta2;
      const bc1 = 1 - b1 ** t;
      const bc2 = 1 - b2 ** t;
      const v = array("exp_avg_sq", i);
      p = Float64Array.from(v, (x) => bc1 * (Math.sqrt(x / bc2) + eps));
    } else {
      const s = array("square_avg", i);
      const g = config.centered ? array("grad_avg", i) : null;
      p = Float64Array.from(
        s,
        // max(0, ·): float rounding can make s − ḡ² a hair negative.
        (x, j) => Math.sqrt(g ? Math.max(0, x - g[j]! * g[j]!) : x) + eps,
      );
    }
    out.push(Float32Array.from(p, (x) => 1 / Math.sqrt(x)));
  }
  return out;
}
