/**
 * What every finding module shares: per-seed values of a run, comparisons
 * with a verdict by a side of zero (SCIENCE §7.1) or by a band (equivalence
 * claims such as "the slope is −1"), and claims recast as findings.
 */
import {
  type Adaptive,
  againstSgd,
  comparisonsOf,
  type Contenders,
  finalDifferences,
  fmt,
  pairedBy,
  type Pairing,
} from "../claims.ts";
import {
  allVerdict,
  MIN_SEEDS,
  perComparisonLevel,
  sideVerdict,
} from "../paired.ts";
import { byCell, groupBy, groupLabel, type Run } from "../runs.ts";
import { summaryOf } from "../summary.ts";
import type {
  Claim,
  ClaimedSide,
  Comparison,
  Finding,
  TInterval,
  Verdict,
} from "../types.ts";
import { type FindingId, QUESTIONS } from "./ids.ts";

export { byCell, finalDifferences, fmt, pairedBy, summaryOf };

/** Runs by optimizer label, labels in first-appearance order. */
export function byLabel(runs: Run[]): Map<string, Run[]> {
  return groupBy(runs, (run) => run.label);
}

/** " (batch_size=16)" for a cell, "" for none: appended to statements. */
export function cellWords(cell: Run["cell"]): string {
  const label = groupLabel("", cell).replace(/^ · /, "");
  return label === "" ? "" : ` (${label})`;
}

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
  table?: Finding["table"],
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
    ...(table ? { table } : {}),
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

/** The worst of several comparisons' verdicts, as claims.ts's, for any rule (allVerdict). */
export function combined(comparisons: Comparison[]): Verdict {
  return allVerdict(comparisons.map((c) => c.verdict));
}

/** "mean ± sd (n = …)" of a summary number over runs, for a table cell. */
export function meanSdOf(runs: Run[], key: string): string {
  return meanSd(runs.map((r) => summaryOf(r, key)));
}

/** "<what>: mean [low, high]; …" for each comparison, `what` its value in words by default. */
export function effects(
  comparisons: Comparison[],
  what: (c: Comparison) => string = (c) => c.value,
): string {
  return comparisons.map((c) => `${what(c)}: ${meanInterval(c)}`).join("; ");
}

/**
 * "Holds: <words for holds> (<effects>)." — the verdict word, the words for
 * that verdict (`other` for inconclusive or not measured), the effects.
 */
export function verdictAnswer(
  verdict: Verdict,
  words: { holds: string; fails: string; other: string },
  effects: string,
  separator = ": ",
): string {
  const said = verdict === "holds"
    ? words.holds
    : verdict === "fails"
    ? words.fails
    : words.other;
  return `${verdictWord(verdict)}${separator}${said} (${effects}).`;
}

/** What a tested finding says, given its comparisons and verdict. */
export interface FindingWords {
  answer: string;
  evidence: string;
  numbers: Record<string, number>;
}

/** A finding tested by paired comparisons; see `pairedFinding`. */
export interface PairedFinding {
  module: FindingId;
  figure: string;
  id: string;
  statement: string;
  /** The per-seed values to compare; a pairing no seed has is left out. */
  pairings: Pairing[];
  /** Two-sided level of each interval (Bonferroni over the pairings where several). */
  level: number;
  /** Each comparison's verdict from its interval (sideVerdict, bandVerdict, differsVerdict). */
  decide: (interval: TInterval) => Exclude<Verdict, "not measured">;
  /** The finding's verdict from its comparisons; `combined` by default. */
  verdict?: (comparisons: Comparison[]) => Verdict;
  words: (comparisons: Comparison[], verdict: Verdict) => FindingWords;
  table?: Finding["table"];
}

/**
 * The shape every tested finding shares (SCIENCE §7.1): per-seed paired
 * values → a Student-t interval and a verdict per comparison → the finding's
 * verdict → the finding, with its words, numbers and table.
 */
export function pairedFinding(spec: PairedFinding): Finding {
  const comparisons = comparisonsOf(spec.pairings, spec.level, spec.decide);
  const verdict = (spec.verdict ?? combined)(comparisons);
  const { answer, evidence, numbers } = spec.words(comparisons, verdict);
  return {
    ...base(spec.module, spec.figure),
    id: spec.id,
    statement: spec.statement,
    verdict,
    answer,
    evidence,
    numbers,
    comparisons,
    descriptive: isDescriptive(comparisons),
    ...(spec.table ? { table: spec.table } : {}),
  };
}

/** A tested finding's own parts: all but the module, figure and table its module gives every finding. */
export type FindingSpec = Omit<PairedFinding, "module" | "figure" | "table">;

/** One measure of SGD against an adaptive method: the value in words (by its label) and the per-run number. */
export interface Measure {
  value: (label: string) => string;
  f: (run: Run) => number;
}

/**
 * SGD against each adaptive method present, on each measure, paired by seed
 * with Bonferroni over all the comparisons, claimed on `side` (SCIENCE §7.1).
 */
export function sgdAgainstAdaptive(
  c: Contenders,
  adaptive: Adaptive[],
  side: ClaimedSide,
  measures: Measure[],
): Pick<PairedFinding, "pairings" | "level" | "decide"> {
  return {
    pairings: adaptive.flatMap((n) =>
      measures.flatMap(({ value, f }) =>
        againstSgd(c, [n], (_, label) => value(label), f)
      )
    ),
    level: perComparisonLevel(adaptive.length * measures.length),
    decide: (t) => sideVerdict(t, side),
  };
}
