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
  /**
   * "smallest" or "largest" when the choice is the grid's smallest or largest
   * candidate (of two or more): the best lr may then lie outside the grid.
   */
  edge: GridEdge;
}

export type GridEdge = "smallest" | "largest" | null;

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
  const lrs = sorted.map((r) => r.lr);
  return {
    lr: best.lr,
    edge: gridEdge(best.lr, lrs),
    table: sorted.map((r) => ({
      lr: r.lr,
      validation_error: r.diverged ? null : r.validation_error,
    })),
  };
}

/** Whether `chosen` is the smallest or largest of `lrs` (sorted, two or more distinct). */
export function gridEdge(chosen: number, lrs: number[]): GridEdge {
  if (new Set(lrs).size < 2) return null;
  if (chosen === lrs[0]) return "smallest";
  if (chosen === lrs[lrs.length - 1]) return "largest";
  return null;
}

/** The warning for a choice at the grid's edge, or null. */
export function edgeWarning(optimizer: string, tuned: TunedLr): string | null {
  if (tuned.edge === null) return null;
  const side = tuned.edge === "largest" ? "above" : "below";
  const more = tuned.edge === "largest" ? "larger" : "smaller";
  return `${optimizer}: the chosen lr ${tuned.lr} is the ${tuned.edge} candidate, so the best may lie ${side} the grid; add ${more} values to tuning.lrs`;
}
