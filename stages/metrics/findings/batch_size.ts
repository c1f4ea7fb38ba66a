/**
 * How mini-batch training regularises (SCIENCE §2.2): the variance part
 * η/(4m) Σ_k ‖g_k − ḡ‖² of SGD's term against the batch size B. With m = N/B
 * batches whose gradients scatter with variance σ²/B around ḡ, the sum is
 * ≈ m·σ²/B, so the part is ≈ ησ²/(4B): slope −1 on log–log axes at fixed η.
 * That holds for B ≪ N. The batches partition the N samples (drawn without
 * replacement), so at fixed weights E‖g_k − ḡ‖² = σ²(N − B)/(B(N − 1)),
 * whose slope is −1 − B/(N − B): steeper as B nears N. The finding reports
 * that prediction for the swept B beside the verdict, which keeps −1, and
 * the slope measured at epoch 0, where every B of a seed shares the initial
 * weights: there only the sampling acts, so it should match the prediction.
 *
 * Per seed: each cell's (one B) value is the mean of log₁₀(ir_sgd_var) over
 * the second half of its epochs; the slope is the least-squares fit of those
 * against log₁₀ B over the cells. The slopes of the seeds give a Student-t
 * interval (SCIENCE §7.1). The claim is a value, not a side, so the verdict
 * is an equivalence test: it holds when the whole 95% interval lies inside
 * −1 ± 0.25 (TOLERANCE), fails when the interval lies entirely outside that
 * band, and is inconclusive otherwise. An interval that merely contains −1
 * is not enough to "hold" (a wide interval contains everything); whether −1
 * lies in it and whether it excludes 0 are reported beside the verdict.
 */
import { CONFIDENCE, tInterval } from "../paired.ts";
import type { Run } from "../runs.ts";
import type { Comparison, Finding, TInterval } from "../types.ts";
import {
  bandVerdict,
  fmt,
  meanInterval,
  notMeasured,
  pairedFinding,
  ruleNote,
  verdictWord,
} from "./common.ts";

/** The slope the theory predicts at fixed η. */
export const EXPECTED_SLOPE = -1;
/** Half-width of the band around −1 that counts as "≈ −1". */
export const TOLERANCE = 0.25;
/** The cell key of the batch size. */
export const BATCH_KEY = "train.batch_size";

/** Figure: log₁₀ of the variance part against log₂ B, one line per seed, with the fitted slope and a −1 guide. */
export const BATCH_FIGURE = "variance-part-vs-batch-size";

/** Mean of log₁₀(ir_sgd_var) over the second half of a run's epochs; NaN if none is finite and positive. */
export function lateLogVariance(run: Run): number {
  const s = run.series.ir_sgd_var;
  if (!s || run.status !== "ok" || s.epochs.length === 0) return NaN;
  const last = Math.max(...Array.from(s.epochs));
  let sum = 0;
  let n = 0;
  for (let i = 0; i < s.epochs.length; i++) {
    const e = s.epochs[i]!;
    const v = s.values[i]!;
    if (e > last / 2 && v > 0 && Number.isFinite(v)) {
      sum += Math.log10(v);
      n++;
    }
  }
  return n === 0 ? NaN : sum / n;
}

/**
 * The log–log slope that sampling without replacement alone gives over the
 * batch sizes `bs` from N samples: the least-squares slope of
 * log₁₀((N − B)/(B(N − 1))) on log₁₀ B (−1 as N → ∞).
 * @example
 * ```ts
 * import { finitePopulationSlope } from "./batch_size.ts";
 * finitePopulationSlope([16, 1024], Infinity); // -1
 * ```
 */
export function finitePopulationSlope(bs: number[], n: number): number {
  const x = bs.map(Math.log10);
  const y = bs.map((b) =>
    n === Infinity ? -Math.log10(b) : Math.log10((n - b) / (b * (n - 1)))
  );
  return olsSlope(x, y);
}

/** log₁₀(ir_sgd_var) at epoch 0 (the shared initial weights); NaN if not measured there. */
export function initialLogVariance(run: Run): number {
  const s = run.series.ir_sgd_var;
  if (!s) return NaN;
  const i = Array.from(s.epochs).indexOf(0);
  const v = i < 0 ? NaN : s.values[i]!;
  return v > 0 && Number.isFinite(v) ? Math.log10(v) : NaN;
}

/** Least-squares slope of y on x; NaN with fewer than two distinct x. */
export function olsSlope(x: number[], y: number[]): number {
  const n = x.length;
  if (n < 2) return NaN;
  const mx = x.reduce((s, v) => s + v, 0) / n;
  const my = y.reduce((s, v) => s + v, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
  }
  return sxx === 0 ? NaN : sxy / sxx;
}

/** Per seed (of plain SGD runs), the log–log slope against B of `value` (default: the late variance part). */
export function seedSlopes(
  runs: Run[],
  value: (run: Run) => number = lateLogVariance,
): Array<{ seed: number; slope: number; points: number }> {
  const sgd = runs.filter((r) =>
    r.optimizer.name === "sgd" && typeof r.cell[BATCH_KEY] === "number"
  );
  const seeds = [...new Set(sgd.map((r) => r.seed))].sort((a, b) => a - b);
  return seeds.map((seed) => {
    const pts = sgd.filter((r) => r.seed === seed)
      .map((r) => ({ b: r.cell[BATCH_KEY] as number, y: value(r) }))
      .filter((p) => Number.isFinite(p.y) && p.b > 0);
    return {
      seed,
      slope: olsSlope(pts.map((p) => Math.log10(p.b)), pts.map((p) => p.y)),
      points: pts.length,
    };
  });
}

type Slope = { seed: number; slope: number; points: number };

/** Whether the interval contains −1 and excludes 0, reported beside the equivalence verdict. */
function sides(c: Comparison) {
  const containsExpected = c.low !== null && c.high !== null &&
    c.low <= EXPECTED_SLOPE && EXPECTED_SLOPE <= c.high;
  const excludesZero = c.low !== null && c.high !== null &&
    (c.high < 0 || c.low > 0);
  const text = c.low === null
    ? "one seed: no interval."
    : `−1 ${containsExpected ? "lies" : "does not lie"} in the interval; it ${
      excludesZero ? "excludes" : "contains"
    } 0.`;
  return { containsExpected, excludesZero, text };
}

/** The finite-population prediction for the runs' batch sizes and N, or null when N is not recorded. */
export function predictedSlope(
  runs: Run[],
): { slope: number; n: number } | null {
  const sgd = runs.filter((r) =>
    r.optimizer.name === "sgd" && typeof r.cell[BATCH_KEY] === "number"
  );
  const n = sgd[0]?.nTrain;
  if (n === undefined || sgd.some((r) => r.nTrain !== n)) return null;
  const bs = [...new Set(sgd.map((r) => r.cell[BATCH_KEY] as number))];
  const slope = finitePopulationSlope(bs, n);
  return Number.isFinite(slope) ? { slope, n } : null;
}

/** The slope finding's words: per-seed slopes, the interval, the finite-population prediction and the equivalence rule. */
function slopeWords(
  slopes: Slope[],
  [c]: Comparison[],
  verdict: Finding["verdict"],
  predicted: { slope: number; n: number } | null,
  initial: TInterval | null,
) {
  const side = sides(c!);
  const prediction =
    (predicted === null
      ? ""
      : ` Sampling without replacement from N = ${predicted.n} alone predicts ${
        fmt(predicted.slope)
      } over these B at fixed weights`) +
    (initial === null
      ? (predicted === null ? "" : ".")
      : `${
        predicted === null ? " At" : "; at"
      } the shared initial weights (epoch 0) the slope is ${
        initial.low === null
          ? `${fmt(initial.mean)} (one seed)`
          : `${fmt(initial.mean)} [${fmt(initial.low)}, ${fmt(initial.high!)}]`
      }.`);
  return {
    answer: `${verdictWord(verdict)}: slope ${
      meanInterval(c!)
    } over ${slopes.length} seed(s); ${side.text}${prediction}`,
    evidence:
      `Per seed, the least-squares slope of log₁₀(variance part, mean over the second half of epochs) against log₁₀ B: ${
        slopes.map((s) => `seed ${s.seed}: ${fmt(s.slope)} (${s.points} B)`)
          .join(", ")
      }. Mean ${
        meanInterval(c!)
      }; ${side.text} Verdict by equivalence: holds when the whole interval lies in [${
        EXPECTED_SLOPE - TOLERANCE
      }, ${
        EXPECTED_SLOPE + TOLERANCE
      }], fails when it lies entirely outside.${prediction} ${ruleNote([c!])}`,
    numbers: {
      slope_mean: c!.mean,
      ...(c!.low === null ? {} : { slope_low: c!.low }),
      ...(c!.high === null ? {} : { slope_high: c!.high }),
      contains_minus_one: side.containsExpected ? 1 : 0,
      excludes_zero: side.excludesZero ? 1 : 0,
      ...(predicted === null
        ? {}
        : { finite_population_slope: predicted.slope }),
      ...(initial === null ? {} : { initial_slope_mean: initial.mean }),
    },
  };
}

/** The epoch-0 slopes over seeds as a Student-t interval (SCIENCE §7.1), or null when none was measured. */
export function initialSlope(runs: Run[]): TInterval | null {
  const slopes = seedSlopes(runs, initialLogVariance)
    .map((s) => s.slope).filter(Number.isFinite);
  return slopes.length === 0 ? null : tInterval(slopes, CONFIDENCE);
}

export function batchSlopeFindings(runs: Run[]): Finding[] {
  const id = "batch_variance_slope";
  const statement =
    `The variance part η/(4m)Σ_k‖g_k − ḡ‖² of SGD's term falls like 1/B at fixed η: its log–log slope against B is −1 within ±${TOLERANCE} (SCIENCE §2.2).`;
  const slopes = seedSlopes(runs).filter((s) => Number.isFinite(s.slope));
  if (slopes.length === 0) {
    return [notMeasured(
      "batch_variance_slope",
      id,
      statement,
      `no seed has plain SGD runs at two or more batch sizes (a '${BATCH_KEY}' sweep) with the variance part measured.`,
      BATCH_FIGURE,
    )];
  }
  return [pairedFinding({
    module: "batch_variance_slope",
    figure: BATCH_FIGURE,
    id,
    statement,
    pairings: [{
      a: "sgd",
      b: "sgd",
      value: "log–log slope of the variance part against B",
      paired: {
        values: slopes.map((s) => ({ seed: s.seed, value: s.slope })),
        skipped: 0,
        windows: [],
      },
    }],
    level: CONFIDENCE,
    decide: (t) =>
      bandVerdict(t, EXPECTED_SLOPE - TOLERANCE, EXPECTED_SLOPE + TOLERANCE),
    words: (comparisons, verdict) =>
      slopeWords(
        slopes,
        comparisons,
        verdict,
        predictedSlope(runs),
        initialSlope(runs),
      ),
  })];
}
