/**
 * Paired statistics for verdicts (SCIENCE §7.1): the unit of evidence is the
 * seed, a claim's per-seed values are paired differences, and a verdict is
 * read off a Student-t interval for their mean. Pure functions on numbers.
 */
import type { ClaimedSide, TInterval, Verdict } from "./types.ts";

/** Seeds needed before a verdict may say "holds" or "fails" (SCIENCE §7.1). */
export const MIN_SEEDS = 3;

/** The family-wise confidence level of every verdict (SCIENCE §7.1). */
export const CONFIDENCE = 0.95;

/** ln Γ(x) for x > 0, Lanczos (g = 7, 9 terms), about 1e-15 relative. */
export function lnGamma(x: number): number {
  if (x < 0.5) {
    // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
    return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  }
  const c = [
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t +
    Math.log(a);
}

/** Continued fraction of I_x(a, b) by the modified Lentz method (converges for x < (a+1)/(a+b+2)). */
function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - (a + b) * x / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10_000; m++) {
    const m2 = 2 * m;
    // Even step.
    let aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    // Odd step.
    aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const step = d * c;
    h *= step;
    if (Math.abs(step - 1) < 1e-16) return h;
  }
  throw new Error(
    `betaFraction did not converge at x = ${x}, a = ${a}, b = ${b}`,
  );
}

/** The regularized incomplete beta function I_x(a, b), 0 ≤ x ≤ 1. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(
    lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) +
      b * Math.log1p(-x),
  );
  // The fraction converges fast on one side; use I_x(a,b) = 1 − I_{1−x}(b,a) on the other.
  return x < (a + 1) / (a + b + 2)
    ? front * betaFraction(x, a, b) / a
    : 1 - front * betaFraction(1 - x, b, a) / b;
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  // P(|T| > |t|) = I_{df/(df+t²)}(df/2, 1/2).
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

const quantileCache = new Map<string, number>();

/**
 * The p-quantile of Student's t with `df` > 0 degrees of freedom, by
 * bisection on the CDF (to the last bit of a double; ~1e-12 against SciPy).
 *
 * @example
 * ```ts
 * import { studentTQuantile } from "./paired.ts";
 * studentTQuantile(0.975, 2); // 4.302652729…
 * ```
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) {
    throw new Error(`Quantile level p must be in (0, 1), got ${p}`);
  }
  if (!(df > 0)) {
    throw new Error(`Degrees of freedom df must be > 0, got ${df}`);
  }
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  const key = `${p}/${df}`;
  const cached = quantileCache.get(key);
  if (cached !== undefined) return cached;
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, df) < p) {
    lo = hi;
    hi *= 2;
  }
  for (let i = 0; i < 200; i++) {
    const mid = 0.5 * (lo + hi);
    if (mid === lo || mid === hi) break;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  const q = 0.5 * (lo + hi);
  quantileCache.set(key, q);
  return q;
}

export type { TInterval };

/**
 * The two-sided Student-t interval at `level` for the mean of `values`
 * (one value per seed). With one value there is no interval.
 */
export function tInterval(values: number[], level: number): TInterval {
  const n = values.length;
  if (n === 0) throw new Error("tInterval needs at least one value");
  if (values.some((v) => !Number.isFinite(v))) {
    throw new Error(
      `tInterval values must be finite, got ${values.join(", ")}`,
    );
  }
  const mean = values.reduce((s, v) => s + v, 0) / n;
  if (n < 2) return { n, mean, sd: null, level, low: null, high: null };
  const sd = Math.sqrt(
    values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1),
  );
  const half = studentTQuantile((1 + level) / 2, n - 1) * sd / Math.sqrt(n);
  return { n, mean, sd, level, low: mean - half, high: mean + half };
}

/**
 * One paired comparison's verdict (SCIENCE §7.1): "holds" when n ≥ MIN_SEEDS
 * and the interval lies entirely on the claimed side of zero, "fails" when
 * entirely on the other side, "inconclusive" otherwise.
 */
export function sideVerdict(
  interval: TInterval,
  claimed: ClaimedSide,
): Exclude<Verdict, "not measured"> {
  const { n, low, high } = interval;
  if (n < MIN_SEEDS || low === null || high === null) return "inconclusive";
  const above = low > 0;
  const below = high < 0;
  if (claimed === "positive" ? above : below) return "holds";
  if (claimed === "positive" ? below : above) return "fails";
  return "inconclusive";
}

/**
 * Level of each of k intervals so that all k hold together with probability
 * ≥ CONFIDENCE (Bonferroni): 1 − (1 − CONFIDENCE)/k.
 */
export function perComparisonLevel(k: number): number {
  return 1 - (1 - CONFIDENCE) / k;
}

/**
 * A claim that holds against every one of several optimizers: it holds when
 * every comparison holds, fails when any comparison fails, and is
 * inconclusive otherwise. With simultaneous (Bonferroni) intervals, whenever
 * all intervals cover their true differences — probability ≥ 95% — neither
 * "holds" nor "fails" is wrong.
 */
export function allVerdict(
  verdicts: Array<Exclude<Verdict, "not measured">>,
): Verdict {
  if (verdicts.length === 0) return "not measured";
  if (verdicts.some((v) => v === "fails")) return "fails";
  if (verdicts.every((v) => v === "holds")) return "holds";
  return "inconclusive";
}
