/** Runs built from fixture records, for summary and claim tests. */
import type { Json } from "../../../pipeline/stage.ts";
import type { OptimizerConfig } from "../../../stages/nn/contracts.ts";
import { decodeRecord } from "../../../stages/metrics/record_view.ts";
import { buildRun, type Cell, type Run } from "../../../stages/metrics/runs.ts";
import { makeRecord } from "./_fixtures.ts";

/** A run of `epochs` epochs (m = 4 batches) with the given columns. */
export function fixtureRun(
  optimizer: OptimizerConfig,
  seed: number,
  columns: Record<string, number[] | ((row: number) => number)>,
  options: { epochs?: number; cell?: Cell; status?: "ok" | "diverged" } = {},
): Run {
  const view = decodeRecord(makeRecord({
    epochs: options.epochs ?? 4,
    optimizer: optimizer as unknown as Record<string, Json>,
    seed,
    columns,
    status: options.status ?? "ok",
    ...(options.cell ? { cell: options.cell } : {}),
  }));
  return buildRun(view, { optimizer, seed, cell: options.cell ?? {} });
}

export const SGD: OptimizerConfig = { name: "sgd", lr: 0.1 };
export const RMSPROP: OptimizerConfig = { name: "rmsprop", lr: 0.1 };
export const ADAM: OptimizerConfig = { name: "adam", lr: 0.1 };
