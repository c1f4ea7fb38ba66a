import * as tf from "@tensorflow/tfjs";
import {
  assertAlmostEquals,
  assertEquals,
  assertThrows,
} from "../../assert.ts";
import { RECORD_COLUMNS } from "../../../stages/nn/contracts.ts";
import { readCheckpoints } from "../../../stages/nn/checkpoint.ts";
import {
  type DataSet,
  decodeTestSet,
  decodeTrainSet,
} from "../../../stages/nn/data.ts";
import { perSampleLoss } from "../../../stages/nn/losses.ts";
import {
  appendRow,
  decodeRecord,
  emptyRows,
  encodeRecord,
  recordColumnNames,
  type RecordMeta,
  rowsToColumns,
} from "../../../stages/nn/record.ts";
import { trainStage } from "../../../stages/train/stage.ts";
import { sgdItem, tinyBundles, tinyContext, tinyParams } from "./_helpers.ts";

const META: RecordMeta = {
  status: "ok",
  diverged_epoch: null,
  optimizer: { name: "sgd", lr: 0.1, label: "sgd" },
  seed: 0,
  cell: {},
  params: 10,
  layers: 2,
  batch_size: 4,
  n_train: 8,
  n_test: 8,
  corrupted_count: 2,
  epochs: 1,
  snapshot_every: 1,
  snapshot_partition: "test",
  versions: { tfjs: "4.22.0" },
};

Deno.test("encodeRecord() and decodeRecord() round-trip; missing cells are NaN", () => {
  const rows = emptyRows(recordColumnNames(2));
  appendRow(rows, { epoch: 0, train_loss: 2.5, norm_layer_1: 3 });
  appendRow(rows, { epoch: 1, train_loss: 1.25 });
  const record = decodeRecord(
    encodeRecord({ meta: META, columns: rowsToColumns(rows) }),
  );
  assertEquals(record.meta, META);
  assertEquals(Object.keys(record.columns), [
    ...RECORD_COLUMNS,
    "norm_layer_0",
    "norm_layer_1",
  ]);
  assertEquals(Array.from(record.columns.train_loss!), [2.5, 1.25]);
  assertEquals(Array.from(record.columns.norm_layer_1!), [3, NaN]);
  assertThrows(
    () => appendRow(rows, { nonsense: 1 }),
    Error,
    "unknown column 'nonsense'",
  );
});

Deno.test("encodeRecord() rejects a missing column or columns of unequal length", () => {
  const columns = rowsToColumns(emptyRows(recordColumnNames(2)));
  delete columns.norm_layer_1;
  assertThrows(
    () => encodeRecord({ meta: META, columns }),
    Error,
    "column 'norm_layer_1' is missing",
  );
  const uneven = rowsToColumns(emptyRows(recordColumnNames(2)));
  uneven.lr = new Float64Array(3);
  assertThrows(
    () => encodeRecord({ meta: META, columns: uneven }),
    Error,
    "record.",
  );
});

/** Per-sample losses and correctness of a loaded model on a whole set, in one forward pass. */
function direct(
  model: tf.LayersModel,
  set: DataSet,
): { losses: Float32Array; correct: boolean[] } {
  return tf.tidy(() => {
    const x = tf.tensor2d(set.images, [set.n, set.d]);
    const y = tf.tensor1d(set.labels, "int32");
    const out = model.predict(x) as tf.Tensor2D;
    const predicted = Array.from(tf.argMax(out, 1).dataSync());
    return {
      losses: perSampleLoss(out, y, "cross_entropy").dataSync() as Float32Array,
      correct: predicted.map((p, i) => p === set.labels[i]),
    };
  });
}

function weightsOf(model: tf.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => w.dataSync() as Float32Array);
}

Deno.test("trainStage.run() record columns match a direct computation from the saved checkpoints", async () => {
  const bundles = tinyBundles();
  const dir = await Deno.makeTempDir();
  try {
    const params = tinyParams({
      "train.epochs": 2,
      "train.checkpoint_epochs": [0],
    });
    const out = await trainStage.run(
      tinyContext(params, sgdItem(0.5), bundles, dir),
    );
    const { columns, meta } = decodeRecord(out.record!);
    const [first, last] = readCheckpoints(out.checkpoints!);
    assertEquals([first!.epoch, last!.epoch], [0, 2]);
    const model = await last!.load();
    const model0 = await first!.load();
    const train = decodeTrainSet(bundles.train);
    const test = decodeTestSet(bundles.test);
    assertEquals(meta.corrupted_count, 16);

    // Errors on the clean and corrupted parts, against the (noisy) training labels: exact counts.
    const t = direct(model, train);
    const part = (corrupt: boolean) =>
      [...Array(train.n).keys()].filter((i) =>
        (train.corrupted[i] === 1) === corrupt
      );
    const error = (idx: number[]) =>
      idx.filter((i) => !t.correct[i]).length / idx.length;
    const meanLoss = (idx: number[]) =>
      idx.reduce((s, i) => s + t.losses[i]!, 0) / idx.length;
    assertEquals(columns.train_clean_error![2], error(part(false)));
    assertEquals(columns.train_corrupt_error![2], error(part(true)));
    assertEquals(columns.train_error![2], error([...Array(train.n).keys()]));
    assertAlmostEquals(
      columns.train_clean_loss![2]!,
      meanLoss(part(false)),
      1e-5,
    );
    assertAlmostEquals(
      columns.train_corrupt_loss![2]!,
      meanLoss(part(true)),
      1e-5,
    );
    assertAlmostEquals(
      columns.train_loss![2]!,
      meanLoss([...Array(train.n).keys()]),
      1e-5,
    );
    const s = direct(model, test);
    assertEquals(
      columns.test_error![2],
      s.correct.filter((c) => !c).length / test.n,
    );
    assertAlmostEquals(
      columns.test_loss![2]!,
      s.losses.reduce((a, b) => a + b, 0) / test.n,
      1e-5,
    );

    // SCIENCE §4.1 norms from the weights: [kernel0, bias0, kernel1, bias1].
    const w = weightsOf(model);
    const w0 = weightsOf(model0);
    const sq = (a: Float32Array, b?: Float32Array) =>
      a.reduce((acc, x, i) => acc + (x - (b ? b[i]! : 0)) ** 2, 0);
    // [column, row, value]: each at the last row (epoch 2); the norm also at row 0.
    const expected: Array<[string, number, number]> = [
      ["norm", 2, Math.sqrt(w.reduce((acc, a) => acc + sq(a), 0))],
      ["norm_no_bias", 2, Math.sqrt(sq(w[0]!) + sq(w[2]!))],
      ["norm_layer_0", 2, Math.sqrt(sq(w[0]!) + sq(w[1]!))],
      ["norm_layer_1", 2, Math.sqrt(sq(w[2]!) + sq(w[3]!))],
      [
        "dist_init",
        2,
        Math.sqrt(w.reduce((acc, a, i) => acc + sq(a, w0[i]!), 0)),
      ],
      ["norm", 0, Math.sqrt(w0.reduce((acc, a) => acc + sq(a), 0))],
    ];
    for (const [column, row, value] of expected) {
      assertAlmostEquals(columns[column]![row]!, value, 1e-9, column);
    }
    model.dispose();
    model0.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
