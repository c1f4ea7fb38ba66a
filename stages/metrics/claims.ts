/**
 * The seed paper's conclusions as statements tested on the data (SCIENCE
 * §7.1). A verdict is computed here from the runs, never written by hand.
 *
 * Who is compared: within one sweep cell, plain SGD is the first optimizer
 * named "sgd" without momentum; RMSprop and Adam are the first named
 * "rmsprop" and "adam" (in the experiment's order).
 *
 * The unit of evidence is the seed. Runs of the same seed share the initial
 * weights and the batch order, so each claim is a set of paired comparisons,
 * SGD against one other optimizer, with one value per seed:
 * - Term claims (1, 2), about every epoch: per seed, the mean over the second
 *   half of training (epochs e with E/2 < e ≤ E, E the last epoch of both
 *   runs) of log₁₀(SGD's ir_sgd / RMSprop's term), epochs where a term is not
 *   finite and positive left out. Claimed side: positive. Epochs are never
 *   counted one by one: they are not independent.
 * - Final-value claims (3, 4): per seed, SGD's final value minus the other's,
 *   once per adaptive method present. Claimed side: negative.
 * A seed with a diverged run or no value is left out of that comparison and
 * counted as skipped.
 *
 * Verdict (stages/metrics/paired.ts): a Student-t interval for the mean
 * per-seed value. One comparison: holds when n ≥ 3 and its 95% interval lies
 * entirely on the claimed side of zero, fails when entirely on the other
 * side, inconclusive otherwise. Against k > 1 optimizers ("lower than Adam's
 * and RMSprop's"), each interval is at 1 − 0.05/k (Bonferroni, so all k cover
 * together with ≥ 95%); the claim holds when every comparison holds, fails
 * when any fails (SGD is then significantly on the wrong side of one of
 * them), and is inconclusive otherwise. With fewer than 3 seeds the verdict is
 * inconclusive and the numbers are descriptive. The old "mixed" verdict is
 * gone: whatever is neither "holds" nor "fails" is "inconclusive".
 * "not measured" when an optimizer needed is absent, or no seed pairs with a
 * value.
 */
import { stat } from "./aggregate.ts";
import {
  allVerdict,
  CONFIDENCE,
  MIN_SEEDS,
  perComparisonLevel,
  sideVerdict,
  type TInterval,
  tInterval,
} from "./paired.ts";
import { byCell, groupLabel, type Run } from "./runs.ts";
import { summaryOf } from "./summary.ts";
import type {
  Claim,
  ClaimedSide,
  Comparison,
  Quantity,
  Verdict,
} from "./types.ts";

/** The runs of one sweep cell that the claims compare. */
export interface Contenders {
  sgd: Run[];
  rmsprop: Run[];
  adam: Run[];
}

function firstLabel(runs: Run[], accept: (run: Run) => boolean): Run[] {
  const first = runs.find(accept);
  return first ? runs.filter((r) => r.label === first.label) : [];
}

/** Picks plain SGD, RMSprop and Adam among the runs of one cell (see the module doc). */
export function pickContenders(runs: Run[]): Contenders {
  return {
    sgd: firstLabel(
      runs,
      (r) => r.optimizer.name === "sgd" && !((r.optimizer.momentum ?? 0) > 0),
    ),
    rmsprop: firstLabel(runs, (r) => r.optimizer.name === "rmsprop"),
    adam: firstLabel(runs, (r) => r.optimizer.name === "adam"),
  };
}

export type Adaptive = "adam" | "rmsprop";
const ADAPTIVE: readonly Adaptive[] = ["adam", "rmsprop"];

/** The adaptive methods (Adam, RMSprop, in that order) that have runs among the contenders. */
export function adaptivePresent(c: Contenders): Adaptive[] {
  return ADAPTIVE.filter((n) => c[n].length > 0);
}

/**
 * Per adaptive method named, SGD's runs paired with its runs by seed:
 * f(SGD's run) − f(its run) (SCIENCE §7.1), the value in words by `value`.
 */
export function againstSgd(
  c: Contenders,
  names: readonly Adaptive[],
  value: (name: Adaptive, label: string) => string,
  f: (run: Run) => number,
): Pairing[] {
  return names.map((name) => ({
    a: c.sgd[0]!.label,
    b: c[name][0]!.label,
    value: value(name, c[name][0]!.label),
    paired: pairedBy(c.sgd, c[name], f),
  }));
}

/** 3 significant digits, for evidence sentences. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const a = Math.abs(x);
  return a >= 1e-3 && a < 1e4
    ? String(Number(x.toPrecision(3)))
    : x.toExponential(2);
}

/** One seed's value of a paired comparison. */
export interface SeedValue {
  seed: number;
  value: number;
}

/** Per-seed values of one comparison, the seeds left out, and the epochs averaged (term claims). */
export interface PairedValues {
  values: SeedValue[];
  skipped: number;
  /** The epoch windows [from, to] the term values average over, one per distinct window. */
  windows: Array<[number, number]>;
}

function byEpoch(
  series: { epochs: ArrayLike<number>; values: ArrayLike<number> },
) {
  const out = new Map<number, number>();
  for (let i = 0; i < series.epochs.length; i++) {
    out.set(series.epochs[i]!, series.values[i]!);
  }
  return out;
}

/**
 * Per seed, the mean over the second half of training of log₁₀(a's `qa` /
 * b's `qb`) (see the module doc): one number per seed, never a count of epochs.
 */
export function termLogRatios(
  a: Run[],
  b: Run[],
  qa: Quantity,
  qb: Quantity,
): PairedValues {
  const values: SeedValue[] = [];
  const windows = new Map<string, [number, number]>();
  let skipped = 0;
  for (const ra of a) {
    const rb = b.find((r) => r.seed === ra.seed);
    if (!rb) continue;
    const sa = ra.series[qa];
    const sb = rb.series[qb];
    if (
      ra.status !== "ok" || rb.status !== "ok" || !sa || !sb ||
      sa.epochs.length === 0 || sb.epochs.length === 0
    ) {
      skipped++;
      continue;
    }
    const last = Math.min(
      Math.max(...Array.from(sa.epochs)),
      Math.max(...Array.from(sb.epochs)),
    );
    const vb = byEpoch(sb);
    let sum = 0;
    let count = 0;
    let from = Infinity;
    for (let i = 0; i < sa.epochs.length; i++) {
      const e = sa.epochs[i]!;
      if (!(e > last / 2 && e <= last)) continue;
      const x = sa.values[i]!;
      const y = vb.get(e) ?? NaN;
      if (!(x > 0 && y > 0 && Number.isFinite(x) && Number.isFinite(y))) {
        continue;
      }
      sum += Math.log10(x / y);
      count++;
      from = Math.min(from, e);
    }
    if (count === 0) {
      skipped++;
      continue;
    }
    values.push({ seed: ra.seed, value: sum / count });
    windows.set(`${from}-${last}`, [from, last]);
  }
  return { values, skipped, windows: [...windows.values()] };
}

/** Per seed, a's final `key` minus b's (a diverged run has no final value: skipped). */
export function finalDifferences(
  a: Run[],
  b: Run[],
  key: string,
): PairedValues {
  return pairedBy(a, b, (run) => summaryOf(run, key));
}

/** Per seed, f(a's run) − f(b's run) for the seeds both have; non-finite ones skipped. */
export function pairedBy(
  a: Run[],
  b: Run[],
  f: (run: Run) => number,
): PairedValues {
  const values: SeedValue[] = [];
  let skipped = 0;
  for (const ra of a) {
    const rb = b.find((r) => r.seed === ra.seed);
    if (!rb) continue;
    const d = f(ra) - f(rb);
    if (Number.isFinite(d)) values.push({ seed: ra.seed, value: d });
    else skipped++;
  }
  return { values, skipped, windows: [] };
}

/** A paired comparison from per-seed values: interval at `level`, verdict on the claimed side. */
export function pairedComparison(
  a: string,
  b: string,
  value: string,
  paired: PairedValues,
  level: number,
  claimed: ClaimedSide,
): Comparison | null {
  return comparisonOf(
    a,
    b,
    value,
    paired,
    level,
    (interval) => sideVerdict(interval, claimed),
  );
}

/** A comparison from per-seed values, with the verdict `decide` reads off its t-interval at `level`. */
export function comparisonOf(
  a: string,
  b: string,
  value: string,
  paired: PairedValues,
  level: number,
  decide: (interval: TInterval) => Exclude<Verdict, "not measured">,
): Comparison | null {
  if (paired.values.length === 0) return null;
  const values = paired.values.map((s) => s.value);
  const interval = tInterval(values, level);
  return {
    a,
    b,
    value,
    seeds: paired.values.map((s) => s.seed),
    values,
    skipped: paired.skipped,
    n: interval.n,
    mean: interval.mean,
    sd: interval.sd,
    level,
    low: interval.low,
    high: interval.high,
    verdict: decide(interval),
  };
}

/** What one comparison pairs: the two labels, the value in words and its per-seed values. */
export interface Pairing {
  a: string;
  b: string;
  value: string;
  paired: PairedValues;
}

/** One comparison per pairing at `level`, verdicts by `decide`; pairings with no seed left out. */
export function comparisonsOf(
  pairings: Pairing[],
  level: number,
  decide: (interval: TInterval) => Exclude<Verdict, "not measured">,
): Comparison[] {
  return pairings.flatMap(({ a, b, value, paired }) => {
    const one = comparisonOf(a, b, value, paired, level, decide);
    return one ? [one] : [];
  });
}

function pct(level: number): string {
  return `${Number((100 * level).toFixed(2))}%`;
}

/** "<value>: mean −0.045, 95% interval [−0.06, −0.03] (n = 5 seeds)"; with one seed, no interval. For logs. */
export function describeComparison(c: Comparison): string {
  const interval = c.low === null || c.high === null
    ? "no interval with one seed"
    : `${pct(c.level)} interval [${fmt(c.low)}, ${fmt(c.high)}]`;
  return `${c.value}: mean ${fmt(c.mean)}, ${interval} (n = ${c.n} seed${
    c.n === 1 ? "" : "s"
  }${c.skipped > 0 ? `, ${c.skipped} left out` : ""})`;
}

/** The closing sentence: what the intervals say, or why they cannot decide. */
function ruleSentence(comparisons: Comparison[], verdict: Verdict): string {
  const n = Math.max(...comparisons.map((c) => c.n));
  if (n < MIN_SEEDS) {
    return `With ${n} seed${n === 1 ? "" : "s"} (fewer than ${MIN_SEEDS}) ` +
      `these numbers are descriptive and the verdict is inconclusive ` +
      `(SCIENCE §7.1).`;
  }
  const several = comparisons.length > 1;
  const how = several
    ? `Each interval is at ${pct(comparisons[0]!.level)} (Bonferroni: ${
      pct(CONFIDENCE)
    } jointly); the claim holds when every comparison does and fails when any does`
    : `The interval is at ${pct(CONFIDENCE)}`;
  const outcome: Record<Verdict, string> = {
    holds: several
      ? "every interval lies on the claimed side of zero, so the claim holds"
      : "it lies on the claimed side of zero, so the claim holds",
    fails: several
      ? "an interval lies on the other side of zero, so the data contradict the claim"
      : "it lies on the other side of zero, so the data contradict the claim",
    inconclusive: several
      ? "none lies on the other side of zero, but not every comparison holds (its interval contains zero, or it has fewer than 3 seeds), so it is inconclusive"
      : "it contains zero, so it is inconclusive",
    "not measured": "",
  };
  return `${how}: ${outcome[verdict]}.`;
}

function cellSuffix(cell: Run["cell"]): { id: string; words: string } {
  const label = groupLabel("", cell);
  if (label === "") return { id: "", words: "" };
  const text = label.replace(/^ · /, "");
  return { id: `@${text}`, words: ` (cell ${text})` };
}

const NAMES: Record<"sgd" | Adaptive, string> = {
  sgd: "SGD",
  rmsprop: "RMSprop",
  adam: "Adam",
};

/** A claim whose comparisons are done: its verdict, and whether it is descriptive. */
function decided(
  base: { id: string; statement: string },
  claimed: ClaimedSide,
  comparisons: Comparison[],
  lead: string,
  numbers: Record<string, number>,
): Claim {
  const verdict = allVerdict(comparisons.map((c) => c.verdict));
  const descriptive = comparisons.every((c) => c.n < MIN_SEEDS);
  // The per-seed values, means and intervals are in `comparisons`, beside this.
  const evidence = `${lead} ${ruleSentence(comparisons, verdict)}`;
  return {
    ...base,
    verdict,
    evidence,
    numbers,
    claimed,
    comparisons,
    descriptive,
  };
}

function notMeasured(
  base: { id: string; statement: string },
  claimed: ClaimedSide,
  evidence: string,
  numbers: Record<string, number> = {},
): Claim {
  return {
    ...base,
    verdict: "not measured",
    evidence,
    numbers,
    claimed,
    comparisons: [],
    descriptive: true,
  };
}

/** "Not measured: plain SGD and RMSprop not in this experiment." */
function absentClaim(
  base: { id: string; statement: string },
  claimed: ClaimedSide,
  absent: Array<string | false>,
): Claim {
  return notMeasured(
    base,
    claimed,
    `Not measured: ${
      absent.filter(Boolean).join(" and ")
    } not in this experiment.`,
  );
}

/** The statement of a term claim: SGD's term (SCIENCE §2.1) exceeds RMSprop's `rmsTerm` (§2.5 or §2.6). */
function termStatement(
  rmsTerm: "ir_rms_paper" | "ir_preconditioned",
  words: string,
): string {
  const formula = rmsTerm === "ir_rms_paper"
    ? "the paper's formula η/(4m)Σ_k||s⊙g_k||² (SCIENCE §2.5)"
    : "the preconditioned term η/(4m)Σ_kΣ_j g²/(√v+ε) (SCIENCE §2.6)";
  return `SGD's implicit-regularization term η/(4m)Σ_k||g_k||² exceeds ` +
    `RMSprop's, with ${formula}${words}.`;
}

/** The epochs a term comparison averages over, in words. */
function windowWords(paired: PairedValues): string {
  return paired.windows.length === 1
    ? `epochs ${paired.windows[0]![0]}–${paired.windows[0]![1]}`
    : "the second half of each run's epochs";
}

/** The term claim's lead: final values of both terms, and the learning rates they were taken at. */
function termLead(c: Contenders, sgdFinal: number, rmsFinal: number): string {
  const lrNote = c.sgd[0]!.optimizer.lr === c.rmsprop[0]!.optimizer.lr
    ? `both at η = ${fmt(c.sgd[0]!.optimizer.lr)}`
    : `η = ${fmt(c.sgd[0]!.optimizer.lr)} for SGD and ${
      fmt(c.rmsprop[0]!.optimizer.lr)
    } for RMSprop`;
  return `Final values, means over seeds: SGD ${fmt(sgdFinal)} against ` +
    `RMSprop ${
      fmt(rmsFinal)
    } (${lrNote}). Claimed: the per-seed log-ratio is above zero.`;
}

/** Claims 1 and 2: SGD's ir_sgd against RMSprop's term `rmsTerm`. */
function termClaim(
  c: Contenders,
  id: string,
  rmsTerm: "ir_rms_paper" | "ir_preconditioned",
  cell: Run["cell"],
): Claim {
  const suffix = cellSuffix(cell);
  const base = {
    id: `${id}${suffix.id}`,
    statement: termStatement(rmsTerm, suffix.words),
  };
  if (c.sgd.length === 0 || c.rmsprop.length === 0) {
    return absentClaim(base, "positive", [
      c.sgd.length === 0 && "plain SGD",
      c.rmsprop.length === 0 && "RMSprop",
    ]);
  }
  const paired = termLogRatios(c.sgd, c.rmsprop, "ir_sgd", rmsTerm);
  const comparison = pairedComparison(
    c.sgd[0]!.label,
    c.rmsprop[0]!.label,
    `log₁₀(SGD's ir_sgd / RMSprop's ${rmsTerm}), mean over ${
      windowWords(paired)
    }`,
    paired,
    CONFIDENCE,
    "positive",
  );
  if (comparison === null) {
    return notMeasured(
      base,
      "positive",
      `Not measured: no seed has both SGD's ir_sgd and RMSprop's ${rmsTerm} ` +
        `finite and positive in the second half of training` +
        `${paired.skipped > 0 ? ` (${paired.skipped} seed(s) left out)` : ""}.`,
    );
  }
  const sgdFinal = meanSummary(c.sgd, "final_ir_sgd");
  const rmsFinal = meanSummary(c.rmsprop, `final_${rmsTerm}`);
  return decided(
    base,
    "positive",
    [comparison],
    termLead(c, sgdFinal, rmsFinal),
    {
      sgd_final_mean: sgdFinal,
      rmsprop_final_mean: rmsFinal,
      ratio_final: sgdFinal / rmsFinal,
    },
  );
}

/** The mean over runs of a summary number (SCIENCE §7: the finite values only). */
function meanSummary(runs: Run[], key: string): number {
  return stat(runs.map((r) => summaryOf(r, key))).mean;
}

/** "Not measured" when some adaptive method shares no seed with a final value with SGD. */
function unpairedClaim(
  base: { id: string; statement: string },
  pairings: Pairing[],
  compared: Adaptive[],
  what: string,
): Claim {
  const skipped = pairings.reduce((n, p) => n + p.paired.skipped, 0);
  return notMeasured(
    base,
    "negative",
    `Not measured: no seed has a final ${what} for both SGD and ` +
      `${
        compared.filter((_, i) => pairings[i]!.paired.values.length === 0)
          .map((n) => NAMES[n]).join(" and ")
      } (${skipped} seed(s) lacked one, e.g. diverged).`,
    { seeds_skipped: skipped },
  );
}

/**
 * The distance from the initial weights ||w − w₀|| (SCIENCE §4.1) beside a
 * norm claim: a small norm can just mean "did not move". Adds the means to
 * `numbers`; returns the sentence ("" when one is not finite).
 */
function distanceNote(
  c: Contenders,
  compared: Adaptive[],
  numbers: Record<string, number>,
): string {
  const moved = [c.sgd, ...compared.map((n) => c[n])].map((runs) =>
    meanSummary(runs, "final_dist_init")
  );
  numbers["sgd_dist_init_mean"] = moved[0]!;
  compared.forEach((n, i) => numbers[`${n}_dist_init_mean`] = moved[i + 1]!);
  if (!moved.every(Number.isFinite)) return "";
  return ` Distance from the initial weights ||w − w₀||: SGD ${
    fmt(moved[0]!)
  }, ` +
    compared.map((n, i) => `${NAMES[n]} ${fmt(moved[i + 1]!)}`).join(", ") +
    ".";
}

/** Claims 3 and 4: SGD's final value of `key` below Adam's and RMSprop's. */
function finalClaim(
  c: Contenders,
  id: string,
  key: string,
  what: string,
  statement: string,
  cell: Run["cell"],
): Claim {
  const suffix = cellSuffix(cell);
  const base = {
    id: `${id}${suffix.id}`,
    statement: `${statement}${suffix.words}.`,
  };
  const compared = adaptivePresent(c);
  const missing = ADAPTIVE.filter((n) => c[n].length === 0).map((n) =>
    NAMES[n]
  );
  if (c.sgd.length === 0 || compared.length === 0) {
    return absentClaim(base, "negative", [
      c.sgd.length === 0 && "plain SGD",
      ...(compared.length === 0 ? missing : []),
    ]);
  }
  const pairings = againstSgd(
    c,
    compared,
    (name) => `final ${what}, SGD − ${NAMES[name]}`,
    (run) => summaryOf(run, key),
  );
  const comparisons = comparisonsOf(
    pairings,
    perComparisonLevel(compared.length),
    (t) => sideVerdict(t, "negative"),
  );
  if (comparisons.length < compared.length) {
    return unpairedClaim(base, pairings, compared, what);
  }
  const numbers: Record<string, number> = {
    sgd_mean: meanSummary(c.sgd, key),
  };
  for (const name of compared) {
    numbers[`${name}_mean`] = meanSummary(c[name], key);
  }
  const values = [`SGD ${fmt(numbers["sgd_mean"]!)}`]
    .concat(compared.map((n) => `${NAMES[n]} ${fmt(numbers[`${n}_mean`]!)}`))
    .join(", ");
  let lead = `Final ${what}, means over seeds: ${values}.`;
  if (missing.length > 0) {
    lead += ` ${missing.join(" and ")} not in this experiment.`;
  }
  if (key === "final_norm") lead += distanceNote(c, compared, numbers);
  lead += " Claimed: each per-seed difference is below zero.";
  return decided(base, "negative", comparisons, lead, numbers);
}

/** The four claims for the runs of one sweep cell. */
export function cellClaims(runs: Run[], cell: Run["cell"]): Claim[] {
  const c = pickContenders(runs);
  return [
    termClaim(c, "ir_sgd_exceeds_rmsprop_paper", "ir_rms_paper", cell),
    termClaim(
      c,
      "ir_sgd_exceeds_rmsprop_preconditioned",
      "ir_preconditioned",
      cell,
    ),
    finalClaim(
      c,
      "sgd_smaller_norm",
      "final_norm",
      "parameter norm ||w||₂",
      "SGD ends with a smaller parameter norm ||w||₂ than Adam and RMSprop (SCIENCE §4.1)",
      cell,
    ),
    finalClaim(
      c,
      "sgd_lower_test_error",
      "final_test_error",
      "test error",
      "SGD's final test error is lower than Adam's and RMSprop's (SCIENCE §4.3)",
      cell,
    ),
  ];
}

/** Claims for every sweep cell, cells in the order their first run appears. */
export function evaluateClaims(runs: Run[]): Claim[] {
  return byCell(runs).flatMap((list) => cellClaims(list, list[0]!.cell));
}
