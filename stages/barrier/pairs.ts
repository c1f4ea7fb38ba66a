/**
 * Which runs are compared by the barrier stage: every pair with the same
 * seed (hence the same initial weights, stages/train/loop.ts) and the same
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
