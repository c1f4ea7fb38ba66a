/**
 * A typed view of the train stage's per-run record (a bundle of Float64Array
 * columns, `RECORD_COLUMNS`, row 0 = initial weights). Written here on top of
 * `decodeBundle` so the metrics stage depends on the record's format only.
 */
import { decodeBundle } from "../../pipeline/artifact.ts";
import type { Json } from "../../pipeline/stage.ts";
import { RECORD_COLUMNS, type RecordColumn } from "../nn/contracts.ts";

/** The record's meta, as far as metrics reads it; other fields stay in `raw`. */
export interface RecordMeta {
  status: "ok" | "diverged";
  /** Epoch at which the run diverged, or null. */
  divergedEpoch: number | null;
  /** The optimizer config as recorded (Json; typed by the caller). */
  optimizer: Json;
  seed: number | null;
  cell: Record<string, Json>;
  corruptedCount: number;
  /** Training samples N (NaN in records that predate the field). */
  nTrain: number;
  raw: Json;
}

export interface RecordView {
  /** Every `RECORD_COLUMNS` entry; all-NaN when the record lacks it (see `missing`). */
  columns: Record<RecordColumn, Float64Array>;
  /** `norm_layer_<i>` columns in layer order. */
  layerNorms: Float64Array[];
  rows: number;
  /** Standard columns the record did not have. */
  missing: RecordColumn[];
  meta: RecordMeta;
}

function asObject(value: Json | undefined): Record<string, Json> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? value
    : {};
}

function asNumber(value: Json | undefined, fallback: number): number {
  return typeof value === "number" ? value : fallback;
}

/**
 * Decodes a record. Throws if `epoch` is missing or a column is not
 * Float64Array of the record's length; other missing columns become NaN.
 */
export function decodeRecord(bytes: Uint8Array): RecordView {
  const bundle = decodeBundle(bytes);
  const epoch = bundle.columns["epoch"];
  if (!(epoch instanceof Float64Array)) {
    throw new Error("Record column 'epoch' is missing or not Float64Array");
  }
  const rows = epoch.length;
  const columns = {} as Record<RecordColumn, Float64Array>;
  const missing: RecordColumn[] = [];
  for (const name of RECORD_COLUMNS) {
    const column = bundle.columns[name];
    if (column === undefined) {
      missing.push(name);
      columns[name] = new Float64Array(rows).fill(NaN);
      continue;
    }
    if (!(column instanceof Float64Array) || column.length !== rows) {
      throw new Error(
        `Record column '${name}' must be Float64Array of length ${rows}`,
      );
    }
    columns[name] = column;
  }
  const layerNorms: Float64Array[] = [];
  for (let i = 0;; i++) {
    const column = bundle.columns[`norm_layer_${i}`];
    if (!(column instanceof Float64Array)) break;
    layerNorms.push(column);
  }
  const meta = asObject(bundle.meta);
  const diverged = meta["diverged_epoch"];
  return {
    columns,
    layerNorms,
    rows,
    missing,
    meta: {
      status: meta["status"] === "diverged" ? "diverged" : "ok",
      divergedEpoch: typeof diverged === "number" ? diverged : null,
      optimizer: meta["optimizer"] ?? null,
      seed: typeof meta["seed"] === "number" ? meta["seed"] : null,
      cell: asObject(meta["cell"]),
      corruptedCount: asNumber(meta["corrupted_count"], NaN),
      nTrain: asNumber(meta["n_train"], NaN),
      raw: bundle.meta,
    },
  };
}
