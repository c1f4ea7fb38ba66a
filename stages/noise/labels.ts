/**
 * Symmetric label noise (SCIENCE §1.2): exactly round(rate·N) samples, chosen
 * uniformly without replacement, each get a label drawn uniformly from the
 * classes − 1 OTHER classes.
 */
import type { Rng } from "../../pipeline/rng.ts";

/** Noisy labels plus the record of what was changed. */
export interface CorruptedLabels {
  /** [N] labels after corruption. */
  labels: Uint8Array;
  /** [K] ascending indices of the corrupted samples, K = round(rate·N). */
  corrupted: Uint32Array;
  /** [K] the original labels at those indices. */
  original: Uint8Array;
}

/**
 * Corrupts round(rate·N) labels (Math.round: halves round up). Draw order,
 * fixed so a seed reproduces: `rng.sample(N, K)` picks the indices, which are
 * sorted; then, index by index in ascending order, r = `rng.int(classes − 1)`
 * and the new label is r if r < original, else r + 1 (skipping the original).
 */
export function corruptLabels(
  labels: Uint8Array,
  rate: number,
  classes: number,
  rng: Rng,
): CorruptedLabels {
  if (!(rate >= 0 && rate < 1)) {
    throw new RangeError(`Label noise rate must be in [0, 1), got ${rate}`);
  }
  if (!Number.isInteger(classes) || classes < 2 || classes > 256) {
    throw new RangeError(
      `Classes must be an integer in [2, 256], got ${classes}`,
    );
  }
  const bad = labels.findIndex((y) => y >= classes);
  if (bad >= 0) {
    throw new RangeError(
      `Label ${labels[bad]} at index ${bad} is not in [0, ${classes})`,
    );
  }
  const count = Math.round(rate * labels.length);
  const corrupted = rng.sample(labels.length, count).sort();
  const noisy = labels.slice();
  const original = new Uint8Array(count);
  corrupted.forEach((index, j) => {
    const y = labels[index]!;
    const r = rng.int(classes - 1);
    original[j] = y;
    noisy[index] = r < y ? r : r + 1;
  });
  return { labels: noisy, corrupted, original };
}
