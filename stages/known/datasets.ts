/**
 * Synthetic datasets with known answers (SCIENCE §6): an underdetermined
 * least-squares problem (minimum-norm interpolation, §6.1) and Wilson et al.'s
 * (NeurIPS 2017) separable problem where adaptive methods generalize badly
 * (§6.2). Matrices are Float64Array, row-major.
 */
import { Rng } from "../../pipeline/rng.ts";

/** An underdetermined regression problem y = X w_planted + noise·ε. */
export interface LeastSquaresData {
  /** [n·d] row-major, entries N(0, 1). */
  x: Float64Array;
  /** [n] targets. */
  y: Float64Array;
  /** [d] the planted weights, entries N(0, 1/d) so y has variance ≈ 1 + noise². */
  wPlanted: Float64Array;
  n: number;
  d: number;
}

/**
 * Seeded Gaussian least squares with n < d (SCIENCE §6.1: many interpolating
 * solutions, so the optimizer picks one). Draws from
 * `Rng.fromSeed("least-squares:<seed>")` in order: X row by row, w_planted,
 * then ε. With noise 0, X w_planted = y up to float rounding.
 */
export function leastSquares(
  options: { n: number; d: number; noise: number; seed: number | string },
): LeastSquaresData {
  const { n, d, noise } = options;
  checkOptions([
    ...positiveIntegers({ n, d }),
    () =>
      n < d ||
      `leastSquares needs n < d (an underdetermined problem), got n ${n}, d ${d}`,
    () =>
      (noise >= 0 && Number.isFinite(noise)) ||
      `leastSquares noise must be a finite number >= 0, got ${noise}`,
  ]);
  const rng = Rng.fromSeed(`least-squares:${options.seed}`);
  const x = new Float64Array(n * d);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  const wPlanted = new Float64Array(d);
  for (let j = 0; j < d; j++) wPlanted[j] = rng.normal() / Math.sqrt(d);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let dot = 0;
    for (let j = 0; j < d; j++) dot += x[i * d + j]! * wPlanted[j]!;
    y[i] = dot + noise * rng.normal();
  }
  return { x, y, wPlanted, n, d };
}

/** Wilson et al.'s construction: train and test matrices over one feature space. */
export interface WilsonData {
  /** [nTrain·d] row-major. */
  xTrain: Float64Array;
  /** [nTrain] labels ±1. */
  yTrain: Float64Array;
  /** [nTest·d] row-major. */
  xTest: Float64Array;
  /** [nTest] labels ±1. */
  yTest: Float64Array;
  nTrain: number;
  nTest: number;
  d: number;
}

/**
 * Wilson, Roelofs, Stern, Srebro & Recht (NeurIPS 2017, §3.3), as in
 * SCIENCE §6.2. Our reading: each sample i (train, then test) has
 * y_i = +1 with probability p (`rng.float() < p`, train labels drawn first),
 * x_i1 = y_i, x_i2 = x_i3 = 1, and a block of features that only sample i
 * has, set to 1: one feature if y_i = +1, five if y_i = −1. Blocks are laid
 * out consecutively after the first three columns (train samples first, then
 * test samples), so d = 3 + Σ_i (1 or 5) over train and test. The paper
 * reserves a 5-wide block per training sample (d = 6n) whose unused columns
 * are identically zero; zero columns get zero gradient and stay at w = 0 from
 * a zero start, and do not change the minimum-norm solution, so the compact
 * layout gives the same predictions. Test samples own unseen features, so a
 * trained model can use only columns 1–3 on them: the minimum-norm
 * interpolant (GD from 0) classifies the test set perfectly in the paper's
 * analysis, while w ∝ sign(Xᵀy) (adaptive methods from 0) predicts +1 for
 * every test point, test error 1 − p in expectation.
 */
export function wilsonDataset(
  options: { nTrain: number; nTest: number; p: number; seed: number | string },
): WilsonData {
  const { nTrain, nTest, p } = options;
  checkOptions([
    ...positiveIntegers({ nTrain, nTest }),
    () => (p > 0.5 && p < 1) || `wilsonDataset p must be in (0.5, 1), got ${p}`,
  ]);
  const rng = Rng.fromSeed(`wilson:${options.seed}`);
  const labels = Float64Array.from(
    { length: nTrain + nTest },
    () => (rng.float() < p ? 1 : -1),
  );
  const blockSize = (y: number) => (y > 0 ? 1 : 5);
  const d = 3 + labels.reduce((s, y) => s + blockSize(y), 0);
  const rows = new Float64Array((nTrain + nTest) * d); // [nTrain + nTest, d]
  let next = 3; // the first column of the next unique block
  labels.forEach((y, i) => {
    const row = i * d;
    rows[row] = y;
    rows[row + 1] = 1;
    rows[row + 2] = 1;
    for (let k = 0; k < blockSize(y); k++) rows[row + next + k] = 1;
    next += blockSize(y);
  });
  return {
    xTrain: rows.slice(0, nTrain * d),
    yTrain: labels.slice(0, nTrain),
    xTest: rows.slice(nTrain * d),
    yTest: labels.slice(nTrain),
    nTrain,
    nTest,
    d,
  };
}

/** A check: true when it holds, else the one-line message to throw. */
type Check = () => true | string;

/** Runs a generator's option checks in order; throws the first failing one's message. */
function checkOptions(checks: Check[]): void {
  for (const check of checks) {
    const result = check();
    if (result !== true) throw new Error(result);
  }
}

/** One check per named option: an integer ≥ 1. */
function positiveIntegers(values: Record<string, number>): Check[] {
  return Object.entries(values).map(([name, value]) => () =>
    (Number.isInteger(value) && value >= 1) ||
    `${name} must be an integer >= 1, got ${value}`
  );
}
