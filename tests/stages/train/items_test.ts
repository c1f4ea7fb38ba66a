import { assertEquals, assertThrows } from "../../../tests/assert.ts";
import { parseParams } from "../../../pipeline/stage.ts";
import {
  applyCell,
  cellOptimizer,
  itemLabel,
  matrixCells,
  trainItems as listItems,
} from "../../../stages/train/items.ts";
import { trainForeach } from "../../../stages/train/params.ts";
import { trainConfig } from "../../../stages/train/config.ts";
import { tinyParams } from "../nn/_helpers.ts";

/** The train stage's items from raw fan-out params, parsed by its schema first, as the engine does. */
const trainItems = (raw: unknown) =>
  listItems(parseParams(trainForeach.schema, raw, "Stage 'train' fan-out"));

Deno.test("trainItems() is optimizers × seeds × one empty cell when the matrix is empty", () => {
  const items = trainItems({
    optimizers: [{ name: "sgd", lr: 0.001 }, {
      name: "adam",
      lr: 0.001,
      label: "adam-a",
    }],
    seeds: [0, 1],
    matrix: {},
  });
  assertEquals(items, [
    { optimizer: { name: "sgd", lr: 0.001, label: "sgd" }, seed: 0, cell: {} },
    { optimizer: { name: "sgd", lr: 0.001, label: "sgd" }, seed: 1, cell: {} },
    {
      optimizer: { name: "adam", lr: 0.001, label: "adam-a" },
      seed: 0,
      cell: {},
    },
    {
      optimizer: { name: "adam", lr: 0.001, label: "adam-a" },
      seed: 1,
      cell: {},
    },
  ]);
});

Deno.test("matrixCells() is the Cartesian product of the value lists, keys sorted", () => {
  assertEquals(matrixCells({}), [{}]);
  assertEquals(
    matrixCells({
      "train.batch_size": [16, 64],
      "optimizer.lr": [0.1, 0.01, 0.001],
    }),
    [
      { "optimizer.lr": 0.1, "train.batch_size": 16 },
      { "optimizer.lr": 0.1, "train.batch_size": 64 },
      { "optimizer.lr": 0.01, "train.batch_size": 16 },
      { "optimizer.lr": 0.01, "train.batch_size": 64 },
      { "optimizer.lr": 0.001, "train.batch_size": 16 },
      { "optimizer.lr": 0.001, "train.batch_size": 64 },
    ],
  );
  const items = trainItems({
    optimizers: [{ name: "sgd", lr: 1 }],
    seeds: [0, 1, 2],
    matrix: { "train.batch_size": [8, 16] },
  });
  assertEquals(items.length, 6);
});

Deno.test("the train fan-out schema rejects bad fields with one line naming the field", () => {
  const cases: Array<[unknown, string]> = [
    [
      { optimizers: [{ name: "lbfgs", lr: 1 }], seeds: [0], matrix: {} },
      "Stage 'train' fan-out: optimizers.0.name:",
    ],
    [
      { optimizers: [{ name: "sgd", lr: -1 }], seeds: [0], matrix: {} },
      "Stage 'train' fan-out: optimizers.0.lr:",
    ],
    [
      { optimizers: [{ name: "sgd", lr: 1 }], seeds: [0.5], matrix: {} },
      "Stage 'train' fan-out: seeds.0:",
    ],
    [
      {
        optimizers: [{ name: "sgd", lr: 1 }],
        seeds: [0],
        matrix: { "noise.label_rate": [0.1] },
      },
      "Stage 'train' fan-out: matrix.noise.label_rate:",
    ],
    [
      {
        optimizers: [{ name: "sgd", lr: 1 }],
        seeds: [0],
        matrix: { "train.batch_size": [] },
      },
      "Stage 'train' fan-out: matrix.train.batch_size:",
    ],
  ];
  for (const [raw, message] of cases) {
    assertThrows(() => trainItems(raw), Error, message);
  }
});

Deno.test("applyCell() overrides declared params; cellOptimizer() applies optimizer.<field>", () => {
  const item = {
    optimizer: { name: "sgd", lr: 0.1, label: "sgd" },
    seed: 3,
    cell: { "train.batch_size": 8, "optimizer.momentum": 0.9 },
  };
  const params = applyCell(tinyParams(), item.cell);
  assertEquals(params["train.batch_size"], 8);
  assertEquals(params["train.epochs"], 3);
  assertEquals("optimizer.momentum" in params, false);
  assertEquals(cellOptimizer(item), {
    name: "sgd",
    lr: 0.1,
    label: "sgd",
    momentum: 0.9,
  });
  assertEquals(itemLabel(item), "sgd · seed 3 · batch_size=8 · momentum=0.9");
  const config = trainConfig(tinyParams({ "train.weight_decay": 0.01 }), item);
  assertEquals(config.batchSize, 8);
  assertEquals(config.seed, 3);
  assertEquals(config.optimizer, {
    name: "sgd",
    lr: 0.1,
    label: "sgd",
    momentum: 0.9,
    weight_decay: 0.01,
  });
  assertEquals(config.model, {
    arch: "mlp",
    hidden: [8],
    loss: "cross_entropy",
    inputSize: 784,
    classes: 10,
  });
});
