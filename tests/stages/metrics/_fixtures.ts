/** Builders of synthetic train records (bundles) for the metrics tests. */
import { encodeBundle } from "../../../pipeline/artifact.ts";
import type { Json } from "../../../pipeline/stage.ts";
import { RECORD_COLUMNS } from "../../../stages/nn/contracts.ts";

export interface FixtureOptions {
  /** Epochs after the initial row (rows = epochs + 1). */
  epochs: number;
  optimizer: Record<string, Json>;
  seed: number;
  cell?: Record<string, Json>;
  /** Column values by name; a function of the row index or a full array. */
  columns?: Record<string, ((row: number) => number) | number[]>;
  /** Leave these standard columns out of the bundle. */
  omit?: string[];
  status?: "ok" | "diverged";
  divergedEpoch?: number | null;
  layers?: number;
}

/** A record whose unspecified columns are NaN except `epoch` (= row) and `lr`/`m`. */
export function makeRecord(options: FixtureOptions): Uint8Array {
  const rows = options.epochs + 1;
  const columns: Record<string, Float64Array> = {};
  for (const name of RECORD_COLUMNS) {
    if (options.omit?.includes(name)) continue;
    columns[name] = new Float64Array(rows).fill(NaN);
  }
  columns["epoch"] = Float64Array.from({ length: rows }, (_, i) => i);
  if (!options.omit?.includes("lr")) {
    columns["lr"] = new Float64Array(rows).fill(
      options.optimizer["lr"] as number,
    );
  }
  if (!options.omit?.includes("m")) {
    columns["m"] = new Float64Array(rows).fill(4);
  }
  for (const [name, spec] of Object.entries(options.columns ?? {})) {
    columns[name] = typeof spec === "function"
      ? Float64Array.from({ length: rows }, (_, i) => spec(i))
      : Float64Array.from(spec);
  }
  for (let i = 0; i < (options.layers ?? 0); i++) {
    columns[`norm_layer_${i}`] = new Float64Array(rows).fill(i + 1);
  }
  return encodeBundle(columns, {
    status: options.status ?? "ok",
    diverged_epoch: options.divergedEpoch ?? null,
    optimizer: options.optimizer,
    seed: options.seed,
    cell: options.cell ?? {},
    params: 1000,
    batch_size: 64,
    n_train: 100,
    n_test: 100,
    corrupted_count: 30,
    epochs: options.epochs,
  });
}
