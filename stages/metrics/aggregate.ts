/**
 * Aggregation over seeds (SCIENCE §7: mean ± 1 standard deviation over seeds).
 * Non-finite values (NaN: not applicable or past divergence; ±Infinity:
 * overflow) are missing, not zero: they are left out and `count` says how
 * many values were used.
 */

/** Mean, sample standard deviation and count of the finite values used. */
export interface Stat {
  mean: number;
  /** Sample (n − 1) standard deviation; 0 for a single value, NaN for none. */
  std: number;
  count: number;
}

/**
 * Mean, sample standard deviation (n − 1) and count over the finite values.
 * One value: std = 0 (no spread was observed; the count of 1 tells the reader
 * it is not an estimate). No value: mean = std = NaN, count = 0.
 */
export function stat(values: ArrayLike<number>): Stat {
  let count = 0;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) {
      count++;
      sum += v;
    }
  }
  if (count === 0) return { mean: NaN, std: NaN, count: 0 };
  const mean = sum / count;
  if (count === 1) return { mean, std: 0, count };
  let ss = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) ss += (v - mean) * (v - mean);
  }
  return { mean, std: Math.sqrt(ss / (count - 1)), count };
}

/** One run's per-epoch values of one quantity. */
export interface RunSeries {
  epochs: ArrayLike<number>;
  values: ArrayLike<number>;
}

/** Per-epoch aggregate over runs. */
export interface AggregatedSeries {
  epochs: number[];
  mean: number[];
  std: number[];
  count: number[];
}

/**
 * Aggregates runs epoch by epoch over the union of their epochs (ascending).
 * A run contributes to the epochs where it has a finite value (a diverged run
 * to the epochs before it diverged). Epochs where no run has a value are
 * dropped, so the result has no NaN means.
 */
export function aggregateSeries(runs: RunSeries[]): AggregatedSeries {
  const byEpoch = new Map<number, number[]>();
  for (const run of runs) {
    if (run.epochs.length !== run.values.length) {
      throw new Error(
        `Series lengths differ: ${run.epochs.length} epochs against ${run.values.length} values`,
      );
    }
    for (let i = 0; i < run.epochs.length; i++) {
      const epoch = run.epochs[i]!;
      const value = run.values[i]!;
      if (!Number.isFinite(epoch) || !Number.isFinite(value)) continue;
      const list = byEpoch.get(epoch);
      if (list) list.push(value);
      else byEpoch.set(epoch, [value]);
    }
  }
  const out: AggregatedSeries = { epochs: [], mean: [], std: [], count: [] };
  for (const epoch of [...byEpoch.keys()].sort((a, b) => a - b)) {
    const s = stat(byEpoch.get(epoch)!);
    out.epochs.push(epoch);
    out.mean.push(s.mean);
    out.std.push(s.std);
    out.count.push(s.count);
  }
  return out;
}
