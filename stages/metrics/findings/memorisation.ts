/**
 * Why adaptive methods generalise worse, and whether their speed costs
 * generalisation (SCIENCE §1.2, §4.3). Memorisation speed: the first epoch
 * at which the training error on the corrupted part, measured against the
 * noisy labels trained on, falls below 0.5 (half of the corrupted labels
 * learned). A run that never gets there is censored at its last epoch + 1,
 * a lower bound: this makes "SGD is slower" conservative when SGD is the
 * censored run, and says so in the evidence otherwise.
 * Three statements, each paired per seed (SCIENCE §7.1):
 * - speed: Adam and RMSprop reach half memorisation in fewer epochs than SGD;
 * - test error: SGD's final and best test errors are below each adaptive
 *   method's (Bonferroni over all comparisons);
 * - SWATS (when present): SWATS ends with a lower test error than Adam; its
 *   difference to SGD is reported beside (an interval around zero does not
 *   show SWATS matches SGD).
 */
import { pickContenders } from "../claims.ts";
import {
  CONFIDENCE,
  perComparisonLevel,
  sideVerdict,
  tInterval,
} from "../paired.ts";
import type { Run } from "../runs.ts";
import type { Comparison, Finding } from "../types.ts";
import {
  base,
  byLabel,
  combined,
  comparison,
  fmt,
  isDescriptive,
  meanInterval,
  meanSd,
  notMeasured,
  pairedBy,
  ruleNote,
  summaryOf,
  verdictWord,
} from "./common.ts";

/** The corrupted-part training error below which half of the noisy labels are memorised. */
export const HALF = 0.5;

/** Figure: train error on the corrupted part against epochs per optimizer, with the 0.5 line, beside test error. */
export const MEMORISATION_FIGURE = "memorisation-vs-test-error";

/** Epochs to memorise half of the corrupted labels; `censored` when never reached (value: last epoch + 1). */
export function epochsToHalf(
  run: Run,
): { epochs: number; censored: boolean } {
  const s = run.series.train_corrupt_error;
  if (!s || s.epochs.length === 0 || run.status !== "ok") {
    return { epochs: NaN, censored: false };
  }
  let last = -Infinity;
  for (let i = 0; i < s.epochs.length; i++) {
    const e = s.epochs[i]!;
    const v = s.values[i]!;
    if (Number.isFinite(v) && v < HALF) return { epochs: e, censored: false };
    if (Number.isFinite(v)) last = Math.max(last, e);
  }
  return Number.isFinite(last)
    ? { epochs: last + 1, censored: true }
    : { epochs: NaN, censored: false };
}

function table(runs: Run[]): Array<Record<string, string>> {
  return [...byLabel(runs)].map(([label, list]) => {
    const half = list.map(epochsToHalf);
    const censored = half.filter((h) => h.censored).length;
    return {
      optimizer: label,
      "epochs to half memorised": meanSd(half.map((h) => h.epochs)) +
        (censored > 0 ? `, ${censored} never (counted as last + 1)` : ""),
      "memorised at the end": meanSd(
        list.map((r) => summaryOf(r, "memorised_fraction")),
      ),
      "final test error": meanSd(
        list.map((r) => summaryOf(r, "final_test_error")),
      ),
      "best test error": meanSd(
        list.map((r) => summaryOf(r, "best_test_error")),
      ),
    };
  });
}

function finding(
  id: string,
  statement: string,
  comparisons: Comparison[],
  answers: { holds: string; fails: string; other: string },
  evidenceLead: string,
  rows: Array<Record<string, string>>,
  extraNumbers: Record<string, number> = {},
): Finding {
  const verdict = combined(comparisons);
  const effects = comparisons.length === 0
    ? "no seed has both runs"
    : comparisons.map((x) => `${x.value}: ${meanInterval(x)}`).join("; ");
  const said = verdict === "holds"
    ? answers.holds
    : verdict === "fails"
    ? answers.fails
    : answers.other;
  const numbers: Record<string, number> = { ...extraNumbers };
  for (const c of comparisons) numbers[`mean: ${c.value}`] = c.mean;
  return {
    ...base("memorisation", MEMORISATION_FIGURE),
    id,
    statement,
    verdict,
    answer: `${verdictWord(verdict)}: ${said} (${effects}).`,
    evidence: `${evidenceLead} ${effects}. ${ruleNote(comparisons)}`,
    numbers,
    comparisons,
    descriptive: isDescriptive(comparisons),
    table: rows,
  };
}

export function memorisationFindings(runs: Run[]): Finding[] {
  const c = pickContenders(runs);
  const adaptive = (["adam", "rmsprop"] as const).filter((n) =>
    c[n].length > 0
  );
  const rows = table(runs);
  const speedStatement =
    "Adam and RMSprop memorise half of the corrupted labels (train error on the corrupted part, against the noisy labels, below 0.5) in fewer epochs than SGD (SCIENCE §1.2, §4.3).";
  if (c.sgd.length === 0 || adaptive.length === 0) {
    return [{
      ...notMeasured(
        "memorisation",
        "memorisation.speed",
        speedStatement,
        "plain SGD and an adaptive method are both needed.",
        MEMORISATION_FIGURE,
      ),
      table: rows,
    }];
  }
  const out: Finding[] = [];
  const sgd = c.sgd[0]!.label;
  // Speed: SGD's epochs − the adaptive method's, claimed positive.
  const speedLevel = perComparisonLevel(adaptive.length);
  const censoredRuns = runs.filter((r) => epochsToHalf(r).censored);
  const speed = adaptive.flatMap((n) => {
    const one = comparison(
      sgd,
      c[n][0]!.label,
      `epochs to half memorised, SGD − ${c[n][0]!.label}`,
      pairedBy(c.sgd, c[n], (r) => epochsToHalf(r).epochs),
      speedLevel,
      (t) => sideVerdict(t, "positive"),
    );
    return one ? [one] : [];
  });
  const censoredNote = censoredRuns.length === 0
    ? "Every run reached it."
    : `${censoredRuns.length} run(s) never reached it (${
      [...new Set(censoredRuns.map((r) => r.label))].join(", ")
    }) and count as their last epoch + 1, a lower bound${
      censoredRuns.every((r) => r.label === sgd)
        ? " (only SGD runs: the differences are then conservative)"
        : " (an adaptive run censored biases its difference upward: read with care)"
    }.`;
  out.push(finding(
    "memorisation.speed",
    speedStatement,
    speed,
    {
      holds: "the adaptive methods memorise the noise faster than SGD",
      fails: "SGD memorises the noise faster than an adaptive method",
      other: "no clear difference in memorisation speed",
    },
    `${censoredNote} Per seed, SGD's epochs minus each adaptive method's; claimed above zero:`,
    rows,
  ));
  // Test error: SGD − adaptive, final and best, claimed negative.
  const errorLevel = perComparisonLevel(2 * adaptive.length);
  const errors = adaptive.flatMap((n) =>
    (["final_test_error", "best_test_error"] as const).flatMap((key) => {
      const one = comparison(
        sgd,
        c[n][0]!.label,
        `${key.replace(/_/g, " ")}, SGD − ${c[n][0]!.label}`,
        pairedBy(c.sgd, c[n], (r) => summaryOf(r, key)),
        errorLevel,
        (t) => sideVerdict(t, "negative"),
      );
      return one ? [one] : [];
    })
  );
  out.push(finding(
    "memorisation.test_error",
    "SGD's final and best test errors are lower than each adaptive method's: the faster memorisation costs generalisation (SCIENCE §4.3).",
    errors,
    {
      holds: "SGD tests better, at the end and at its best epoch",
      fails: "an adaptive method tests better than SGD",
      other: "no clear test-error difference at the end and at the best epoch",
    },
    "Per seed, SGD's test error minus each adaptive method's; claimed below zero:",
    rows,
  ));
  // SWATS against Adam (claimed lower) and against SGD (reported).
  const swats = [...byLabel(runs).values()].find((l) =>
    l[0]!.optimizer.name === "swats"
  );
  if (swats && c.adam.length > 0) {
    const label = swats[0]!.label;
    const vsAdam = comparison(
      label,
      c.adam[0]!.label,
      `final test error, ${label} − ${c.adam[0]!.label}`,
      pairedBy(swats, c.adam, (r) => summaryOf(r, "final_test_error")),
      CONFIDENCE,
      (t) => sideVerdict(t, "negative"),
    );
    const toSgd = pairedBy(
      swats,
      c.sgd,
      (r) => summaryOf(r, "final_test_error"),
    );
    const gap = toSgd.values.length > 0
      ? tInterval(toSgd.values.map((v) => v.value), CONFIDENCE)
      : null;
    const gapText = gap === null
      ? "no seed pairs SWATS with SGD"
      : `SWATS − SGD final test error ${fmt(gap.mean)}${
        gap.low === null || gap.high === null
          ? " (one seed)"
          : ` [${fmt(gap.low)}, ${fmt(gap.high)}]`
      }`;
    out.push(finding(
      "memorisation.swats",
      "SWATS (Adam switching to SGD) ends with a lower test error than Adam: switching closes at least part of the gap (Keskar & Socher 2017; SCIENCE §3).",
      vsAdam ? [vsAdam] : [],
      {
        holds: `SWATS tests better than Adam; ${gapText}`,
        fails: `SWATS tests worse than Adam; ${gapText}`,
        other: `SWATS does not clearly beat Adam; ${gapText}`,
      },
      `Per seed, SWATS's final test error minus Adam's; claimed below zero. Beside it, ${gapText} (an interval around zero does not show SWATS matches SGD):`,
      rows,
      gap === null ? {} : { "swats_minus_sgd_final_test_error": gap.mean },
    ));
  }
  return out;
}
