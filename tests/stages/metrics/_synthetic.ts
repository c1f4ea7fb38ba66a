/**
 * Synthetic experiments whose answer is known, for the verdict tests
 * (SCIENCE §7.1): SGD, Adam and RMSprop runs built directly as `Run`s, with a
 * seed effect shared by the optimizers of one seed (same initial weights and
 * batch order) and each optimizer's own noise.
 */
import type { Rng } from "../../../pipeline/rng.ts";
import type { Run } from "../../../stages/metrics/runs.ts";
import type { Quantity } from "../../../stages/metrics/types.ts";
import type { OptimizerConfig } from "../../../stages/nn/contracts.ts";
import { ADAM, RMSPROP, SGD } from "./_runs.ts";

/** A run of epochs 0…values.length−1 with the given per-epoch quantities. */
export function syntheticRun(
  optimizer: OptimizerConfig,
  seed: number,
  quantities: Partial<Record<Quantity, number[]>>,
  status: Run["status"] = "ok",
): Run {
  const series: Run["series"] = {};
  for (const [q, values] of Object.entries(quantities)) {
    series[q as Quantity] = {
      epochs: Float64Array.from(values, (_, i) => i),
      values: Float64Array.from(values),
    };
  }
  const label = optimizer.label ?? optimizer.name;
  return {
    optimizer,
    label,
    seed,
    cell: {},
    group: label,
    status,
    divergedEpoch: status === "ok" ? null : 1,
    series,
  };
}

/** How far each optimizer's values sit from the common ones (0: interchangeable). */
export interface Shift {
  /** Added to the final test error. */
  error: number;
  /** Added to the final ||w||₂. */
  norm: number;
  /** Added to log10 of the IR term at every epoch. */
  log10Term: number;
}

export const NO_SHIFT: Shift = { error: 0, norm: 0, log10Term: 0 };

/**
 * One experiment: `seeds` seeds × SGD, Adam, RMSprop, 10 epochs. Per seed a
 * shared effect u (init, batch order); per run its own noise; per epoch a
 * further wiggle of the terms. `shift` moves one optimizer's distribution.
 */
export function syntheticExperiment(
  rng: Rng,
  seeds: number,
  shift: Partial<Record<"sgd" | "adam" | "rmsprop", Shift>> = {},
): Run[] {
  const epochs = 10;
  const runs: Run[] = [];
  for (let seed = 0; seed < seeds; seed++) {
    const u = rng.normal();
    for (
      const [name, config] of [["sgd", SGD], ["adam", ADAM], [
        "rmsprop",
        RMSPROP,
      ]] as const
    ) {
      const s = shift[name] ?? NO_SHIFT;
      const own = rng.normal();
      const level = -3 + s.log10Term + 0.3 * u + 0.3 * own;
      const term = Array.from(
        { length: epochs + 1 },
        () => 10 ** (level + 0.1 * rng.normal()),
      );
      const finalError = 0.2 + s.error + 0.01 * u + 0.01 * rng.normal();
      const finalNorm = 50 + s.norm + 3 * u + 3 * rng.normal();
      const last = (v: number) => [...Array(epochs).fill(NaN), v];
      runs.push(syntheticRun(config, seed, {
        ir_sgd: term,
        ir_rms_paper: term,
        ir_preconditioned: term,
        test_error: last(finalError),
        norm: last(finalNorm),
        dist_init: last(finalNorm / 2),
      }));
    }
  }
  return runs;
}
