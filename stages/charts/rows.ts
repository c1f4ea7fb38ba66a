/**
 * Pure helpers that turn the metrics document into chart rows: which groups a
 * figure shows, mean ± std rows per epoch, and whether an axis needs log scale.
 */
import type { MetricsDoc, Quantity, Series } from "../metrics/types.ts";

/** One plotted point: mean ± 1 std over seeds (SCIENCE §7). */
export interface Row {
  group: string;
  optimizer: string;
  /** Which line within a group (e.g. "own term"); "" when one line per group. */
  term: string;
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

/** The series of one quantity for the given groups, in group order. */
export function seriesOf(
  doc: MetricsDoc,
  quantity: Quantity,
  groups: string[],
): Series[] {
  return groups.flatMap((g) =>
    doc.series.filter((s) =>
      s.group === g && s.quantity === quantity && hasValue(s)
    )
  );
}

/** True when a series holds at least one finite mean. */
function hasValue(s: Series): boolean {
  return s.mean.some((m) => Number.isFinite(m));
}

/** Rows of a series (finite means only), labelled with `term`. */
export function rowsOf(series: Series, term = ""): Row[] {
  const rows: Row[] = [];
  series.epochs.forEach((epoch, i) => {
    const mean = series.mean[i];
    if (mean === undefined || !Number.isFinite(mean)) return;
    const rawStd = series.std[i];
    const std = rawStd !== undefined && Number.isFinite(rawStd) ? rawStd : 0;
    rows.push({
      group: series.group,
      optimizer: series.optimizer,
      term,
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
export function clipForLog(rows: Row[]): Row[] {
  return rows.map((
    r,
  ) => (r.lo > 0 ? r : { ...r, lo: r.mean / 10, clipped: true }));
}

/** Distinct values in first-seen order. */
export function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

/**
 * The heavy-ball β of a group: from the recorded optimizer config when the
 * doc has it (sgd/gd momentum, else NaN: SWATS switches mid-run and adaptive
 * methods have no raw-Hessian limit). Otherwise read from the data: SCIENCE §2.4 gives
 * ir_momentum / ir_sgd = r = (1+β)/(1−β)² at the same snapshot, so
 * β = ((2r+1) − √(8r+1)) / (2r). Falls back to a "-m<β>" label suffix
 * (e.g. "sgd-m0.9"); NaN when neither says (adaptive methods).
 */
export function heavyBallBeta(doc: MetricsDoc, group: string): number {
  const config = doc.optimizers?.[group];
  if (config && typeof config.name === "string") {
    if (config.name !== "sgd" && config.name !== "gd") return NaN;
    return typeof config.momentum === "number" ? config.momentum : 0;
  }
  const find = (q: Quantity) =>
    doc.series.find((s) => s.group === group && s.quantity === q);
  const mom = find("ir_momentum");
  const sgd = find("ir_sgd");
  if (mom && sgd) {
    for (let i = 0; i < mom.epochs.length; i++) {
      const j = sgd.epochs.indexOf(mom.epochs[i]!);
      const a = mom.mean[i];
      const b = j >= 0 ? sgd.mean[j] : undefined;
      if (a !== undefined && b !== undefined && Number.isFinite(a) && b > 0) {
        const r = a / b;
        if (r >= 1) {
          return Math.max(0, (2 * r + 1 - Math.sqrt(8 * r + 1)) / (2 * r));
        }
      }
    }
  }
  const label = doc.series.find((s) => s.group === group)?.optimizer ?? group;
  const m = /^(?:sgd|gd)\S*-m(0?\.\d+|0|1)\b/.exec(label);
  if (m) return Number(m[1]);
  if (/^(?:sgd|gd)\b/.test(label)) return 0;
  return NaN;
}

/** The learning rate a group trained with: its recorded config, else the doc's lr of its optimizer. */
export function groupLr(
  doc: MetricsDoc,
  group: string,
  optimizer: string,
): number | undefined {
  const lr = doc.optimizers?.[group]?.lr;
  if (typeof lr === "number") return lr;
  return doc.lr[optimizer] ?? doc.lr[group];
}
