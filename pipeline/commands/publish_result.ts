/**
 * `deno task publish-result NAME`: copies a finished experiment into the
 * project's published results, `<dir>/NAME/`, to be committed:
 * - the report folder `publish` writes (index.html, metrics.json, runs.csv, …);
 * - lock.json: the lock entries of every instance the report was built from
 *   (key, inputs, code, versions, output hashes), which `verify` compares a
 *   rerun with;
 * - provenance.json: the commit, the date, the seeds, the setting and the
 *   time the instances took: their sum, the time some instance was running
 *   (the union of their intervals: a run resumed in a later session does not
 *   count the gap), and the span from the first start to the last finish.
 * It refuses when the report is not up to date.
 */
import { parseArgs } from "node:util";
import { type CliDefinition, type Command, publish } from "../cli.ts";
import { Engine, type StatusLine } from "../engine.ts";
import { writeFileAtomic } from "../fs.ts";
import { type LockEntry, readLock } from "../lock.ts";
import type { Json } from "../stage.ts";
import { UsageError } from "../usage_error.ts";
import { loadExperimentArg } from "./experiment_arg.ts";

/** The published lock file of one experiment. */
export interface PublishedLock {
  experiment: string;
  /** Instance id → its lock entry when published. */
  entries: Record<string, LockEntry>;
}

/** What the findings page states about a published experiment. */
export interface PublishedProvenance {
  experiment: string;
  /** The experiment's description (its setting, in words). */
  setting: string;
  seeds: number[];
  /** The `--set` overrides it was run with (e.g. `seeds=0,1,2`); [] for the file as it is. */
  sets: string[];
  /** `git rev-parse HEAD`, with "-dirty" when the work tree had changes. */
  commit: string;
  /** When it was published (ISO 8601). */
  published: string;
  /** Sum of every instance's own time, in seconds. */
  compute_seconds: number;
  /** From the first instance's start to the last one's finish, in seconds (gaps between sessions included). */
  wall_seconds: number | null;
  /** The time at least one instance was running, in seconds: the wall time a run without pauses would take. */
  busy_seconds: number | null;
  first_start: string | null;
  last_finish: string | null;
  instances: number;
}

export const LOCK_FILE = "lock.json";
export const PROVENANCE_FILE = "provenance.json";

/**
 * The commit of the work tree at `root`: HEAD's hash, "-dirty" when a tracked
 * file other than `outputs` has changes (the lock file and the published
 * folder change by running and publishing, not by editing the code);
 * "unknown" without git.
 */
export async function gitCommit(
  root: string,
  outputs: string[] = [],
): Promise<string> {
  try {
    const run = async (args: string[]) => {
      const out = await new Deno.Command("git", {
        args: ["-C", root, ...args],
        stdout: "piped",
        stderr: "null",
      }).output();
      if (!out.success) throw new Error(`git ${args[0]} failed`);
      return new TextDecoder().decode(out.stdout).trim();
    };
    const head = await run(["rev-parse", "HEAD"]);
    const dirty = await run([
      "status",
      "--porcelain",
      "--untracked-files=no",
      "--",
      ".",
      ...outputs.map((p) => `:(exclude)${p}`),
    ]);
    return dirty === "" ? head : `${head}-dirty`;
  } catch {
    return "unknown";
  }
}

/** Sum of the entries' times, the union of their intervals, and the span from the first start to the last finish. */
export function timeSpan(
  entries: LockEntry[],
): Pick<
  PublishedProvenance,
  | "compute_seconds"
  | "wall_seconds"
  | "busy_seconds"
  | "first_start"
  | "last_finish"
> {
  const compute = entries.reduce((s, e) => s + (e.seconds ?? 0), 0);
  const intervals = instanceIntervals(entries);
  const known = intervals.length > 0;
  const first = Math.min(...intervals.map(([a]) => a));
  const last = Math.max(...intervals.map(([, b]) => b));
  return {
    compute_seconds: Number(compute.toFixed(3)),
    wall_seconds: known ? Number(((last - first) / 1000).toFixed(3)) : null,
    busy_seconds: known
      ? Number((unionLength(intervals) / 1000).toFixed(3))
      : null,
    first_start: known ? new Date(first).toISOString() : null,
    last_finish: known ? new Date(last).toISOString() : null,
  };
}

/** Each entry's [start, finish] in epoch milliseconds (start = finish − its seconds), skipping entries without a finish. */
function instanceIntervals(entries: LockEntry[]): [number, number][] {
  const out: [number, number][] = [];
  for (const e of entries) {
    const end = e.finished ? Date.parse(e.finished) : NaN;
    if (Number.isFinite(end)) out.push([end - 1000 * (e.seconds ?? 0), end]);
  }
  return out;
}

/** Total length of the union of intervals. */
export function unionLength(intervals: [number, number][]): number {
  const sorted = [...intervals].sort((x, y) => x[0] - y[0]);
  let total = 0;
  let [start, end] = [-Infinity, -Infinity];
  for (const [a, b] of sorted) {
    if (a > end) {
      if (end > start) total += end - start;
      [start, end] = [a, b];
    } else end = Math.max(end, b);
  }
  if (end > start) total += end - start;
  return total;
}

function field(tree: Json, path: string): Json | undefined {
  let node: Json | undefined = tree;
  for (const part of path.split(".")) {
    if (node === null || typeof node !== "object" || Array.isArray(node)) {
      return undefined;
    }
    node = node[part];
  }
  return node;
}

export interface PublishResultOptions {
  /** The published results folder (e.g. `<root>/reports/published`). */
  dir: string;
  /** The commit to record (default: gitCommit of the project root, ignoring `outputs`). */
  commit?: (root: string) => Promise<string>;
  now?: () => Date;
  /** Tracked paths that running and publishing change (relative to the root), left out of the dirty check. */
  outputs?: string[];
  /** Runs on the published folder after its files are written (e.g. sharing the chart libraries). */
  afterPublish?: (folder: string) => Promise<void>;
}

/**
 * Publishes one experiment into `<dir>/<name>/`, run with `sets` (the
 * published result of `paper` may be its 3-seed variant); returns the folder.
 */
export async function publishResult(
  def: CliDefinition,
  name: string,
  options: PublishResultOptions,
  sets: string[] = [],
): Promise<string> {
  const params = await loadExperimentArg(def, name, sets);
  const engine = new Engine(def.project);
  const folder = `${options.dir}/${name}`;
  // Refuses unless the report is up to date, and writes its files.
  await publish(
    def,
    engine,
    { experiment: name, variant: "", params, sets },
    folder,
  );
  await options.afterPublish?.(folder);
  const lines = await engine.status(name, params, def.reportStages);
  const entries = await currentEntries(def, name, lines);
  const published: PublishedLock = { experiment: name, entries };
  await writeFileAtomic(
    `${folder}/${LOCK_FILE}`,
    JSON.stringify(published, null, 2) + "\n",
  );
  const provenance: PublishedProvenance = {
    ...describeSetting(name, params),
    sets,
    commit: await (options.commit ??
      ((root) => gitCommit(root, options.outputs ?? [])))(def.project.root),
    published: (options.now?.() ?? new Date()).toISOString(),
    ...timeSpan(Object.values(entries)),
    instances: Object.keys(entries).length,
  };
  await writeFileAtomic(
    `${folder}/${PROVENANCE_FILE}`,
    JSON.stringify(provenance, null, 2) + "\n",
  );
  return folder;
}

/** The lock entry of every listed instance, at its current key; an error names the first one missing. */
async function currentEntries(
  def: CliDefinition,
  name: string,
  lines: StatusLine[],
): Promise<Record<string, LockEntry>> {
  const lock = await readLock(def.project.lockPath);
  const all = lock.experiments[name] ?? {};
  const entries: Record<string, LockEntry> = {};
  for (const line of lines) {
    const entry = all[line.id];
    if (!entry || entry.key !== line.key) {
      throw new Error(
        `The lock file has no entry for '${line.id}' at its current key: run 'deno task reproduce --experiment ${name}' first`,
      );
    }
    entries[line.id] = entry;
  }
  return entries;
}

/** The experiment's name, description and seeds, as the provenance file records them. */
function describeSetting(
  name: string,
  params: Json,
): Pick<PublishedProvenance, "experiment" | "setting" | "seeds"> {
  const seeds = field(params, "seeds");
  const setting = field(params, "experiment.description") ??
    field(params, "description");
  return {
    experiment: name,
    setting: typeof setting === "string" ? setting : "",
    seeds: Array.isArray(seeds)
      ? seeds.filter((s): s is number => typeof s === "number")
      : [],
  };
}

/** The command, publishing into `options.dir`. */
export function publishResultCommand(options: PublishResultOptions): Command {
  return {
    help: `deno task publish-result NAME [--set KEY=VALUE]...

Copies the finished experiment NAME into ${options.dir}/NAME/ to be
committed: its report folder (index.html, metrics.json, runs.csv, ...),
lock.json (the lock entries of every instance the report was built from:
what 'deno task verify NAME' compares a rerun with) and provenance.json
(commit, date, seeds, setting, wall time, the --set overrides). With --set,
the variant run with those overrides is published as NAME's result (e.g.
'--set seeds=0,1,2' for the paper's claims over 3 seeds); 'verify' reruns it
with the same overrides. Run 'deno task findings' after it.`,
    async run(def: CliDefinition, args: string[]): Promise<number> {
      const { positionals, values } = parseArgs({
        args,
        allowPositionals: true,
        options: { set: { type: "string", multiple: true } },
      });
      if (positionals.length !== 1) {
        throw new UsageError(
          "publish-result takes one experiment name, e.g. 'deno task publish-result momentum'",
        );
      }
      const folder = await publishResult(
        def,
        positionals[0]!,
        options,
        values.set ?? [],
      );
      console.log(`Published with its lock entries: ${folder}/`);
      return 0;
    },
  };
}
