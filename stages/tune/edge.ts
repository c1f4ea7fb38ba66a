/**
 * Whether a tuned lr sits at the edge of its grid (SCIENCE §7): then the
 * best lr may lie outside the candidates tried, and the sweep should widen.
 * Kept apart from choose.ts, which the tune stage imports: the tune runs'
 * keys stay as they are when only the reading of their results changes.
 */
import type { TunedLr } from "./choose.ts";

/** "smallest" or "largest" when the choice is the grid's smallest or largest candidate; null otherwise. */
export type GridEdge = "smallest" | "largest" | null;

/** Where `tuned.lr` sits among the candidates of `tuned.table` (two or more distinct lrs). */
export function gridEdge(tuned: TunedLr): GridEdge {
  const lrs = [...new Set(tuned.table.map((r) => r.lr))].sort((a, b) => a - b);
  if (lrs.length < 2) return null;
  if (tuned.lr === lrs[0]) return "smallest";
  if (tuned.lr === lrs[lrs.length - 1]) return "largest";
  return null;
}

/** The warning for a choice at the grid's edge, or null. */
export function edgeWarning(
  optimizer: string,
  tuned: TunedLr & { edge?: GridEdge },
): string | null {
  if (!tuned.edge) return null;
  const side = tuned.edge === "largest" ? "above" : "below";
  const more = tuned.edge === "largest" ? "larger" : "smaller";
  return `${optimizer}: the chosen lr ${tuned.lr} is the ${tuned.edge} candidate, so the best may lie ${side} the grid; add ${more} values to tuning.lrs`;
}
