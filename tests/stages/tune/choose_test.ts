import {
  assertAlmostEquals,
  assertEquals,
  assertThrows,
} from "../../assert.ts";
import { chooseLr, type TuneResult } from "../../../stages/tune/choose.ts";
import { selectLr } from "../../../stages/tune/select_stage.ts";
import {
  readTuning,
  selectItems,
  tuneItems,
} from "../../../stages/tune/items.ts";
import { holdOut } from "../../../stages/tune/split.ts";

const r = (
  lr: number,
  validation_error: number | null,
  diverged = false,
  optimizer = "sgd",
): TuneResult => ({
  optimizer,
  lr,
  validation_error,
  validation_loss: validation_error,
  diverged,
});

Deno.test("chooseLr() picks the lowest final validation error and sorts the table by lr", () => {
  const got = chooseLr("sgd", [
    r(0.25, 0.4),
    r(2 ** -10, 0.5),
    r(2 ** -6, 0.3),
  ]);
  assertEquals(got.lr, 2 ** -6);
  assertEquals(got.table, [
    { lr: 2 ** -10, validation_error: 0.5 },
    { lr: 2 ** -6, validation_error: 0.3 },
    { lr: 0.25, validation_error: 0.4 },
  ]);
});

Deno.test("chooseLr() breaks a tie in validation error toward the smaller lr, whatever the input order", () => {
  assertEquals(
    chooseLr("adam", [r(0.01, 0.2), r(0.001, 0.2), r(0.1, 0.3)]).lr,
    0.001,
  );
  assertEquals(
    chooseLr("adam", [r(0.1, 0.3), r(0.001, 0.2), r(0.01, 0.2)]).lr,
    0.001,
  );
});

Deno.test("chooseLr() never picks a diverged lr and shows it as null in the table", () => {
  const got = chooseLr("sgd", [
    r(1, null, true),
    r(0.5, 0.0, true),
    r(0.1, 0.45),
  ]);
  assertEquals(got.lr, 0.1);
  assertEquals(got.table, [
    { lr: 0.1, validation_error: 0.45 },
    { lr: 0.5, validation_error: null },
    { lr: 1, validation_error: null },
  ]);
});

Deno.test("chooseLr() names the optimizer when every lr diverged", () => {
  assertThrows(
    () => chooseLr("rmsprop", [r(1, null, true), r(2, null, true)]),
    Error,
    "every lr diverged for optimizer 'rmsprop'",
  );
});

Deno.test("selectLr() keeps the configured lr when tuning is off and filters results by optimizer when on", () => {
  assertEquals(selectLr("sgd", 0.001, false, [r(0.1, 0.1)]), {
    optimizer: "sgd",
    lr: 0.001,
    tuned: false,
    table: [],
  });
  const on = selectLr("adam", 0.001, true, [
    r(0.1, 0.01, false, "sgd"),
    r(0.01, 0.3, false, "adam"),
    r(0.001, 0.2, false, "adam"),
  ]);
  assertEquals(on.lr, 0.001);
  assertEquals(on.table.length, 2);
});

Deno.test("tuneItems() fans out optimizers × lrs when enabled and to nothing when disabled or absent", () => {
  const optimizers = [{ name: "sgd", lr: 0.001 }, {
    name: "adam",
    lr: 0.001,
    label: "a",
  }];
  const tuning = {
    enabled: true,
    lrs: [0.1, 0.01, 0.001],
    epochs: 2,
    validation_size: 10,
    seed: 0,
  };
  const items = tuneItems({ optimizers, tuning });
  assertEquals(items.length, 6);
  assertEquals(items[0], {
    optimizer: { name: "sgd", lr: 0.001, label: "sgd" },
    lr: 0.1,
  });
  assertEquals(items[5], {
    optimizer: { name: "adam", lr: 0.001, label: "a" },
    lr: 0.001,
  });
  assertEquals(
    tuneItems({ optimizers, tuning: { ...tuning, enabled: false } }),
    [],
  );
  assertEquals(tuneItems({ optimizers }), []);
  // One select item per optimizer, labelled exactly like the train items.
  assertEquals(selectItems({ optimizers }), [
    { optimizer: { name: "sgd", lr: 0.001, label: "sgd" } },
    { optimizer: { name: "adam", lr: 0.001, label: "a" } },
  ]);
});

Deno.test("readTuning() rejects a bad field with one line naming it", () => {
  assertThrows(() => readTuning({ enabled: "yes" }), Error, "tuning.enabled");
  assertThrows(
    () => readTuning({ enabled: true, lrs: [] }),
    Error,
    "tuning.lrs",
  );
  assertThrows(
    () => readTuning({ enabled: true, lrs: [0.1], epochs: 0 }),
    Error,
    "tuning.epochs",
  );
});

Deno.test("holdOut() validates on the LAST v samples with their noisy labels and trains on the rest", () => {
  const n = 5;
  const d = 2;
  const set = {
    n,
    d,
    images: Float32Array.from({ length: n * d }, (_, i) => i / 10),
    labels: Int32Array.from([3, 1, 4, 1, 5]),
    corrupted: Uint8Array.from([0, 1, 0, 0, 1]),
  };
  const { train, validation } = holdOut(set, 2);
  assertEquals(train.n, 3);
  assertEquals(validation.n, 2);
  assertEquals([...train.labels], [3, 1, 4]);
  assertEquals([...validation.labels], [1, 5]);
  assertEquals([...validation.corrupted], [0, 1]);
  assertAlmostEquals(validation.images[0]!, 0.6, 1e-7);
  assertEquals(validation.images.length, 4);
  assertThrows(() => holdOut(set, 5), Error, "tuning.validation_size");
});
