/**
 * Which way round to run a matrix product on the WASM backend: a pure cost
 * model, so the choice is testable and the kernel wrapper in backend.ts stays
 * mechanical.
 *
 * Facts it encodes (tfjs-backend-wasm 4.22, measured in `deno task bench`):
 * - The fast path (XNNPACK fully-connected) only runs without transpose
 *   flags; flagged products fall to a scalar loop 10–18× slower, so flagged
 *   operands are transposed explicitly first.
 * - XNNPACK packs the right operand B into its own layout the first time a
 *   tensor is used as B (≈ 8–10 ns per element, about 8× an explicit
 *   transpose) and caches the packing for as long as that tensor lives. In
 *   training every step makes new weight tensors, so packing a 784×512 kernel
 *   per forward product costs as much as the product itself; putting the small
 *   activation matrix on the right, C = (Bᵀ·Aᵀ)ᵀ, avoids it.
 * - Both ways give bit-identical results: each output element is the same
 *   k-ordered sum of the same products (tests/stages/nn/backend_test.ts).
 */

/** Cost of packing one element of B, in units of one element moved by a transpose. */
export const PACK_COST = 8;

/** A product C = op(A)·op(B) with op(A) [m, k] and op(B) [k, n], per batch entry. */
export interface MatMulCase {
  m: number;
  k: number;
  n: number;
  /** Batch entries; the fast path only exists for batch 1. */
  batch: number;
  transposeA: boolean;
  transposeB: boolean;
  /** Bias or activation fused in: only the direct orientation applies them correctly. */
  fused: boolean;
  /** B (as stored) already has a packing cached, or is about to be reused. */
  bReused: boolean;
  /** A (as stored) already has a packing cached, or is about to be reused. */
  aReused: boolean;
}

/** "direct": op(A)·op(B) with flagged inputs transposed; "swapped": (op(B)ᵀ·op(A)ᵀ)ᵀ. */
export type Orientation = "direct" | "swapped";

/** Estimated cost of each orientation (elements moved, packing weighted by PACK_COST). */
export function orientationCosts(
  c: MatMulCase,
): Record<Orientation, number> {
  // Packing is a cost only on the fast path, i.e. for batch 1.
  const pack = c.batch === 1 ? PACK_COST : 0;
  const mk = c.batch * c.m * c.k;
  const kn = c.batch * c.k * c.n;
  const mn = c.batch * c.m * c.n;
  // Direct: the right operand is op(B); it keeps a cached packing only if it is B itself.
  const direct = (c.transposeA ? mk : 0) + (c.transposeB ? kn : 0) +
    (!c.transposeB && c.bReused ? 0 : pack * kn);
  // Swapped: the right operand is op(A)ᵀ, which is A itself when A was flagged.
  const swapped = (c.transposeB ? 0 : kn) + (c.transposeA ? 0 : mk) + mn +
    (c.transposeA && c.aReused ? 0 : pack * mk);
  return { direct, swapped };
}

/** The cheaper orientation; ties and fused products go direct. */
export function chooseOrientation(c: MatMulCase): Orientation {
  if (c.fused) return "direct";
  const cost = orientationCosts(c);
  return cost.swapped < cost.direct ? "swapped" : "direct";
}
