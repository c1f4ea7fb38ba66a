/**
 * Does momentum steer toward different basins (SCIENCE §2.4)? From the
 * barrier stage's loss barriers (stages/barrier): runs of one seed share
 * their initial weights, so the barrier between plain SGD (the smallest β)
 * and β > 0 at that seed says how far apart momentum takes them; the barrier
 * between two seeds at equal β (different initial weights, which usually end
 * in different basins) is the yardstick.
 * Per β and seed s: barrier(β₀, β; s) − the mean barrier between seed s and
 * its neighbour seed(s) at β₀ and at β. Claimed below zero ("momentum stays
 * in plain SGD's basin, closer than another initialisation"), Bonferroni over
 * the β compared (SCIENCE §7.1). Caveat: with cyclic seed pairs a
 * seed-against-seed barrier is shared by two seeds' values, so the per-seed
 * values are not fully independent; the evidence says so.
 */
import type { Pairing, SeedValue } from "../claims.ts";
import { perComparisonLevel, sideVerdict } from "../paired.ts";
import type { Run } from "../runs.ts";
import type { BarrierEntry, Comparison, Finding, Verdict } from "../types.ts";
import {
  byLabel,
  describe,
  effects,
  type FindingWords,
  meanSd,
  notMeasured,
  pairedFinding,
  ruleNote,
  verdictAnswer,
} from "./common.ts";

/** Figure: loss along the line between solutions, same-seed β pairs beside seed-against-seed pairs. */
export const BARRIER_FIGURE = "barrier-curves";

function seedBarrier(
  barriers: BarrierEntry[],
  label: string,
  seed: number,
): number {
  const vals = barriers.filter((b) =>
    b.seed_b !== undefined && b.a === label && b.b === label &&
    (b.seed === seed || b.seed_b === seed) && b.barrier !== null
  ).map((b) => b.barrier as number);
  return vals.length === 0 ? NaN : describe(vals).mean;
}

function crossBarrier(
  barriers: BarrierEntry[],
  x: string,
  y: string,
  seed: number,
): number {
  const hit = barriers.find((b) =>
    b.seed_b === undefined && b.seed === seed &&
    ((b.a === x && b.b === y) || (b.a === y && b.b === x))
  );
  return hit?.barrier ?? NaN;
}

const STATEMENT =
  "Momentum stays in plain SGD's basin: from the same initial weights, the loss barrier between the β > 0 and the β₀ solution is lower than the barrier between two seeds at equal β.";

/** An SGD label and its momentum β. */
interface Beta {
  label: string;
  beta: number;
}

/**
 * Per seed, the same-seed barrier between β₀ and β minus the mean
 * seed-against-seed barrier at the two β (the module doc), and a table row.
 */
function betaPairing(
  barriers: BarrierEntry[],
  seeds: number[],
  base0: Beta,
  { label, beta }: Beta,
): { pairing: Pairing; row: Record<string, string> } {
  const values: SeedValue[] = [];
  let skipped = 0;
  const cross: number[] = [];
  const across: number[] = [];
  for (const seed of seeds) {
    const same = crossBarrier(barriers, base0.label, label, seed);
    const ref = describe([
      seedBarrier(barriers, base0.label, seed),
      seedBarrier(barriers, label, seed),
    ]).mean;
    cross.push(same);
    across.push(ref);
    const d = same - ref;
    if (Number.isFinite(d)) values.push({ seed, value: d });
    else skipped++;
  }
  return {
    pairing: {
      a: base0.label,
      b: label,
      value:
        `barrier ${base0.label} ↔ ${label} (same seed) − barrier between seeds (β = ${base0.beta}, ${beta})`,
      paired: { values, skipped, windows: [] },
    },
    row: {
      "β pair": `${base0.label} ↔ ${label}`,
      "same-seed barrier": meanSd(cross),
      "seed-against-seed barrier (mean of both β)": meanSd(across),
    },
  };
}

/** The finding's words: the answer for its verdict, the per-β effects and the caveat on shared barriers. */
function words(
  base0: string,
  comparisons: Comparison[],
  verdict: Verdict,
): FindingWords {
  const effect = effects(comparisons, (c) => c.b);
  return {
    answer: verdictAnswer(
      verdict,
      {
        holds:
          "momentum ends nearer plain SGD's solution than another initialisation does, so it does not steer toward a different basin",
        fails:
          "momentum ends behind a higher barrier than another initialisation does: it steers toward a different basin",
        other:
          "the same-seed and seed-against-seed barriers are not separated, so whether momentum changes the basin is undecided",
      },
      effect || "no pairs",
    ),
    evidence:
      `Per seed, the same-seed barrier between ${base0} and each β minus the mean seed-against-seed barrier at the two β: ${
        effect || "none"
      }. Claimed below zero. Seed-against-seed pairs are cyclic (each seed with the next), so neighbouring seeds share one barrier and the values are not fully independent. ${
        ruleNote(comparisons)
      }`,
    numbers: Object.fromEntries(
      comparisons.map((c) => [`mean ${c.b}`, c.mean]),
    ),
  };
}

export function momentumFindings(
  runs: Run[],
  barriers: BarrierEntry[],
): Finding[] {
  const labels = [...byLabel(runs.filter((r) => r.optimizer.name === "sgd"))]
    .map(([label, list]) => ({ label, beta: list[0]!.optimizer.momentum ?? 0 }))
    .sort((a, b) => a.beta - b.beta);
  const hasSeedPairs = barriers.some((b) => b.seed_b !== undefined);
  if (labels.length < 2 || barriers.length === 0 || !hasSeedPairs) {
    return [notMeasured(
      "momentum_basins",
      "momentum_basins",
      STATEMENT,
      labels.length < 2
        ? "two SGD runs with different β are needed."
        : "the barrier stage measured no seed-against-seed barriers (metrics.barrier off, or one seed).",
      BARRIER_FIGURE,
    )];
  }
  const [base0, ...others] = labels;
  const seeds = [...new Set(runs.map((r) => r.seed))].sort((a, b) => a - b);
  const measured = others.map((b) => betaPairing(barriers, seeds, base0!, b));
  return [pairedFinding({
    module: "momentum_basins",
    figure: BARRIER_FIGURE,
    id: "momentum_basins",
    statement: STATEMENT,
    pairings: measured.map((m) => m.pairing),
    level: perComparisonLevel(others.length),
    decide: (t) => sideVerdict(t, "negative"),
    words: (comparisons, verdict) => words(base0!.label, comparisons, verdict),
    table: measured.map((m) => m.row),
  })];
}
