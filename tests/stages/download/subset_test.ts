import { assertEquals, assertNotEquals } from "../../assert.ts";
import { Rng } from "../../../pipeline/rng.ts";
import {
  gatherRows,
  selectSubset,
  stratifiedQuota,
  validateSize,
} from "../../../stages/download/subset.ts";
import { assertThrowsWith } from "./_helpers.ts";

Deno.test("validateSize() accepts integers in [1, max] and names field, value and max otherwise", () => {
  assertEquals(validateSize("data.train_size", 1, 60000), 1);
  assertEquals(validateSize("data.train_size", 60000, 60000), 60000);
  for (const bad of [0, -3, 60001, 1.5, "10", null, Number.NaN]) {
    assertThrowsWith(
      () => validateSize("data.train_size", bad, 60000),
      `data.train_size must be an integer in [1, 60000], got ${
        JSON.stringify(bad)
      }`,
    );
  }
});

Deno.test("stratifiedQuota() keeps class proportions by largest remainder", () => {
  // 7 of [5, 3, 2] (N = 10): exact 3.5, 2.1, 1.4 → floors 3, 2, 1 (6), the
  // one left goes to class 0 (remainder .5 beats .4 and .1).
  assertEquals(stratifiedQuota([5, 3, 2], 7), [4, 2, 1]);
  // Ties go to the lower class: 2 of [1, 1, 1, 1] → [1, 1, 0, 0].
  assertEquals(stratifiedQuota([1, 1, 1, 1], 2), [1, 1, 0, 0]);
  assertEquals(stratifiedQuota([5, 3, 2], 10), [5, 3, 2]);
});

Deno.test("selectSubset() first takes 0..n-1; stratified gives exact class counts, seeded", () => {
  // 100 labels: 40 zeros, 30 ones, 20 twos, 10 threes.
  const labels = new Uint8Array(100);
  labels.fill(1, 40, 70);
  labels.fill(2, 70, 90);
  labels.fill(3, 90, 100);
  const opts = (seed: number) => ({ rng: Rng.fromSeed(seed), classes: 4 });
  assertEquals(Array.from(selectSubset(labels, 3, "first", opts(0))), [
    0,
    1,
    2,
  ]);

  const a = selectSubset(labels, 50, "stratified", opts(1));
  const counts = [0, 0, 0, 0];
  for (const i of a) counts[labels[i]!]!++;
  assertEquals(counts, [20, 15, 10, 5]);
  assertEquals(new Set(a).size, 50);
  assertEquals(Array.from(a), Array.from(a).sort((x, y) => x - y));
  assertEquals(selectSubset(labels, 50, "stratified", opts(1)), a);
  assertNotEquals(selectSubset(labels, 50, "stratified", opts(2)), a);
});

Deno.test("gatherRows() copies the chosen rows in order", () => {
  const data = Uint8Array.of(0, 1, 10, 11, 20, 21); // [3, 2]
  assertEquals(Array.from(gatherRows(data, 2, Uint32Array.of(2, 0))), [
    20,
    21,
    0,
    1,
  ]);
});
