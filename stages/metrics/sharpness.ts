/**
 * Sharpness (SCIENCE §4.2): the top Hessian eigenvalue by power iteration
 * or Lanczos, each stopping on a residual bound it reports, and the trace by
 * Hutchinson's estimator, over an abstract Hessian-vector
 * product so that both are testable on known matrices. Vectors are one
 * Float32Array per parameter tensor; the arithmetic here is float64.
 */
import type { Rng } from "../../pipeline/rng.ts";

/** A Hessian-vector product on vectors split like the parameters. */
export type Hvp = (v: Float32Array[]) => Float32Array[];

export interface EigenOptions {
  rng: Rng;
  /**
   * Relative residual that stops the iteration (default 1e-3): stop when
   * ||Hv − λv|| ≤ tol·|λ| for the unit vector v of the estimate λ.
   */
  tol?: number;
  /** At most this many products (per phase of power iteration; default 100). */
  maxIter?: number;
}

/**
 * An eigenvalue estimate λ and its residual bound. For symmetric H and a
 * unit vector v, some eigenvalue λ_true lies within ||Hv − λv|| of λ (the
 * Krylov–Weinberg bound; for a Ritz pair of Lanczos the residual is
 * β_k·|e_kᵀs|): |λ − λ_true| ≤ residual·|λ|. λ_true is the nearest
 * eigenvalue; from a random start it is the top one unless the start is
 * (nearly) orthogonal to its eigenvector. The products' own error (float32
 * rounding, or a finite-difference step) adds to this bound.
 */
export interface EigenResult {
  /** The largest (algebraic) eigenvalue estimate. */
  value: number;
  /** Hessian-vector products used, over both phases. */
  iterations: number;
  /** Whether `residual` ≤ tol was reached within maxIter products. */
  converged: boolean;
  /** ||Hv − λv|| / |λ| at the returned estimate (0 when H v = 0). */
  residual: number;
}

/** Checked tolerance and iteration cap (SCIENCE §4.2 defaults 1e-3, 100), and the flat size of each shape. */
function eigenSettings(
  options: EigenOptions,
  shapes: number[][],
): { tol: number; maxIter: number; sizes: number[] } {
  const tol = options.tol ?? 1e-3;
  const maxIter = options.maxIter ?? 100;
  if (!(tol > 0)) {
    throw new Error(`tol: expected a positive number, got ${tol}`);
  }
  if (!Number.isInteger(maxIter) || maxIter < 1) {
    throw new Error(`maxIter: expected a positive integer, got ${maxIter}`);
  }
  return {
    tol,
    maxIter,
    sizes: shapes.map((s) => s.reduce((a, b) => a * b, 1)),
  };
}

/** The result before any product: no estimate yet. */
const NOT_STARTED: EigenResult = {
  value: NaN,
  iterations: 0,
  converged: false,
  residual: NaN,
};

/** A seeded Gaussian start vector split like the parameters, scaled to unit norm. */
function randomUnit(sizes: number[], rng: Rng): Float64Array[] {
  return normalize(
    sizes.map((n) => Float64Array.from({ length: n }, () => rng.normal())),
  );
}

/**
 * The top eigenvalue λ_max of a symmetric H by power iteration from a seeded
 * Gaussian start, stopping when the residual of the Rayleigh quotient
 * λ = vᵀHv (||v|| = 1) is small: ||Hv − λv|| ≤ tol·|λ| (SCIENCE §4.2), a
 * bound on the error of λ (see `EigenResult`), not the change between
 * iterations. Power iteration finds the eigenvalue of largest magnitude; if
 * that one is negative, a second run on H − λ_dom·I (whose eigenvalues are
 * all ≥ 0) recovers λ_max = λ_dom + μ; its residual ||Hv − (λ_dom + μ)v|| is
 * the shifted run's, taken relative to |λ_max|. Converges like (λ₂/λ₁)^k: slow when the top eigenvalues
 * cluster, where `lanczosTopEigenvalue` is the better choice.
 */
export function topEigenvalue(
  hvp: Hvp,
  shapes: number[][],
  options: EigenOptions,
): EigenResult {
  const { tol, maxIter, sizes } = eigenSettings(options, shapes);
  const first = powerIteration(hvp, sizes, 0, options.rng, tol, maxIter);
  if (first.value >= 0) return first;
  const shift = first.value;
  const second = powerIteration(hvp, sizes, shift, options.rng, tol, maxIter);
  const value = shift + second.value;
  const residual = value === 0
    ? 0
    : (second.residual * Math.abs(second.value)) / Math.abs(value);
  return {
    value,
    iterations: first.iterations + second.iterations,
    converged: residual <= tol,
    residual,
  };
}

/** Power iteration on H − shift·I; `residual` is relative to the shifted estimate. */
function powerIteration(
  hvp: Hvp,
  sizes: number[],
  shift: number,
  rng: Rng,
  tol: number,
  maxIter: number,
): EigenResult {
  let v = randomUnit(sizes, rng);
  let last = NOT_STARTED;
  for (let it = 1; it <= maxIter; it++) {
    const hv = apply(hvp, v, shift);
    const lambda = dot(v, hv);
    const norm = Math.sqrt(dot(hv, hv));
    if (norm === 0) {
      return { value: 0, iterations: it, converged: true, residual: 0 };
    }
    // ||Hv − λv||, summed directly (not as ||Hv||² − λ², which cancels).
    let r2 = 0;
    hv.forEach((block, i) => {
      const vi = v[i]!;
      for (let j = 0; j < block.length; j++) {
        r2 += (block[j]! - lambda * vi[j]!) ** 2;
      }
    });
    const residual = Math.sqrt(r2) / Math.abs(lambda);
    last = { value: lambda, iterations: it, converged: false, residual };
    if (residual <= tol) return { ...last, converged: true };
    v = hv.map((block) => block.map((x) => x / norm));
  }
  return last;
}

/**
 * λ_max by the Lanczos iteration (no reorthogonalization: loss of
 * orthogonality only adds spurious copies of converged Ritz values, never a
 * larger one). Each step costs one product, like power iteration, but the
 * top Ritz value converges much faster when the top eigenvalues cluster.
 * Stops when the top Ritz pair's residual ||Hy − θy|| = β_k·|e_kᵀs| (s: the
 * eigenvector of the tridiagonal T_k for θ) is at most tol·|θ| (SCIENCE
 * §4.2): then an eigenvalue lies within that residual of θ (see
 * `EigenResult`). A Ritz value never exceeds λ_max, so, like the Rayleigh
 * quotient of power iteration, the result is a lower bound up to the
 * products' own error. An exact invariant subspace (β_k = 0) stops with
 * residual 0.
 */
export function lanczosTopEigenvalue(
  hvp: Hvp,
  shapes: number[][],
  options: EigenOptions,
): EigenResult {
  const { tol, maxIter, sizes } = eigenSettings(options, shapes);
  let q = randomUnit(sizes, options.rng);
  let qPrev: Float64Array[] | null = null;
  const alphas: number[] = [];
  const betas: number[] = [];
  let last = NOT_STARTED;
  for (let k = 1; k <= maxIter; k++) {
    const w = apply(hvp, q, 0);
    const alpha = dot(w, q);
    const betaPrev = betas.at(-1) ?? 0;
    w.forEach((block, i) => {
      const qi = q[i]!;
      const pi = qPrev?.[i];
      for (let j = 0; j < block.length; j++) {
        block[j] = block[j]! - alpha * qi[j]! - (pi ? betaPrev * pi[j]! : 0);
      }
    });
    alphas.push(alpha);
    const theta = tridiagonalMax(alphas, betas);
    const beta = Math.sqrt(dot(w, w));
    // ||H y − θ y|| = β_k·|s_k| for the Ritz vector y (s: top eigenvector of T_k).
    const bound = beta * Math.abs(lastComponent(alphas, betas, theta));
    const residual = theta === 0 ? (bound === 0 ? 0 : Infinity) : bound /
      Math.abs(theta);
    last = { value: theta, iterations: k, converged: false, residual };
    if (residual <= tol || beta === 0) return { ...last, converged: true };
    betas.push(beta);
    qPrev = q;
    q = w.map((block) => block.map((x) => x / beta));
  }
  return last;
}

/**
 * v ↦ D·H·D·v with D = diag(d): the operator whose top eigenvalue is the
 * preconditioned sharpness λ₁(P^{-1/2} H P^{-1/2}) of SCIENCE §4.2.1 when
 * d = P^{-1/2} (one Float32Array per parameter tensor, like v). Feed it to
 * `topEigenvalue` or `lanczosTopEigenvalue`.
 */
export function scaledHvp(hvp: Hvp, d: Float32Array[]): Hvp {
  const scale = (v: Float32Array[]) =>
    v.map((block, i) => {
      const di = d[i];
      if (!di || di.length !== block.length) {
        throw new Error(
          `d: block ${i} has ${
            di?.length ?? 0
          } elements, expected ${block.length}`,
        );
      }
      return block.map((x, j) => x * di[j]!);
    });
  return (v) => scale(hvp(scale(v)));
}

/**
 * |s_k|, the last component of the unit eigenvector of the tridiagonal (a, b)
 * for its eigenvalue θ, by two steps of inverse iteration (Thomas algorithm).
 */
function lastComponent(a: number[], b: number[], theta: number): number {
  const n = a.length;
  if (n === 1) return 1;
  const shift = theta + 1e-10 * Math.max(Math.abs(theta), 1e-300);
  let x = new Array<number>(n).fill(1 / Math.sqrt(n));
  for (let step = 0; step < 2; step++) {
    // Solve (T − shift·I) y = x.
    const c = new Array<number>(n).fill(0);
    const d = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) {
      const lower = i > 0 ? b[i - 1]! : 0;
      let denom = a[i]! - shift - (i > 0 ? lower * c[i - 1]! : 0);
      if (denom === 0) denom = 1e-300;
      c[i] = i < n - 1 ? b[i]! / denom : 0;
      d[i] = (x[i]! - (i > 0 ? lower * d[i - 1]! : 0)) / denom;
    }
    const y = new Array<number>(n).fill(0);
    y[n - 1] = d[n - 1]!;
    for (let i = n - 2; i >= 0; i--) y[i] = d[i]! - c[i]! * y[i + 1]!;
    const norm = Math.hypot(...y);
    x = y.map((v) => v / norm);
  }
  return x[n - 1]!;
}

/**
 * The largest eigenvalue of the symmetric tridiagonal matrix with diagonal
 * `a` and off-diagonal `b` (b.length = a.length − 1), by bisection on the
 * Sturm count of eigenvalues below x.
 */
export function tridiagonalMax(a: number[], b: number[]): number {
  const n = a.length;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const r = Math.abs(b[i - 1] ?? 0) + Math.abs(b[i] ?? 0);
    lo = Math.min(lo, a[i]! - r);
    hi = Math.max(hi, a[i]! + r);
  }
  const below = (x: number): number => {
    let count = 0;
    let d = 1;
    for (let i = 0; i < n; i++) {
      const bb = i > 0 ? b[i - 1]! * b[i - 1]! : 0;
      d = a[i]! - x - (i > 0 ? bb / (d === 0 ? 1e-300 : d) : 0);
      if (d < 0) count++;
    }
    return count;
  };
  for (
    let it = 0;
    it < 200 && hi - lo > 1e-15 * Math.max(Math.abs(lo), Math.abs(hi), 1e-300);
    it++
  ) {
    const mid = (lo + hi) / 2;
    if (below(mid) === n) hi = mid;
    else lo = mid;
  }
  return (lo + hi) / 2;
}

export interface TraceOptions {
  rng: Rng;
  /** Rademacher probes (default 100). */
  samples?: number;
}

export interface TraceResult {
  /** Mean of zᵀHz over the probes. */
  value: number;
  /** Standard error of that mean (sample std / √samples; NaN for one probe). */
  stderr: number;
  samples: number;
}

/**
 * Hutchinson's trace estimator (SCIENCE §4.2): tr H = E[zᵀHz] for z with
 * independent ±1 entries; its variance per probe is 2 Σ_{i≠j} H_ij², so a
 * diagonal H is estimated exactly.
 */
export function hutchinsonTrace(
  hvp: Hvp,
  shapes: number[][],
  options: TraceOptions,
): TraceResult {
  const samples = options.samples ?? 100;
  if (!Number.isInteger(samples) || samples < 1) {
    throw new Error(`samples: expected a positive integer, got ${samples}`);
  }
  const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
  const values: number[] = [];
  for (let s = 0; s < samples; s++) {
    const z = sizes.map((n) => rademacher(n, options.rng));
    values.push(dot(z, apply(hvp, z, 0)));
  }
  const mean = values.reduce((a, b) => a + b, 0) / samples;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) /
    (samples - 1);
  return { value: mean, stderr: Math.sqrt(variance / samples), samples };
}

/** The edge-of-stability line (SCIENCE §4.2): 2/η for GD, (2 + 2β)/η for heavy-ball β. */
export function eosThreshold(lr: number, beta = 0): number {
  if (!(lr > 0)) {
    throw new Error(`lr: expected a positive learning rate, got ${lr}`);
  }
  return (2 + 2 * beta) / lr;
}

function rademacher(n: number, rng: Rng): Float64Array {
  const out = new Float64Array(n);
  let bits = 0;
  for (let i = 0; i < n; i++) {
    if (i % 32 === 0) bits = rng.nextUint32();
    out[i] = (bits >>> (i % 32)) & 1 ? 1 : -1;
  }
  return out;
}

/** (H − shift·I) v, converting to float32 for the product and back. */
function apply(hvp: Hvp, v: Float64Array[], shift: number): Float64Array[] {
  const out = hvp(v.map((block) => Float32Array.from(block)));
  if (out.length !== v.length) {
    throw new Error(`hvp: expected ${v.length} blocks, got ${out.length}`);
  }
  return out.map((block, i) => {
    const vi = v[i]!;
    if (block.length !== vi.length) {
      throw new Error(
        `hvp: block ${i} has ${block.length} elements, expected ${vi.length}`,
      );
    }
    const r = new Float64Array(block.length);
    for (let j = 0; j < r.length; j++) r[j] = block[j]! - shift * vi[j]!;
    return r;
  });
}

function dot(a: Float64Array[], b: Float64Array[]): number {
  let sum = 0;
  a.forEach((block, i) => {
    const other = b[i]!;
    for (let j = 0; j < block.length; j++) sum += block[j]! * other[j]!;
  });
  return sum;
}

function normalize(v: Float64Array[]): Float64Array[] {
  const norm = Math.sqrt(dot(v, v));
  return v.map((block) => block.map((x) => x / norm));
}
