/**
 * Experiment files: plain JSON the user edits (like DVC's params.yaml),
 * validated against one schema before any work starts. A bad field gets one
 * line naming it and the allowed values; `--set key=value` overrides are
 * applied first and validated the same way.
 */
import { z } from "zod";
import type { Json } from "../pipeline/stage.ts";
import { dataSection } from "./download/config.ts";
import { metricsFields } from "./metrics/params.ts";
import { noiseFields } from "./noise/config.ts";
import { issueMessage } from "./params.ts";
import {
  matrixSchema,
  modelSection,
  optimizersSchema,
  seedsSchema,
  trainFields,
} from "./train/params.ts";
import { NO_TUNING, tuningSection } from "./tune/params.ts";

export { MAX_PARAMETERS } from "./train/params.ts";

/** The experiment file, composed from the sections the stages own. */
export const experimentSchema = z.strictObject({
  description: z.string().max(4000),
  data: dataSection,
  noise: z.strictObject(noiseFields),
  model: modelSection,
  train: z.strictObject(trainFields),
  optimizers: optimizersSchema,
  seeds: seedsSchema,
  matrix: matrixSchema,
  metrics: z.strictObject(metricsFields),
  /**
   * Per-optimizer learning-rate tuning on a held-out split (SCIENCE §7;
   * stages/tune). Optional: absent means disabled.
   */
  tuning: tuningSection,
});

export type Experiment = z.infer<typeof experimentSchema>;

/**
 * At most this many train instances (optimizers × seeds × matrix cells). Each
 * is a Worker run with its own record, checkpoints, a sharpness instance and
 * two lock entries (a train entry is about 3 KB of the lock file): 4,096 make
 * a lock file of about 25 MB that every run rewrites, and even at the smoke
 * experiment's 3–18 s a training, 3.5 hours or more on 2 cores. Bigger sweeps
 * belong in several experiments (or a cluster). The cap is computed from the
 * product of the list lengths before anything is expanded, so a typo (32,768
 * cells) fails at once instead of filling memory.
 */
export const MAX_TRAIN_INSTANCES = 4096;

/** Nesting deeper than this is refused before anything recurses into it (a stack overflow is no error message). */
export const MAX_DEPTH = 32;

/** An error whose message is one line: line breaks and other control characters escaped as in JSON. */
function failure(message: string): Error {
  return new Error(
    // deno-lint-ignore no-control-regex -- control characters are exactly what must not reach a message
    message.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, escapeChar),
  );
}

/** A control character as its escape: `\n`, or `\u2028`. */
function escapeChar(c: string): string {
  const named: Record<string, string> = {
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
  };
  return named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/** A value as it appears in a message: JSON, at most 80 characters. */
function show(value: unknown): string {
  if (typeof value === "number" && !Number.isFinite(value)) {
    return String(value);
  }
  const text = JSON.stringify(value) ?? "nothing";
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

/** The dotted path of the first node nested deeper than `limit` levels, if any. */
function tooDeep(
  value: unknown,
  limit: number,
  path: string[] = [],
): string[] | undefined {
  if (value === null || typeof value !== "object") return undefined;
  if (limit === 0) return path;
  for (const [key, child] of Object.entries(value)) {
    const found = tooDeep(child, limit - 1, [...path, key]);
    if (found) return found;
  }
  return undefined;
}

/** One-line description of the first schema problem: the field, what is allowed, what was given. */
function describeIssue(issue: z.core.$ZodIssue, value: unknown): string {
  const path = issue.path.map((p) => {
    const text = String(p);
    return text.length > 40 ? `${text.slice(0, 39)}…` : text;
  }).join(".") || "(top level)";
  let got: unknown = value;
  for (const part of issue.path) {
    got = (got as Record<PropertyKey, unknown> | undefined)
      ?.[part as PropertyKey];
  }
  // Custom rules (a cross-field check) say what they saw in their message;
  // a bad record key is named by the path.
  const plain = issue.code === "unrecognized_keys" ||
    issue.code === "custom" || issue.code === "invalid_key";
  const shown = plain ? "" : ` (got ${show(got)})`;
  const message = issue.code === "invalid_key"
    ? issue.issues[0]?.message ?? issue.message
    : issue.message;
  return `${path}: ${message}${shown}`;
}

/** Validates a parsed experiment and every cell of its sweep; throws one line naming the first bad field. */
export function validateExperiment(name: string, value: unknown): Experiment {
  const deep = depthProblem(value);
  if (deep) throw failure(`Experiment '${name}': ${deep}`);
  const problem = checkFile(value);
  if (typeof problem === "string") {
    throw failure(`Experiment '${name}': ${problem}`);
  }
  const experiment = problem.experiment;
  const paths = Object.keys(experiment.matrix).sort();
  const lists = paths.map((p) => experiment.matrix[p]!);
  checkSweep(name, experiment, paths, lists);
  // Every cell is validated like a file of its own, in the train stage's order.
  const cells = lists.reduce((n, list) => n * list.length, 1);
  for (let index = 0; index < cells; index++) {
    const cell = sweepCell(paths, lists, index);
    const result = checkFile(applyCell(value, cell));
    if (typeof result === "string") {
      throw failure(
        `Experiment '${name}': matrix cell ${index + 1} (${
          describeCell(cell)
        }): ${result}${cellHint(cell, result)}`,
      );
    }
  }
  return experiment;
}

/** Where a tree nests deeper than MAX_DEPTH, as "path: nested deeper than …", or undefined. */
function depthProblem(value: unknown): string | undefined {
  const deep = tooDeep(value, MAX_DEPTH);
  return deep
    ? `${
      deep.slice(0, 6).join(".") || "(top level)"
    }: nested deeper than ${MAX_DEPTH} levels`
    : undefined;
}

/**
 * Refuses a sweep before anything is expanded: more train instances than
 * MAX_TRAIN_INSTANCES, or a swept lr that tuning would replace.
 */
function checkSweep(
  name: string,
  experiment: Experiment,
  paths: string[],
  lists: unknown[][],
): void {
  const cells = lists.reduce((n, list) => n * list.length, 1);
  const instances = experiment.optimizers.length * experiment.seeds.length *
    cells;
  if (instances > MAX_TRAIN_INSTANCES) {
    throw failure(
      `Experiment '${name}': matrix: ${
        [
          `${experiment.optimizers.length} optimizers`,
          `${experiment.seeds.length} seeds`,
          ...paths.map((p, i) => `${lists[i]!.length} ${p}`),
        ].join(" × ")
      } = ${fmt(instances)} train instances; at most ${
        fmt(MAX_TRAIN_INSTANCES)
      }`,
    );
  }
  if (experiment.tuning.enabled && paths.includes("optimizer.lr")) {
    throw failure(
      `Experiment '${name}': matrix: 'optimizer.lr' cannot be swept while tuning.enabled is true (the tuned lr replaces it)`,
    );
  }
}

/** Cell `index` of the sweep, the last path varying fastest (the train stage's order). */
function sweepCell(
  paths: string[],
  lists: unknown[][],
  index: number,
): Record<string, Json> {
  const cell: Record<string, Json> = {};
  let rest = index;
  for (let k = paths.length - 1; k >= 0; k--) {
    const list = lists[k]!;
    cell[paths[k]!] = list[rest % list.length]! as Json;
    rest = Math.floor(rest / list.length);
  }
  return cell;
}

/** A cell as `path=value, …`. */
function describeCell(cell: Record<string, Json>): string {
  return Object.entries(cell).map(([p, v]) => `${p}=${show(v)}`).join(", ");
}

/** Why a swept optimizer label or name makes labels collide, when it does. */
function cellHint(cell: Record<string, Json>, problem: string): string {
  return ("optimizer.label" in cell || "optimizer.name" in cell) &&
      problem.includes("two entries are labelled")
    ? " (a sweep of optimizer.label or .name gives every optimizer the same value: their runs would be averaged as one)"
    : "";
}

/** A count with thousands separators: 262,144. */
const fmt = (n: number) => n.toLocaleString("en-US");

/** The experiment tree with a sweep cell applied: `optimizer.<field>` to every optimizer. */
function applyCell(value: unknown, cell: Record<string, Json>): unknown {
  const tree = structuredClone(value) as Record<string, Json>;
  for (const [path, v] of Object.entries(cell)) {
    const [section, field] = path.split(".") as [string, string];
    if (section === "optimizer") {
      for (const o of tree["optimizers"] as Record<string, Json>[]) {
        o[field] = structuredClone(v);
      }
    } else {
      (tree[section] as Record<string, Json>)[field] = structuredClone(v);
    }
  }
  tree["matrix"] = {};
  return tree;
}

/** The parsed experiment, or one line naming the first bad field (without the experiment's name). */
function checkFile(value: unknown): { experiment: Experiment } | string {
  const result = experimentSchema.safeParse(value, { error: issueMessage });
  if (!result.success) return describeIssue(result.error.issues[0]!, value);
  const experiment = result.data;
  const labels = experiment.optimizers.map((o) => o.label ?? o.name);
  const duplicate = labels.find((l, i) => labels.indexOf(l) !== i);
  if (duplicate) {
    return `optimizers: two entries are labelled '${duplicate}'; give each a distinct "label"`;
  }
  if (
    experiment.tuning.enabled &&
    experiment.tuning.validation_size >= experiment.data.train_size
  ) {
    return `tuning.validation_size: must be below data.train_size (${experiment.data.train_size}) so samples remain to train on (got ${experiment.tuning.validation_size})`;
  }
  if (new Set(experiment.seeds).size !== experiment.seeds.length) {
    return `seeds: values must be distinct (got ${
      JSON.stringify(experiment.seeds)
    })`;
  }
  return { experiment };
}

/** Parses a `--set` value: JSON if it parses, a comma list of JSON-or-strings, else the string. */
export function parseSetValue(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    if (text.includes(",")) {
      return text.split(",").map((part) => parseSetValue(part.trim()));
    }
    return text;
  }
}

/** Applies `key=value` to a copy of the tree; the parent of the key must exist. */
export function applySet(tree: Json, assignment: string): Json {
  const { path, value } = parseAssignment(assignment);
  const key = path.join(".");
  if (tree === null || typeof tree !== "object" || Array.isArray(tree)) {
    throw failure(
      `--set ${key}: the experiment is not a JSON object (got ${show(tree)})`,
    );
  }
  const deep = depthProblem(tree);
  if (deep) throw failure(`--set ${key}: ${deep}`);
  const copy = structuredClone(tree) as Record<string, Json>;
  const node = parentOf(copy, path);
  const last = path.at(-1)!;
  if (Array.isArray(node)) {
    const index = Number(last);
    if (!Number.isInteger(index) || index < 0 || index >= node.length) {
      throw failure(
        `--set ${key}: index ${last} is outside 0..${node.length - 1}`,
      );
    }
    node[index] = listed(node[index], value);
  } else {
    const obj = node as Record<string, Json>;
    if (!Object.hasOwn(obj, last) && path.length > 1) {
      throw failure(
        `--set ${key}: unknown param (known under '${
          path.slice(0, -1).join(".")
        }': ${Object.keys(obj).join(", ")})`,
      );
    }
    obj[last] = listed(Object.hasOwn(obj, last) ? obj[last] : undefined, value);
  }
  return copy;
}

/** `KEY=VALUE` as the key's path and the parsed value; `__proto__` is refused. */
function parseAssignment(assignment: string): { path: string[]; value: Json } {
  const eq = assignment.indexOf("=");
  if (eq <= 0) throw failure(`--set needs KEY=VALUE, got ${show(assignment)}`);
  const path = assignment.slice(0, eq).trim().split(".");
  const value = parseSetValue(assignment.slice(eq + 1));
  if (path.includes("__proto__")) {
    throw failure(`--set ${path.join(".")}: '__proto__' is not a param`);
  }
  return { path, value };
}

/** The object or list that holds the last part of `path`; every part before it must exist. */
function parentOf(tree: Json, path: string[]): Json {
  let node: Json = tree;
  for (let i = 0; i < path.length - 1; i++) {
    const part = path[i]!;
    // Own entries only: `constructor` or `toString` must not walk into prototypes.
    const next: Json | undefined = Object.hasOwn(node as object, part)
      ? (node as Record<string, Json>)[part]
      : undefined;
    if (typeof next !== "object" || next === null) {
      throw failure(
        `--set ${path.join(".")}: no param '${
          path.slice(0, i + 1).join(".")
        }' to set inside`,
      );
    }
    node = next;
  }
  return node;
}

/** A scalar set where a list stands becomes a list of one (`--set seeds=0` is `seeds=[0]`). */
function listed(current: Json | undefined, value: Json): Json {
  return Array.isArray(current) && !Array.isArray(value) && value !== null &&
      typeof value !== "object"
    ? [value]
    : value;
}

/**
 * The tree with the optional sections filled in at their defaults, so that
 * `--set tuning.enabled=true`, `--set metrics.barrier=true` or
 * `--set metrics.sharpness.trace_samples=20` works on a file
 * that does not mention them (likewise `metrics.edge_of_stability`).
 */
function withOptionalSections(raw: Json): Json {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return raw;
  const tree = structuredClone(raw);
  if (!("tuning" in tree)) tree["tuning"] = structuredClone(NO_TUNING);
  const metrics = tree["metrics"];
  if (
    metrics !== null && typeof metrics === "object" &&
    !Array.isArray(metrics) && !("barrier" in metrics)
  ) {
    metrics["barrier"] = false;
  }
  if (
    metrics !== null && typeof metrics === "object" &&
    !Array.isArray(metrics)
  ) {
    if (!("findings" in metrics)) metrics["findings"] = [];
    if (!("edge_of_stability" in metrics)) {
      metrics["edge_of_stability"] = false;
    }
  }
  const sharpness = metrics !== null && typeof metrics === "object" &&
      !Array.isArray(metrics)
    ? metrics["sharpness"]
    : undefined;
  if (
    sharpness !== null && typeof sharpness === "object" &&
    !Array.isArray(sharpness) && !("trace_samples" in sharpness)
  ) {
    sharpness["trace_samples"] = 0;
  }
  return tree;
}

/** The params tree the stages read: the validated experiment plus its name and command. */
export function experimentParams(
  name: string,
  raw: Json,
  sets: string[],
): Json {
  const deep = tooDeep(raw, MAX_DEPTH);
  if (deep) {
    throw failure(
      `Experiment '${name}': ${
        deep.slice(0, 6).join(".")
      }: nested deeper than ${MAX_DEPTH} levels`,
    );
  }
  let tree = withOptionalSections(raw);
  for (const assignment of sets) tree = applySet(tree, assignment);
  const experiment = validateExperiment(name, tree);
  const command = [
    "deno task reproduce --experiment",
    name,
    ...sets.map((s) => `--set ${s}`),
  ].join(" ");
  return {
    ...(experiment as unknown as Record<string, Json>),
    experiment: { name, description: experiment.description, command },
  };
}

/** Experiment files are small; a bigger one is refused before it is read (1 MiB). */
export const MAX_FILE_BYTES = 1 << 20;

/** Reads and validates `experiments/NAME.json` from a folder. */
export async function loadExperimentFile(
  dir: string,
  name: string,
  sets: string[],
): Promise<Json> {
  if (!/^[\w-]{1,64}$/.test(name)) {
    throw failure(
      `Experiment name '${name}' must be 1–64 letters, digits, '-' or '_'`,
    );
  }
  const path = `${dir}/${name}.json`;
  let text: string;
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) {
      throw failure(`Experiment '${name}': ${path} is not a file`);
    }
    if (info.size > MAX_FILE_BYTES) {
      throw failure(
        `Experiment '${name}': ${path} is ${info.size} bytes; experiment files are at most ${MAX_FILE_BYTES} bytes`,
      );
    }
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw failure(`No experiment file ${path}`);
    }
    if (
      error instanceof Error && error.message.startsWith(`Experiment '${name}'`)
    ) throw error;
    throw failure(
      `Experiment '${name}': cannot read ${path} (${(error as Error).message})`,
    );
  }
  let raw: Json;
  try {
    raw = JSON.parse(text) as Json;
  } catch (error) {
    throw failure(
      `Experiment '${name}': ${path} is not valid JSON (${
        (error as Error).message
      })`,
    );
  }
  return experimentParams(name, raw, sets);
}
