/**
 * The quantity registry: one table naming every per-epoch quantity the
 * pipeline records or derives (SCIENCE §2, §4), with its label, unit,
 * SCIENCE § and where it comes from. The Quantity type, the record columns,
 * the metrics series order, the final summary numbers, the data dictionary
 * and the charts' axis titles are all read from it, so adding a quantity
 * touches this table and the code that computes it, nothing else.
 */

/**
 * Where a quantity's values come from:
 * - "record": a column of the training record, copied through by metrics;
 * - "derived": computed by the metrics stage from the record's raw sums (SCIENCE §2);
 * - "sharpness": measured by the sharpness stage on checkpoints (SCIENCE §4.2).
 */
export type QuantitySource = "record" | "derived" | "sharpness";

/** One row of the registry. */
export interface QuantitySpec {
  readonly id: string;
  /** Short name for legends and axis titles, e.g. "test error". */
  readonly label: string;
  /** Unit as the data dictionary states it. */
  readonly unit: string;
  /** Short unit for axis titles, e.g. "fraction". */
  readonly axis: string;
  readonly description: string;
  /** Where SCIENCE.md defines it, e.g. "§2.1". */
  readonly science?: string;
  readonly source: QuantitySource;
  /**
   * False for a record column the metrics stage does not publish as a series
   * (the clean/corrupted losses: kept in the record, not in metrics.csv).
   */
  readonly series: boolean;
  /** Whether its value at the last finite epoch is a summary number `final_<id>`. */
  readonly final: boolean;
  /**
   * How seeds combine: mean ± sample std (n − 1 denominator) of the finite
   * values per epoch, SCIENCE §7; the only rule so far.
   */
  readonly aggregate: "mean_std";
}

const LOSS = "loss units (mean over samples: nats for cross-entropy)";
const TERM = "loss units (η × squared gradient norm)";
const FRACTION = "fraction (0–1)";

/**
 * Every quantity, in the order of the metrics document and its CSVs (the
 * record keeps the same relative order for its "record" rows).
 */
export const QUANTITIES = [
  {
    id: "train_loss",
    label: "train loss",
    unit: LOSS,
    axis: "loss units",
    description: "mean training loss (noisy labels)",
    source: "record",
    series: true,
    final: true,
    aggregate: "mean_std",
  },
  {
    id: "train_error",
    label: "train error",
    unit: FRACTION,
    axis: "fraction",
    description: "training error (1 − accuracy) against the noisy labels",
    science: "§4.3",
    source: "record",
    series: true,
    final: true,
    aggregate: "mean_std",
  },
  {
    id: "train_clean_loss",
    label: "train loss, clean part",
    unit: LOSS,
    axis: "loss units",
    description: "mean training loss on the samples whose label was kept",
    science: "§4.3",
    source: "record",
    series: false,
    final: false,
    aggregate: "mean_std",
  },
  {
    id: "train_clean_error",
    label: "train error, clean part",
    unit: FRACTION,
    axis: "fraction",
    description: "training error on the samples whose label was kept",
    science: "§4.3",
    source: "record",
    series: true,
    final: true,
    aggregate: "mean_std",
  },
  {
    id: "train_corrupt_loss",
    label: "train loss, corrupted part",
    unit: LOSS,
    axis: "loss units",
    description:
      "mean training loss on the corrupted samples, against their noisy labels",
    science: "§4.3",
    source: "record",
    series: false,
    final: false,
    aggregate: "mean_std",
  },
  {
    id: "train_corrupt_error",
    label: "train error, corrupted part",
    unit: FRACTION,
    axis: "fraction",
    description:
      "training error on the corrupted samples, against their noisy labels (1 − memorised share)",
    science: "§4.3",
    source: "record",
    series: true,
    final: true,
    aggregate: "mean_std",
  },
  {
    id: "test_loss",
    label: "test loss",
    unit: LOSS,
    axis: "loss units",
    description: "mean test loss (clean labels)",
    source: "record",
    series: true,
    final: true,
    aggregate: "mean_std",
  },
  {
    id: "test_error",
    label: "test error",
    unit: FRACTION,
    axis: "fraction",
    description: "test error (1 − accuracy)",
    science: "§4.3",
    source: "record",
    series: true,
    final: true,
    aggregate: "mean_std",
  },
  {
    id: "ir_own",
    label: "own IR term",
    unit: TERM,
    axis: "loss units",
    description:
      "the IR term that belongs to the run's optimizer (SGD: ir_sgd; heavy-ball: ir_momentum; adaptive: ir_preconditioned)",
    science: "§2",
    source: "derived",
    series: true,
    final: true,
    aggregate: "mean_std",
  },
  {
    id: "ir_sgd",
    label: "SGD term",
    unit: TERM,
    axis: "loss units",
    description: "η/(4m) Σ_k ‖g_k‖², mini-batch gradients at one snapshot",
    science: "§2.1",
    source: "derived",
    series: true,
    final: true,
    aggregate: "mean_std",
  },
  {
    id: "ir_sgd_mean",
    label: "SGD term, mean part",
    unit: TERM,
    axis: "loss units",
    description: "η/4 ‖ḡ‖², the mean-gradient part of ir_sgd",
    science: "§2.2",
    source: "derived",
    series: true,
    final: true,
    aggregate: "mean_std",
  },
  {
    id: "ir_sgd_var",
    label: "SGD term, variance part",
    unit: TERM,
    axis: "loss units",
    description: "η/(4m) Σ_k ‖g_k − ḡ‖², the variance part of ir_sgd",
    science: "§2.2",
    source: "derived",
    series: true,
    final: true,
    aggregate: "mean_std",
  },
  {
    id: "ir_gd",
    label: "full-batch term",
    unit: TERM,
    axis: "loss units",
    description: "η/4 ‖∇C‖²",
    science: "§2.3",
    source: "derived",
    series: true,
    final: true,
    aggregate: "mean_std",
  },
  {
    id: "ir_momentum",
    label: "heavy-ball term",
    unit: TERM,
    axis: "loss units",
    description: "(1+β)/(1−β)² · η/(4m) Σ_k ‖g_k‖²",
    science: "§2.4",
    source: "derived",
    series: true,
    final: true,
    aggregate: "mean_std",
  },
  {
    id: "ir_rms_paper",
    label: "paper's RMSprop term",
    unit: "loss units × gradient⁴ (as written by the paper)",
    axis: "loss units × gradient⁴",
    description: "the paper's RMSprop formula η/(4m) Σ_k ‖s ⊙ g_k‖²",
    science: "§2.5",
    source: "derived",
    series: true,
    final: true,
    aggregate: "mean_std",
  },
  {
    id: "ir_preconditioned",
    label: "preconditioned term",
    unit: TERM,
    axis: "loss units",
    description:
      "η/(4m) Σ_k Σ_j g_kj²/(√v_j + ε), × (1+β₁)/(1−β₁) for Adam, × (1+μ)/(1−μ)² for RMSprop with momentum",
    science: "§2.6",
    source: "derived",
    series: true,
    final: true,
    aggregate: "mean_std",
  },
  {
    id: "one_norm",
    label: "Σ_j √(ḡ_j² + ε)",
    unit: "gradient units (loss / weight)",
    axis: "gradient units",
    description: "perturbed one-norm Σ_j √(ḡ_j² + ε)",
    science: "§2.6",
    source: "derived",
    series: true,
    final: true,
    aggregate: "mean_std",
  },
  {
    id: "ir_trajectory",
    label: "trajectory estimate of the SGD term",
    unit: TERM,
    axis: "loss units",
    description:
      "estimate: η/4 · mean over the epoch's steps of ‖∇Ĉ_k(w_k)‖², each at the weights of its step",
    science: "§2.8",
    source: "derived",
    series: true,
    final: true,
    aggregate: "mean_std",
  },
  {
    id: "norm",
    label: "‖w‖₂",
    unit: "weight units",
    axis: "weight units",
    description: "‖w‖₂ over all weights and biases",
    science: "§4.1",
    source: "record",
    series: true,
    final: true,
    aggregate: "mean_std",
  },
  {
    id: "norm_no_bias",
    label: "‖w‖₂ without biases",
    unit: "weight units",
    axis: "weight units",
    description: "‖w‖₂ over the weights, biases excluded",
    science: "§4.1",
    source: "record",
    series: true,
    final: true,
    aggregate: "mean_std",
  },
  {
    id: "dist_init",
    label: "‖w − w₀‖₂",
    unit: "weight units",
    axis: "weight units",
    description: "‖w − w₀‖₂, distance from the initial weights",
    science: "§4.1",
    source: "record",
    series: true,
    final: true,
    aggregate: "mean_std",
  },
  {
    id: "sharpness",
    label: "top Hessian eigenvalue",
    unit: "loss / weight²",
    axis: "loss / weight²",
    description:
      "top eigenvalue of the Hessian of the training loss on a fixed seeded subset",
    science: "§4.2",
    source: "sharpness",
    series: true,
    final: true,
    aggregate: "mean_std",
  },
  {
    id: "sharpness_residual",
    label: "sharpness residual bound",
    unit: "ratio",
    axis: "ratio",
    description:
      "relative residual ‖Hv − λv‖/|λ| reached by the sharpness estimate: a bound on its relative error",
    science: "§4.2",
    source: "sharpness",
    series: true,
    final: true,
    aggregate: "mean_std",
  },
  {
    id: "preconditioned_sharpness",
    label: "top eigenvalue of P⁻¹H",
    unit:
      "1 / weight (P is a gradient scale, so P⁻¹H has the units of 1/η of an adaptive method)",
    axis: "1 / weight",
    description:
      "top eigenvalue of P⁻¹H, the Hessian preconditioned by the optimizer's P frozen at the checkpoint (RMSprop √v + ε; Adam (1−β₁^t)(√v̂ + ε)); its stability line is 2/η for RMSprop, (2+2β₁)/((1−β₁)η) for Adam",
    science: "§4.2.1",
    source: "sharpness",
    series: true,
    final: true,
    aggregate: "mean_std",
  },
  {
    id: "preconditioned_sharpness_residual",
    label: "preconditioned sharpness residual bound",
    unit: "ratio",
    axis: "ratio",
    description:
      "relative residual reached by the preconditioned sharpness estimate: a bound on its relative error",
    science: "§4.2.1",
    source: "sharpness",
    series: true,
    final: true,
    aggregate: "mean_std",
  },
  {
    id: "hessian_trace",
    label: "tr(H) estimate",
    unit: "loss / weight²",
    axis: "loss per weight²",
    description: "Hutchinson estimate of the Hessian's trace (when asked)",
    science: "§4.2",
    source: "sharpness",
    series: true,
    final: false,
    aggregate: "mean_std",
  },
] as const satisfies readonly QuantitySpec[];

type Row = typeof QUANTITIES[number];

/** Names of per-epoch quantities the metrics stage publishes as series. */
export type Quantity = Extract<Row, { series: true }>["id"];

/** Quantities the metrics stage derives from the record's raw sums. */
export type DerivedQuantity = Extract<Row, { source: "derived" }>["id"];

/** Quantities that are columns of the training record. */
export type RecordedQuantity = Extract<Row, { source: "record" }>["id"];

/**
 * Raw sums of one snapshot stored in the record (SCIENCE §2), from which the
 * "derived" quantities are computed downstream; see `SnapshotSums`.
 */
export const RAW_SUM_COLUMNS = [
  "m",
  "sum_g2",
  "gbar2",
  "sum_dev2",
  "full_grad2",
  "sum_pre",
  "sum_s_g2",
  "one_norm",
  "pre_scale",
  "traj_g2",
] as const;

/** The record's columns: epoch and η, the recorded quantities, then the raw sums. */
export function recordColumns<S extends QuantitySpec>(
  registry: readonly S[],
): string[] {
  return [
    "epoch",
    "lr",
    ...registry.filter((q) => q.source === "record").map((q) => q.id),
    ...RAW_SUM_COLUMNS,
  ];
}

/** Series order of the metrics document, runs.csv and metrics.csv. */
export function seriesOrder<S extends QuantitySpec>(
  registry: readonly S[],
): S["id"][] {
  return registry.filter((q) => q.series).map((q) => q.id);
}

/** Quantities whose final value is a summary number `final_<id>`. */
export function finalQuantities<S extends QuantitySpec>(
  registry: readonly S[],
): S["id"][] {
  return registry.filter((q) => q.series && q.final).map((q) => q.id);
}

/** Series quantities the metrics stage computes from a given source. */
export function quantitiesFrom<S extends QuantitySpec>(
  registry: readonly S[],
  source: QuantitySource,
): S["id"][] {
  return registry.filter((q) => q.series && q.source === source).map((q) =>
    q.id
  );
}

/** What a quantity is, its unit, and where SCIENCE.md defines it: a data-dictionary entry. */
export interface QuantityInfo {
  description: string;
  unit: string;
  science?: string;
}

/** The data dictionary of the series quantities, keyed by id. */
export function quantityInfo<S extends QuantitySpec>(
  registry: readonly S[],
): Record<S["id"], QuantityInfo> {
  const out: Record<string, QuantityInfo> = {};
  for (const q of registry) {
    if (!q.series) continue;
    out[q.id] = q.science === undefined
      ? { description: q.description, unit: q.unit }
      : { description: q.description, unit: q.unit, science: q.science };
  }
  return out as Record<S["id"], QuantityInfo>;
}

/** One quantity's row; throws naming the allowed ids when it is not in the registry. */
export function quantitySpec<S extends QuantitySpec>(
  registry: readonly S[],
  id: string,
): S {
  const spec = registry.find((q) => q.id === id);
  if (!spec) {
    throw new Error(
      `Quantity '${id}' is not one of ${registry.map((q) => q.id).join(", ")}`,
    );
  }
  return spec;
}

/**
 * An axis title "label (axis unit)", e.g. "test error (fraction)"; `label`
 * replaces the registry's label when an axis shows several quantities
 * (e.g. "loss" for train and test loss), the unit still comes from the registry.
 */
export function axisTitle<S extends QuantitySpec>(
  registry: readonly S[],
  id: string,
  label?: string,
): string {
  const spec = quantitySpec(registry, id);
  return `${label ?? spec.label} (${spec.axis})`;
}

/** The registry's series quantities in order. */
export const QUANTITY_ORDER = seriesOrder(QUANTITIES) as readonly Quantity[];
/** The registry's final quantities in order. */
export const FINAL_QUANTITIES = finalQuantities(
  QUANTITIES,
) as readonly Quantity[];
/** The data dictionary of every series quantity. */
export const QUANTITY_INFO: Record<Quantity, QuantityInfo> = quantityInfo(
  QUANTITIES,
);
/** Record columns the metrics stage copies through unchanged as series. */
export const RECORDED_QUANTITIES = quantitiesFrom(
  QUANTITIES,
  "record",
) as readonly Quantity[];
/** Quantities `deriveTerms` produces from the raw sums (all derived ones but `ir_own`). */
export const TERM_QUANTITIES = quantitiesFrom(QUANTITIES, "derived").filter(
  (q) => q !== "ir_own",
) as readonly Exclude<DerivedQuantity, "ir_own">[];
/** The training record's columns (per-layer norms `norm_layer_<i>` come after them). */
export const RECORD_COLUMNS = recordColumns(QUANTITIES) as readonly (
  | "epoch"
  | "lr"
  | RecordedQuantity
  | typeof RAW_SUM_COLUMNS[number]
)[];
