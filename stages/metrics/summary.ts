/**
 * Summary numbers per run (final and best errors, generalization gap,
 * memorisation, norms, final IR terms) and their aggregate over the seeds
 * of a group (SCIENCE §4, §7).
 */
import { stat } from "./aggregate.ts";
import type { Run } from "./runs.ts";
import type { Quantity, Summary } from "./types.ts";
import { FINAL_QUANTITIES } from "../quantities.ts";

/** The value of a quantity at the last epoch where it is finite, and that epoch. */
export function lastFinite(
  run: Run,
  quantity: Quantity,
): { epoch: number; value: number } {
  const series = run.series[quantity];
  let best = { epoch: NaN, value: NaN };
  if (!series) return best;
  for (let i = 0; i < series.values.length; i++) {
    const v = series.values[i]!;
    const e = series.epochs[i]!;
    if (Number.isFinite(v) && Number.isFinite(e) && !(e < best.epoch)) {
      best = { epoch: e, value: v };
    }
  }
  return best;
}

/**
 * One run's summary numbers. "Final" is the last epoch where the quantity is
 * finite; for a diverged run every final_* number (and the gaps built from
 * them) is NaN, since its last values describe a blow-up, not a solution —
 * the group's `diverged` count reports it. best_test_error and its epoch cover
 * every measured epoch, the initial weights (epoch 0) included, and are kept
 * for diverged runs (up to divergence).
 * - generalization_gap = final test error − final train error (SCIENCE §4.3);
 * - memorised_fraction = 1 − final train error on the corrupted part: the
 *   share of corrupted samples predicted as their noisy training label
 *   (assumes the record measures that part against the labels trained on).
 */
export function runSummary(run: Run): Record<string, number> {
  const out: Record<string, number> = {};
  const ok = run.status === "ok";
  for (const q of FINAL_QUANTITIES) {
    out[`final_${q}`] = ok ? lastFinite(run, q).value : NaN;
  }
  out["final_epoch"] = ok ? lastFinite(run, "test_error").epoch : NaN;
  out["generalization_gap"] = out["final_test_error"]! -
    out["final_train_error"]!;
  out["memorised_fraction"] = 1 - out["final_train_corrupt_error"]!;
  out["memorisation_gap"] = out["final_train_corrupt_error"]! -
    out["final_train_clean_error"]!;
  let bestError = NaN;
  let bestEpoch = NaN;
  const test = run.series.test_error;
  if (test) {
    for (let i = 0; i < test.values.length; i++) {
      const v = test.values[i]!;
      if (Number.isFinite(v) && !(v >= bestError)) {
        bestError = v;
        bestEpoch = test.epochs[i]!;
      }
    }
  }
  out["best_test_error"] = bestError;
  out["best_test_epoch"] = bestEpoch;
  return out;
}

const summaries = new WeakMap<Run, Record<string, number>>();

/** A run's summary number `key` (runSummary, computed once per run); NaN when absent. */
export function summaryOf(run: Run, key: string): number {
  let summary = summaries.get(run);
  if (!summary) {
    summary = runSummary(run);
    summaries.set(run, summary);
  }
  return summary[key] ?? NaN;
}

/**
 * Aggregates the runs of one group over seeds: each number as mean, sample
 * std and count of its finite values. A number no seed measured is left out
 * (JSON has no NaN), so a missing key means "not measured".
 */
export function groupSummary(runs: Run[]): Summary {
  const first = runs[0];
  if (!first) throw new Error("groupSummary() needs at least one run");
  const perRun = runs.map(runSummary);
  const keys = [...new Set(perRun.flatMap((r) => Object.keys(r)))];
  const numbers: Summary["numbers"] = {};
  for (const key of keys) {
    const s = stat(perRun.map((r) => r[key] ?? NaN));
    if (s.count > 0) numbers[key] = s;
  }
  return {
    group: first.group,
    optimizer: first.label,
    cell: first.cell,
    seeds: runs.map((r) => r.seed).sort((a, b) => a - b),
    diverged: runs.filter((r) => r.status === "diverged").length,
    numbers,
  };
}
