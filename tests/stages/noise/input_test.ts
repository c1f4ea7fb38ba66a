import { assert, assertEquals } from "../../assert.ts";
import { Rng } from "../../../pipeline/rng.ts";
import { addInputNoise } from "../../../stages/noise/input.ts";
import { assertThrowsWith } from "../download/_helpers.ts";

Deno.test("addInputNoise() with std 0 only rescales to [0, 1]", () => {
  const out = addInputNoise(Uint8Array.of(0, 51, 255), 0, Rng.fromSeed(0));
  assertEquals(Array.from(out), [0, Math.fround(0.2), 1]);
});

Deno.test("addInputNoise() adds N(0, std²) and clips to [0, 1]", () => {
  const n = 40000;
  // Mid-gray 0.4 + N(0, 0.05²): clipping is > 8 std away, so mean and std are the noise's.
  const gray = addInputNoise(
    new Uint8Array(n).fill(102),
    0.05,
    Rng.fromSeed(1),
  );
  const diffs = Array.from(gray, (x) => x - 0.4);
  const mean = diffs.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(
    diffs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1),
  );
  // Standard error of the mean 0.05/200 = 2.5e-4; of the sd ≈ 0.05/283 = 1.8e-4.
  assert(Math.abs(mean) < 1e-3, `mean ${mean}`);
  assert(Math.abs(sd - 0.05) < 1e-3, `sd ${sd}`);
  // Black pixels: half the draws are negative and clip to exactly 0.
  const black = addInputNoise(new Uint8Array(n), 0.1, Rng.fromSeed(2));
  assert(black.every((x) => x >= 0 && x <= 1));
  const zeros = black.filter((x) => x === 0).length / n;
  assert(Math.abs(zeros - 0.5) < 0.01, `fraction clipped ${zeros}`);
  assertEquals(
    addInputNoise(new Uint8Array(10).fill(102), 0.05, Rng.fromSeed(1)),
    gray.slice(0, 10),
  );
});

Deno.test("addInputNoise() rejects a negative or infinite std", () => {
  for (const std of [-0.1, Number.POSITIVE_INFINITY, Number.NaN]) {
    assertThrowsWith(
      () => addInputNoise(Uint8Array.of(1), std, Rng.fromSeed(0)),
      `Input noise std must be finite and >= 0, got ${std}`,
    );
  }
});
