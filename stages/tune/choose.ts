/**
 * The choice of η from a tuning sweep (SCIENCE §7): the lr with the lowest
 * final validation error; ties go to the smaller lr; diverged lrs never win.
 */

/** One tune instance's result (the `tune` stage's output). */
export interface TuneResult {
  optimizer: string;
  lr: number;
  /** Error on the held-out split after the last epoch; null if diverged. */
  validation_error: number | null;
  validation_loss: number | null;
  diverged: boolean;
}

/** One optimizer's choice and the table it was made from, sorted by lr. */
export interface TunedLr {
  lr: number;
  table: Array<{ lr: number; validation_error: number | null }>;
}

/** Picks the best lr of one optimizer; throws naming it when every lr diverged. */
export function chooseLr(optimizer: string, results: TuneResult[]): TunedLr {
  if (results.length === 0) {
    throw new Error(`tuning: no tuning results for optimizer '${optimizer}'`);
  }
  const sorted = [...results].sort((a, b) => a.lr - b.lr);
  let best: TuneResult | null = null;
  for (const r of sorted) {
    const e = r.validation_error;
    if (r.diverged || e === null || !Number.isFinite(e)) continue;
    // Strictly lower only: an equal error keeps the smaller lr found first.
    if (best === null || e < best.validation_error!) best = r;
  }
  if (best === null) {
    throw new Error(
      `tuning: every lr diverged for optimizer '${optimizer}' (tried ${
        sorted.map((r) => r.lr).join(", ")
      }); add smaller values to tuning.lrs`,
    );
  }
  return {
    lr: best.lr,
    table: sorted.map((r) => ({
      lr: r.lr,
      validation_error: r.diverged ? null : r.validation_error,
    })),
  };
}
