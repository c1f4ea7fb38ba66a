import { encodeJson } from "../../../pipeline/artifact.ts";
import {
  assertAlmostEquals,
  assertEquals,
  assertThrows,
} from "../../assert.ts";
import { chooseLr, type TuneResult } from "../../../stages/tune/choose.ts";
import { edgeWarning } from "../../../stages/tune/edge.ts";
import { selectLr } from "../../../stages/tune/select_stage.ts";
import {
  selectForeach,
  selectItems as listSelect,
  tuneForeach,
  tuneItems as listTune,
} from "../../../stages/tune/items.ts";
import { parseParams } from "../../../pipeline/stage.ts";

/** The fan-outs from raw params, parsed by their schemas first, as the engine does. */
const tuneItems = (raw: unknown) =>
  listTune(parseParams(tuneForeach.schema, raw, "Stage 'tune' fan-out"));
const selectItems = (raw: unknown) =>
  listSelect(parseParams(selectForeach.schema, raw, "Stage 'select' fan-out"));
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

Deno.test("selectLr() says when the choice is the grid's smallest or largest candidate, counting diverged ones as tried", () => {
  const pick = (results: TuneResult[]) => selectLr("sgd", 0.001, true, results);
  // Interior choice.
  assertEquals(pick([r(0.25, 0.4), r(0.01, 0.5), r(0.06, 0.3)]).edge, null);
  // The largest tried: the best may lie above the grid.
  const top = pick([r(0.01, 0.5), r(0.06, 0.4), r(0.25, 0.35)]);
  assertEquals(top.edge, "largest");
  assertEquals(
    edgeWarning("sgd", top),
    "sgd: the chosen lr 0.25 is the largest candidate, so the best may lie above the grid; add larger values to tuning.lrs",
  );
  // The smallest, whatever the input order.
  const low = pick([r(0.01, 0.37), r(2 ** -12, 0.356), r(0.001, 0.374)]);
  assertEquals(low.edge, "smallest");
  assertEquals(
    edgeWarning("sgd", low),
    "sgd: the chosen lr 0.000244140625 is the smallest candidate, so the best may lie below the grid; add smaller values to tuning.lrs",
  );
  // A larger lr that diverged bounds the choice from above: not an edge.
  assertEquals(pick([r(0.06, 0.4), r(0.25, 0.3), r(1, null, true)]).edge, null);
  // One candidate is no grid.
  const one = pick([r(0.1, 0.3)]);
  assertEquals(one.edge, null);
  assertEquals(edgeWarning("sgd", one), null);
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
  // Untuned, the output has no edge field: byte for byte what it was before
  // the field existed, so published results verify.
  assertEquals(
    new TextDecoder().decode(
      encodeJson(selectLr("sgd", 0.001, false, [])),
    ),
    new TextDecoder().decode(
      encodeJson({ optimizer: "sgd", lr: 0.001, tuned: false, table: [] }),
    ),
  );
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

Deno.test("the tune fan-out schema rejects a bad tuning field with one line naming it", () => {
  const optimizers = [{ name: "sgd", lr: 0.001 }];
  const tuning = {
    enabled: true,
    lrs: [0.1],
    epochs: 1,
    validation_size: 1,
    seed: 0,
  };
  const cases: Array<[unknown, string]> = [
    [{ ...tuning, enabled: "yes" }, "tuning.enabled"],
    [{ ...tuning, lrs: [] }, "tuning.lrs"],
    [{ ...tuning, epochs: 0 }, "tuning.epochs"],
  ];
  for (const [bad, path] of cases) {
    assertThrows(
      () => tuneItems({ optimizers, tuning: bad }),
      Error,
      `Stage 'tune' fan-out: ${path}:`,
    );
  }
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
