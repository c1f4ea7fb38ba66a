/**
 * The loss barrier on the straight line between two weight vectors (linear
 * mode connectivity): w(t) = (1−t)·w_a + t·w_b and
 * barrier = max_t [L(w(t)) − ((1−t)·L(w_a) + t·L(w_b))], the largest rise
 * of the loss above the chord between the ends. A barrier near 0 says both
 * ends lie in one (linearly connected) basin. Pure over a `lossAt` callback,
 * so it is tested without tfjs.
 */

/** t = 0, 0.1, …, 1. */
export const DEFAULT_TS: readonly number[] = Array.from(
  { length: 11 },
  (_, i) => i / 10,
);

/** w(t) = (1−t)·w_a + t·w_b, array by array; the shapes must agree. */
export function interpolate(
  a: Float32Array[],
  b: Float32Array[],
  t: number,
): Float32Array[] {
  if (a.length !== b.length) {
    throw new Error(
      `barrier: the runs have ${a.length} and ${b.length} weight arrays; only runs of one architecture can be interpolated`,
    );
  }
  return a.map((wa, i) => {
    const wb = b[i]!;
    if (wa.length !== wb.length) {
      throw new Error(
        `barrier: weight array ${i} has ${wa.length} and ${wb.length} entries; only runs of one architecture can be interpolated`,
      );
    }
    const out = new Float32Array(wa.length);
    for (let j = 0; j < wa.length; j++) {
      out[j] = (1 - t) * wa[j]! + t * wb[j]!;
    }
    return out;
  });
}

/** The loss curve along the segment and its barrier. */
export interface BarrierCurve {
  t: number[];
  loss: number[];
  /** max over t of loss(t) − chord(t); 0 at the ends by construction. */
  barrier: number;
}

/**
 * Evaluates `lossAt` at w(t) for every t (0 and 1 must be among them: they
 * give the chord's ends) and returns the curve and the barrier.
 */
export function barrierCurve(
  lossAt: (weights: Float32Array[]) => number,
  a: Float32Array[],
  b: Float32Array[],
  ts: readonly number[] = DEFAULT_TS,
): BarrierCurve {
  if (ts[0] !== 0 || ts[ts.length - 1] !== 1) {
    throw new Error(
      `barrier: t must run from 0 to 1 (got ${ts.join(", ")})`,
    );
  }
  const loss = ts.map((t) =>
    t === 0 ? lossAt(a) : t === 1 ? lossAt(b) : lossAt(interpolate(a, b, t))
  );
  const la = loss[0]!;
  const lb = loss[loss.length - 1]!;
  let barrier = -Infinity;
  ts.forEach((t, i) => {
    barrier = Math.max(barrier, loss[i]! - ((1 - t) * la + t * lb));
  });
  if (loss.some((l) => !Number.isFinite(l))) barrier = NaN;
  return { t: [...ts], loss, barrier };
}
