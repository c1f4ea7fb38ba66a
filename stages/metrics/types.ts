/**
 * The metrics document: what the metrics stage returns (as JSON) and what
 * the charts and report stages read. Quantities follow SCIENCE §2 and §4.
 */

/** Names of per-epoch quantities: the series rows of the registry (stages/quantities.ts). */
import type { Quantity } from "../quantities.ts";
import type { GridEdge } from "../tune/edge.ts";
export type { Quantity };

/** One quantity of one group, aggregated over seeds per epoch. */
export interface Series {
  /** The group: an optimizer label, plus the sweep cell if any (e.g. "sgd · batch_size=16"). */
  group: string;
  optimizer: string;
  /** Sweep overrides of this group, e.g. `{ "train.batch_size": 16 }`; `{}` if none. */
  cell: Record<string, number | string | boolean>;
  quantity: Quantity;
  epochs: number[];
  mean: number[];
  std: number[];
  count: number[];
}

/**
 * A claim's verdict, a statistic computed from the data (SCIENCE §7.1), never
 * written by hand: "holds"/"fails" need ≥ 3 seeds and an interval on one side
 * of zero; everything else that was measured is "inconclusive".
 */
export type Verdict = "holds" | "fails" | "inconclusive" | "not measured";

/**
 * A known answer's verdict: a deterministic check of the machinery against a
 * closed-form answer within float tolerances (SCIENCE §6), not a statistic
 * over seeds. "partly holds": the main prediction holds, a secondary one not.
 */
export type KnownVerdict = "holds" | "partly holds" | "fails";

/** Which side of zero a claim puts the mean paired difference on. */
export type ClaimedSide = "positive" | "negative";

/** A t-interval for the mean of per-seed paired differences (SCIENCE §7.1). */
export interface TInterval {
  /** Number of seeds. */
  n: number;
  /** The mean difference: the effect size, in the unit of the values. */
  mean: number;
  /** Sample standard deviation (n − 1 denominator); null when n < 2. */
  sd: number | null;
  /** Two-sided confidence level of [low, high] (0.95, or Bonferroni-adjusted for several comparisons). */
  level: number;
  /** mean ∓ t_{(1+level)/2, n−1} · sd/√n; null when n < 2. */
  low: number | null;
  high: number | null;
}

/**
 * One paired comparison of a claim (SCIENCE §7.1): one value per seed, from
 * the runs of `a` and `b` that share that seed (initial weights and batch
 * order), and the Student-t interval for their mean (`n` = values.length).
 */
export interface Comparison extends TInterval {
  /** Optimizer labels; each value compares a's run with b's run of the same seed. */
  a: string;
  b: string;
  /** What one per-seed value is, in words (e.g. "final test error, SGD − Adam"). */
  value: string;
  /** The seeds used, and their values in the same order. */
  seeds: number[];
  values: number[];
  /** Seeds where both optimizers ran but a value is missing (diverged, not measured). */
  skipped: number;
  /** This comparison alone: "inconclusive" whenever n < 3. */
  verdict: Exclude<Verdict, "not measured">;
}

export interface Claim {
  id: string;
  /** The paper's statement, in words. */
  statement: string;
  verdict: Verdict;
  /** A few sentences with the numbers behind the verdict and the rule applied. */
  evidence: string;
  /** Descriptive numbers (means over seeds of each optimizer's values). */
  numbers: Record<string, number>;
  /** The side of zero the claim puts every comparison's mean on. */
  claimed: ClaimedSide;
  /** The paired comparisons behind the verdict; [] when not measured. */
  comparisons: Comparison[];
  /** True when no comparison has 3 seeds: the numbers describe, they test nothing. */
  descriptive: boolean;
}

/** Per-group summary numbers, aggregated over seeds. */
export interface Summary {
  group: string;
  optimizer: string;
  cell: Record<string, number | string | boolean>;
  seeds: number[];
  diverged: number;
  /** Each summary number as mean, std and count over seeds. */
  numbers: Record<string, { mean: number; std: number; count: number }>;
}

export interface KnownAnswer {
  id: string;
  title: string;
  /** What theory predicts, in words. */
  expected: string;
  rows: Array<Record<string, number | string>>;
  verdict: KnownVerdict;
}

/** An edge-of-stability line (SCIENCE §4.2, §4.2.1): its name, its value and the sharpness it bounds. */
export interface StabilityLine {
  /** e.g. "2/η", "(2+2β)/η, β=0.9" or "38/η (P⁻¹H)". */
  label: string;
  value: number;
  /**
   * The top eigenvalue the line bounds: of H for GD/SGD and heavy ball
   * (`sharpness`), of P⁻¹H for RMSprop and Adam (`preconditioned_sharpness`,
   * SCIENCE §4.2.1).
   */
  quantity: "sharpness" | "preconditioned_sharpness";
}

/** One group as its runs trained (stages/metrics/groups.ts): what charts and report read instead of inferring. */
export interface GroupInfo {
  group: string;
  /** The optimizer's display label (config.label, else its name). */
  optimizer: string;
  /** The optimizer kind: gd, sgd, rmsprop, adam or swats. */
  kind: string;
  cell: Record<string, number | string | boolean>;
  /** The sweep cell in words, e.g. "lr=0.1" ("" when none). */
  cellLabel: string;
  /** η as the runs used it: tuned when the experiment tuned (SCIENCE §7). */
  lr: number;
  /** Heavy-ball β (SCIENCE §2.4; SWATS's β₁); absent for RMSprop and Adam. */
  beta?: number;
  /** The stability lines that apply (RMSprop and Adam: on P⁻¹H; none for SWATS). */
  stability: StabilityLine[];
  seeds: number[];
  /** The last epoch recorded. */
  epochs: number;
}

/** Whether the experiment is big enough to test the claims (SCIENCE §7.1). */
export interface Scope {
  /** The fewest seeds and epochs of any group. */
  seeds: number;
  epochs: number;
  minSeeds: number;
  minEpochs: number;
  enough: boolean;
  /** What is short, in words; empty when `enough`. */
  reasons: string[];
}

export interface MetricsDoc {
  experiment: string;
  /** Per group, in series order: kind, η, β, stability lines (read by charts and report). */
  groups: GroupInfo[];
  scope: Scope;
  lr: Record<string, number>;
  series: Series[];
  summaries: Summary[];
  claims: Claim[];
  known: KnownAnswer[];
  /**
   * Each group's optimizer config as trained (cell overrides applied; scalar
   * fields only), so readers need not infer β or ε from the series. Optional:
   * added by the metrics stage after the first version of this type.
   */
  optimizers?: Record<string, Record<string, number | string | boolean>>;
  /**
   * Per-optimizer learning-rate tuning on a held-out split (SCIENCE §7;
   * stages/tune): the chosen lr and the validation error of every candidate.
   * Present only when the experiment tuned.
   */
  tuning?: Record<string, TuningEntry>;
  /** Loss barriers between same-seed runs of different optimizers (stages/barrier); present when measured. */
  barriers?: BarrierEntry[];
  /** The experiment's answers to the paper's questions (its `metrics.findings` modules); absent when it names none. */
  findings?: Finding[];
}

export interface TuningEntry {
  /** The lr the final runs trained with. */
  lr: number;
  /** Every candidate, by lr; validation_error null where the run diverged. */
  table: Array<{ lr: number; validation_error: number | null }>;
  /** Where the chosen lr sits in its grid (stages/tune/edge.ts); absent in documents written before the check. */
  edge?: GridEdge;
}

export interface BarrierEntry {
  /** Optimizer labels of the two runs. */
  a: string;
  b: string;
  seed: number;
  /** For a seed-against-seed pair (same optimizer, a === b): the second run's seed. */
  seed_b?: number;
  /** The runs' shared sweep cell (`{}` if none). */
  cell: unknown;
  /** t = 0 … 1; loss = mean training loss at (1−t)·w_a + t·w_b. */
  t: number[];
  loss: number[];
  /** max_t [loss(t) − ((1−t)·loss(0) + t·loss(1))]; null if a loss was not finite. */
  barrier: number | null;
}

/**
 * A computed answer to one of the paper's questions (stages/metrics/findings):
 * like a claim, a statement tested on the data with a verdict per SCIENCE
 * §7.1, its numbers, and the figure that shows it.
 */
export interface Finding {
  /** The finding module that made it (FINDING_IDS), plus a suffix when one module states several. */
  id: string;
  module: string;
  /** The paper's question it answers. */
  question: string;
  statement: string;
  verdict: Verdict;
  /** One line for the findings page: the answer in words, with the effect size. */
  answer: string;
  /** The numbers behind the verdict and the rule applied, in sentences. */
  evidence: string;
  numbers: Record<string, number>;
  /** The paired (or per-seed) comparisons behind the verdict; [] when descriptive or not measured. */
  comparisons: Comparison[];
  /** True when no comparison has 3 seeds: the numbers describe, they test nothing. */
  descriptive: boolean;
  /** A descriptive table (rows of label → value), e.g. per optimizer or architecture. */
  table?: Array<Record<string, number | string>>;
  /** The figure that shows it: an id the charts stage draws (see findings/mod.ts). */
  figure: string;
}
