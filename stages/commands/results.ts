/**
 * How the researcher's commands (`experiments`, `diff`) read this project's
 * results: the metrics document (stages/metrics/types.ts), summarised per
 * group. Means over seeds; a ± is the sample std (n − 1), SCIENCE §7.
 */
import { decodeJson } from "../../pipeline/artifact.ts";
import type { HeadlineReader } from "../../pipeline/commands/experiments.ts";
import type {
  GroupNumbers,
  NumbersReader,
} from "../../pipeline/commands/diff.ts";
import type { MetricsDoc, Quantity } from "../metrics/types.ts";

/** Quantities `diff` shows by default. */
export const HEADLINE_QUANTITIES = [
  "test_error",
  "train_error",
  "train_corrupt_error",
  "test_loss",
  "train_loss",
  "norm",
  "dist_init",
  "sharpness",
  "ir_own",
] satisfies readonly Quantity[];

/** Most groups listed per experiment by `experiments`. */
const MAX_GROUPS = 8;

/** Where "best" is the smallest value: errors and losses. */
export function lowerIsBetter(quantity: string): boolean {
  return quantity.endsWith("_error") || quantity.endsWith("_loss");
}

/**
 * Each group's final value (the seed mean at the last epoch where it is
 * finite) and, for errors and losses, its best (the smallest seed mean over
 * the epochs).
 */
export function metricsNumbers(doc: MetricsDoc): GroupNumbers {
  const out: GroupNumbers = {};
  for (const s of doc.series) {
    let final = NaN;
    let best = NaN;
    s.mean.forEach((v) => {
      if (typeof v !== "number" || !Number.isFinite(v)) return;
      final = v;
      if (!(v >= best)) best = v;
    });
    if (!Number.isFinite(final)) continue;
    (out[s.group] ??= {})[s.quantity] = lowerIsBetter(s.quantity)
      ? { final, best }
      : { final };
  }
  return out;
}

/** A number in 3 significant digits. */
function fmt(v: number): string {
  return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4
    ? String(Number(v.toPrecision(3)))
    : v.toExponential(2);
}

/** One line per group: final test error (± std over seeds) and the best one, at its epoch. */
export function headlineLines(doc: MetricsDoc): string[] {
  const lines = doc.summaries.slice(0, MAX_GROUPS).map((s) => {
    const final = s.numbers["final_test_error"];
    const best = s.numbers["best_test_error"];
    const at = s.numbers["best_test_epoch"];
    const seeds = s.seeds.length;
    const pm = final && final.count > 1 ? ` ± ${fmt(final.std)}` : "";
    return `${s.group}: final test error ${
      final ? fmt(final.mean) + pm : "n/a"
    }${best ? `, best ${fmt(best.mean)}` : ""}${
      at && seeds === 1 ? ` (epoch ${at.mean})` : ""
    } [${seeds} seed${seeds === 1 ? "" : "s"}${
      s.diverged ? `, ${s.diverged} diverged` : ""
    }]`;
  });
  if (doc.summaries.length > MAX_GROUPS) {
    lines.push(`… ${doc.summaries.length - MAX_GROUPS} more group(s)`);
  }
  return lines;
}

/** The metrics stage's output, read for `experiments`. */
export const metricsHeadline: HeadlineReader = {
  stage: "metrics",
  output: "metrics",
  headline: (bytes) => headlineLines(decodeJson<MetricsDoc>(bytes)),
};

/** The metrics stage's output, read for `diff`. */
export const metricsDiffReader: NumbersReader = {
  stage: "metrics",
  output: "metrics",
  headline: HEADLINE_QUANTITIES,
  numbers: (bytes) => metricsNumbers(decodeJson<MetricsDoc>(bytes)),
};
