/**
 * Pure helpers that turn the metrics document into chart rows: which groups a
 * figure shows, mean ± std rows per epoch, and whether an axis needs log scale.
 */
import type { MetricsDoc, Series } from "../metrics/types.ts";

/** One plotted point: mean ± 1 std over seeds (SCIENCE §7). */
export interface Row {
  group: string;
  optimizer: string;
  epoch: number;
  mean: number;
  std: number;
  /** Band edges mean ∓ std; `lo` cut on log axes when ≤ 0 (see `clipForLog`). */
  lo: number;
  hi: number;
  count: number;
  clipped?: boolean;
}

/**
 * The groups of the main figures: those without sweep overrides. A document
 * made only of sweep cells has no such group; then every group is shown.
 */
export function baseGroups(doc: MetricsDoc): string[] {
  const all = unique(doc.series.map((s) => s.group));
  const base = unique(
    doc.series.filter((s) => Object.keys(s.cell).length === 0).map((s) =>
      s.group
    ),
  );
  return base.length > 0 ? base : all;
}

/** Rows of a series (finite means only). */
export function rowsOf(series: Series): Row[] {
  const rows: Row[] = [];
  series.epochs.forEach((epoch, i) => {
    const mean = series.mean[i];
    if (mean === undefined || !Number.isFinite(mean)) return;
    const rawStd = series.std[i];
    const std = rawStd !== undefined && Number.isFinite(rawStd) ? rawStd : 0;
    rows.push({
      group: series.group,
      optimizer: series.optimizer,
      epoch,
      mean,
      std,
      lo: mean - std,
      hi: mean + std,
      count: series.count[i] ?? 0,
    });
  });
  return rows;
}

/**
 * Log scale when every mean is positive and they span more than two decades
 * (max/min > 100). A zero or negative mean forces a linear axis, because a
 * log axis would silently drop it.
 */
export function needsLog(values: number[]): boolean {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0 || finite.some((v) => v <= 0)) return false;
  return Math.max(...finite) / Math.min(...finite) > 100;
}

/** The note a caption gets when some band edge was cut (see `clipForLog`). */
export const CLIP_NOTE =
  "On log axes, band edges at or below zero (std ≥ mean) are drawn " +
  "one decade below the mean.";

/**
 * On a log axis a band edge mean − std ≤ 0 cannot be drawn; it is cut to
 * mean/10 (one decade below) and the row is marked `clipped`, so the caption
 * can say so. Returns new rows.
 */
export function clipForLog<R extends Row>(rows: R[]): R[] {
  return rows.map((
    r,
  ) => (r.lo > 0 ? r : { ...r, lo: r.mean / 10, clipped: true }));
}

/** Distinct values in first-seen order. */
export function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

/** The index of the last finite value (−1 when none). */
export function lastFinite(values: number[]): number {
  for (let i = values.length - 1; i >= 0; i--) {
    if (Number.isFinite(values[i])) return i;
  }
  return -1;
}
