/**
 * Choosing which samples of a split to keep (SCIENCE §1.1): the first N (the
 * paper's subset), or a seeded class-stratified sample.
 */
import type { Rng } from "../../pipeline/rng.ts";

export type SubsetMode = "first" | "stratified";

/**
 * Checks a requested size: an integer in [1, available]. Throws a one-line
 * error naming the field, the value and the maximum.
 */
export function validateSize(
  field: string,
  value: unknown,
  available: number,
): number {
  if (
    typeof value !== "number" || !Number.isInteger(value) || value < 1 ||
    value > available
  ) {
    throw new Error(
      `${field} must be an integer in [1, ${available}], got ${
        JSON.stringify(value)
      }`,
    );
  }
  return value;
}

/**
 * Samples per class for a stratified subset of `size` from `counts`:
 * floor(size·c_k/N) each, then the leftover samples one each to the classes
 * with the largest remainders (ties to the lower class), never above c_k.
 */
export function stratifiedQuota(counts: number[], size: number): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  if (size > total) {
    throw new RangeError(`Cannot take ${size} of ${total} samples`);
  }
  const quota = counts.map((c) => Math.floor((size * c) / total));
  // Largest remainder; integer arithmetic (size·c mod total) keeps it exact.
  const order = counts
    .map((c, k) => ({ k, rem: (size * c) % total }))
    .sort((a, b) => b.rem - a.rem || a.k - b.k);
  let left = size - quota.reduce((a, b) => a + b, 0);
  for (const { k } of order) {
    if (left === 0) break;
    if (quota[k]! < counts[k]!) {
      quota[k]!++;
      left--;
    }
  }
  return quota;
}

/**
 * Indices (ascending) of the kept samples. "first": 0..size−1. "stratified":
 * for each class, `stratifiedQuota` samples drawn uniformly without
 * replacement by `rng` (classes in order 0..classes−1, one `rng.sample` each).
 */
export function selectSubset(
  labels: Uint8Array,
  size: number,
  mode: SubsetMode,
  options: { rng: Rng; classes: number },
): Uint32Array {
  if (size > labels.length) {
    throw new RangeError(`Cannot take ${size} of ${labels.length} samples`);
  }
  if (mode === "first") {
    const out = new Uint32Array(size);
    for (let i = 0; i < size; i++) out[i] = i;
    return out;
  }
  const byClass: number[][] = Array.from({ length: options.classes }, () => []);
  for (let i = 0; i < labels.length; i++) {
    const bucket = byClass[labels[i]!];
    if (!bucket) {
      throw new RangeError(
        `Label ${labels[i]} at index ${i} is not in [0, ${options.classes})`,
      );
    }
    bucket.push(i);
  }
  const quota = stratifiedQuota(byClass.map((b) => b.length), size);
  const chosen: number[] = [];
  byClass.forEach((members, k) => {
    for (const j of options.rng.sample(members.length, quota[k]!)) {
      chosen.push(members[j]!);
    }
  });
  return Uint32Array.from(chosen).sort();
}

/** Gathers rows `indices` of a row-major [N, rowLength] byte array. */
export function gatherRows(
  data: Uint8Array,
  rowLength: number,
  indices: Uint32Array,
): Uint8Array {
  const out = new Uint8Array(indices.length * rowLength);
  indices.forEach((row, i) => {
    out.set(
      data.subarray(row * rowLength, (row + 1) * rowLength),
      i * rowLength,
    );
  });
  return out;
}
