/**
 * `deno task diff A [B]`: params and result numbers side by side for two
 * experiments, two `--set` variants of one (`--a-set`, `--b-set`), or an
 * experiment now against the lock file at a git revision (`--rev REV`).
 * What the numbers are belongs to the project: the wiring module passes a
 * reader turning a result output into group → quantity → final and best.
 */
import { parseArgs } from "node:util";
import type { CliDefinition, Command } from "../cli.ts";
import { UsageError } from "../usage_error.ts";
import { Engine } from "../engine.ts";
import { buildGraph } from "../graph.ts";
import type { LockEntry } from "../lock.ts";
import type { Json } from "../stage.ts";
import { canonicalJson } from "../hash.ts";
import { experimentState, type ResultOutput } from "./state.ts";
import { flattenParams } from "./variant.ts";
import { loadExperimentArg } from "./experiment_arg.ts";

/** Final and best value of one quantity of one group (best: undefined where "best" means nothing). */
export interface FinalBest {
  final: number;
  best?: number;
}

/** group → quantity → numbers. */
export type GroupNumbers = Record<string, Record<string, FinalBest>>;

export interface NumbersReader extends ResultOutput {
  numbers(bytes: Uint8Array): GroupNumbers;
  /** Quantities shown by default (all with --all). */
  headline: string[];
}

/** One side of a diff: a label, its params (dotted path → value) and its numbers if cached. */
export interface Side {
  label: string;
  params: Record<string, Json>;
  numbers?: GroupNumbers;
  /** Why there are no numbers. */
  note?: string;
}

export interface ParamRow {
  path: string;
  a: Json | undefined;
  b: Json | undefined;
}

export interface MetricRow {
  group: string;
  quantity: string;
  a?: FinalBest;
  b?: FinalBest;
  /** b − a, where both sides have the number. */
  delta: { final?: number; best?: number };
}

export interface DiffResult {
  a: string;
  b: string;
  params: ParamRow[];
  metrics: MetricRow[];
  notes: string[];
}

/** The params that differ, and every (group, quantity) either side has, with b − a. */
export function diffSides(
  a: Side,
  b: Side,
  quantities?: string[],
): DiffResult {
  const paths = [
    ...new Set([...Object.keys(a.params), ...Object.keys(b.params)]),
  ].sort();
  const show = (v: Json | undefined) => v === undefined ? "" : canonicalJson(v);
  const params = paths
    .filter((p) => show(a.params[p]) !== show(b.params[p]))
    .map((path) => ({ path, a: a.params[path], b: b.params[path] }));
  const metrics: MetricRow[] = [];
  const na = a.numbers ?? {};
  const nb = b.numbers ?? {};
  const groups = [...new Set([...Object.keys(na), ...Object.keys(nb)])];
  for (const group of groups) {
    const qs = [
      ...new Set([
        ...Object.keys(na[group] ?? {}),
        ...Object.keys(nb[group] ?? {}),
      ]),
    ].filter((q) => !quantities || quantities.includes(q));
    if (quantities) {
      qs.sort((x, y) => quantities.indexOf(x) - quantities.indexOf(y));
    }
    for (const quantity of qs) {
      const va = na[group]?.[quantity];
      const vb = nb[group]?.[quantity];
      const delta: MetricRow["delta"] = {};
      if (va && vb) {
        delta.final = vb.final - va.final;
        if (va.best !== undefined && vb.best !== undefined) {
          delta.best = vb.best - va.best;
        }
      }
      metrics.push({
        group,
        quantity,
        ...(va ? { a: va } : {}),
        ...(vb ? { b: vb } : {}),
        delta,
      });
    }
  }
  const notes = [a, b].flatMap((s) => s.note ? [`${s.label}: ${s.note}`] : []);
  return { a: a.label, b: b.label, params, metrics, notes };
}

/** A number in 4 significant digits; blank when absent. */
function num(v: number | undefined): string {
  if (v === undefined) return "";
  if (v === 0 || !Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e5
    ? String(Number(v.toPrecision(4)))
    : v.toExponential(3);
}

/** Columns padded to their widest cell. */
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) =>
    Math.max(...rows.map((r) => (r[i] ?? "").length))
  );
  return rows.map((r) =>
    r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()
  );
}

/** The diff as text: the params that differ, then the numbers. */
export function formatDiff(d: DiffResult): string {
  const out = [`A: ${d.a}`, `B: ${d.b}`, ""];
  const v = (x: Json | undefined) => x === undefined ? "—" : canonicalJson(x);
  if (d.params.length === 0) out.push("Params: identical");
  else {
    out.push("Params that differ:");
    out.push(
      ...table([
        ["param", "A", "B"],
        ...d.params.map((p) => [p.path, v(p.a), v(p.b)]),
      ]).map((l) => `  ${l}`),
    );
  }
  out.push("");
  if (d.metrics.length > 0) {
    out.push("Results (final, best; Δ = B − A):");
    out.push(
      ...table([
        [
          "group",
          "quantity",
          "A final",
          "B final",
          "Δ final",
          "A best",
          "B best",
          "Δ best",
        ],
        ...d.metrics.map((m) => [
          m.group,
          m.quantity,
          num(m.a?.final),
          num(m.b?.final),
          num(m.delta.final),
          num(m.a?.best),
          num(m.b?.best),
          num(m.delta.best),
        ]),
      ]).map((l) => `  ${l}`),
    );
  }
  for (const note of d.notes) out.push(`Note: ${note}`);
  return out.join("\n");
}

/** `name` or `name --set k=v ...`, as the user would type it. */
function describe(name: string, sets: string[]): string {
  return [name, ...sets.map((s) => `--set ${s}`)].join(" ");
}

/** Params of instances as one flat dict: each declared param path, flattened further. */
export function instanceParams(
  entries: Array<{ params: Record<string, Json> }>,
): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const entry of entries) {
    for (const [path, value] of Object.entries(entry.params)) {
      if (path.startsWith("experiment.")) continue;
      Object.assign(out, flattenParams(value, path));
    }
  }
  return out;
}

/** A side from an experiment file (with overrides), numbers only when its result is cached for exactly these params. */
async function experimentSide(
  def: CliDefinition,
  engine: Engine,
  reader: NumbersReader,
  name: string,
  sets: string[],
  fromInstances: boolean,
): Promise<Side> {
  const tree = await loadExperimentArg(def, name, sets);
  const label = describe(name, sets);
  const params = fromInstances
    ? instanceParams(buildGraph(def.project.stages, tree).instances)
    : flattenParams(tree);
  const state = await experimentState(engine, name, tree);
  const line = state.lines.find((l) => l.id === reader.stage);
  const hash = line?.fresh ? line.outputs?.[reader.output] : undefined;
  const bytes = hash ? await engine.store.get(hash) : undefined;
  if (!bytes) {
    return {
      label,
      params,
      note: `results not cached; run 'deno task reproduce --experiment ${
        describe(name, sets)
      }'`,
    };
  }
  return { label, params, numbers: reader.numbers(bytes) };
}

/** A git revision name safe to pass to `git show` (no option, no path part). */
const REV_PATTERN = /^[A-Za-z0-9_][\w.~^@{}\/-]{0,99}$/;

/** The lock file's entries of `experiment` at a git revision. */
export async function lockAtRevision(
  root: string,
  lockPath: string,
  rev: string,
  experiment: string,
): Promise<Record<string, LockEntry>> {
  if (!REV_PATTERN.test(rev) || rev.includes("..")) {
    throw new UsageError(
      `--rev must be a git revision such as HEAD~1, a tag or a commit hash, got '${rev}'`,
    );
  }
  const relative = lockPath.startsWith(`${root}/`)
    ? lockPath.slice(root.length + 1)
    : lockPath;
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("git", {
      args: ["show", `${rev}:${relative}`],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    throw new UsageError(
      `Cannot run git (${
        (error as Error).message
      }); --rev needs git and --allow-run=git`,
    );
  }
  if (!output.success) {
    throw new UsageError(
      `git show ${rev}:${relative} failed: ${
        new TextDecoder().decode(output.stderr).trim().split("\n")[0]
      }`,
    );
  }
  let lock: { experiments?: Record<string, Record<string, LockEntry>> };
  try {
    lock = JSON.parse(new TextDecoder().decode(output.stdout));
  } catch (error) {
    throw new UsageError(
      `The lock file at ${rev} is not JSON (${(error as Error).message})`,
    );
  }
  const entries = lock.experiments?.[experiment];
  if (!entries || typeof entries !== "object") {
    throw new UsageError(
      `The lock file at ${rev} has no entries for experiment '${experiment}' (it has: ${
        Object.keys(lock.experiments ?? {}).join(", ") || "none"
      })`,
    );
  }
  return entries;
}

/** A side from lock entries at a revision; numbers when this cache still holds that result. */
async function revisionSide(
  engine: Engine,
  reader: NumbersReader,
  label: string,
  entries: Record<string, LockEntry>,
): Promise<Side> {
  const params = instanceParams(
    Object.values(entries).filter((e) =>
      e && typeof e === "object" && e.params && typeof e.params === "object"
    ),
  );
  const hash = entries[reader.stage]?.outputs?.[reader.output];
  const bytes = typeof hash === "string"
    ? await engine.store.get(hash)
    : undefined;
  if (!bytes) {
    return {
      label,
      params,
      note: hash
        ? `its results (${hash.slice(0, 12)}) are not in this cache`
        : "the lock records no results",
    };
  }
  return { label, params, numbers: reader.numbers(bytes) };
}

export const HELP = `deno task diff A [B] [options]

Params and results side by side: for two experiments (A and B), two variants
of one (B defaults to A; give each side its overrides with --a-set / --b-set),
or experiment A now against the lock file at a git revision (--rev REV, which
reads 'git show REV:implicit-reg.lock'). Results are each group's final and
best values with the difference B − A; a side whose results are not cached
shows its params only and says how to compute them.

Options:
  --a-set KEY=VALUE   override a param of A (repeatable)
  --b-set KEY=VALUE   override a param of B (repeatable)
  --rev REV           compare A now (B) with A at revision REV (A)
  --all               every quantity, not only the headline ones
  --json              the diff as JSON

Examples:
  deno task diff paper paper-tuned
  deno task diff smoke --b-set optimizers.0.lr=0.01
  deno task diff paper --rev HEAD~3`;

/** The command, given how to read numbers from a result output. */
export function diffCommand(reader: NumbersReader): Command {
  return {
    help: HELP,
    async run(def: CliDefinition, args: string[]): Promise<number> {
      const { values, positionals } = parseDiffArgs(args);
      const [nameA, nameB, ...extra] = positionals;
      if (!nameA || extra.length > 0) {
        throw new UsageError(
          "diff needs one or two experiment names: deno task diff A [B] (see --help)",
        );
      }
      const engine = new Engine(def.project, () => {});
      const quantities = values.all ? undefined : reader.headline;
      const [a, b] = values.rev !== undefined
        ? await revisionSides(def, engine, reader, {
          name: nameA,
          rev: values.rev,
          sets: values["a-set"] ?? [],
          otherGiven: Boolean(nameB || values["b-set"]),
        })
        : [
          await experimentSide(
            def,
            engine,
            reader,
            nameA,
            values["a-set"] ?? [],
            false,
          ),
          await experimentSide(
            def,
            engine,
            reader,
            nameB ?? nameA,
            values["b-set"] ?? [],
            false,
          ),
        ];
      const result = diffSides(a, b, quantities);
      console.log(
        values.json ? JSON.stringify(result, null, 2) : formatDiff(result),
      );
      return 0;
    },
  };
}

/** diff's options; a one-line usage error for an unknown one. */
function parseDiffArgs(args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      options: {
        "a-set": { type: "string", multiple: true },
        "b-set": { type: "string", multiple: true },
        rev: { type: "string" },
        all: { type: "boolean" },
        json: { type: "boolean" },
      },
    });
  } catch (error) {
    throw new UsageError(
      `${(error as Error).message} (see 'deno task diff --help')`,
    );
  }
}

/** `--rev`: A is the experiment in the lock file at the revision, B the same experiment now. */
async function revisionSides(
  def: CliDefinition,
  engine: Engine,
  reader: NumbersReader,
  { name, rev, sets, otherGiven }: {
    name: string;
    rev: string;
    sets: string[];
    otherGiven: boolean;
  },
): Promise<[Side, Side]> {
  if (otherGiven) {
    throw new UsageError(
      "--rev compares one experiment with itself at a revision: give only A (and --a-set)",
    );
  }
  const entries = await lockAtRevision(
    def.project.root,
    def.project.lockPath,
    rev,
    name,
  );
  const a = await revisionSide(engine, reader, `${name} at ${rev}`, entries);
  const b = await experimentSide(def, engine, reader, name, sets, true);
  return [a, b];
}
