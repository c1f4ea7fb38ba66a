import { assert, assertEquals, assertThrows } from "../assert.ts";
import type { Json } from "../../pipeline/stage.ts";
import {
  applySet,
  experimentParams,
  loadExperimentFile,
  MAX_PARAMETERS,
  parseSetValue,
  validateExperiment,
} from "../../stages/experiment.ts";
import { mlpParams } from "./_models.ts";

const DIR = new URL("../../experiments", import.meta.url).pathname;
const SMOKE = JSON.parse(Deno.readTextFileSync(`${DIR}/smoke.json`)) as Json;

/** The smoke experiment with one section's field replaced. */
function smokeWith(section: string, field: string, value: Json): Json {
  const copy = structuredClone(SMOKE) as Record<string, Record<string, Json>>;
  copy[section]![field] = value;
  return copy as unknown as Json;
}

Deno.test("every shipped experiment file validates, with and without a --set", async () => {
  const names = [...Deno.readDirSync(DIR)].filter((e) =>
    e.name.endsWith(".json")
  ).map((e) => e.name.slice(0, -5));
  assert(
    names.includes("paper") && names.includes("smoke"),
    `shipped: ${names}`,
  );
  for (const name of names) {
    const tree = await loadExperimentFile(DIR, name, []) as {
      experiment: { name: string; command: string };
    };
    assertEquals(tree.experiment.name, name);
    assertEquals(
      tree.experiment.command,
      `deno task reproduce --experiment ${name}`,
    );
    const set = await loadExperimentFile(DIR, name, ["seeds=3,4"]) as {
      seeds: number[];
      experiment: { command: string };
    };
    assertEquals(set.seeds, [3, 4], name);
    assertEquals(
      set.experiment.command,
      `deno task reproduce --experiment ${name} --set seeds=3,4`,
    );
  }
});

Deno.test("parseSetValue() reads JSON, comma lists of JSON-or-strings, else the string", () => {
  assertEquals(parseSetValue("0,1,2"), [0, 1, 2]);
  assertEquals(parseSetValue("[0,1,2]"), [0, 1, 2]);
  assertEquals(parseSetValue("0.01"), 0.01);
  assertEquals(parseSetValue("1e-3"), 0.001);
  assertEquals(parseSetValue("true"), true);
  assertEquals(parseSetValue("null"), null);
  assertEquals(parseSetValue("sgd"), "sgd");
  assertEquals(parseSetValue("sgd, adam"), ["sgd", "adam"]);
  assertEquals(parseSetValue("0, x ,2"), [0, "x", 2]);
  assertEquals(parseSetValue('{"a":1}'), { a: 1 });
  assertEquals(
    parseSetValue("NaN"),
    "NaN",
    "not a number: the schema then names the field",
  );
  assertEquals(parseSetValue(""), "");
});

Deno.test("applySet() sets nested params, array elements and whole lists on a copy", () => {
  const tree = SMOKE as Record<string, Json>;
  const seeds = applySet(tree, "seeds=0,1,2") as Record<string, Json>;
  assertEquals(seeds.seeds, [0, 1, 2]);
  assertEquals(tree.seeds, [0, 1], "the input is not modified");
  const lr = applySet(tree, "optimizers.0.lr=0.01") as {
    optimizers: Array<{ name: string; lr: number }>;
  };
  assertEquals(lr.optimizers.map((o) => o.lr), [0.01, 0.001, 0.001]);
  assertEquals(lr.optimizers[0]!.name, "sgd");
  const hidden = applySet(tree, "model.hidden.1=64") as {
    model: { hidden: number[] };
  };
  assertEquals(hidden.model.hidden, [32, 64]);
  // An optional key absent from the file cannot be added inside a list element; the whole element can be set.
  assertThrows(
    () => applySet(tree, "optimizers.0.momentum=0.9"),
    Error,
    "unknown param (known under 'optimizers.0': name, lr)",
  );
  const added = applySet(
    tree,
    'optimizers.0={"name":"sgd","lr":0.05,"momentum":0.9}',
  ) as {
    optimizers: Array<Record<string, Json>>;
  };
  assertEquals(added.optimizers[0], { name: "sgd", lr: 0.05, momentum: 0.9 });
  const spaced = applySet(tree, " train.epochs =7") as {
    train: { epochs: number };
  };
  assertEquals(spaced.train.epochs, 7);
  const equals = applySet(tree, "description=a=b") as { description: string };
  assertEquals(equals.description, "a=b", "only the first '=' splits");
});

Deno.test("applySet() names the known keys for an unknown param", () => {
  const error = assertThrows(() => applySet(SMOKE, "train.epoch=3"), Error);
  assertEquals(
    error.message,
    "--set train.epoch: unknown param (known under 'train': epochs, batch_size, snapshot_every, checkpoint_epochs, weight_decay, explicit_penalty)",
  );
});

Deno.test("applySet() reports an index outside the list and a missing parent", () => {
  for (
    const [set, message] of [
      ["model.hidden.2=8", "--set model.hidden.2: index 2 is outside 0..1"],
      ["model.hidden.-1=8", "--set model.hidden.-1: index -1 is outside 0..1"],
      [
        "optimizers.3.lr=0.1",
        "--set optimizers.3.lr: no param 'optimizers.3' to set inside",
      ],
      [
        "train.epochs.x=1",
        "--set train.epochs.x: no param 'train.epochs' to set inside",
      ],
      [
        "train.constructor.name=x",
        "--set train.constructor.name: no param 'train.constructor' to set inside",
      ],
      ["epochs", '--set needs KEY=VALUE, got "epochs"'],
      ["=3", '--set needs KEY=VALUE, got "=3"'],
    ] as const
  ) {
    assertEquals(
      assertThrows(() => applySet(SMOKE, set), Error).message,
      message,
    );
  }
});

Deno.test("applySet() refuses __proto__ and leaves Object.prototype alone", () => {
  for (
    const set of [
      "__proto__.polluted=1",
      '__proto__={"polluted":1}',
      "train.__proto__.polluted=1",
    ]
  ) {
    assertThrows(
      () => applySet(SMOKE, set),
      Error,
      "'__proto__' is not a param",
    );
  }
  assertEquals(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("validateExperiment() names the field and what was given", () => {
  const cases: Array<[Json, string]> = [
    [
      smokeWith("noise", "label_rate", 1),
      "noise.label_rate: below 1 (got 1)",
    ],
    [
      smokeWith("noise", "label_rate", -0.1),
      "noise.label_rate: at least 0 (got -0.1)",
    ],
    [
      smokeWith("train", "epochs", 1e9),
      "train.epochs: at most 10000 (got 1000000000)",
    ],
    [
      smokeWith("train", "epochs", 0),
      "train.epochs: at least 1 (got 0)",
    ],
    [
      smokeWith("data", "train_size", 1e9),
      "data.train_size: at most 60000 (got 1000000000)",
    ],
    [
      smokeWith("data", "dataset", "cifar"),
      'data.dataset: expected one of "mnist", "fashion-mnist" (got "cifar")',
    ],
    [
      smokeWith("data", "source", "system"),
      'data.source: mnist comes from "package" or "url"',
    ],
    [
      smokeWith("model", "hidden", Array(16).fill(100000)),
      "model.hidden.0: at most 8192 (got 100000)",
    ],
  ];
  for (const [tree, message] of cases) {
    assertEquals(
      assertThrows(() => validateExperiment("x", tree), Error).message,
      `Experiment 'x': ${message}`,
    );
  }
  const empty = structuredClone(SMOKE) as Record<string, Json>;
  empty.optimizers = [];
  assertThrows(
    () => validateExperiment("x", empty),
    Error,
    "Experiment 'x': optimizers: at least 1 entry (got [])",
  );
  const extra = structuredClone(SMOKE) as Record<string, Json>;
  extra.optimiser = [];
  assertEquals(
    assertThrows(() => validateExperiment("x", extra), Error).message,
    `Experiment 'x': (top level): Unrecognized key: "optimiser"`,
  );
});

Deno.test("validateExperiment() refuses an MLP too wide to fit, counting parameters by hand", () => {
  // 16 layers of 8192: 784·8192 + 15·8192² + 8192·10 + 16·8192 + 10
  //   = 6,422,528 + 1,006,632,960 + 81,920 + 131,072 + 10 = 1,013,268,490 > 5e7.
  assertEquals(mlpParams(Array(16).fill(8192)), 1_013_268_490);
  const wide = smokeWith("model", "hidden", Array(16).fill(8192));
  assertEquals(
    assertThrows(() => validateExperiment("x", wide), Error).message,
    "Experiment 'x': model.hidden: 8192-8192-8192-8192-8192-8192-8192-8192-8192-8192-8192-8192-8192-8192-8192-8192 needs 1.01e+9 parameters; at most 5e+7 fit this machine",
  );
  // Two layers [8192, h]: 784·8192 + 8192 + 8192·h + h + 10·h + 10 = 6,430,730 + 8203·h,
  // at most 5e7 for h ≤ 5311 (49,996,863); h = 5312 gives 50,005,066.
  assertEquals(mlpParams([8192, 5311]), 49_996_863);
  assertEquals(mlpParams([8192, 5312]), 50_005_066);
  assertEquals(MAX_PARAMETERS, 50_000_000);
  validateExperiment("x", smokeWith("model", "hidden", [8192, 5311]));
  const over = [8192, 5312];
  assertThrows(
    () => validateExperiment("x", smokeWith("model", "hidden", over)),
    Error,
    "needs 5.00e+7 parameters",
  );
});

Deno.test("validateExperiment() refuses two optimizers with one label and repeated seeds", () => {
  const twice = structuredClone(SMOKE) as Record<string, Json>;
  twice.optimizers = [{ name: "sgd", lr: 0.1 }, { name: "sgd", lr: 0.01 }];
  assertEquals(
    assertThrows(() => validateExperiment("x", twice), Error).message,
    `Experiment 'x': optimizers: two entries are labelled 'sgd'; give each a distinct "label"`,
  );
  twice.optimizers = [{ name: "sgd", lr: 0.1 }, {
    name: "sgd",
    lr: 0.01,
    label: "sgd-small",
  }];
  validateExperiment("x", twice);
  twice.optimizers = [{ name: "sgd", lr: 0.1, label: "a" }, {
    name: "adam",
    lr: 0.01,
    label: "a",
  }];
  assertThrows(
    () => validateExperiment("x", twice),
    Error,
    "two entries are labelled 'a'",
  );
  assertEquals(
    assertThrows(() => experimentParams("x", SMOKE, ["seeds=1,2,1"]), Error)
      .message,
    "Experiment 'x': seeds: values must be distinct (got [1,2,1])",
  );
});

Deno.test("experimentParams() applies sets in order, validates, and records the command", () => {
  const tree = experimentParams("smoke", SMOKE, [
    "train.epochs=2",
    "train.epochs=3",
    "optimizers.1.lr=0.01",
  ]) as {
    train: { epochs: number };
    optimizers: Array<{ lr: number }>;
    experiment: { name: string; command: string };
  };
  assertEquals(tree.train.epochs, 3, "the last --set wins");
  assertEquals(tree.optimizers[1]!.lr, 0.01);
  assertEquals(
    tree.experiment.command,
    "deno task reproduce --experiment smoke --set train.epochs=2 --set train.epochs=3 --set optimizers.1.lr=0.01",
  );
});

Deno.test("--set of a scalar where a list stands means a list of one: seeds=0 is seeds=[0]", () => {
  const seeds = (set: string) =>
    (experimentParams("x", SMOKE, [set]) as { seeds: number[] }).seeds;
  assertEquals(seeds("seeds=0"), [0]);
  assertEquals(seeds("seeds=[0]"), [0]);
  assertEquals(seeds("seeds=7"), [7]);
  assertEquals(seeds("seeds=0,1,2"), [0, 1, 2]);
  const tree = experimentParams("x", SMOKE, [
    "model.hidden=64",
    "train.epochs=5",
  ]) as { model: { hidden: number[] }; train: { epochs: number } };
  assertEquals(tree.model.hidden, [64]);
  assertEquals(tree.train.epochs, 5, "a scalar param stays a scalar");
  assertEquals(
    assertThrows(() => experimentParams("x", SMOKE, ["seeds=-1"]), Error)
      .message,
    "Experiment 'x': seeds.0: at least 0 (got -1)",
  );
});
