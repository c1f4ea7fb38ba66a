/**
 * Experiment files: plain JSON the user edits (like DVC's params.yaml),
 * validated against one schema before any work starts. A bad field gets one
 * line naming it and the allowed values; `--set key=value` overrides are
 * applied first and validated the same way.
 */
import { z } from "zod";
import type { Json } from "../pipeline/stage.ts";

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const seed = int(0, 2 ** 31 - 1);

const optimizerSchema = z.strictObject({
  name: z.enum(["gd", "sgd", "rmsprop", "adam", "swats"]),
  lr: z.number().gt(0).max(10),
  momentum: z.number().min(0).lt(1).optional(),
  nesterov: z.boolean().optional(),
  alpha: z.number().gt(0).lt(1).optional(),
  eps: z.number().gt(0).lt(1).optional(),
  centered: z.boolean().optional(),
  beta1: z.number().min(0).lt(1).optional(),
  beta2: z.number().min(0).lt(1).optional(),
  weight_decay: z.number().min(0).max(1).optional(),
  switch_eps: z.number().gt(0).lt(1).optional(),
  label: z.string().regex(
    /^[\w.+-]{1,40}$/,
    "must be 1–40 letters, digits or . _ + -",
  ).optional(),
});

/** The `tuning` section an experiment without one gets: off. */
const NO_TUNING = {
  enabled: false,
  lrs: [0.001],
  epochs: 1,
  validation_size: 1,
  seed: 0,
};

const sweepValue = z.union([
  z.number(),
  z.string().max(100),
  z.boolean(),
  z.array(z.number()).max(32),
]);

export const experimentSchema = z.strictObject({
  description: z.string().max(4000),
  data: z.strictObject({
    dataset: z.enum(["mnist", "fashion-mnist"]),
    source: z.enum(["package", "url", "system"]),
    train_size: int(1, 60000),
    test_size: int(1, 10000),
    subset: z.enum(["first", "stratified"]),
    subset_seed: seed,
  }),
  noise: z.strictObject({
    label_rate: z.number().min(0).lt(1),
    input_std: z.number().min(0).max(10),
    seed,
  }),
  model: z.strictObject({
    arch: z.enum(["mlp", "cnn"]),
    hidden: z.array(int(1, 8192)).max(16),
    loss: z.enum(["cross_entropy", "squared"]),
  }),
  train: z.strictObject({
    epochs: int(1, 10000),
    batch_size: int(1, 60000),
    snapshot_every: int(1, 10000),
    checkpoint_epochs: z.array(int(0, 10000)).max(1000),
    weight_decay: z.number().min(0).max(1),
    explicit_penalty: z.number().min(0).max(100),
  }),
  optimizers: z.array(optimizerSchema).min(1).max(32),
  seeds: z.array(seed).min(1).max(32),
  matrix: z.record(
    z.string().regex(/^[a-z_]+(\.[a-z_0-9]+)+$/, "must be a dotted param path"),
    z.array(sweepValue).min(1).max(64),
  ),
  metrics: z.strictObject({
    sharpness: z.strictObject({
      enabled: z.boolean(),
      subset: int(1, 60000),
      tol: z.number().gt(0).lt(1),
      max_iter: int(1, 10000),
      seed,
      /** Rademacher samples for Hutchinson's Hessian-trace estimate (SCIENCE §4.2); 0 = off. */
      trace_samples: int(0, 1000).default(0),
    }),
    known_answers: z.boolean(),
    /** Loss barrier between same-seed runs of different optimizers (stages/barrier). */
    barrier: z.boolean().default(false),
  }),
  /**
   * Per-optimizer learning-rate tuning on a held-out split (SCIENCE §7;
   * stages/tune). Optional: absent means disabled.
   */
  tuning: z.strictObject({
    enabled: z.boolean(),
    lrs: z.array(z.number().gt(0).max(10)).min(1).max(32),
    epochs: int(1, 10000),
    validation_size: int(1, 59999),
    seed,
  }).default(NO_TUNING),
});

export type Experiment = z.infer<typeof experimentSchema>;

/** Parameters a machine of 24 GiB can train with weights, gradients and optimizer state. */
export const MAX_PARAMETERS = 50_000_000;

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
  const path = issue.path.map(String).join(".") || "(top level)";
  let got: unknown = value;
  for (const part of issue.path) {
    got = (got as Record<PropertyKey, unknown> | undefined)
      ?.[part as PropertyKey];
  }
  const shown = issue.code === "unrecognized_keys" ? "" : ` (got ${show(got)})`;
  return `${path}: ${issue.message}${shown}`;
}

/** Validates a parsed experiment; throws one line naming the first bad field. */
export function validateExperiment(name: string, value: unknown): Experiment {
  const deep = tooDeep(value, MAX_DEPTH);
  if (deep) {
    throw failure(
      `Experiment '${name}': ${
        deep.slice(0, 6).join(".") || "(top level)"
      }: nested deeper than ${MAX_DEPTH} levels`,
    );
  }
  const result = experimentSchema.safeParse(value);
  if (!result.success) {
    throw failure(
      `Experiment '${name}': ${describeIssue(result.error.issues[0]!, value)}`,
    );
  }
  const experiment = result.data;
  const sizes = [784, ...experiment.model.hidden, 10];
  let parameters = 0;
  for (let i = 1; i < sizes.length; i++) {
    parameters += sizes[i - 1]! * sizes[i]! + sizes[i]!;
  }
  if (experiment.model.arch === "mlp" && parameters > MAX_PARAMETERS) {
    throw failure(
      `Experiment '${name}': model.hidden: ${
        experiment.model.hidden.join("-")
      } needs ${parameters.toExponential(2)} parameters; at most ${
        MAX_PARAMETERS.toExponential(0)
      } fit this machine`,
    );
  }
  const labels = experiment.optimizers.map((o) => o.label ?? o.name);
  const duplicate = labels.find((l, i) => labels.indexOf(l) !== i);
  if (duplicate) {
    throw failure(
      `Experiment '${name}': optimizers: two entries are labelled '${duplicate}'; give each a distinct "label"`,
    );
  }
  if (experiment.tuning.enabled) {
    if (experiment.tuning.validation_size >= experiment.data.train_size) {
      throw failure(
        `Experiment '${name}': tuning.validation_size: must be below data.train_size (${experiment.data.train_size}) so samples remain to train on (got ${experiment.tuning.validation_size})`,
      );
    }
    if (Object.keys(experiment.matrix).includes("optimizer.lr")) {
      throw failure(
        `Experiment '${name}': matrix: 'optimizer.lr' cannot be swept while tuning.enabled is true (the tuned lr replaces it)`,
      );
    }
  }
  if (new Set(experiment.seeds).size !== experiment.seeds.length) {
    throw failure(
      `Experiment '${name}': seeds: values must be distinct (got ${
        JSON.stringify(experiment.seeds)
      })`,
    );
  }
  return experiment;
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
  const eq = assignment.indexOf("=");
  if (eq <= 0) throw failure(`--set needs KEY=VALUE, got ${show(assignment)}`);
  const path = assignment.slice(0, eq).trim().split(".");
  const value = parseSetValue(assignment.slice(eq + 1));
  if (path.includes("__proto__")) {
    throw failure(`--set ${path.join(".")}: '__proto__' is not a param`);
  }
  if (tree === null || typeof tree !== "object" || Array.isArray(tree)) {
    throw failure(
      `--set ${path.join(".")}: the experiment is not a JSON object (got ${
        show(tree)
      })`,
    );
  }
  const deep = tooDeep(tree, MAX_DEPTH);
  if (deep) {
    throw failure(
      `--set ${path.join(".")}: ${
        deep.slice(0, 6).join(".")
      }: nested deeper than ${MAX_DEPTH} levels`,
    );
  }
  const copy = structuredClone(tree) as Record<string, Json>;
  let node: Json = copy;
  for (let i = 0; i < path.length - 1; i++) {
    const part = path[i]!;
    // Own entries only: `constructor` or `toString` must not walk into prototypes.
    const next: Json | undefined = Object.hasOwn(node, part)
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
  const last = path.at(-1)!;
  if (Array.isArray(node)) {
    const index = Number(last);
    if (!Number.isInteger(index) || index < 0 || index >= node.length) {
      throw failure(
        `--set ${path.join(".")}: index ${last} is outside 0..${
          node.length - 1
        }`,
      );
    }
    node[index] = value;
  } else {
    const obj = node as Record<string, Json>;
    if (!Object.hasOwn(obj, last) && path.length > 1) {
      throw failure(
        `--set ${path.join(".")}: unknown param (known under '${
          path.slice(0, -1).join(".")
        }': ${Object.keys(obj).join(", ")})`,
      );
    }
    obj[last] = value;
  }
  return copy;
}

/**
 * The tree with the optional sections filled in at their defaults, so that
 * `--set tuning.enabled=true`, `--set metrics.barrier=true` or
 * `--set metrics.sharpness.trace_samples=20` works on a file
 * that does not mention them.
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
