/**
 * The adaptive edge of stability as a known answer (SCIENCE §4.2, §4.2.1;
 * Cohen et al. 2021 and 2022): full-batch GD's sharpness rises to 2/η and
 * hovers there, full-batch Adam's preconditioned sharpness λ₁(P⁻¹H) to
 * (2+2β₁)/((1−β₁)η), 38/η at β₁ = 0.9. The check is deterministic, like the
 * other known answers: the median over the last part of each run within a
 * relative tolerance of its line. Pure functions over the runs' series.
 */
import { stabilityLines } from "./groups.ts";
import type { Run } from "./runs.ts";
import type { KnownAnswer, KnownVerdict, Quantity } from "./types.ts";

/** The rule: the median within 10% of the line… */
export const EOS_TOLERANCE = 0.1;
/**
 * …over the last part of the run: here its last half in epochs. Progressive
 * sharpening takes the first part; once at the line, sharpness hovers there
 * (Cohen et al.), so the window starts late enough to skip the rise.
 */
export const EOS_WINDOW = 0.5;

/** The median of finite numbers (NaN for none); the mean of the middle two for an even count. */
export function median(values: readonly number[]): number {
  const xs = values.filter(Number.isFinite).sort((a, b) => a - b);
  const n = xs.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? xs[(n - 1) / 2]! : (xs[n / 2 - 1]! + xs[n / 2]!) / 2;
}

/** What the check saw in one series. */
export interface EosCheck {
  /** Median of the finite values at epochs in the window. */
  median: number;
  /** median / threshold. */
  ratio: number;
  /** |ratio − 1| ≤ tolerance. */
  within: boolean;
  /** First epoch of the window and the finite values in it. */
  from: number;
  count: number;
}

/**
 * The median of `values` over the last `window` (0–1] of the run, epochs
 * e ≥ last − window·(last − first) (first and last of the series' epochs),
 * finite values only, against
 * `threshold`: within when |median/threshold − 1| ≤ `tolerance`. No finite
 * value or no finite positive threshold: not within (median/ratio NaN).
 */
export function eosCheck(
  series: { epochs: ArrayLike<number>; values: ArrayLike<number> },
  threshold: number,
  options: { window?: number; tolerance?: number } = {},
): EosCheck {
  const window = options.window ?? EOS_WINDOW;
  const tolerance = options.tolerance ?? EOS_TOLERANCE;
  if (!(window > 0 && window <= 1)) {
    throw new Error(`window: expected a number in (0, 1], got ${window}`);
  }
  if (!(tolerance > 0)) {
    throw new Error(`tolerance: expected a positive number, got ${tolerance}`);
  }
  const points = Array.from(series.epochs).flatMap((e, i) => {
    const v = series.values[i];
    return Number.isFinite(e) && v !== undefined && Number.isFinite(v)
      ? [{ e, v }]
      : [];
  });
  if (points.length === 0 || !(threshold > 0 && Number.isFinite(threshold))) {
    return { median: NaN, ratio: NaN, within: false, from: NaN, count: 0 };
  }
  // The run's span: every measured epoch, also where the value is not
  // defined (the preconditioned sharpness at step 0).
  const epochs = Array.from(series.epochs).filter(Number.isFinite);
  const first = Math.min(...epochs);
  const last = Math.max(...epochs);
  const from = last - window * (last - first);
  const inWindow = points.filter((p) => p.e >= from).map((p) => p.v);
  const m = median(inWindow);
  const ratio = m / threshold;
  return {
    median: m,
    ratio,
    within: Math.abs(ratio - 1) <= tolerance,
    from,
    count: inWindow.length,
  };
}

/**
 * Which sharpness a run is held to, and its line (the metrics' one rule,
 * groups.ts `stabilityLines`): GD/SGD (and heavy-ball) their plain
 * sharpness against 2/η or (2+2β)/η; RMSprop and Adam the preconditioned
 * one against their §4.2.1 line; null for others (SWATS).
 */
export function eosTarget(
  run: Pick<Run, "optimizer">,
): { quantity: Quantity; threshold: number; line: string } | null {
  const line = stabilityLines(run.optimizer)[0];
  return line
    ? { quantity: line.quantity, threshold: line.value, line: line.label }
    : null;
}

/**
 * The known answer of an experiment of full-batch runs (e.g.
 * experiments/adaptive-eos.json): one row per run with its line, the median
 * over the last part and their ratio. Verdict: holds when every run that has
 * a line is within the tolerance, partly holds when some are, fails when
 * none is (or nothing was measured).
 */
export function edgeOfStabilityAnswer(
  runs: readonly Run[],
  options: { window?: number; tolerance?: number } = {},
): KnownAnswer {
  const window = options.window ?? EOS_WINDOW;
  const tolerance = options.tolerance ?? EOS_TOLERANCE;
  const rows: Array<Record<string, number | string>> = [];
  let within = 0;
  for (const run of runs) {
    const target = eosTarget(run);
    if (!target) continue;
    const series = run.series[target.quantity];
    const check = series
      ? eosCheck(series, target.threshold, { window, tolerance })
      : eosCheck({ epochs: [], values: [] }, target.threshold);
    if (check.within) within++;
    rows.push({
      optimizer: run.group,
      seed: run.seed,
      lr: run.optimizer.lr,
      quantity: target.quantity,
      line: target.line,
      threshold: target.threshold,
      window_from_epoch: Number.isFinite(check.from) ? check.from : "n/a",
      values_in_window: check.count,
      median: Number.isFinite(check.median) ? check.median : "not measured",
      median_over_line: Number.isFinite(check.ratio) ? check.ratio : "n/a",
      within: check.within ? "yes" : "no",
    });
  }
  let verdict: KnownVerdict = "fails";
  if (rows.length > 0 && within === rows.length) verdict = "holds";
  else if (within > 0) verdict = "partly holds";
  return {
    id: "adaptive_edge_of_stability",
    title:
      "The (adaptive) edge of stability: full-batch GD's sharpness and Adam's preconditioned sharpness",
    expected:
      `Full-batch GD's sharpness rises to 2/η and hovers there; full-batch Adam's ` +
      `preconditioned sharpness λ₁(P⁻¹H) rises to (2+2β₁)/((1−β₁)η), 38/η at β₁ = 0.9, ` +
      `and RMSprop's to 2/η (Cohen et al. 2021, 2022; SCIENCE §4.2, §4.2.1). Check: the median ` +
      `over the last ${Math.round(window * 100)}% of the run's epochs within ${
        Math.round(tolerance * 100)
      }% of the line. The figure "Edge of stability" draws each series against its dashed line.`,
    rows,
    verdict,
  };
}
