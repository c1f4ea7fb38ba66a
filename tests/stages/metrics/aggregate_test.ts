import { assertAlmostEquals, assertEquals, assertThrows } from "./_assert.ts";
import { aggregateSeries, stat } from "../../../stages/metrics/aggregate.ts";

Deno.test("stat() of [1, 2, 3] is mean 2, sample std 1, count 3", () => {
  assertEquals(stat([1, 2, 3]), { mean: 2, std: 1, count: 3 });
});

Deno.test("stat() uses n − 1: [2,4,4,4,5,5,7,9] has std √(32/7)", () => {
  const s = stat([2, 4, 4, 4, 5, 5, 7, 9]);
  assertEquals(s.mean, 5);
  assertAlmostEquals(s.std, Math.sqrt(32 / 7), 1e-14); // 2.138…, not the population 2
  assertEquals(s.count, 8);
});

Deno.test("stat() skips NaN and ±Infinity and counts only what it used", () => {
  const s = stat([NaN, 1, Infinity, 3, -Infinity]);
  assertEquals(s.mean, 2);
  assertAlmostEquals(s.std, Math.SQRT2, 1e-15);
  assertEquals(s.count, 2);
});

Deno.test("stat() of one value has std 0; of none, NaN with count 0", () => {
  assertEquals(stat([5]), { mean: 5, std: 0, count: 1 });
  assertEquals(stat([]), { mean: NaN, std: NaN, count: 0 });
  assertEquals(stat([NaN]), { mean: NaN, std: NaN, count: 0 });
});

Deno.test("aggregateSeries() aligns epochs and lets a diverged run count where it has values", () => {
  const out = aggregateSeries([
    { epochs: [0, 1, 2], values: [1, 2, 3] },
    { epochs: [0, 1], values: [3, NaN] }, // diverged at epoch 1
    { epochs: [0, 1, 2, 3], values: [2, 4, 5, 7] },
    { epochs: [4], values: [NaN] }, // epoch 4 has no value anywhere: dropped
  ]);
  assertEquals(out.epochs, [0, 1, 2, 3]);
  assertEquals(out.mean, [2, 3, 4, 7]);
  assertEquals(out.count, [3, 2, 2, 1]);
  assertEquals(out.std[0], 1);
  assertAlmostEquals(out.std[1]!, Math.SQRT2, 1e-15);
  assertAlmostEquals(out.std[2]!, Math.SQRT2, 1e-15);
  assertEquals(out.std[3], 0);
});

Deno.test("aggregateSeries() sorts epochs given out of order and rejects ragged input", () => {
  const out = aggregateSeries([{ epochs: [2, 0], values: [4, 8] }]);
  assertEquals(out.epochs, [0, 2]);
  assertEquals(out.mean, [8, 4]);
  assertThrows(
    () => aggregateSeries([{ epochs: [0, 1], values: [1] }]),
    Error,
    "Series lengths differ",
  );
});
