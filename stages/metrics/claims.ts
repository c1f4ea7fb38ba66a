/**
 * The seed paper's conclusions as statements evaluated on the data. A verdict
 * is computed here from the runs, never written by hand; the evidence
 * sentence quotes the numbers (means over seeds) whichever way they fall.
 *
 * Who is compared: within one sweep cell, plain SGD is the first optimizer
 * named "sgd" without momentum; RMSprop and Adam are the first named
 * "rmsprop" and "adam" (in the experiment's order). Runs are paired by seed.
 *
 * Rules:
 * - Term claims (1, 2): per seed, the fraction of epochs ≥ 1 where both terms
 *   are finite and SGD's is strictly larger. holds if that fraction is ≥ 90%
 *   for every paired seed, fails if ≤ 10% for every paired seed, mixed
 *   otherwise. Epoch 0 (initial weights; RMSprop's s is still 0) is excluded.
 * - Final-value claims (3, 4): per seed, SGD's final value against each
 *   adaptive method present. holds if for every seed SGD is strictly below
 *   all of them, fails if for every seed SGD is at or above all of them,
 *   mixed otherwise. Seeds where a final value is missing (e.g. diverged)
 *   are left out and counted in the numbers.
 * - "not measured" when an optimizer needed is absent, or no seed pairs
 *   with a measured value.
 */
import { stat } from "./aggregate.ts";
import type { Run } from "./runs.ts";
import { groupLabel } from "./runs.ts";
import { runSummary } from "./summary.ts";
import type { Claim, Quantity, Verdict } from "./types.ts";

/** The runs of one sweep cell that the claims compare. */
export interface Contenders {
  sgd: Run[];
  rmsprop: Run[];
  adam: Run[];
}

/** Percent of measured epochs at or above which a term claim holds for a seed. */
export const TERM_HOLD_PERCENT = 90;
/** Percent of measured epochs at or below which a term claim fails for a seed. */
export const TERM_FAIL_PERCENT = 10;

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

/** 3 significant digits, for evidence sentences. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const a = Math.abs(x);
  return a >= 1e-3 && a < 1e4
    ? String(Number(x.toPrecision(3)))
    : x.toExponential(2);
}

function pct(x: number): string {
  return `${Number((100 * x).toFixed(1))}%`;
}

/** Per-seed result of a term comparison. */
export interface TermSeed {
  seed: number;
  /** Epochs ≥ 1 where both terms are finite. */
  measured: number;
  /** Of those, epochs where a's term > b's. */
  above: number;
}

/** Pairs runs by seed and counts, epoch by epoch, where a's `qa` exceeds b's `qb`. */
export function compareTerms(
  a: Run[],
  b: Run[],
  qa: Quantity,
  qb: Quantity,
): TermSeed[] {
  const out: TermSeed[] = [];
  for (const ra of a) {
    const rb = b.find((r) => r.seed === ra.seed);
    const sa = ra.series[qa];
    const sb = rb?.series[qb];
    if (!sa || !sb) continue;
    const byEpoch = new Map<number, number>();
    for (let i = 0; i < sb.epochs.length; i++) {
      byEpoch.set(sb.epochs[i]!, sb.values[i]!);
    }
    let measured = 0;
    let above = 0;
    for (let i = 0; i < sa.epochs.length; i++) {
      const e = sa.epochs[i]!;
      const va = sa.values[i]!;
      const vb = byEpoch.get(e) ?? NaN;
      if (!(e >= 1) || !Number.isFinite(va) || !Number.isFinite(vb)) continue;
      measured++;
      if (va > vb) above++;
    }
    if (measured > 0) out.push({ seed: ra.seed, measured, above });
  }
  return out;
}

/** The verdict of a term claim from per-seed fractions (see the module doc). */
export function termVerdict(seeds: TermSeed[]): Verdict {
  if (seeds.length === 0) return "not measured";
  // Integer comparisons: 9 of 10 is exactly 90%, with no rounding of 0.9.
  if (seeds.every((s) => 100 * s.above >= TERM_HOLD_PERCENT * s.measured)) {
    return "holds";
  }
  if (seeds.every((s) => 100 * s.above <= TERM_FAIL_PERCENT * s.measured)) {
    return "fails";
  }
  return "mixed";
}

/** How SGD's final value sits against each adaptive method's, per seed. */
export interface FinalSeed {
  seed: number;
  sgd: number;
  others: Record<string, number>;
}

/** The verdict of a final-value claim "SGD's value is below every other's" (see the module doc). */
export function finalVerdict(seeds: FinalSeed[]): Verdict {
  if (seeds.length === 0) return "not measured";
  const below = (s: FinalSeed) =>
    Object.values(s.others).every((v) => s.sgd < v);
  const atOrAbove = (s: FinalSeed) =>
    Object.values(s.others).every((v) => s.sgd >= v);
  if (seeds.every(below)) return "holds";
  if (seeds.every(atOrAbove)) return "fails";
  return "mixed";
}

function finalValue(run: Run, key: string): number {
  return runSummary(run)[key] ?? NaN;
}

type Adaptive = "adam" | "rmsprop";
const ADAPTIVE: readonly Adaptive[] = ["adam", "rmsprop"];

/** The final value of `key` per seed where SGD and every present adaptive method have one. */
export function pairFinals(
  c: Contenders,
  key: string,
): { seeds: FinalSeed[]; skipped: number; compared: Adaptive[] } {
  const others = ADAPTIVE.filter((n) => c[n].length > 0);
  const seeds: FinalSeed[] = [];
  let skipped = 0;
  for (const run of c.sgd) {
    const sgd = finalValue(run, key);
    const values: Record<string, number> = {};
    let complete = Number.isFinite(sgd);
    for (const name of others) {
      const peer = c[name].find((r) => r.seed === run.seed);
      const v = peer ? finalValue(peer, key) : NaN;
      if (!Number.isFinite(v)) complete = false;
      values[name] = v;
    }
    if (complete) seeds.push({ seed: run.seed, sgd, others: values });
    else skipped++;
  }
  return { seeds, skipped, compared: others };
}

function meanOf(values: number[]): number {
  return stat(values).mean;
}

function cellSuffix(cell: Run["cell"]): { id: string; words: string } {
  const label = groupLabel("", cell);
  if (label === "") return { id: "", words: "" };
  const text = label.replace(/^ · /, "");
  return { id: `@${text}`, words: ` (cell ${text})` };
}

const NAMES: Record<string, string> = {
  sgd: "SGD",
  rmsprop: "RMSprop",
  adam: "Adam",
};

/** Claims 1 and 2: SGD's ir_sgd against RMSprop's term `rmsTerm`. */
function termClaim(
  c: Contenders,
  id: string,
  rmsTerm: "ir_rms_paper" | "ir_preconditioned",
  cell: Run["cell"],
): Claim {
  const suffix = cellSuffix(cell);
  const formula = rmsTerm === "ir_rms_paper"
    ? "the paper's formula η/(4m)Σ_k||s⊙g_k||² (SCIENCE §2.5)"
    : "the preconditioned term η/(4m)Σ_kΣ_j g²/(√v+ε) (SCIENCE §2.6)";
  const statement =
    `SGD's implicit-regularization term η/(4m)Σ_k||g_k||² exceeds ` +
    `RMSprop's, with ${formula}${suffix.words}.`;
  const base = { id: `${id}${suffix.id}`, statement };
  if (c.sgd.length === 0 || c.rmsprop.length === 0) {
    const absent = [
      c.sgd.length === 0 ? "plain SGD" : "",
      c.rmsprop.length === 0 ? "RMSprop" : "",
    ]
      .filter(Boolean).join(" and ");
    return {
      ...base,
      verdict: "not measured",
      evidence: `Not measured: ${absent} not in this experiment.`,
      numbers: {},
    };
  }
  const seeds = compareTerms(c.sgd, c.rmsprop, "ir_sgd", rmsTerm);
  const verdict = termVerdict(seeds);
  if (verdict === "not measured") {
    return {
      ...base,
      verdict,
      evidence:
        `Not measured: no seed has both SGD's ir_sgd and RMSprop's ${rmsTerm} ` +
        `at any epoch ≥ 1.`,
      numbers: {},
    };
  }
  const fractions = seeds.map((s) => s.above / s.measured);
  const sgdFinal = meanOf(c.sgd.map((r) => finalValue(r, "final_ir_sgd")));
  const rmsFinal = meanOf(
    c.rmsprop.map((r) => finalValue(r, `final_${rmsTerm}`)),
  );
  const ratio = sgdFinal / rmsFinal;
  const above = seeds.reduce((n, s) => n + s.above, 0);
  const measured = seeds.reduce((n, s) => n + s.measured, 0);
  const lrNote = c.sgd[0]!.optimizer.lr === c.rmsprop[0]!.optimizer.lr
    ? `both at η = ${fmt(c.sgd[0]!.optimizer.lr)}`
    : `η = ${fmt(c.sgd[0]!.optimizer.lr)} for SGD and ${
      fmt(c.rmsprop[0]!.optimizer.lr)
    } for RMSprop`;
  const verdictWords: Record<Verdict, string> = {
    holds: "so the claim holds",
    fails: "so the data contradict the claim",
    mixed: "so the data neither confirm nor contradict it",
    "not measured": "",
  };
  const spread = seeds.length === 1
    ? pct(fractions[0]!)
    : `per seed ${pct(Math.min(...fractions))} to ${
      pct(Math.max(...fractions))
    }`;
  const evidence =
    `SGD's term exceeded RMSprop's ${rmsTerm} in ${above} of ${measured} ` +
    `measured epochs over ${seeds.length} seed(s) (${spread}; ${lrNote}); final values, ` +
    `means over seeds: ` +
    `SGD ${fmt(sgdFinal)} against RMSprop ${fmt(rmsFinal)} (ratio ${
      fmt(ratio)
    }), ` +
    `${verdictWords[verdict]}.`;
  return {
    ...base,
    verdict,
    evidence,
    numbers: {
      seeds: seeds.length,
      epochs_measured: measured,
      epochs_sgd_above: above,
      fraction_min: Math.min(...fractions),
      fraction_max: Math.max(...fractions),
      sgd_final_mean: sgdFinal,
      rmsprop_final_mean: rmsFinal,
      ratio_final: ratio,
    },
  };
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
  const { seeds, skipped, compared } = pairFinals(c, key);
  const missing = ADAPTIVE.filter((n) => c[n].length === 0).map((n) =>
    NAMES[n]
  );
  if (c.sgd.length === 0 || compared.length === 0) {
    const absent = [
      c.sgd.length === 0 ? "plain SGD" : "",
      ...(compared.length === 0 ? missing : []),
    ]
      .filter(Boolean).join(" and ");
    return {
      ...base,
      verdict: "not measured",
      evidence: `Not measured: ${absent} not in this experiment.`,
      numbers: {},
    };
  }
  const verdict = finalVerdict(seeds);
  if (verdict === "not measured") {
    return {
      ...base,
      verdict,
      evidence: `Not measured: no seed has a final ${what} for SGD and ` +
        `${
          compared.map((n) => NAMES[n]).join(" and ")
        } (${skipped} seed(s) lacked one, e.g. diverged).`,
      numbers: { seeds_skipped: skipped },
    };
  }
  const numbers: Record<string, number> = {
    seeds: seeds.length,
    seeds_skipped: skipped,
    sgd_mean: meanOf(seeds.map((s) => s.sgd)),
  };
  for (const name of compared) {
    numbers[`${name}_mean`] = meanOf(seeds.map((s) => s.others[name]!));
  }
  const belowAll =
    seeds.filter((s) => Object.values(s.others).every((v) => s.sgd < v)).length;
  const values = [`SGD ${fmt(numbers["sgd_mean"]!)}`]
    .concat(compared.map((n) => `${NAMES[n]} ${fmt(numbers[`${n}_mean`]!)}`))
    .join(", ");
  const verdictWords: Record<Verdict, string> = {
    holds: "the claim holds",
    fails: "the data contradict the claim",
    mixed: "the result differs between seeds or between the adaptive methods",
    "not measured": "",
  };
  let evidence =
    `Final ${what}, means over ${seeds.length} seed(s): ${values}; SGD was below ` +
    `${
      compared.length > 1 ? "both" : "it"
    } in ${belowAll} of ${seeds.length} seed(s), so ` +
    `${verdictWords[verdict]}.`;
  if (missing.length > 0) {
    evidence += ` ${missing.join(" and ")} not in this experiment.`;
  }
  if (skipped > 0) {
    evidence += ` ${skipped} seed(s) without a final value were left out.`;
  }
  if (key === "final_norm") {
    // A small norm can just mean "did not move": say how far each went from w₀.
    const moved = [c.sgd, ...compared.map((n) => c[n])].map((runs) =>
      meanOf(runs.map((r) => finalValue(r, "final_dist_init")))
    );
    numbers["sgd_dist_init_mean"] = moved[0]!;
    compared.forEach((n, i) => numbers[`${n}_dist_init_mean`] = moved[i + 1]!);
    if (moved.every(Number.isFinite)) {
      evidence +=
        ` Distance from the initial weights ||w − w₀||: SGD ${
          fmt(moved[0]!)
        }, ` +
        compared.map((n, i) => `${NAMES[n]} ${fmt(moved[i + 1]!)}`).join(", ") +
        ".";
    }
  }
  return { ...base, verdict, evidence, numbers };
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
  const cells = new Map<string, Run[]>();
  for (const run of runs) {
    const key = groupLabel("", run.cell);
    const list = cells.get(key);
    if (list) list.push(run);
    else cells.set(key, [run]);
  }
  return [...cells.values()].flatMap((list) => cellClaims(list, list[0]!.cell));
}
