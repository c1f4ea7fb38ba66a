import { assertAlmostEquals, assertEquals, assertThrows } from "./_assert.ts";
import { encodeBundle } from "../../../pipeline/artifact.ts";
import { decodeRecord } from "../../../stages/metrics/record_view.ts";
import {
  buildRun,
  groupLabel,
  runQuantities,
  toCell,
} from "../../../stages/metrics/runs.ts";
import { makeRecord } from "./_fixtures.ts";

Deno.test("decodeRecord() reads columns, layer norms and meta; NaN-fills missing columns", () => {
  const bytes = makeRecord({
    epochs: 2,
    optimizer: { name: "sgd", lr: 0.1 },
    seed: 3,
    cell: { "train.batch_size": 16 },
    columns: { test_error: [0.9, 0.5, 0.4] },
    omit: ["traj_g2"],
    status: "diverged",
    divergedEpoch: 2,
    layers: 2,
  });
  const view = decodeRecord(bytes);
  assertEquals(view.rows, 3);
  assertEquals([...view.columns.epoch], [0, 1, 2]);
  assertEquals([...view.columns.test_error], [0.9, 0.5, 0.4]);
  assertEquals([...view.columns.traj_g2], [NaN, NaN, NaN]);
  assertEquals(view.missing, ["traj_g2"]);
  assertEquals(view.layerNorms.map((c) => c[0]), [1, 2]);
  assertEquals(view.meta.status, "diverged");
  assertEquals(view.meta.divergedEpoch, 2);
  assertEquals(view.meta.seed, 3);
  assertEquals(view.meta.cell, { "train.batch_size": 16 });
  assertEquals(view.meta.corruptedCount, 30);
});

Deno.test("decodeRecord() rejects a record without epochs or with a short column", () => {
  assertThrows(
    () => decodeRecord(encodeBundle({ lr: new Float64Array(2) })),
    Error,
    "'epoch'",
  );
  assertThrows(
    () =>
      decodeRecord(
        encodeBundle({ epoch: new Float64Array(3), lr: new Float64Array(2) }),
      ),
    Error,
    "'lr' must be Float64Array of length 3",
  );
});

Deno.test("runQuantities() derives terms per epoch with the record's η (SWATS-style change)", () => {
  const view = decodeRecord(makeRecord({
    epochs: 2,
    optimizer: { name: "sgd", lr: 0.1 },
    seed: 0,
    columns: { lr: [NaN, 0.1, 0.2], sum_g2: [2, 2, 2], full_grad2: [4, 4, 4] },
  }));
  const q = runQuantities(view, { name: "sgd", lr: 0.1 });
  // m = 4: 0.1/16·2 = 0.0125 (row 0 falls back to config η), 0.2/16·2 = 0.025.
  assertEquals([...q.ir_sgd!], [0.0125, 0.0125, 0.025]);
  assertEquals([...q.ir_own!], [0.0125, 0.0125, 0.025]);
  assertAlmostEquals(q.ir_gd![2]!, 0.2, 1e-15); // 0.2/4·4
  assertEquals([...q.ir_rms_paper!], [NaN, NaN, NaN]);
});

Deno.test("buildRun() groups by label and cell and drops never-measured quantities", () => {
  const view = decodeRecord(makeRecord({
    epochs: 1,
    optimizer: { name: "adam", lr: 0.001 },
    seed: 1,
    columns: {
      sum_pre: [NaN, 8],
      pre_scale: [NaN, 19],
      test_error: [0.9, 0.2],
    },
  }));
  const run = buildRun(view, {
    optimizer: { name: "adam", lr: 0.001, label: "adam" },
    seed: 1,
    cell: { "train.batch_size": 16 },
  });
  assertEquals(run.group, "adam · batch_size=16");
  assertEquals(run.series.ir_sgd, undefined);
  assertAlmostEquals(run.series.ir_own!.values[1]!, 0.019 / 2, 1e-15); // 19 · 0.001/16 · 8
  assertEquals(Array.from(run.series.test_error!.values), [0.9, 0.2]);
});

Deno.test("groupLabel() sorts cell keys and shows their last segment; toCell() keeps scalars", () => {
  assertEquals(groupLabel("sgd", {}), "sgd");
  assertEquals(
    groupLabel("sgd", { "train.lr": 0.1, "train.batch_size": 16 }),
    "sgd · batch_size=16, lr=0.1",
  );
  assertEquals(toCell({ a: 1, b: [512, 256], c: "x" }), {
    a: 1,
    b: "[512,256]",
    c: "x",
  });
  assertEquals(toCell(null), {});
});

Deno.test("runQuantities() blanks state-based terms at epoch 0, where s = v = 0", () => {
  const columns = {
    sum_g2: [2, 2],
    sum_s_g2: [0, 0.16],
    sum_pre: [2e8, 40],
    pre_scale: [19, 19],
  };
  const record = (name: string) =>
    decodeRecord(
      makeRecord({ epochs: 1, optimizer: { name, lr: 0.1 }, seed: 0, columns }),
    );
  const adam = runQuantities(record("adam"), { name: "adam", lr: 0.1 });
  // The scale (1+β₁)/(1−β₁) comes from the config: 1.9/0.1 = 19 up to one ulp.
  assertEquals(adam.ir_preconditioned![0], NaN);
  assertAlmostEquals(adam.ir_preconditioned![1]!, 4.75, 1e-12); // 19 · 0.1/16 · 40
  assertEquals(Array.from(adam.ir_rms_paper!), [NaN, 0.001]); // 0.1/16 · 0.16
  assertEquals(adam.ir_own![0], NaN);
  assertAlmostEquals(adam.ir_own![1]!, 4.75, 1e-12);
  assertEquals(Array.from(adam.ir_sgd!), [0.0125, 0.0125]); // not state-based: kept
  const swats = runQuantities(record("swats"), { name: "swats", lr: 0.1 });
  assertEquals(swats.ir_own![0], NaN);
  assertAlmostEquals(swats.ir_own![1]!, 4.75, 1e-12); // Adam phase, not the heavy-ball fallback
});
