import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertThrows,
} from "./_assert.ts";
import { Rng } from "../../../pipeline/rng.ts";
import {
  allVerdict,
  incompleteBeta,
  lnGamma,
  MIN_SEEDS,
  perComparisonLevel,
  sideVerdict,
  studentTCdf,
  studentTQuantile,
  tInterval,
} from "../../../stages/metrics/paired.ts";
// SciPy's stats.t.ppf and stats.t.interval (made by tests/fixtures/student_t.py).
import reference from "../../fixtures/student_t.json" with { type: "json" };

Deno.test("studentTQuantile() matches SciPy's t.ppf to 1e-9 relative over df 1…1000", () => {
  assertEquals(reference.quantiles.length, 63);
  for (const { p, df, t } of reference.quantiles) {
    const q = studentTQuantile(p, df);
    assert(
      Math.abs(q - t) <= 1e-9 * Math.max(1, Math.abs(t)),
      `t_{${p},${df}} = ${q}, SciPy ${t}`,
    );
  }
});

Deno.test("studentTQuantile() gives the textbook values and the closed forms for df 1 and 2", () => {
  assertAlmostEquals(studentTQuantile(0.975, 2), 4.302653, 1e-6);
  assertAlmostEquals(studentTQuantile(0.975, 4), 2.776445, 1e-6);
  assertAlmostEquals(studentTQuantile(0.975, 29), 2.045230, 1e-6);
  for (const p of [0.55, 0.8, 0.975, 0.999]) {
    // df = 1 is Cauchy: tan(π(p − ½)); df = 2: (2p − 1)/√(2p(1 − p)).
    const cauchy = Math.tan(Math.PI * (p - 0.5));
    assertAlmostEquals(studentTQuantile(p, 1), cauchy, 1e-10 * cauchy);
    const two = (2 * p - 1) / Math.sqrt(2 * p * (1 - p));
    assertAlmostEquals(studentTQuantile(p, 2), two, 1e-12 * two);
  }
  assertEquals(studentTQuantile(0.025, 4), -studentTQuantile(0.975, 4));
  // Large df approaches the normal quantile 1.959964.
  assertAlmostEquals(studentTQuantile(0.975, 1e7), 1.959964, 1e-6);
});

Deno.test("studentTQuantile() rejects p outside (0, 1) and df ≤ 0, naming the field", () => {
  assertThrows(() => studentTQuantile(1, 3), Error, "p must be in (0, 1)");
  assertThrows(() => studentTQuantile(0.9, 0), Error, "df must be > 0");
});

Deno.test("lnGamma(), incompleteBeta() and studentTCdf() on closed forms", () => {
  assertAlmostEquals(lnGamma(0.5), 0.5 * Math.log(Math.PI), 1e-14);
  assertAlmostEquals(lnGamma(1), 0, 1e-14);
  assertAlmostEquals(lnGamma(5), Math.log(24), 1e-13);
  assertAlmostEquals(lnGamma(0.25), Math.log(3.6256099082219083), 1e-13);
  for (const x of [0.01, 0.3, 0.5, 0.9]) {
    assertAlmostEquals(incompleteBeta(x, 1, 1), x, 1e-14);
    assertAlmostEquals(incompleteBeta(x, 3, 1), x ** 3, 1e-14);
    // I_x(1, b) = 1 − (1 − x)^b
    assertAlmostEquals(incompleteBeta(x, 1, 2.5), 1 - (1 - x) ** 2.5, 1e-14);
  }
  assertAlmostEquals(incompleteBeta(0.5, 7.5, 7.5), 0.5, 1e-14);
  // df = 1: P(T ≤ t) = ½ + atan(t)/π.
  for (const t of [-3, -0.2, 0, 1, 40]) {
    assertAlmostEquals(studentTCdf(t, 1), 0.5 + Math.atan(t) / Math.PI, 1e-14);
  }
});

Deno.test("tInterval() matches SciPy's t.interval; one value has no interval", () => {
  assertEquals(reference.intervals.length, 8);
  for (const r of reference.intervals) {
    const got = tInterval(r.values, r.level);
    const scale = Math.max(...r.values.map(Math.abs));
    assertAlmostEquals(got.mean, r.mean, 1e-14 * scale);
    assertAlmostEquals(got.low!, r.low, 1e-12 * scale);
    assertAlmostEquals(got.high!, r.high, 1e-12 * scale);
    assertEquals(got.n, r.values.length);
  }
  // By hand: values 1, 2, 3: mean 2, sd 1, half-width t_{0.975,2}/√3.
  const hand = tInterval([1, 2, 3], 0.95);
  assertEquals(hand.sd, 1);
  assertAlmostEquals(hand.high! - 2, 4.302652729749464 / Math.sqrt(3), 1e-12);
  assertEquals(tInterval([0.4], 0.95), {
    n: 1,
    mean: 0.4,
    sd: null,
    level: 0.95,
    low: null,
    high: null,
  });
  assertThrows(() => tInterval([1, NaN], 0.95), Error, "must be finite");
  assertThrows(() => tInterval([], 0.95), Error, "at least one value");
});

Deno.test("sideVerdict() needs 3 seeds and an interval on one side of zero", () => {
  assertEquals(MIN_SEEDS, 3);
  const two = tInterval([5, 5.1], 0.95);
  assert(two.low! > 0, "the 2-seed interval excludes zero");
  assertEquals(sideVerdict(two, "positive"), "inconclusive");
  assertEquals(sideVerdict(two, "negative"), "inconclusive");
  assertEquals(sideVerdict(tInterval([7], 0.95), "positive"), "inconclusive");
  const above = tInterval([1, 1.2, 0.9], 0.95);
  assertEquals(sideVerdict(above, "positive"), "holds");
  assertEquals(sideVerdict(above, "negative"), "fails");
  const straddles = tInterval([1, -0.5, 0.9], 0.95);
  assertEquals(sideVerdict(straddles, "positive"), "inconclusive");
  // Mean 0.1: sd 0.1 and t_{0.975,2}·0.1/√3 = 0.248 > 0.1; ten values, sd 0.082, t_{0.975,9}·0.082/√10 = 0.058 < 0.1.
  assertEquals(
    sideVerdict(tInterval([0, 0.1, 0.2], 0.95), "positive"),
    "inconclusive",
  );
  const ten = [0, 0.1, 0.2, 0, 0.1, 0.2, 0, 0.1, 0.2, 0.1];
  assertEquals(sideVerdict(tInterval(ten, 0.95), "positive"), "holds");
});

Deno.test("allVerdict() holds when every comparison holds, fails when any fails", () => {
  assertEquals(allVerdict(["holds", "holds"]), "holds");
  assertEquals(allVerdict(["holds", "inconclusive"]), "inconclusive");
  assertEquals(allVerdict(["holds", "fails"]), "fails");
  assertEquals(allVerdict(["inconclusive", "fails"]), "fails");
  assertEquals(allVerdict([]), "not measured");
  assertEquals(perComparisonLevel(1), 0.95);
  assertAlmostEquals(perComparisonLevel(2), 0.975, 1e-15);
});

Deno.test("a 95% t-interval on 3 seeds excludes a true zero in 5% of 20,000 seeded samples", () => {
  // Calibration: the error rate is 5% by construction with the t quantile;
  // the normal quantile 1.96 would give 19% at n = 3. Binomial sd 0.15%.
  const rng = Rng.fromSeed("paired-calibration");
  let decided = 0;
  const trials = 20_000;
  for (let i = 0; i < trials; i++) {
    const values = [rng.normal(), rng.normal(), rng.normal()];
    if (sideVerdict(tInterval(values, 0.95), "positive") !== "inconclusive") {
      decided++;
    }
  }
  const rate = decided / trials;
  assert(rate > 0.044 && rate < 0.056, `rate ${rate}`);
});
