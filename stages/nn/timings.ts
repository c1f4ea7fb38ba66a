/**
 * A run's wall times as the few numbers its provenance keeps (the lock entry
 * and run cache, through `ctx.timings`): counts, means and extremes of the
 * per-epoch training and snapshot seconds. They never enter the record, whose
 * hash must be the same on every rerun.
 */

/** Epoch → wall seconds, as `TrainResult.seconds` holds them. */
export type SecondsByEpoch = Map<number, number>;

/**
 * Summary of training-step and snapshot seconds; a part with no timed epoch
 * (all resumed, or snapshots off) is left out.
 *
 * @example
 * ```ts
 * import { assertEquals } from "../../tests/assert.ts";
 * assertEquals(
 *   timingSummary({ epoch: new Map([[1, 2], [2, 4]]), snapshot: new Map() }),
 *   { epochs_timed: 2, epoch_seconds_mean: 3, epoch_seconds_min: 2, epoch_seconds_max: 4 },
 * );
 * ```
 */
export function timingSummary(
  seconds: { epoch: SecondsByEpoch; snapshot: SecondsByEpoch },
): Record<string, number> {
  return {
    ...part("epoch", [...seconds.epoch.values()]),
    ...part("snapshot", [...seconds.snapshot.values()]),
  };
}

function part(name: string, values: number[]): Record<string, number> {
  if (values.length === 0) return {};
  const sum = values.reduce((a, b) => a + b, 0);
  return {
    [`${name}s_timed`]: values.length,
    [`${name}_seconds_mean`]: sum / values.length,
    [`${name}_seconds_min`]: Math.min(...values),
    [`${name}_seconds_max`]: Math.max(...values),
  };
}
