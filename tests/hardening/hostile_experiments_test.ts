/**
 * Hostile experiment inputs: a few hundred malformed experiment files and
 * `--set` overrides, generated from experiments/smoke.json by seeded
 * mutation, each must give one clean line naming the field (or saying the
 * file is not valid JSON), never a TypeError, a stack or a second line; and
 * through the command line, exit code 1 or 2 and nothing written to the cache.
 */
import { assert, assertEquals } from "../assert.ts";
import { Rng } from "../../pipeline/rng.ts";
import type { Json } from "../../pipeline/stage.ts";
import { loadExperimentFile } from "../../stages/experiment.ts";
import { runCliCaptured } from "../pipeline/commands/_cli.ts";
import { fakeStage, tempProject } from "../pipeline/_project.ts";
import { ROOT } from "./_tasks.ts";

const SMOKE = JSON.parse(
  Deno.readTextFileSync(`${ROOT}/experiments/smoke.json`),
) as Json;

type Path = Array<string | number>;

interface Case {
  label: string;
  /** File content. */
  text: string;
  sets: string[];
  /** A substring the one-line error must contain: the field, or "not valid JSON". */
  names: string;
}

/** Every node's path in the tree (the root is []). */
function paths(value: Json, prefix: Path = []): Path[] {
  const out: Path[] = [prefix];
  if (Array.isArray(value)) {
    value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      out.push(...paths(v, [...prefix, k]));
    }
  }
  return out;
}

function getAt(tree: Json, path: Path): Json {
  let node = tree;
  for (const part of path) {
    node = (node as Record<string | number, Json>)[part]!;
  }
  return node;
}

/** A copy of the tree with the node at `path` replaced (or deleted when `value` is undefined). */
function setAt(tree: Json, path: Path, value: Json | undefined): Json {
  if (path.length === 0) return value ?? null;
  const copy = structuredClone(tree);
  const parent = getAt(copy, path.slice(0, -1)) as Record<
    string | number,
    Json
  >;
  const last = path.at(-1)!;
  if (value === undefined) delete parent[last];
  else parent[last] = value;
  return copy;
}

const kind = (v: Json) =>
  v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
const dotted = (path: Path) => path.join(".") || "(top level)";

/** Values of every JSON type; a mutation picks one of a different type than the original. */
const WRONG: Json[] = [
  null,
  true,
  false,
  "text",
  "",
  0,
  -1,
  1.5,
  1e9,
  -1e9,
  [],
  [1, "a"],
  {},
  { x: 1 },
];
const ODD_KEYS = [
  "foo",
  "x\ny",
  "constructor",
  "toString",
  "",
  "a.b",
  "🙂",
  "k".repeat(300),
  "__proto__x",
];

/** A nested array `depth` deep, as JSON text. */
const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

/** Seeded mutants of the smoke experiment, every one invalid. */
export function mutants(seed: number, count: number): Case[] {
  const rng = Rng.fromSeed(seed);
  const all = paths(SMOKE);
  const objects = all.filter((p) => kind(getAt(SMOKE, p)) === "object");
  const cases: Case[] = [];
  for (let i = 0; cases.length < count; i++) {
    const op = rng.int(6);
    if (op === 0) {
      // Wrong type anywhere below the root.
      const path = all[1 + rng.int(all.length - 1)]!;
      const original = getAt(SMOKE, path);
      const choices = WRONG.filter((w) => kind(w) !== kind(original));
      const value = choices[rng.int(choices.length)]!;
      cases.push({
        label: `${dotted(path)} = ${JSON.stringify(value)}`,
        text: JSON.stringify(setAt(SMOKE, path, value)),
        sets: [],
        names: dotted(path),
      });
    } else if (op === 1) {
      // An unknown key in any object.
      const path = objects[rng.int(objects.length)]!;
      const key = ODD_KEYS[rng.int(ODD_KEYS.length)]!;
      const tree = setAt(SMOKE, [...path, key], 1);
      const names = path.length === 0
        ? "(top level)"
        : path[0] === "matrix"
        ? "matrix"
        : dotted(path);
      cases.push({
        label: `unknown key ${JSON.stringify(key)} in ${dotted(path)}`,
        text: JSON.stringify(tree),
        sets: [],
        names,
      });
    } else if (op === 2) {
      // A required key removed (every key of smoke.json is required).
      const keyed = all.filter((p) =>
        p.length > 0 && typeof p.at(-1) === "string"
      );
      const path = keyed[rng.int(keyed.length)]!;
      cases.push({
        label: `without ${dotted(path)}`,
        text: JSON.stringify(setAt(SMOKE, path, undefined)),
        sets: [],
        names: dotted(path),
      });
    } else if (op === 3) {
      // Truncated JSON text.
      const text = JSON.stringify(SMOKE, null, rng.int(3));
      const cut = rng.int(text.length - 1);
      cases.push({
        label: `truncated at ${cut}`,
        text: text.slice(0, cut),
        sets: [],
        names: "not valid JSON",
      });
    } else if (op === 4) {
      // Deeply nested garbage in place of a node.
      const path = all[1 + rng.int(all.length - 1)]!;
      const depth = [2, 50, 5000, 100_000][rng.int(4)]!;
      const marker = '"__NESTED__"';
      const text = JSON.stringify(setAt(SMOKE, path, "__NESTED__")).replace(
        marker,
        nested(depth),
      );
      cases.push({
        label: `${dotted(path)} nested ${depth} deep`,
        text,
        sets: [],
        names: dotted(path),
      });
    } else {
      // A hostile --set on the valid file.
      const set = SETS[rng.int(SETS.length)]!;
      cases.push({
        label: `--set ${set.set.slice(0, 60)}`,
        text: JSON.stringify(SMOKE),
        sets: [set.set],
        names: set.names,
      });
    }
  }
  return cases;
}

/** Hostile overrides and the field each error must name. */
const SETS: Array<{ set: string; names: string }> = [
  { set: "train.epochs=NaN", names: "train.epochs" },
  { set: "train.epochs=Infinity", names: "train.epochs" },
  { set: "train.epochs=1e999", names: "train.epochs" },
  { set: "train.epochs=-Infinity", names: "train.epochs" },
  { set: "noise.label_rate=Infinity", names: "noise.label_rate" },
  { set: "noise.label_rate=NaN", names: "noise.label_rate" },
  { set: "noise.label_rate=1", names: "noise.label_rate" },
  { set: "noise.label_rate=-0.1", names: "noise.label_rate" },
  { set: "train.epochs=1e9", names: "train.epochs" },
  { set: "train.epochs=0", names: "train.epochs" },
  { set: "train.epochs=2.5", names: "train.epochs" },
  { set: "train.batch_size=-64", names: "train.batch_size" },
  { set: "data.train_size=1e9", names: "data.train_size" },
  { set: "data.train_size=0", names: "data.train_size" },
  {
    set: `model.hidden=${JSON.stringify(Array(16).fill(100000))}`,
    names: "model.hidden",
  },
  {
    set: `model.hidden=${JSON.stringify(Array(16).fill(8192))}`,
    names: "model.hidden",
  },
  {
    set: `model.hidden=${JSON.stringify(Array(17).fill(8))}`,
    names: "model.hidden",
  },
  { set: "model.hidden=[0]", names: "model.hidden" },
  { set: "optimizers=[]", names: "optimizers" },
  { set: "optimizers.0.lr=0", names: "optimizers.0.lr" },
  { set: "optimizers.0.lr=-1", names: "optimizers.0.lr" },
  { set: "optimizers.0.name=lion", names: "optimizers.0.name" },
  { set: "optimizers.1.name=sgd", names: "optimizers" },
  { set: "optimizers.9.lr=0.1", names: "optimizers.9" },
  { set: "optimizers.-1.lr=0.1", names: "optimizers.-1" },
  { set: "seeds=0,0", names: "seeds" },
  { set: "seeds=[]", names: "seeds" },
  { set: "seeds=-1", names: "seeds" },
  { set: "train.nope=1", names: "train.nope" },
  { set: "nope.deeper=1", names: "nope" },
  { set: "nope=1", names: "(top level)" },
  { set: "__proto__.polluted=1", names: "__proto__" },
  { set: '__proto__={"polluted":1}', names: "__proto__" },
  { set: "train.constructor=1", names: "train" },
  { set: "description=" + "d".repeat(5000), names: "description" },
  { set: "train.epochs", names: "train.epochs" },
  { set: "=5", names: "=5" },
  { set: "data.dataset=\u2028mnist", names: "data.dataset" },
  { set: "data.dataset=mnist\u0000\u001b[2J", names: "data.dataset" },
  { set: "x\ny=1", names: "x\\ny" },
];

function oneLineError(error: unknown, label: string): string {
  assert(
    error instanceof Error,
    `${label}: threw a non-Error ${String(error)}`,
  );
  assertEquals(
    error.constructor,
    Error,
    `${label}: a plain Error, not ${error.name}: ${
      error.message.slice(0, 200)
    }`,
  );
  const message = error.message;
  assert(
    // deno-lint-ignore no-control-regex -- control characters are exactly what must not reach a message
    !/[\u0000-\u001f\u007f\u2028\u2029]/.test(message),
    `${label}: one line, got ${JSON.stringify(message.slice(0, 300))}`,
  );
  assert(
    message.length <= 600,
    `${label}: a short message (${message.length} chars): ${
      message.slice(0, 200)
    }…`,
  );
  return message;
}

async function expectClean(dir: string, name: string, c: Case) {
  let error: unknown;
  try {
    await loadExperimentFile(dir, name, c.sets);
  } catch (e) {
    error = e;
  }
  assert(error !== undefined, `${c.label}: was accepted`);
  const message = oneLineError(error, c.label);
  assert(
    message.includes(c.names),
    `${c.label}: the message names '${c.names}': ${message}`,
  );
}

Deno.test("mutants() is seeded: the same seed gives the same files", () => {
  const a = mutants(7, 20).map((c) => c.label);
  assertEquals(mutants(7, 20).map((c) => c.label), a);
  assert(
    JSON.stringify(mutants(8, 20).map((c) => c.label)) !== JSON.stringify(a),
  );
});

Deno.test("the unmutated smoke experiment loads (the mutants below fail because of their mutation)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ir-hostile-" });
  await Deno.writeTextFile(`${dir}/smoke.json`, JSON.stringify(SMOKE));
  const tree = await loadExperimentFile(dir, "smoke", [
    "train.epochs=2",
    "seeds=0,1,2",
  ]) as Record<string, Json>;
  assertEquals((tree.train as Record<string, Json>).epochs, 2);
  assertEquals(tree.seeds, [0, 1, 2]);
});

Deno.test("300 seeded malformed experiment files each give one clean line naming the field", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ir-hostile-" });
  const cases = mutants(20261124, 300);
  for (const [i, c] of cases.entries()) {
    await Deno.writeTextFile(`${dir}/m${i}.json`, c.text);
    await expectClean(dir, `m${i}`, c);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("every hostile --set gives one clean line naming the field", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ir-hostile-" });
  await Deno.writeTextFile(`${dir}/smoke.json`, JSON.stringify(SMOKE));
  for (const { set, names } of SETS) {
    await expectClean(dir, "smoke", {
      label: `--set ${set.slice(0, 60)}`,
      text: "",
      sets: [set],
      names,
    });
  }
  assertEquals(
    ({} as Record<string, unknown>).polluted,
    undefined,
    "no prototype pollution",
  );
});

Deno.test("files that are not experiments at all give one clean line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ir-hostile-" });
  const files: Array<[string, string, string[], string]> = [
    ["number", "5", [], "(top level)"],
    ["null", "null", [], "(top level)"],
    ["string", '"paper"', [], "(top level)"],
    ["array", "[]", [], "(top level)"],
    ["null_set", "null", ["train.epochs=3"], "train.epochs"],
    ["number_set", "5", ["seeds=0"], "seeds"],
    ["array_set", "[1,2]", ["seeds=0"], "seeds"],
    ["empty", "", [], "not valid JSON"],
    ["multiline", '{\n  "description":\n\n  oops\n}', [], "not valid JSON"],
    ["bom", "\uFEFF" + JSON.stringify(SMOKE), [], "not valid JSON"],
    ["nested", nested(200_000), [], "nested deeper than 32 levels"],
    [
      "nested_set",
      nested(200_000),
      ["train.epochs=3"],
      "nested deeper than 32 levels",
    ],
    [
      "huge",
      JSON.stringify({
        ...(SMOKE as Record<string, Json>),
        description: "x".repeat(3_000_000),
      }),
      [],
      "at most",
    ],
  ];
  for (const [name, text, sets, names] of files) {
    await Deno.writeTextFile(`${dir}/${name}.json`, text);
    await expectClean(dir, name, { label: name, text, sets, names });
  }
  await Deno.mkdir(`${dir}/folder.json`);
  await expectClean(dir, "folder", {
    label: "a folder",
    text: "",
    sets: [],
    names: "folder.json",
  });
  await expectClean(dir, "missing", {
    label: "a missing file",
    text: "",
    sets: [],
    names: "missing.json",
  });
  await expectClean(dir, "../smoke", {
    label: "a path as name",
    text: "",
    sets: [],
    names: "Experiment name",
  });
});

/** Runs the CLI on an experiments folder, capturing what it prints to stderr. */
async function cli(dir: string, argv: string[]) {
  const p = await tempProject((
    q,
  ) => [
    fakeStage(q, "only", {
      module: q.writeModule("only.ts", "export const o = 1;\n"),
    }),
  ]);
  const { code, err: errors } = await runCliCaptured({
    project: p.engine.project,
    defaultExperiment: "smoke",
    experiments: () =>
      [...Deno.readDirSync(dir)].map((e) => e.name.replace(/\.json$/, "")),
    loadExperiment: (name, sets) => loadExperimentFile(dir, name, sets),
    outDir: `${p.root}/out`,
    reportStages: ["report"],
  }, argv);
  const cacheEntries = [...Deno.readDirSync(p.root)].map((e) => e.name).filter((
    n,
  ) => n !== "src");
  return { code, errors, cacheEntries, runs: p.runs };
}

Deno.test("the command line turns hostile experiments into one line, exit 1 or 2, and an untouched cache", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ir-hostile-" });
  await Deno.writeTextFile(`${dir}/smoke.json`, JSON.stringify(SMOKE));
  await Deno.writeTextFile(
    `${dir}/broken.json`,
    JSON.stringify(SMOKE).slice(0, 100),
  );
  await Deno.writeTextFile(
    `${dir}/typed.json`,
    JSON.stringify(setAt(SMOKE, ["train", "epochs"], "4")),
  );
  const cases: Array<[string[], string]> = [
    [["reproduce", "--experiment", "broken"], "not valid JSON"],
    [["reproduce", "--experiment", "typed"], "train.epochs"],
    [
      ["reproduce", "--experiment", "smoke", "--set", "train.epochs=NaN"],
      "train.epochs",
    ],
    [[
      "reproduce",
      "--experiment",
      "smoke",
      "--set",
      "noise.label_rate=Infinity",
    ], "noise.label_rate"],
    [
      ["reproduce", "--experiment", "smoke", "--set", "train.nope=1"],
      "train.nope",
    ],
    [["reproduce", "--experiment", "smoke", "--set", "x\ny=1"], "x\\ny"],
    [["reproduce", "--experiment", "nope"], "Unknown experiment 'nope'"],
    [["reproduce", "--experiment", "smoke", "--jobs", "0"], "--jobs"],
    [["status", "--experiment", "smoke", "--set", "seeds=0,0"], "seeds"],
  ];
  for (const [argv, names] of cases) {
    const ran = await cli(dir, argv);
    const label = argv.join(" ");
    assert(
      ran.code === 2,
      `${label}: exit code ${ran.code} (a user error exits 2)`,
    );
    assertEquals(
      ran.errors.length,
      1,
      `${label}: one error line, got ${JSON.stringify(ran.errors)}`,
    );
    assert(
      !/[\n\r]/.test(ran.errors[0]!),
      `${label}: one line: ${JSON.stringify(ran.errors[0])}`,
    );
    assert(
      ran.errors[0]!.includes(names),
      `${label}: names '${names}': ${ran.errors[0]}`,
    );
    assertEquals(
      ran.cacheEntries,
      [],
      `${label}: nothing written to the project`,
    );
    assertEquals(ran.runs, [], `${label}: no stage ran`);
  }
});

/** `n` distinct values for a swept path (lrs, epochs or batch sizes; every one valid alone). */
const values = (n: number, from = 1) =>
  Array.from({ length: n }, (_, i) => from + i);

/** Hostile sweeps: each is refused by the command line in one line, before anything runs. */
const MATRICES: Array<{ label: string; tree: Json; error: string }> = [
  {
    label: "an epoch count past the cap in the third cell",
    tree: { "train.epochs": [1, 2, 1000000000] },
    error:
      "Experiment 'smoke': matrix cell 3 (train.epochs=1000000000): train.epochs: at most 10000 (got 1000000000)",
  },
  {
    label: "a model five times the parameter cap",
    tree: { "model.hidden": [[8192, 8192, 8192]] },
    error:
      "Experiment 'smoke': matrix cell 1 (model.hidden=[8192,8192,8192]): model.hidden: 8192-8192-8192 needs 1.41e+8 parameters; at most 5e+7 fit this machine",
  },
  {
    label: "an lr above the range",
    tree: { "optimizer.lr": [1000] },
    error:
      "Experiment 'smoke': matrix cell 1 (optimizer.lr=1000): optimizers.0.lr: at most 10 (got 1000)",
  },
  {
    label: "a negative lr (once only caught inside a Worker)",
    tree: { "optimizer.lr": [0.1, -1] },
    error:
      "Experiment 'smoke': matrix cell 2 (optimizer.lr=-1): optimizers.0.lr: above 0 (got -1)",
  },
  {
    label: "a label that is HTML",
    tree: { "optimizer.label": ["<img src=x onerror=alert(1)>"] },
    error:
      'Experiment \'smoke\': matrix cell 1 (optimizer.label="<img src=x onerror=alert(1)>"): optimizers.0.label: must be 1–40 letters, digits or . _ + - (got "<img src=x onerror=alert(1)>")',
  },
  {
    label: "a label sweep that would average SGD and Adam runs as one group",
    tree: { "optimizer.label": ["a", "b"] },
    error:
      "Experiment 'smoke': matrix cell 1 (optimizer.label=\"a\"): optimizers: two entries are labelled 'a'; give each a distinct \"label\" (a sweep of optimizer.label or .name gives every optimizer the same value: their runs would be averaged as one)",
  },
  {
    label: "a path no stage sweeps",
    tree: { "data.train_size": [5] },
    error:
      "Experiment 'smoke': matrix.data.train_size: cannot be swept; allowed: model.<arch|hidden|loss>, train.<epochs|batch_size|snapshot_every|checkpoint_epochs|weight_decay|explicit_penalty>, optimizer.<field>",
  },
  {
    label: "32,768 cells",
    tree: {
      "optimizer.lr": values(64).map((v) => v / 100),
      "train.epochs": values(64),
      "train.batch_size": values(8),
    },
    error:
      "Experiment 'smoke': matrix: 3 optimizers × 2 seeds × 64 optimizer.lr × 8 train.batch_size × 64 train.epochs = 196,608 train instances; at most 4,096",
  },
  {
    label: "262,144 cells",
    tree: {
      "optimizer.lr": values(64).map((v) => v / 100),
      "train.epochs": values(64),
      "train.batch_size": values(64),
    },
    error:
      "Experiment 'smoke': matrix: 3 optimizers × 2 seeds × 64 optimizer.lr × 64 train.batch_size × 64 train.epochs = 1,572,864 train instances; at most 4,096",
  },
  {
    label: "16.7 million cells",
    tree: {
      "optimizer.lr": values(64).map((v) => v / 100),
      "train.epochs": values(64),
      "train.batch_size": values(64),
      "train.snapshot_every": values(64),
    },
    error:
      "Experiment 'smoke': matrix: 3 optimizers × 2 seeds × 64 optimizer.lr × 64 train.batch_size × 64 train.epochs × 64 train.snapshot_every = 100,663,296 train instances; at most 4,096",
  },
];

Deno.test("each hostile matrix gets one line naming its cell, exit 2, before anything runs or is written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ir-hostile-" });
  for (const [i, { label, tree, error }] of MATRICES.entries()) {
    await Deno.writeTextFile(
      `${dir}/m${i}.json`,
      JSON.stringify({ ...(SMOKE as Record<string, Json>), matrix: tree }),
    );
    for (const command of ["reproduce", "status", "dag"]) {
      const ran = await cli(dir, [command, "--experiment", `m${i}`]);
      assertEquals(ran.code, 2, `${label}: ${command} exits 2`);
      assertEquals(
        ran.errors,
        [`error: ${error.replace("'smoke'", `'m${i}'`)}`],
        `${label}: ${command}`,
      );
      assertEquals(ran.runs, [], `${label}: nothing ran`);
      assertEquals(ran.cacheEntries, [], `${label}: nothing written`);
    }
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a sweep at the cap loads; one instance more is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ir-hostile-" });
  // 3 optimizers × 2 seeds × 64 × 10 = 3,840 ≤ 4,096; × 11 = 4,224 > 4,096.
  const sweep = (n: number) => ({
    ...(SMOKE as Record<string, Json>),
    matrix: {
      "train.epochs": values(64),
      "train.batch_size": values(n, 8),
    },
  });
  await Deno.writeTextFile(`${dir}/under.json`, JSON.stringify(sweep(10)));
  await Deno.writeTextFile(`${dir}/over.json`, JSON.stringify(sweep(11)));
  const tree = await loadExperimentFile(dir, "under", []) as Record<
    string,
    Json
  >;
  assertEquals(Object.keys(tree.matrix as object).length, 2);
  let message = "";
  try {
    await loadExperimentFile(dir, "over", []);
  } catch (error) {
    message = (error as Error).message;
  }
  assertEquals(
    message,
    "Experiment 'over': matrix: 3 optimizers × 2 seeds × 11 train.batch_size × 64 train.epochs = 4,224 train instances; at most 4,096",
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a label sweep over one optimizer is accepted: no two optimizers share a group", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ir-hostile-" });
  const one = {
    ...(SMOKE as Record<string, Json>),
    optimizers: [{ name: "sgd", lr: 0.05 }],
    matrix: { "optimizer.label": ["a", "b"] },
  };
  await Deno.writeTextFile(`${dir}/one.json`, JSON.stringify(one));
  const tree = await loadExperimentFile(dir, "one", []) as Record<
    string,
    Json
  >;
  assertEquals(tree.matrix, { "optimizer.label": ["a", "b"] });
  await Deno.remove(dir, { recursive: true });
});
