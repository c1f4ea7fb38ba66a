import { assert, assertEquals } from "../../assert.ts";
import { parquetReadObjects } from "hyparquet";
import {
  metricsSchema,
  QUANTITY_INFO,
  runsCsv,
  runsParquet,
  runsTable,
} from "../../../stages/metrics/tidy.ts";
import type { Quantity } from "../../../stages/metrics/types.ts";
import { fixtureRun, SGD } from "./_runs.ts";

const ORDER: Quantity[] = ["train_error", "test_error", "norm", "sharpness"];

/** Two seeds of an lr sweep cell and one of another, 2 epochs each; sharpness on seed 0 at epoch 2 only. */
function sweep() {
  const cell = (lr: number) => ({ "optimizer.lr": lr });
  const a0 = fixtureRun({ ...SGD, lr: 0.1 }, 0, {
    test_error: [0.9, 0.5, 0.25],
    norm: [1, 2, 3],
  }, { epochs: 2, cell: cell(0.1) });
  a0.series.sharpness = { epochs: [2], values: [7.5] };
  const a1 = fixtureRun({ ...SGD, lr: 0.1 }, 1, {
    test_error: [0.8, 0.4, 0.2],
    norm: [1, 2, 4],
  }, { epochs: 2, cell: cell(0.1) });
  const b0 = fixtureRun({ ...SGD, lr: 0.01 }, 0, {
    test_error: [0.9, 0.7, 0.6],
    norm: [1, 1.5, 2],
  }, { epochs: 2, cell: cell(0.01) });
  return [a0, a1, b0];
}

Deno.test("runsCsv() has one row per run × epoch, per seed, with the swept param, optimizer, lr and seed as columns", () => {
  const lines = runsCsv(sweep(), ORDER).trimEnd().split("\n");
  assertEquals(
    lines[0],
    "group,optimizer,optimizer_name,lr,seed,optimizer.lr,status,epoch,test_error,norm,sharpness",
  );
  assertEquals(lines.length, 1 + 3 * 3);
  // Not averaged: each seed keeps its own values; sharpness only where measured.
  assertEquals(lines.slice(1, 4), [
    "sgd · lr=0.1,sgd,sgd,0.1,0,0.1,ok,0,0.9,1,",
    "sgd · lr=0.1,sgd,sgd,0.1,0,0.1,ok,1,0.5,2,",
    "sgd · lr=0.1,sgd,sgd,0.1,0,0.1,ok,2,0.25,3,7.5",
  ]);
  assertEquals(lines[6], "sgd · lr=0.1,sgd,sgd,0.1,1,0.1,ok,2,0.2,4,");
  assertEquals(lines[9], "sgd · lr=0.01,sgd,sgd,0.01,0,0.01,ok,2,0.6,2,");
  // train_error was never measured (all NaN): no column.
  assert(!lines[0]!.includes("train_error"));
});

Deno.test("metricsSchema() describes every runs.csv column with a unit, and states the std's n − 1", () => {
  const runs = sweep();
  const schema = metricsSchema(runs, ORDER) as {
    conventions: Record<string, string>;
    "runs.csv": { columns: Record<string, { unit: string }> };
    "metrics.csv": { columns: Record<string, { description: string }> };
    quantities: Record<string, { unit: string; science?: string }>;
  };
  const header = runsCsv(runs, ORDER).split("\n")[0]!.split(",");
  assertEquals(Object.keys(schema["runs.csv"].columns), header);
  assert(schema.conventions["std"]!.includes("n − 1"));
  assert(schema["metrics.csv"].columns["std"]!.description.includes("n − 1"));
  assertEquals(schema.quantities["test_error"]!.unit, "fraction (0–1)");
  assertEquals(schema.quantities["sharpness"]!.science, "§4.2");
  // Every quantity the metrics stage knows has a description and a unit.
  for (const [q, info] of Object.entries(QUANTITY_INFO)) {
    assert(info.description.length > 0 && info.unit.length > 0, q);
  }
});

Deno.test("runsParquet() holds the same table as runs.csv, read back by hyparquet, with null where nothing was measured", async () => {
  const runs = sweep();
  const bytes = runsParquet(runs, ORDER);
  const rows = await parquetReadObjects({
    file: bytes.buffer.slice(
      bytes.byteOffset,
      bytes.byteOffset + bytes.byteLength,
    ) as ArrayBuffer,
  });
  const { columns, rows: table } = runsTable(runs, ORDER);
  assertEquals(rows.length, 9);
  assertEquals(Object.keys(rows[0]!), columns);
  assertEquals(
    rows.map((r) => columns.map((c) => r[c])),
    table.map((r) => r.map((v) => v === undefined ? null : v)),
  );
  assertEquals(rows[2]!["sharpness"], 7.5);
  assertEquals(rows[2]!["group"], "sgd · lr=0.1");
  // Deterministic bytes: the output is content-hashed.
  assertEquals(runsParquet(runs, ORDER), bytes);
});
