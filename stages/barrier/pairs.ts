/**
 * Which runs are compared by the barrier stage: every pair with the same
 * seed (hence the same initial weights, stages/nn/loop.ts) and the same
 * sweep cell (hence the same architecture), and different optimizer labels.
 */
import { canonicalJson } from "../../pipeline/hash.ts";
import type { Json } from "../../pipeline/stage.ts";

/** A run as the barrier stage identifies it. */
export interface RunRef {
  label: string;
  seed: number;
  cell: Json;
}

/** Index pairs [i, j] with i < j, in input order. */
export function barrierPairs(runs: RunRef[]): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < runs.length; i++) {
    for (let j = i + 1; j < runs.length; j++) {
      const a = runs[i]!;
      const b = runs[j]!;
      if (
        a.seed === b.seed && a.label !== b.label &&
        canonicalJson(a.cell) === canonicalJson(b.cell)
      ) {
        pairs.push([i, j]);
      }
    }
  }
  return pairs;
}

/**
 * Seed-against-seed pairs: runs with the same optimizer label and cell and
 * different seeds (different initial weights), the yardstick the `momentum`
 * finding compares same-seed barriers with. Per label and cell, the seeds in
 * ascending order each pair with the next, cyclically: n seeds give n pairs
 * (one pair for two seeds, none for one).
 */
export function seedPairs(runs: RunRef[]): Array<[number, number]> {
  const groups = new Map<string, number[]>();
  runs.forEach((r, i) => {
    const key = `${r.label}\u0000${canonicalJson(r.cell)}`;
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  const pairs: Array<[number, number]> = [];
  for (const indices of groups.values()) {
    const sorted = [...indices].sort((i, j) => runs[i]!.seed - runs[j]!.seed);
    if (sorted.length < 2) continue;
    const n = sorted.length === 2 ? 1 : sorted.length;
    for (let k = 0; k < n; k++) {
      pairs.push([sorted[k]!, sorted[(k + 1) % sorted.length]!]);
    }
  }
  return pairs;
}
