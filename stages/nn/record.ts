/**
 * The per-epoch record of one training run: Float64 columns (row 0 = the
 * initial weights, NaN where a quantity does not apply) and a JSON meta,
 * packed as a bundle (pipeline/artifact.ts). The metrics stage decodes it.
 */
import { decodeBundle, encodeBundle } from "../../pipeline/artifact.ts";
import type { Json } from "../../pipeline/stage.ts";
import { RECORD_COLUMNS } from "./contracts.ts";

/** What the record says about its run. */
export interface RecordMeta {
  /** "diverged" when a loss became NaN or infinite; the rows up to that epoch are kept. */
  status: "ok" | "diverged";
  /** The epoch whose loss was not finite (its row is the last), or null. */
  diverged_epoch: number | null;
  /** The optimizer config as trained (label defaulted, cell overrides applied). */
  optimizer: Json;
  /** Where `optimizer.lr` came from: the experiment file, or the select stage's tuning (SCIENCE §7). Absent in older records. */
  lr_source?: "config" | "tuned";
  /** The lr the experiment file gave (differs from optimizer.lr when tuned). */
  configured_lr?: number;
  seed: number;
  /** Sweep overrides of this run, `{}` if none. */
  cell: Json;
  /** Trainable parameter count. */
  params: number;
  /** Layers with weights; the record has `norm_layer_0` … `norm_layer_<layers−1>`. */
  layers: number;
  /** Batch size used (N for GD). */
  batch_size: number;
  n_train: number;
  n_test: number;
  corrupted_count: number;
  /** Epochs asked for; the record has epochs + 1 rows unless it diverged. */
  epochs: number;
  snapshot_every: number;
  /** Which partition each snapshot's batch gradients use (SCIENCE §2). */
  snapshot_partition: string;
  versions: Record<string, string>;
}

/** A decoded record. */
export interface TrainRecord {
  meta: RecordMeta;
  columns: Record<string, Float64Array>;
}

/** Column names of a record with `layers` weighted layers, in stored order. */
export function recordColumnNames(layers: number): string[] {
  const names: string[] = [...RECORD_COLUMNS];
  for (let i = 0; i < layers; i++) names.push(normLayerColumn(i));
  return names;
}

/** The per-layer norm column of layer i (weights and bias, SCIENCE §4.1). */
export function normLayerColumn(i: number): string {
  return `norm_layer_${i}`;
}

/** Growing rows of a record, one JS array per column. */
export type Rows = Record<string, number[]>;

/** Empty rows with the given columns. */
export function emptyRows(names: string[]): Rows {
  return Object.fromEntries(names.map((name) => [name, []]));
}

/** Appends one row; columns missing from `row` get NaN, unknown names throw. */
export function appendRow(rows: Rows, row: Record<string, number>): void {
  for (const name of Object.keys(row)) {
    if (!(name in rows)) throw new Error(`record: unknown column '${name}'`);
  }
  for (const [name, values] of Object.entries(rows)) {
    values.push(row[name] ?? NaN);
  }
}

/** Number of rows so far. */
export function rowCount(rows: Rows): number {
  return rows["epoch"]?.length ?? 0;
}

/** Rows as Float64 columns. */
export function rowsToColumns(rows: Rows): Record<string, Float64Array> {
  return Object.fromEntries(
    Object.entries(rows).map(([k, v]) => [k, Float64Array.from(v)]),
  );
}

/** Float64 columns back to rows (used when resuming). */
export function columnsToRows(columns: Record<string, Float64Array>): Rows {
  return Object.fromEntries(
    Object.entries(columns).map(([k, v]) => [k, Array.from(v)]),
  );
}

/** Packs a record; every column of `recordColumnNames(meta.layers)` must be present, all of one length. */
export function encodeRecord(record: TrainRecord): Uint8Array {
  checkColumns(record.columns, record.meta.layers);
  return encodeBundle(record.columns, record.meta as unknown as Json);
}

/** Unpacks `encodeRecord` output; throws a one-line error on a malformed record. */
export function decodeRecord(bytes: Uint8Array): TrainRecord {
  const { meta, columns } = decodeBundle(bytes);
  if (
    meta === null || typeof meta !== "object" || Array.isArray(meta) ||
    typeof meta["layers"] !== "number"
  ) {
    throw new Error("record: meta must be an object with a numeric 'layers'");
  }
  const out: Record<string, Float64Array> = {};
  for (const [name, column] of Object.entries(columns)) {
    if (!(column instanceof Float64Array)) {
      throw new Error(
        `record.${name}: expected f64, got ${column.constructor.name}`,
      );
    }
    out[name] = column;
  }
  const recordMeta = meta as unknown as RecordMeta;
  checkColumns(out, recordMeta.layers);
  return { meta: recordMeta, columns: out };
}

function checkColumns(
  columns: Record<string, Float64Array>,
  layers: number,
): void {
  let length = -1;
  for (const name of recordColumnNames(layers)) {
    const column = columns[name];
    if (column === undefined) {
      throw new Error(`record: column '${name}' is missing`);
    }
    if (length >= 0 && column.length !== length) {
      throw new Error(
        `record.${name}: expected ${length} rows like the other columns, got ${column.length}`,
      );
    }
    length = column.length;
  }
}
