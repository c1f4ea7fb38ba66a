import { assert, assertEquals, assertNotEquals } from "../../assert.ts";
import { Rng } from "../../../pipeline/rng.ts";
import { corruptLabels } from "../../../stages/noise/labels.ts";
import { assertThrowsWith } from "../download/_helpers.ts";

/** N labels cycling 0..9. */
function cycling(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => i % 10);
}

Deno.test("corruptLabels() corrupts exactly round(rate·N) labels, each to another class", () => {
  const labels = cycling(1000);
  const out = corruptLabels(labels, 0.3, 10, Rng.fromSeed(0));
  assertEquals(out.corrupted.length, 300);
  assertEquals(new Set(out.corrupted).size, 300);
  assertEquals(
    Array.from(out.corrupted),
    Array.from(out.corrupted).sort((a, b) => a - b),
  );
  const isCorrupted = new Set(out.corrupted);
  out.corrupted.forEach((index, j) => {
    assertEquals(out.original[j], labels[index]);
    assert(
      out.labels[index] !== labels[index],
      `index ${index} kept its label`,
    );
  });
  for (let i = 0; i < labels.length; i++) {
    if (!isCorrupted.has(i)) assertEquals(out.labels[i], labels[i]);
  }
  assertEquals(labels, cycling(1000)); // the input is not modified
  // round(0.25·10) = round(2.5) = 3 (halves round up); rate 0 changes nothing.
  assertEquals(
    corruptLabels(cycling(10), 0.25, 10, Rng.fromSeed(0)).corrupted.length,
    3,
  );
  const none = corruptLabels(labels, 0, 10, Rng.fromSeed(0));
  assertEquals([none.corrupted.length, none.labels], [0, labels]);
});

Deno.test("corruptLabels() is a function of its seed", () => {
  const labels = cycling(500);
  const a = corruptLabels(labels, 0.3, 10, Rng.fromSeed("noise:0"));
  const b = corruptLabels(labels, 0.3, 10, Rng.fromSeed("noise:0"));
  const c = corruptLabels(labels, 0.3, 10, Rng.fromSeed("noise:1"));
  assertEquals(a, b);
  assertNotEquals(a.corrupted, c.corrupted);
  assertNotEquals(a.labels, c.labels);
});

Deno.test("corruptLabels() draws the 9 other classes uniformly (chi-square, 8 dof, alpha 0.001)", () => {
  // 20000 samples all of class 4, rate 0.9: 18000 new labels over the 9
  // classes {0..3, 5..9}, 2000 expected each. Under uniformity the statistic
  // sum (O−E)²/E is chi-square with 8 degrees of freedom; its 0.999 quantile is
  // 26.12, so a correct sampler fails this bound with probability 0.001 (the
  // seed is fixed, so the test is deterministic). A sampler that never skips
  // the original (r mod 10), or one that folds class 4 onto a neighbour, puts
  // ~1800 in one cell and ~0 in another, a statistic above 1000.
  const labels = new Uint8Array(20000).fill(4);
  const out = corruptLabels(labels, 0.9, 10, Rng.fromSeed("chi-square"));
  const counts = new Array(10).fill(0);
  for (const i of out.corrupted) counts[out.labels[i]!]++;
  assertEquals(counts[4], 0);
  const expected = 18000 / 9;
  const chi2 = counts.reduce(
    (s, o, k) => (k === 4 ? s : s + (o - expected) ** 2 / expected),
    0,
  );
  assert(
    chi2 < 26.12,
    `chi-square ${chi2.toFixed(2)} >= 26.12; counts ${counts}`,
  );
  // With mixed originals the offset (new − original) mod 10 is uniform on 1..9 too.
  const mixed = corruptLabels(
    cycling(20000),
    0.9,
    10,
    Rng.fromSeed("chi-square-2"),
  );
  const offsets = new Array(10).fill(0);
  mixed.corrupted.forEach((i, j) =>
    offsets[(mixed.labels[i]! - mixed.original[j]! + 10) % 10]++
  );
  assertEquals(offsets[0], 0);
  const chi2Offsets = offsets.slice(1).reduce(
    (s, o) => s + (o - expected) ** 2 / expected,
    0,
  );
  assert(
    chi2Offsets < 26.12,
    `chi-square ${chi2Offsets.toFixed(2)}; offsets ${offsets}`,
  );
});

Deno.test("corruptLabels() rejects rates outside [0, 1) and labels out of range", () => {
  for (const rate of [-0.1, 1, 1.5, Number.NaN]) {
    assertThrowsWith(
      () => corruptLabels(cycling(10), rate, 10, Rng.fromSeed(0)),
      `Label noise rate must be in [0, 1), got ${rate}`,
    );
  }
  assertThrowsWith(
    () => corruptLabels(Uint8Array.of(1, 10), 0.5, 10, Rng.fromSeed(0)),
    "Label 10 at index 1 is not in [0, 10)",
  );
});
