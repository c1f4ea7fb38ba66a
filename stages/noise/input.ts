/**
 * Input noise (SCIENCE §1.2, the second option): additive Gaussian noise on
 * pixels scaled to [0, 1], clipped back to [0, 1].
 */
import type { Rng } from "../../pipeline/rng.ts";

/**
 * x = clip(p/255 + std·z, 0, 1) with z ~ N(0, 1) drawn by `rng.normal()` in
 * pixel order. `images` [N·rows·cols] bytes 0..255 → [N·rows·cols] float32.
 */
export function addInputNoise(
  images: Uint8Array,
  std: number,
  rng: Rng,
): Float32Array {
  if (!(std >= 0 && Number.isFinite(std))) {
    throw new RangeError(`Input noise std must be finite and >= 0, got ${std}`);
  }
  const out = new Float32Array(images.length);
  for (let i = 0; i < images.length; i++) {
    const x = images[i]! / 255 + std * rng.normal();
    out[i] = x < 0 ? 0 : x > 1 ? 1 : x;
  }
  return out;
}
