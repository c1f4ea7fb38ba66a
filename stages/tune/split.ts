/**
 * The held-out split of tuning (SCIENCE §7): the last V training samples
 * become the validation set, with their noisy labels (a researcher without
 * clean labels validates on what they have); the first N − V are trained on.
 * Only the choice of η sees this split: the final runs train on all N.
 */
import type { DataSet } from "../nn/data.ts";

/** Splits a set into its first n − v samples and its last v. */
export function holdOut(
  set: DataSet,
  v: number,
): { train: DataSet; validation: DataSet } {
  if (!Number.isInteger(v) || v < 1 || v >= set.n) {
    throw new Error(
      `tuning.validation_size: expected an integer in 1..${
        set.n - 1
      } (the training set has ${set.n} samples), got ${v}`,
    );
  }
  const cut = set.n - v;
  const part = (from: number, to: number): DataSet => ({
    n: to - from,
    d: set.d,
    images: set.images.subarray(from * set.d, to * set.d), // [(to − from) * d]
    labels: set.labels.subarray(from, to),
    corrupted: set.corrupted.subarray(from, to),
  });
  return { train: part(0, cut), validation: part(cut, set.n) };
}
