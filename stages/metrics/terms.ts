/**
 * Derived implicit-regularization terms (SCIENCE §2) from the raw sums the
 * train stage records. Pure functions of numbers; NaN in gives NaN out, so a
 * quantity that does not apply to an optimizer stays "not measured".
 */
import type { OptimizerConfig } from "../nn/contracts.ts";
import { preconditionedScale } from "../nn/preconditioned_scale.ts";
import type { Quantity } from "./types.ts";
import { TERM_QUANTITIES } from "../quantities.ts";

/** SCIENCE §2.1: IR_sgd = η/(4m) Σ_k ||g_k||². */
export function irSgd(lr: number, m: number, sumG2: number): number {
  return (lr / (4 * m)) * sumG2;
}

/** SCIENCE §2.2, first part: η/4 ||ḡ||². */
export function irSgdMean(lr: number, gbar2: number): number {
  return (lr / 4) * gbar2;
}

/** SCIENCE §2.2, second part: η/(4m) Σ_k ||g_k − ḡ||². */
export function irSgdVar(lr: number, m: number, sumDev2: number): number {
  return (lr / (4 * m)) * sumDev2;
}

/** SCIENCE §2.3: IR_gd = η/4 ||∇C||² (the sample-weighted full gradient). */
export function irGd(lr: number, fullGrad2: number): number {
  return (lr / 4) * fullGrad2;
}

/**
 * SCIENCE §2.4 (Ghosh et al. 2023, heavy ball): (1+β)/(1−β)² · η/(4m) Σ_k ||g_k||².
 * At β = 0 it equals `irSgd`; at β = 0.9 it is 190× larger.
 */
export function irMomentum(
  lr: number,
  m: number,
  sumG2: number,
  beta: number,
): number {
  return ((1 + beta) / ((1 - beta) * (1 - beta))) * irSgd(lr, m, sumG2);
}

/** SCIENCE §2.5, the paper's RMSprop formula as written: η/(4m) Σ_k ||s ⊙ g_k||². */
export function irRmsPaper(lr: number, m: number, sumSG2: number): number {
  return (lr / (4 * m)) * sumSG2;
}

/**
 * SCIENCE §2.6, preconditioned term: scale · η/(4m) Σ_k Σ_j g_kj²/(√v_j + ε),
 * with scale = (1+β₁)/(1−β₁) for Adam and (1+μ)/(1−μ)² for RMSprop with
 * momentum μ (`preconditionedScale`).
 */
export function irPreconditioned(
  lr: number,
  m: number,
  sumPre: number,
  preScale: number,
): number {
  return preScale * (lr / (4 * m)) * sumPre;
}

/**
 * SCIENCE §2.8, trajectory *estimate*: η/4 · mean_k ||∇Ĉ_k(w_k)||². This is
 * §2.1's η/(4m) Σ_k ||g_k||² = η/4 · (1/m) Σ_k ||g_k||² with each g_k taken at
 * the weights of its own step instead of one snapshot, so it is not §2.1.
 */
export function irTrajectory(lr: number, trajG2: number): number {
  return (lr / 4) * trajG2;
}

/** One epoch's raw sums, as the record stores them (SCIENCE §2). */
export interface RawSums {
  /** η at that epoch (SWATS changes it). */
  lr: number;
  m: number;
  sum_g2: number;
  gbar2: number;
  sum_dev2: number;
  full_grad2: number;
  sum_pre: number;
  /**
   * The scale the optimizer reported. `deriveTerms` does not read it: it
   * recomputes the scale from the config, so records written while RMSprop
   * with momentum reported 1 still give the §2.6 term.
   */
  pre_scale: number;
  sum_s_g2: number;
  one_norm: number;
  traj_g2: number;
}

/** The derived terms of one snapshot. */
export type Terms = Record<TermQuantity, number>;

/** The quantities `deriveTerms` produces: the registry's "derived" rows but `ir_own`. */
export type TermQuantity = typeof TERM_QUANTITIES[number];
export { TERM_QUANTITIES };

/**
 * The heavy-ball β a run's dynamics have (SCIENCE §2.4): SGD/GD momentum, and
 * SWATS's β₁ (it continues as SGD with momentum β₁ after the switch, SCIENCE §3).
 * NaN for RMSprop/Adam, whose momentum is not heavy ball on the raw gradient.
 */
export function heavyBallBeta(config: OptimizerConfig): number {
  if (config.name === "sgd" || config.name === "gd") {
    return config.momentum ?? 0;
  }
  if (config.name === "swats") return config.beta1 ?? 0.9;
  return NaN;
}

/** Every derived term of one snapshot; `ir_momentum` is NaN unless the run is heavy ball with β > 0. */
export function deriveTerms(sums: RawSums, config: OptimizerConfig): Terms {
  const { lr, m } = sums;
  const beta = heavyBallBeta(config);
  return {
    ir_sgd: irSgd(lr, m, sums.sum_g2),
    ir_sgd_mean: irSgdMean(lr, sums.gbar2),
    ir_sgd_var: irSgdVar(lr, m, sums.sum_dev2),
    ir_gd: irGd(lr, sums.full_grad2),
    // Only a heavy-ball run has this term; at β = 0 it would repeat ir_sgd.
    ir_momentum: beta > 0 ? irMomentum(lr, m, sums.sum_g2, beta) : NaN,
    ir_rms_paper: irRmsPaper(lr, m, sums.sum_s_g2),
    ir_preconditioned: irPreconditioned(
      lr,
      m,
      sums.sum_pre,
      preconditionedScale(config),
    ),
    one_norm: sums.one_norm,
    ir_trajectory: irTrajectory(lr, sums.traj_g2),
  };
}

/**
 * The term that belongs to an optimizer, reported as `ir_own`:
 * - gd → `ir_gd` (SCIENCE §2.3); with momentum → `ir_momentum` (m = 1, §2.4);
 * - sgd → `ir_sgd` (§2.1); with momentum > 0 → `ir_momentum` (§2.4);
 * - rmsprop, adam → `ir_preconditioned` (§2.6), the term backward error
 *   analysis gives for a frozen preconditioner. The paper's own formula
 *   (§2.5, `ir_rms_paper`) is not an implicit regularizer of RMSprop's
 *   dynamics (§2.7), so it is kept as a separate series for every optimizer,
 *   beside `ir_sgd`, and never used as `ir_own`;
 * - swats → `ir_preconditioned` during its Adam phase and `ir_momentum` with
 *   β = β₁ after the switch (see `ownValue`).
 * Nesterov momentum is given the heavy-ball term: §2.4 is derived for heavy
 * ball only, so for Nesterov runs `ir_own` is an approximation.
 */
export function ownTerm(config: OptimizerConfig): Quantity {
  switch (config.name) {
    case "gd":
      return (config.momentum ?? 0) > 0 ? "ir_momentum" : "ir_gd";
    case "sgd":
      return (config.momentum ?? 0) > 0 ? "ir_momentum" : "ir_sgd";
    case "rmsprop":
    case "adam":
    case "swats":
      return "ir_preconditioned";
    default:
      throw new Error(
        `optimizer.name '${
          String(config.name)
        }' is not one of gd, sgd, rmsprop, adam, swats`,
      );
  }
}

/**
 * `ir_own` of one snapshot. SWATS: the preconditioned term while the record
 * has one (sum_pre finite: Adam phase), else the heavy-ball term (SGD phase).
 */
export function ownValue(terms: Terms, config: OptimizerConfig): number {
  const own = ownTerm(config) as TermQuantity;
  if (config.name === "swats" && !Number.isFinite(terms.ir_preconditioned)) {
    return terms.ir_momentum;
  }
  return terms[own];
}
