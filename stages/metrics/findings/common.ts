/**
 * What every finding module shares: per-seed values of a run, comparisons
 * with a verdict by a side of zero (SCIENCE §7.1) or by a band (equivalence
 * claims such as "the slope is −1"), and claims recast as findings.
 */
import { fmt } from "../claims.ts";
import { MIN_SEEDS, type TInterval } from "../paired.ts";
import { groupLabel, type Run } from "../runs.ts";
import { runSummary } from "../summary.ts";
import type { Claim, Comparison, Finding, Verdict } from "../types.ts";
import { type FindingId, QUESTIONS } from "./ids.ts";

export { fmt };

const summaries = new WeakMap<Run, Record<string, number>>();

/** A run's summary number `key` (runSummary, computed once per run); NaN when absent. */
export function summaryOf(run: Run, key: string): number {
  let s = summaries.get(run);
  if (!s) {
    s = runSummary(run);
    summaries.set(run, s);
  }
  return s[key] ?? NaN;
}

/** Runs by sweep cell, cells in first-appearance order. */
export function byCell(runs: Run[]): Run[][] {
  const cells = new Map<string, Run[]>();
  for (const run of runs) {
    const key = groupLabel("", run.cell);
    const list = cells.get(key);
    if (list) list.push(run);
    else cells.set(key, [run]);
  }
  return [...cells.values()];
}

/** Runs by optimizer label, labels in first-appearance order. */
export function byLabel(runs: Run[]): Map<string, Run[]> {
  const out = new Map<string, Run[]>();
  for (const run of runs) {
    const list = out.get(run.label);
    if (list) list.push(run);
    else out.set(run.label, [run]);
  }
  return out;
}

/** " (batch_size=16)" for a cell, "" for none: appended to statements. */
export function cellWords(cell: Run["cell"]): string {
  const label = groupLabel("", cell).replace(/^ · /, "");
  return label === "" ? "" : ` (${label})`;
}

/** Per seed, f(a's run) − f(b's run) for the seeds both have (claims.ts). */
export { pairedBy } from "../claims.ts";

/**
 * Equivalence verdict (used where the claim is a value, not a side): holds
 * when n ≥ 3 and the whole interval lies inside [lo, hi]; fails when it lies
 * entirely outside that band; inconclusive otherwise. An interval that merely
 * contains the claimed value never "holds": that is absence of evidence.
 */
export function bandVerdict(
  interval: TInterval,
  lo: number,
  hi: number,
): Exclude<Verdict, "not measured"> {
  const { n, low, high } = interval;
  if (n < MIN_SEEDS || low === null || high === null) return "inconclusive";
  if (low >= lo && high <= hi) return "holds";
  if (high < lo || low > hi) return "fails";
  return "inconclusive";
}

/**
 * Two-sided "differs" verdict: holds when n ≥ 3 and the interval excludes
 * zero; otherwise inconclusive (an interval around zero does not show there
 * is no difference). Never "fails".
 */
export function differsVerdict(
  interval: TInterval,
): Exclude<Verdict, "not measured"> {
  const { n, low, high } = interval;
  if (n < MIN_SEEDS || low === null || high === null) return "inconclusive";
  return low > 0 || high < 0 ? "holds" : "inconclusive";
}

/** A comparison from per-seed values, with the verdict `decide` reads off its interval (claims.ts). */
export { comparisonOf as comparison } from "../claims.ts";

/** "mean −0.045 [−0.06, −0.03]" (no interval with one seed). */
export function meanInterval(c: Comparison): string {
  return c.low === null || c.high === null
    ? `${fmt(c.mean)} (one seed, no interval)`
    : `${fmt(c.mean)} [${fmt(c.low)}, ${fmt(c.high)}]`;
}

/** The sentence that says which rule decided, or why the numbers are descriptive. */
export function ruleNote(comparisons: Comparison[]): string {
  const n = comparisons.length === 0
    ? 0
    : Math.max(...comparisons.map((c) => c.n));
  if (n < MIN_SEEDS) {
    return `With ${n} seed${
      n === 1 ? "" : "s"
    } (fewer than ${MIN_SEEDS}) the numbers are descriptive and the verdict is inconclusive (SCIENCE §7.1).`;
  }
  const level = Math.min(...comparisons.map((c) => c.level));
  return `Intervals are Student-t over ${n} seeds at ${
    Number((100 * level).toFixed(2))
  }% each (SCIENCE §7.1).`;
}

/** True when no comparison has enough seeds to decide. */
export function isDescriptive(comparisons: Comparison[]): boolean {
  return comparisons.every((c) => c.n < MIN_SEEDS);
}

/** A finding's fixed parts: module, question, figure. */
export function base(
  module: FindingId,
  figure: string,
): Pick<Finding, "module" | "question" | "figure"> {
  return { module, question: QUESTIONS[module], figure };
}

/** A finding that could not be measured here, and why. */
export function notMeasured(
  module: FindingId,
  id: string,
  statement: string,
  why: string,
  figure: string,
): Finding {
  return {
    ...base(module, figure),
    id,
    statement,
    verdict: "not measured",
    answer: `Not measured: ${why}`,
    evidence: `Not measured: ${why}`,
    numbers: {},
    comparisons: [],
    descriptive: true,
  };
}

/** A claim of claims.ts recast as a finding (same statement, verdict and comparisons). */
export function claimFinding(
  module: FindingId,
  claim: Claim,
  figure: string,
): Finding {
  const first = claim.comparisons[0];
  const effect = first ? ` (${first.value}: ${meanInterval(first)})` : "";
  return {
    ...base(module, figure),
    id: `${module}.${claim.id}`,
    statement: claim.statement,
    verdict: claim.verdict,
    answer: `${verdictWord(claim.verdict)}: ${claim.statement}${effect}`,
    evidence: claim.evidence,
    numbers: claim.numbers,
    comparisons: claim.comparisons,
    descriptive: claim.descriptive,
  };
}

/** "Holds", "Fails", "Inconclusive", "Not measured". */
export function verdictWord(v: Verdict): string {
  return v.charAt(0).toUpperCase() + v.slice(1);
}

/** Mean, sample std and count of the finite values. */
export function describe(values: number[]): {
  mean: number;
  sd: number;
  n: number;
} {
  const finite = values.filter(Number.isFinite);
  const n = finite.length;
  const mean = n === 0 ? NaN : finite.reduce((s, v) => s + v, 0) / n;
  const sd = n < 2
    ? NaN
    : Math.sqrt(finite.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  return { mean, sd, n };
}

/** "0.123 ± 0.004 (n = 3)" for a table cell. */
export function meanSd(values: number[]): string {
  const d = describe(values);
  if (d.n === 0) return "—";
  return d.n < 2
    ? `${fmt(d.mean)} (n = 1)`
    : `${fmt(d.mean)} ± ${fmt(d.sd)} (n = ${d.n})`;
}

/** The last-epoch value of a quantity at or before `epoch` (NaN when none is finite). */
export function valueAt(
  run: Run,
  quantity: keyof Run["series"],
  epoch: number,
): number {
  const s = run.series[quantity];
  if (!s) return NaN;
  let best = NaN;
  let bestEpoch = -Infinity;
  for (let i = 0; i < s.epochs.length; i++) {
    const e = s.epochs[i]!;
    const v = s.values[i]!;
    if (e <= epoch && e > bestEpoch && Number.isFinite(v)) {
      best = v;
      bestEpoch = e;
    }
  }
  return best;
}

/** The worst of several comparisons' verdicts, as claims.ts's allVerdict but for any rule. */
export function combined(comparisons: Comparison[]): Verdict {
  if (comparisons.length === 0) return "not measured";
  if (comparisons.some((c) => c.verdict === "fails")) return "fails";
  if (comparisons.every((c) => c.verdict === "holds")) return "holds";
  return "inconclusive";
}
