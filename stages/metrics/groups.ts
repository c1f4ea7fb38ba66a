/**
 * What every reader of a group needs besides its series: the optimizer kind,
 * β and η as the runs used them (tuned when tuning, SCIENCE §7), the
 * edge-of-stability lines (SCIENCE §4.2), and whether the experiment is big
 * enough to test the claims (SCIENCE §7.1). Charts and report read these
 * values; they never derive them.
 */
import type { OptimizerConfig } from "../nn/contracts.ts";
import { stabilityThresholds } from "./preconditioned.ts";
import { heavyBallBeta } from "./terms.ts";
import type { GroupInfo, Scope, StabilityLine } from "./types.ts";

/** Claims need at least this many seeds per group (SCIENCE §7.1). */
export const MIN_SEEDS = 3;
/**
 * Claims summarise the second half of training per seed (SCIENCE §7.1); with
 * fewer than this many epochs that half holds fewer than 10 epochs, too few
 * to tell a trend from noise.
 */
export const MIN_EPOCHS = 20;

/**
 * The stability lines that apply to a run's optimizer (SCIENCE §4.2,
 * §4.2.1; values from preconditioned.ts): on the sharpness, 2/η for plain
 * GD/SGD and (2+2β)/η for heavy ball; on the preconditioned sharpness
 * λ₁(P⁻¹H), 2/η for RMSprop ((2+2μ)/η with momentum μ) and
 * (2+2β₁)/((1−β₁)η) for Adam, 38/η at β₁ = 0.9. None for SWATS, whose SGD
 * phase runs at its own estimated step, not at η.
 */
export function stabilityLines(config: OptimizerConfig): StabilityLine[] {
  const t = stabilityThresholds(config);
  const momentum = config.momentum ?? 0;
  if (Number.isFinite(t.plain)) {
    const label = momentum > 0 ? `(2+2β)/η, β=${momentum}` : "2/η";
    return [{ label, value: t.plain, quantity: "sharpness" }];
  }
  if (Number.isFinite(t.preconditioned)) {
    let label = momentum > 0 ? `(2+2μ)/η, μ=${momentum}` : "2/η";
    if (config.name === "adam") {
      const b1 = config.beta1 ?? 0.9;
      // (2+2β₁)/(1−β₁) as a short number: 38 at β₁ = 0.9.
      label = `${Number(((2 + 2 * b1) / (1 - b1)).toPrecision(4))}/η`;
    }
    return [{
      label: `${label} (P⁻¹H)`,
      value: t.preconditioned,
      quantity: "preconditioned_sharpness",
    }];
  }
  return [];
}

/** The sweep cell as a short label: "batch_size=16, lr=0.1" ("" when none). */
export function cellLabel(cell: GroupInfo["cell"]): string {
  return Object.keys(cell).sort().map((k) =>
    `${k.split(".").at(-1)}=${String(cell[k])}`
  ).join(", ");
}

/** A group's description from the config its runs trained with. */
export function describeGroup(
  group: string,
  config: OptimizerConfig,
  cell: GroupInfo["cell"],
  seeds: number[],
  epochs: number,
): GroupInfo {
  const beta = heavyBallBeta(config);
  return {
    group,
    optimizer: config.label ?? config.name,
    kind: config.name,
    cell,
    cellLabel: cellLabel(cell),
    lr: config.lr,
    ...(Number.isNaN(beta) ? {} : { beta }),
    stability: stabilityLines(config),
    seeds: [...seeds].sort((a, b) => a - b),
    epochs,
  };
}

/**
 * Whether the experiment can test the claims: every group needs
 * `MIN_SEEDS` seeds and `MIN_EPOCHS` epochs; `reasons` says what is short,
 * in words the report shows as is.
 */
export function scopeOf(groups: GroupInfo[]): Scope {
  const seeds = groups.length === 0
    ? 0
    : Math.min(...groups.map((g) => g.seeds.length));
  const epochs = groups.length === 0
    ? 0
    : Math.min(...groups.map((g) => g.epochs));
  const reasons: string[] = [];
  if (seeds < MIN_SEEDS) {
    reasons.push(
      `${seeds} seed${
        seeds === 1 ? "" : "s"
      } per group (a verdict needs at least ${MIN_SEEDS}, SCIENCE §7.1)`,
    );
  }
  if (epochs < MIN_EPOCHS) {
    reasons.push(
      `${epochs} epochs (the claims need at least ${MIN_EPOCHS}: they are summarised over the second half of training, which should hold 10 epochs or more)`,
    );
  }
  return {
    seeds,
    epochs,
    minSeeds: MIN_SEEDS,
    minEpochs: MIN_EPOCHS,
    enough: reasons.length === 0,
    reasons,
  };
}
