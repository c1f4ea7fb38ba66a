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
 *   show SWATS matches SGD), and so is the epoch each seed switched at: a run
 *   that never switched is Adam, and answers nothing about switching.
 */
import {
  type Adaptive,
  adaptivePresent,
  type Contenders,
  pickContenders,
} from "../claims.ts";
import { CONFIDENCE, sideVerdict, tInterval } from "../paired.ts";
import type { Run } from "../runs.ts";
import type { Comparison, Finding } from "../types.ts";
import {
  byLabel,
  effects,
  finalDifferences,
  type FindingSpec,
  fmt,
  meanSd,
  meanSdOf,
  type Measure,
  notMeasured,
  pairedFinding,
  ruleNote,
  sgdAgainstAdaptive,
  summaryOf,
  verdictAnswer,
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
      "memorised at the end": meanSdOf(list, "memorised_fraction"),
      "final test error": meanSdOf(list, "final_test_error"),
      "best test error": meanSdOf(list, "best_test_error"),
    };
  });
}

/** A memorisation finding's words: the answer for its verdict, the lead and the effects (SCIENCE §7.1). */
function words(
  answers: { holds: string; fails: string; other: string },
  evidenceLead: string,
  extraNumbers: Record<string, number> = {},
) {
  return (comparisons: Comparison[], verdict: Finding["verdict"]) => {
    const effect = comparisons.length === 0
      ? "no seed has both runs"
      : effects(comparisons);
    const numbers: Record<string, number> = { ...extraNumbers };
    for (const c of comparisons) numbers[`mean: ${c.value}`] = c.mean;
    return {
      answer: verdictAnswer(verdict, answers, effect),
      evidence: `${evidenceLead} ${effect}. ${ruleNote(comparisons)}`,
      numbers,
    };
  };
}

const SPEED_STATEMENT =
  "Adam and RMSprop memorise half of the corrupted labels (train error on the corrupted part, against the noisy labels, below 0.5) in fewer epochs than SGD (SCIENCE §1.2, §4.3).";

/** How many runs never reached half memorisation, and which way that biases the differences. */
function censoredNote(runs: Run[], sgd: string): string {
  const censoredRuns = runs.filter((r) => epochsToHalf(r).censored);
  return censoredRuns.length === 0
    ? "Every run reached it."
    : `${censoredRuns.length} run(s) never reached it (${
      [...new Set(censoredRuns.map((r) => r.label))].join(", ")
    }) and count as their last epoch + 1, a lower bound${
      censoredRuns.every((r) => r.label === sgd)
        ? " (only SGD runs: the differences are then conservative)"
        : " (an adaptive run censored biases its difference upward: read with care)"
    }.`;
}

/** Speed: SGD's epochs to half memorised − each adaptive method's, claimed positive. */
function speedSpec(runs: Run[], c: Contenders, adaptive: Adaptive[]) {
  const value = (label: string) => `epochs to half memorised, SGD − ${label}`;
  const speed = { value, f: (r: Run) => epochsToHalf(r).epochs };
  return {
    id: "memorisation.speed",
    statement: SPEED_STATEMENT,
    ...sgdAgainstAdaptive(c, adaptive, "positive", [speed]),
    words: words(
      {
        holds: "the adaptive methods memorise the noise faster than SGD",
        fails: "SGD memorises the noise faster than an adaptive method",
        other: "no clear difference in memorisation speed",
      },
      `${
        censoredNote(runs, c.sgd[0]!.label)
      } Per seed, SGD's epochs minus each adaptive method's; claimed above zero:`,
    ),
  };
}

/** SGD − each adaptive method on summary number `key`, in words. */
function testError(key: "final_test_error" | "best_test_error"): Measure {
  return {
    value: (label) => `${key.replace(/_/g, " ")}, SGD − ${label}`,
    f: (r) => summaryOf(r, key),
  };
}

/** Test error: SGD − each adaptive method, final and best, claimed negative (Bonferroni over all). */
function testErrorSpec(c: Contenders, adaptive: Adaptive[]): FindingSpec {
  return {
    id: "memorisation.test_error",
    statement:
      "SGD's final and best test errors are lower than each adaptive method's: the faster memorisation costs generalisation (SCIENCE §4.3).",
    ...sgdAgainstAdaptive(c, adaptive, "negative", [
      testError("final_test_error"),
      testError("best_test_error"),
    ]),
    words: words(
      {
        holds: "SGD tests better, at the end and at its best epoch",
        fails: "an adaptive method tests better than SGD",
        other:
          "no clear test-error difference at the end and at the best epoch",
      },
      "Per seed, SGD's test error minus each adaptive method's; claimed below zero:",
    ),
  };
}

/** SWATS − SGD final test error: reported beside the SWATS finding, not tested. */
function swatsGap(swats: Run[], sgd: Run[]) {
  const toSgd = finalDifferences(swats, sgd, "final_test_error");
  const gap = toSgd.values.length > 0
    ? tInterval(toSgd.values.map((v) => v.value), CONFIDENCE)
    : null;
  const text = gap === null
    ? "no seed pairs SWATS with SGD"
    : `SWATS − SGD final test error ${fmt(gap.mean)}${
      gap.low === null || gap.high === null
        ? " (one seed)"
        : ` [${fmt(gap.low)}, ${fmt(gap.high)}]`
    }`;
  return { gap, text };
}

/**
 * The first snapshot epoch after SWATS's switch: after it there is no
 * preconditioner, so the preconditioned term is NaN where the plain SGD term
 * was measured (SCIENCE §2.6, §3). Null when the run never switched; epoch 0
 * (no step taken) does not count.
 */
export function swatsSwitchEpoch(run: Run): number | null {
  const sgd = run.series.ir_sgd;
  if (!sgd) return null;
  const pre = run.series.ir_preconditioned;
  for (let i = 0; i < sgd.epochs.length; i++) {
    const e = sgd.epochs[i]!;
    if (e === 0 || !Number.isFinite(sgd.values[i]!)) continue;
    if (!Number.isFinite(pre?.values[i] ?? NaN)) return e;
  }
  return null;
}

/** "had switched to SGD by epochs 3, 7 (2 of 3 seeds)" or that no seed switched in the run's epochs. */
export function switchWords(swats: Run[]): string {
  const at = swats.map(swatsSwitchEpoch).filter((e) => e !== null);
  if (at.length === 0) {
    const last = Math.max(
      ...swats.map((r) => {
        const e = r.series.ir_sgd?.epochs;
        return e && e.length > 0 ? e[e.length - 1]! : 0;
      }),
    );
    return `no seed's SWATS switched to SGD within ${last} epochs, so it ran as Adam throughout and this setting says nothing about switching`;
  }
  return `SWATS had switched to SGD by epoch${at.length > 1 ? "s" : ""} ${
    at.join(", ")
  } (${at.length} of ${swats.length} seeds)`;
}

/** SWATS against Adam (claimed lower final test error) and against SGD (reported). */
function swatsSpec(swats: Run[], c: Contenders): FindingSpec {
  const label = swats[0]!.label;
  const gapText = swatsGap(swats, c.sgd);
  const gap = gapText.gap;
  const text = `${gapText.text}; ${switchWords(swats)}`;
  return {
    id: "memorisation.swats",
    statement:
      "SWATS (Adam switching to SGD) ends with a lower test error than Adam: switching closes at least part of the gap (Keskar & Socher 2017; SCIENCE §3).",
    pairings: [{
      a: label,
      b: c.adam[0]!.label,
      value: `final test error, ${label} − ${c.adam[0]!.label}`,
      paired: finalDifferences(swats, c.adam, "final_test_error"),
    }],
    level: CONFIDENCE,
    decide: (t) => sideVerdict(t, "negative"),
    words: words(
      {
        holds: `SWATS tests better than Adam; ${text}`,
        fails: `SWATS tests worse than Adam; ${text}`,
        other: `SWATS does not clearly beat Adam; ${text}`,
      },
      `Per seed, SWATS's final test error minus Adam's; claimed below zero. Beside it, ${text} (an interval around zero does not show SWATS matches SGD):`,
      gap === null ? {} : { "swats_minus_sgd_final_test_error": gap.mean },
    ),
  };
}

export function memorisationFindings(runs: Run[]): Finding[] {
  const c = pickContenders(runs);
  const adaptive = adaptivePresent(c);
  const rows = table(runs);
  if (c.sgd.length === 0 || adaptive.length === 0) {
    return [notMeasured(
      "memorisation",
      "memorisation.speed",
      SPEED_STATEMENT,
      "plain SGD and an adaptive method are both needed.",
      MEMORISATION_FIGURE,
      rows,
    )];
  }
  const swats = [...byLabel(runs).values()].find((l) =>
    l[0]!.optimizer.name === "swats"
  );
  return [
    speedSpec(runs, c, adaptive),
    testErrorSpec(c, adaptive),
    ...(swats && c.adam.length > 0 ? [swatsSpec(swats, c)] : []),
  ].map((spec) =>
    pairedFinding({
      module: "memorisation",
      figure: MEMORISATION_FIGURE,
      ...spec,
      table: rows,
    })
  );
}
