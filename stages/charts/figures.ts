/**
 * The report's figures as data (SCIENCE §7): which quantities each draws,
 * its axis scale, its panels, its caption and its reference lines. The
 * renderer (vl.ts) turns this table and the metrics document into Vega-Lite
 * specs; nothing here or there computes a formula: stability lines, η and β
 * come from the metrics stage (stages/metrics/groups.ts).
 */
import type { Quantity } from "../metrics/types.ts";
import { axisTitle, QUANTITIES } from "../quantities.ts";

/**
 * "auto": log when the means are positive and span more than two decades;
 * "log-if-positive": log whenever every value is positive (keeps a curve and
 * a far-off reference line both readable); "linear".
 */
export type YScale = "auto" | "log-if-positive" | "linear";

/** One quantity drawn in a figure; `label` names it in the legend or panel header. */
export interface Part {
  quantity: Quantity;
  label: string;
}

interface Base {
  id: string;
  title: string;
  /** One or two sentences saying what to look at. */
  caption: string;
  y: { title: string; scale: YScale };
}

/** Curves over epochs, one per group and part; the first part solid, the others dashed. */
export interface LinesFigure extends Base {
  kind: "lines";
  parts: Part[];
  /** Legend title of the dash (parts beyond the first). */
  partTitle?: string;
  /** Drawn when the first part has data, or only when every part has ("all"). */
  needs: "first" | "all";
  /** Small multiples: one panel per sweep cell, or one per part (independent y). */
  facet: "cell" | "part";
  /** Draw each group's edge-of-stability lines (metrics `GroupInfo.stability`). */
  stability?: boolean;
  /** A caption sentence about the largest mean of a quantity (e.g. a residual bound). */
  largest?: { quantity: Quantity; sentence: (max: string) => string };
}

/** Parts stacked as areas, one panel per group (their sum is a quantity of its own). */
export interface StackFigure extends Base {
  kind: "stack";
  parts: Part[];
}

/**
 * Last-epoch values against a swept param, one figure per one-key sweep;
 * log₂ x for positive numbers. `{name}` and `{key}` in title and caption are
 * the swept param's reader name and path.
 */
export interface SweepFigure extends Base {
  kind: "sweep";
  parts: Part[];
  partTitle?: string;
}

/** Validation error of every lr candidate on log₂ x, the chosen lr marked (`MetricsDoc.tuning`). */
export interface TuningFigure extends Base {
  kind: "tuning";
}

/** Loss along the line between two optimizers' weights (`MetricsDoc.barriers`). */
export interface BarrierFigure extends Base {
  kind: "barrier";
}

export type FigureDef =
  | LinesFigure
  | StackFigure
  | SweepFigure
  | TuningFigure
  | BarrierFigure;

const IR_TERM = "IR term";

/** A y axis titled from the registry: "label (unit)", `label` overriding the quantity's label. */
function axis(quantity: Quantity, scale: YScale, label?: string): Base["y"] {
  return { title: axisTitle(QUANTITIES, quantity, label), scale };
}
const MEAN_PART = "η/4 ‖ḡ‖² (mean part)";
const VAR_PART = "η/(4m) Σ‖g_k − ḡ‖² (variance part)";

/** The settings of a lines figure that most figures share, all overridable. */
type LinesEntry =
  & Pick<LinesFigure, "id" | "title" | "caption" | "parts">
  & Partial<Omit<LinesFigure, "kind" | "id" | "title" | "caption" | "parts">>;

/**
 * Curves over epochs with the usual settings: drawn when the first part has
 * data, one panel per sweep cell, y titled by the first part on an "auto" scale.
 */
function lines(entry: LinesEntry): LinesFigure {
  return {
    kind: "lines",
    needs: "first",
    facet: "cell",
    y: axis(entry.parts[0]!.quantity, "auto"),
    ...entry,
  };
}

/** The caption sentence of a sharpness figure: how far each value may be from an eigenvalue of `matrix`. */
function residualBound(
  quantity: Quantity,
  matrix: string,
): NonNullable<LinesFigure["largest"]> {
  return {
    quantity,
    sentence: (max) =>
      `Each value lies within its residual bound (relative; largest mean over seeds here ${max}) ` +
      `of an eigenvalue of ${matrix}.`,
  };
}

/** Every figure, in report order. */
export const FIGURES: readonly FigureDef[] = [
  lines({
    id: "train_error",
    title: "Train error (noisy labels)",
    caption:
      "Error on the training set with its noisy labels, mean ± 1 std over seeds; look at how " +
      "fast each optimizer fits the data, noise included.",
    parts: [{ quantity: "train_error", label: "train error" }],
  }),
  lines({
    id: "test_error",
    title: "Test error",
    caption:
      "Error on the clean test set, mean ± 1 std over seeds; look at the final level and at " +
      "any rise after the minimum (overfitting to the noisy labels).",
    parts: [{ quantity: "test_error", label: "test error" }],
  }),
  lines({
    id: "ir_term",
    title: "Implicit-regularization term per epoch",
    caption:
      "Solid lines are each optimizer's own term (SGD: SCIENCE §2.1, heavy ball: §2.4, " +
      "RMSprop/Adam: preconditioned §2.6) and dashed lines the SGD-form term computed for every " +
      "run; look at how fast each term shrinks as training proceeds.",
    parts: [
      { quantity: "ir_own", label: "own term" },
      { quantity: "ir_sgd", label: "SGD-form term η/(4m) Σ‖g_k‖²" },
    ],
    partTitle: "term",
    y: axis("ir_own", "auto", IR_TERM),
  }),
  lines({
    id: "norm",
    title: "Parameter L2 norm",
    caption:
      "The L2 norm of all weights and biases (solid) and of the weights alone " +
      "(dashed, biases excluded; SCIENCE §4.1); look at which optimizer's weights grow fastest.",
    parts: [
      { quantity: "norm", label: "all weights and biases" },
      { quantity: "norm_no_bias", label: "weights only (biases excluded)" },
    ],
    partTitle: "parameters",
  }),
  lines({
    id: "loss",
    title: "Train and test loss",
    caption:
      "The training objective on the noisy training labels (solid) and on the clean " +
      "test set (dashed); a widening gap is overfitting to the noise.",
    parts: [
      { quantity: "train_loss", label: "train (noisy labels)" },
      { quantity: "test_loss", label: "test" },
    ],
    partTitle: "set",
    y: axis("train_loss", "auto", "loss"),
  }),
  {
    kind: "stack",
    id: "ir_decomposition",
    title:
      "Decomposition of the SGD term: full-gradient part + mini-batch variance part",
    caption:
      "The two stacked areas add up to the SGD term exactly (SCIENCE §2.2); look at which " +
      "part dominates: a large variance part means the regularization comes from mini-batch noise.",
    parts: [
      { quantity: "ir_sgd_mean", label: MEAN_PART },
      { quantity: "ir_sgd_var", label: VAR_PART },
    ],
    y: axis("ir_sgd_mean", "linear", IR_TERM),
  },
  lines({
    id: "gd_vs_mean_part",
    title: "Full-batch term vs the mean part of the SGD term",
    caption:
      "η/4 ‖∇C‖² (dashed, SCIENCE §2.3) and η/4 ‖ḡ‖² (solid, SCIENCE §2.2) " +
      "coincide when all batches have the same size; look for a gap, which comes from " +
      "the smaller last batch.",
    parts: [
      { quantity: "ir_sgd_mean", label: "η/4 ‖ḡ‖² (mean of batch gradients)" },
      { quantity: "ir_gd", label: "η/4 ‖∇C‖² (full-batch gradient)" },
    ],
    partTitle: "term",
    needs: "all",
    y: axis("ir_gd", "auto", IR_TERM),
  }),
  lines({
    id: "trajectory_estimate",
    title: "SGD term at a snapshot vs the trajectory estimate",
    caption:
      "Solid: η/(4m) Σ‖g_k‖² with every batch gradient at the end-of-epoch weights " +
      "(SCIENCE §2.1); dashed: η/4 times the mean of ‖∇Ĉ_k(w_k)‖² along the epoch's steps, " +
      "a cheap estimate (SCIENCE §2.8); look at how closely the estimate tracks the term.",
    parts: [
      { quantity: "ir_sgd", label: "snapshot term (SCIENCE §2.1)" },
      {
        quantity: "ir_trajectory",
        label: "trajectory estimate (SCIENCE §2.8)",
      },
    ],
    partTitle: "measurement",
    needs: "all",
    y: axis("ir_sgd", "auto", IR_TERM),
  }),
  lines({
    id: "rms_terms",
    title: "RMSprop term: the paper's formula vs the preconditioned term",
    caption:
      "The paper's formula η/(4m) Σ‖s ⊙ g_k‖² multiplies by s ≈ g² instead of dividing " +
      "by √s, so it scales like |g|⁶ per coordinate and vanishes as gradients shrink; that alone " +
      "can make adaptive methods look as if they had no implicit term (SCIENCE §2.7). The " +
      "preconditioned term η/(4m) Σ_k Σ_j g²/(√v+ε) is what backward error analysis gives; " +
      "compare how the two panels evolve.",
    parts: [
      { quantity: "ir_rms_paper", label: "paper's formula (SCIENCE §2.5)" },
      { quantity: "ir_preconditioned", label: "preconditioned (SCIENCE §2.6)" },
    ],
    needs: "all",
    facet: "part",
    y: axis("ir_preconditioned", "auto", IR_TERM),
  }),
  lines({
    id: "one_norm",
    title: "Perturbed one-norm of the mean gradient",
    caption:
      "The perturbed one-norm Σ_j √(ḡ_j² + ε) that Adam's dynamics (anti-)penalize " +
      "(Cattaneo, Klusowski & Shigida 2024; SCIENCE §2.6); compare how it evolves across optimizers.",
    parts: [{ quantity: "one_norm", label: "one-norm" }],
  }),
  lines({
    id: "memorisation",
    title: "Train error on clean vs corrupted labels (memorisation)",
    caption:
      "Error against the (possibly wrong) training labels: when the dashed corrupted-part " +
      "curve falls toward zero the network is memorising noise; compare when each optimizer " +
      "starts to do so.",
    parts: [
      { quantity: "train_clean_error", label: "clean part" },
      { quantity: "train_corrupt_error", label: "corrupted part" },
    ],
    partTitle: "training subset",
    needs: "all",
    y: axis("train_error", "auto"),
  }),
  lines({
    id: "sharpness",
    title: "Sharpness: top Hessian eigenvalue",
    caption:
      "Look at whether sharpness rises to its optimizer's edge-of-stability limit (dashed: " +
      "2/η for GD/SGD, (2+2β)/η for heavy ball, SCIENCE §4.2, with η as the runs used it) and " +
      "stays there; adaptive methods have no such line here, their limit is on the preconditioned " +
      "Hessian (next figure).",
    parts: [{ quantity: "sharpness", label: "top eigenvalue (mean ± std)" }],
    stability: true,
    largest: residualBound("sharpness_residual", "the Hessian"),
    y: axis("sharpness", "log-if-positive"),
  }),
  lines({
    id: "preconditioned_sharpness",
    title: "Preconditioned sharpness: top eigenvalue of P⁻¹H",
    caption:
      "RMSprop's and Adam's top eigenvalue of P⁻¹H, with the optimizer's preconditioner P frozen " +
      "at each checkpoint (SCIENCE §4.2.1); look at whether it rises to its dashed limit, 2/η for " +
      "RMSprop and (2+2β₁)/((1−β₁)η) for Adam (38/η at β₁ = 0.9), and hovers there (the adaptive " +
      "edge of stability): full-batch runs should, mini-batch runs settle below it.",
    parts: [{
      quantity: "preconditioned_sharpness",
      label: "top eigenvalue of P⁻¹H (mean ± std)",
    }],
    stability: true,
    largest: residualBound("preconditioned_sharpness_residual", "P⁻¹H"),
    y: axis("preconditioned_sharpness", "log-if-positive"),
  }),
  lines({
    id: "hessian_trace",
    title: "Hessian trace (Hutchinson)",
    caption:
      "Hutchinson's estimate of the trace of the Hessian on the sharpness subset (SCIENCE §4.2); " +
      "look at whether the total curvature follows the top eigenvalue or moves on its own.",
    parts: [{ quantity: "hessian_trace", label: "trace" }],
  }),
  lines({
    id: "dist_init",
    title: "Distance from initialization",
    caption:
      "How far the weights travel from their initial values; look at whether an optimizer " +
      "keeps moving after its train error has flattened.",
    parts: [{ quantity: "dist_init", label: "distance" }],
  }),
  {
    kind: "sweep",
    id: "sweep_{slug}",
    title: "Final test error vs {name}",
    caption:
      "Each point is the test error at the last epoch (mean ± 1 std over seeds) for one value " +
      "of {key}; look for the value each optimizer prefers and how flat its curve is.",
    parts: [{ quantity: "test_error", label: "test error" }],
    y: axis("test_error", "auto"),
  },
  {
    kind: "sweep",
    id: "sweep_ir_{slug}",
    title: "SGD term parts at the last epoch vs {name}",
    caption:
      "The two parts of the SGD term (SCIENCE §2.2) at the last epoch for each value of {key}; " +
      "at fixed η the variance part should fall roughly like 1/B as the batch grows, but the " +
      "runs ended at different weights, so read the trend, not single points.",
    parts: [
      { quantity: "ir_sgd_mean", label: MEAN_PART },
      { quantity: "ir_sgd_var", label: VAR_PART },
    ],
    partTitle: "part",
    y: axis("ir_sgd_mean", "auto", IR_TERM),
  },
  {
    kind: "tuning",
    id: "lr_tuning",
    title: "Learning-rate tuning on the held-out split",
    caption:
      "Each optimizer's candidate learning rates against the error on a held-out part " +
      "of the training set; the large point is the lr the final runs used.",
    y: axis("test_error", "linear", "validation error"),
  },
  {
    kind: "barrier",
    id: "loss_barrier",
    title: "Loss along the line between two optimizers' solutions",
    caption:
      "Mean training loss at (1−t)·w_a + t·w_b for runs of the same seed; a bump above " +
      "the straight line between the end points is a barrier, meaning the two optimizers " +
      "found solutions in different basins.",
    y: axis("train_loss", "auto"),
  },
];
