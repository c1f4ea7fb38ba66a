import { assert, assertEquals, assertNotEquals } from "../assert.ts";
import { Rng } from "../../pipeline/rng.ts";

Deno.test("Rng is deterministic per seed and resumes exactly from its state", () => {
  const a = Rng.fromSeed(7);
  const b = Rng.fromSeed(7);
  assertEquals([a.nextUint32(), a.float()], [b.nextUint32(), b.float()]);
  const state = a.state();
  const tail = [a.nextUint32(), a.int(10), a.normal()];
  const resumed = Rng.fromState(state);
  assertEquals([resumed.nextUint32(), resumed.int(10), resumed.normal()], tail);
  assertNotEquals(Rng.fromSeed(8).nextUint32(), Rng.fromSeed(7).nextUint32());
});

Deno.test("Rng.int() is uniform within a chi-square bound", () => {
  const rng = Rng.fromSeed("chi");
  const k = 10, n = 100_000;
  const counts = new Array(k).fill(0);
  for (let i = 0; i < n; i++) counts[rng.int(k)]++;
  const expected = n / k;
  const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
  // 9 degrees of freedom: P(χ² > 27.88) = 0.001.
  assert(chi2 < 27.88, `chi-square ${chi2}`);
});

Deno.test("Rng.normal() has mean 0 and variance 1 within 4 standard errors", () => {
  const rng = Rng.fromSeed(1);
  const n = 50_000;
  let s = 0, s2 = 0;
  for (let i = 0; i < n; i++) {
    const x = rng.normal();
    s += x;
    s2 += x * x;
  }
  const mean = s / n;
  const variance = s2 / n - mean * mean;
  assert(Math.abs(mean) < 4 / Math.sqrt(n), `mean ${mean}`);
  assert(Math.abs(variance - 1) < 4 * Math.sqrt(2 / n), `variance ${variance}`);
});

Deno.test("Rng.permutation() and sample() draw distinct indices", () => {
  const p = Rng.fromSeed(3).permutation(100);
  assertEquals(
    [...p].sort((x, y) => x - y),
    Array.from({ length: 100 }, (_, i) => i),
  );
  const s = Rng.fromSeed(3).sample(100, 30);
  assertEquals(new Set(s).size, 30);
});
