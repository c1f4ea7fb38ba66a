/**
 * A small seeded generator (xoshiro128**) whose whole state is four uint32s,
 * so a training run can save it in a checkpoint and resume bit-for-bit.
 */
import { createHash } from "node:crypto";

/** Serializable generator state. */
export type RngState = [number, number, number, number];

export class Rng {
  #s: Uint32Array;

  private constructor(state: RngState) {
    this.#s = Uint32Array.from(state);
    if (this.#s.every((v) => v === 0)) this.#s[0] = 1;
  }

  /** A generator from any number or string seed (hashed with SHA-256). */
  static fromSeed(seed: number | string): Rng {
    const digest = createHash("sha256").update(`rng:${seed}`).digest();
    return new Rng([
      digest.readUInt32LE(0),
      digest.readUInt32LE(4),
      digest.readUInt32LE(8),
      digest.readUInt32LE(12),
    ]);
  }

  /** A generator that continues exactly where `state()` was taken. */
  static fromState(state: RngState): Rng {
    return new Rng(state);
  }

  state(): RngState {
    const s = this.#s;
    return [s[0]!, s[1]!, s[2]!, s[3]!];
  }

  /** A new independent generator derived from this one's next outputs and a label. */
  fork(label: string): Rng {
    return Rng.fromSeed(`${this.state().join(",")}:${label}`);
  }

  /** The next uniform uint32. */
  nextUint32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  float(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n), without modulo bias. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 2 ** 32) {
      throw new RangeError(`Rng.int needs an integer n in [1, 2^32], got ${n}`);
    }
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Standard normal by the Box–Muller transform. */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.float();
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }

  /** k distinct indices from 0..n-1, uniformly without replacement, in draw order. */
  sample(n: number, k: number): Uint32Array {
    if (k > n) {
      throw new RangeError(`Cannot sample ${k} of ${n} without replacement`);
    }
    return this.permutation(n).slice(0, k);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
