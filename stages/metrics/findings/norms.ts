/**
 * How the norm of the solution evolves (SCIENCE §4.1): per optimizer, ‖w‖
 * and ‖w − w₀‖ at a quarter, half and the end of training with a t-interval
 * over seeds (a table), and one tested statement: plain SGD ends closer to
 * its initial weights than each adaptive method, per seed (runs of a seed
 * share w₀), Bonferroni over the methods compared (SCIENCE §7.1).
 */
import { adaptivePresent, pickContenders } from "../claims.ts";
import { tInterval } from "../paired.ts";
import type { Run } from "../runs.ts";
import type { Finding } from "../types.ts";
import {
  byCell,
  byLabel,
  cellWords,
  effects,
  fmt,
  notMeasured,
  pairedFinding,
  ruleNote,
  sgdAgainstAdaptive,
  summaryOf,
  valueAt,
  verdictAnswer,
} from "./common.ts";

/** Figure: ‖w‖ and ‖w − w₀‖ against epochs per optimizer, ±1 sd bands over seeds. */
export const NORMS_FIGURE = "norms-over-epochs";

/** "12.3 [11.9, 12.7]" for the mean over runs of `values` (no interval with one run). */
function cell(values: number[]): string {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return "—";
  const t = tInterval(finite, 0.95);
  return t.low === null || t.high === null
    ? `${fmt(t.mean)} (n = 1)`
    : `${fmt(t.mean)} [${fmt(t.low)}, ${fmt(t.high)}]`;
}

function lastEpoch(run: Run): number {
  return summaryOf(run, "final_epoch");
}

/** Per optimizer: norms at ¼, ½ and the end of training, 95% t-intervals over seeds. */
export function normsTable(runs: Run[]): Array<Record<string, string>> {
  const rows: Array<Record<string, string>> = [];
  for (const [label, list] of byLabel(runs)) {
    const at = (q: "norm" | "dist_init", frac: number) =>
      list.map((r) => valueAt(r, q, Math.floor(frac * lastEpoch(r))));
    rows.push({
      optimizer: label,
      "‖w‖ at ¼": cell(at("norm", 0.25)),
      "‖w‖ at ½": cell(at("norm", 0.5)),
      "‖w‖ final": cell(list.map((r) => summaryOf(r, "final_norm"))),
      "‖w − w₀‖ at ¼": cell(at("dist_init", 0.25)),
      "‖w − w₀‖ at ½": cell(at("dist_init", 0.5)),
      "‖w − w₀‖ final": cell(list.map((r) => summaryOf(r, "final_dist_init"))),
    });
  }
  return rows;
}

/** Per optimizer, the mean over runs of the final ‖w‖ and ‖w − w₀‖ ("label.final_norm"). */
function finalMeans(runs: Run[]): Record<string, number> {
  const numbers: Record<string, number> = {};
  for (const [label, list] of byLabel(runs)) {
    for (const key of ["final_norm", "final_dist_init"]) {
      const vals = list.map((r) => summaryOf(r, key)).filter(Number.isFinite);
      if (vals.length > 0) {
        numbers[`${label}.${key}`] = vals.reduce((s, v) => s + v, 0) /
          vals.length;
      }
    }
  }
  return numbers;
}

/** The tested statement for one sweep cell: SGD's final ‖w − w₀‖ below each adaptive method's. */
function cellFinding(runs: Run[], suffix: string): Finding {
  const c = pickContenders(runs);
  const id = `norms${suffix}`;
  const statement =
    `Plain SGD ends closer to its initial weights (smaller ‖w − w₀‖) than each adaptive method${
      cellWords(runs[0]!.cell)
    } (SCIENCE §4.1).`;
  const adaptive = adaptivePresent(c);
  if (c.sgd.length === 0 || adaptive.length === 0) {
    return notMeasured(
      "norms",
      id,
      statement,
      "plain SGD and an adaptive method are both needed.",
      NORMS_FIGURE,
      normsTable(runs),
    );
  }
  return pairedFinding({
    module: "norms",
    figure: NORMS_FIGURE,
    id,
    statement,
    ...sgdAgainstAdaptive(c, adaptive, "negative", [{
      value: (label) => `final ‖w − w₀‖, SGD − ${label}`,
      f: (r) => summaryOf(r, "final_dist_init"),
    }]),
    words: (comparisons, verdict) => {
      const effect = effects(comparisons);
      return {
        answer: verdictAnswer(verdict, {
          holds: "SGD stays closer to w₀ than the adaptive methods",
          fails: "SGD moves further from w₀ than an adaptive method",
          other: "no clear ordering of ‖w − w₀‖",
        }, effect || "no paired seeds"),
        evidence:
          `Per seed, SGD's final ‖w − w₀‖ minus each adaptive method's: ${
            effect || "none"
          }. Claimed: below zero. ${
            ruleNote(comparisons)
          } The table gives ‖w‖ and ‖w − w₀‖ at a quarter, half and the end of training with 95% intervals over seeds.`,
        numbers: finalMeans(runs),
      };
    },
    table: normsTable(runs),
  });
}

export function normsFindings(runs: Run[]): Finding[] {
  const cells = byCell(runs);
  return cells.map((list, i) =>
    cellFinding(list, cells.length > 1 ? `.${i}` : "")
  );
}
