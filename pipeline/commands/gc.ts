/**
 * `deno task gc [--dry-run]`: removes what nothing refers to any more. An
 * object, a run entry or a scratch folder is kept when a lock entry (any
 * experiment, any variant last run) or an instance of a current experiment
 * (every experiment file at its defaults, and every `--set` variant with a
 * results folder, reports/out/NAME/VARIANT/) names its key or hash; everything
 * else in `.cache/objects`, `.cache/runs`, `.cache/scratch` and `.cache/tmp`
 * goes. It holds the run lock, so it never races a run.
 */
import { parseArgs } from "node:util";
import type { CliDefinition, Command } from "../cli.ts";
import { UsageError } from "../usage_error.ts";
import { Engine } from "../engine.ts";
import { readLock } from "../lock.ts";
import { acquireRunLock } from "../run_lock.ts";
import { isHash, type RunEntry } from "../store.ts";
import type { Json } from "../stage.ts";
import { recordedVariants } from "./variant.ts";

/** What gc would remove, with sizes in bytes. */
export interface GcPlan {
  /** Paths to remove (files, or folders for scratch). */
  remove: Array<{ path: string; kind: GcKind; bytes: number }>;
  /** Totals per kind. */
  counts: Record<GcKind, number>;
  bytes: number;
  /** Objects and run entries kept. */
  kept: { objects: number; runs: number };
}

export type GcKind = "object" | "run" | "scratch" | "tmp";

/** Keys and hashes still referred to. */
export interface Roots {
  keys: Set<string>;
  hashes: Set<string>;
}

/**
 * The keys and hashes the lock file and the current experiments refer to.
 * `current` lists each experiment with its params at defaults; its
 * instances' keys are those `status` computes (a stale instance whose
 * upstream is computable keeps its key, so a killed run's scratch survives).
 */
export async function gcRoots(
  engine: Engine,
  current: Array<{ experiment: string; params: Json }>,
): Promise<Roots> {
  const keys = new Set<string>();
  const hashes = new Set<string>();
  const lock = await readLock(engine.project.lockPath, () => {});
  for (const entries of Object.values(lock.experiments)) {
    for (const entry of Object.values(entries)) {
      keys.add(entry.key);
      for (const h of Object.values(entry.outputs)) hashes.add(h);
      for (const h of Object.values(entry.inputs).flat()) hashes.add(h);
    }
  }
  for (const { experiment, params } of current) {
    for (const line of await engine.status(experiment, params)) {
      if (line.key) keys.add(line.key);
      for (const h of Object.values(line.outputs ?? {})) hashes.add(h);
    }
  }
  // A kept run entry keeps its outputs.
  for (const key of keys) {
    const entry = await readRunEntry(engine, key);
    for (const h of Object.values(entry?.outputs ?? {})) hashes.add(h);
  }
  return { keys, hashes };
}

async function readRunEntry(
  engine: Engine,
  key: string,
): Promise<RunEntry | undefined> {
  if (!isHash(key)) return undefined;
  try {
    return JSON.parse(
      await Deno.readTextFile(engine.store.runPath(key)),
    ) as RunEntry;
  } catch {
    return undefined;
  }
}

/** Entries of a folder; none when it does not exist. */
async function list(dir: string): Promise<Deno.DirEntry[]> {
  try {
    return await Array.fromAsync(Deno.readDir(dir));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

/** Bytes under a path (a file, or a folder recursively; symlinks not followed). */
export async function sizeOf(path: string): Promise<number> {
  const info = await Deno.lstat(path);
  if (!info.isDirectory) return info.size;
  let total = 0;
  for (const entry of await list(path)) {
    total += await sizeOf(`${path}/${entry.name}`);
  }
  return total;
}

/** What to remove from the cache folder, given the roots. Reads only. */
export async function planGc(cacheDir: string, roots: Roots): Promise<GcPlan> {
  const plan: GcPlan = {
    remove: [],
    counts: { object: 0, run: 0, scratch: 0, tmp: 0 },
    bytes: 0,
    kept: { objects: 0, runs: 0 },
  };
  const add = async (path: string, kind: GcKind) => {
    const bytes = await sizeOf(path);
    plan.remove.push({ path, kind, bytes });
    plan.counts[kind]++;
    plan.bytes += bytes;
  };
  for (const prefix of await list(`${cacheDir}/objects`)) {
    const dir = `${cacheDir}/objects/${prefix.name}`;
    for (const file of await list(dir)) {
      if (roots.hashes.has(prefix.name + file.name)) plan.kept.objects++;
      else await add(`${dir}/${file.name}`, "object");
    }
  }
  for (const prefix of await list(`${cacheDir}/runs`)) {
    const dir = `${cacheDir}/runs/${prefix.name}`;
    for (const file of await list(dir)) {
      const key = prefix.name + file.name.replace(/\.json$/, "");
      if (roots.keys.has(key)) plan.kept.runs++;
      else await add(`${dir}/${file.name}`, "run");
    }
  }
  for (const entry of await list(`${cacheDir}/scratch`)) {
    if (!roots.keys.has(entry.name)) {
      await add(`${cacheDir}/scratch/${entry.name}`, "scratch");
    }
  }
  for (const entry of await list(`${cacheDir}/tmp`)) {
    await add(`${cacheDir}/tmp/${entry.name}`, "tmp");
  }
  // Partial outputs for the live view (pipeline/live.ts) are scratch too: an
  // interrupted run's stay while its key is current; a throw-away render
  // store left by a killed `report --live` is a temp file.
  for (const entry of await list(`${cacheDir}/live`)) {
    const path = `${cacheDir}/live/${entry.name}`;
    if (entry.name.startsWith(".render-")) await add(path, "tmp");
    else if (!roots.keys.has(entry.name)) await add(path, "scratch");
  }
  return plan;
}

/** Removes what the plan lists; a path already gone is fine. */
export async function applyGc(plan: GcPlan): Promise<void> {
  for (const { path } of plan.remove) {
    await Deno.remove(path, { recursive: true }).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }
}

/** Bytes as `12.3 MB` (powers of 1000, as `du --si`). */
export function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0
    ? `${bytes} B`
    : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

export const HELP = `deno task gc [--dry-run]

Removes cache objects, run entries, scratch folders and temp files that no
lock entry and no current experiment (every experiments/*.json at its
defaults) refers to. --dry-run prints what it would free and removes nothing.
Waits for no run: if one is going on, gc stops and says so.
The scratch folder (and live-view partials, .cache/live) of an interrupted
run of a current experiment is kept: the next reproduce resumes from it.
The results of a --set variant are kept while its results folder
(reports/out/NAME/VARIANT/) exists; delete the folder to let gc take them.`;

export const gcCommand: Command = {
  help: HELP,
  async run(def: CliDefinition, args: string[]): Promise<number> {
    let dryRun: boolean;
    try {
      dryRun = parseArgs({
        args,
        options: { "dry-run": { type: "boolean" } },
      }).values["dry-run"] ?? false;
    } catch (error) {
      throw new UsageError(
        `${(error as Error).message} (see 'deno task gc --help')`,
      );
    }
    const engine = new Engine(def.project, () => {});
    const current = await currentExperiments(def);
    const release = dryRun
      ? async () => {}
      : await acquireRunLock(`${def.project.cacheDir}/run.lock`, {
        timeoutMs: 0,
        pollMs: 1,
        say: () => {},
      }).catch((error) => {
        throw new UsageError(
          `A run is going on (${
            (error as Error).message
          }): gc removes nothing while it runs`,
        );
      });
    try {
      const plan = await planGc(
        def.project.cacheDir,
        await gcRoots(engine, current),
      );
      if (dryRun) printDryRun(plan);
      else {
        await applyGc(plan);
        console.log(
          `Freed ${formatBytes(plan.bytes)} (${plan.bytes} bytes): ${
            countsLine(plan)
          }; ` +
            `kept ${plan.kept.objects} object(s) and ${plan.kept.runs} run entries`,
        );
      }
      return 0;
    } finally {
      await release();
    }
  },
};

/**
 * Every experiment at its defaults, and every --set variant that has a
 * results folder (delete the folder to let it go); a variant that no longer
 * loads is named and not kept.
 */
async function currentExperiments(
  def: CliDefinition,
): Promise<Array<{ experiment: string; params: Json }>> {
  const current: Array<{ experiment: string; params: Json }> = [];
  for (const experiment of def.experiments()) {
    try {
      current.push({
        experiment,
        params: await def.loadExperiment(experiment, []),
      });
    } catch (error) {
      throw new UsageError(
        `Experiment '${experiment}' does not load, so gc cannot tell what it needs (${
          (error as Error).message
        }): fix it first`,
      );
    }
  }
  const dropped: string[] = [];
  for (const { experiment } of [...current]) {
    for (const v of await recordedVariants(def.outDir, experiment)) {
      try {
        current.push({
          experiment,
          params: await def.loadExperiment(experiment, v.sets),
        });
      } catch {
        dropped.push(`${experiment}/${v.variant}`);
      }
    }
  }
  for (const name of dropped) {
    console.log(
      `Variant ${name} no longer loads with its --set values: its results are not kept`,
    );
  }
  return current;
}

/** "N object(s), N run entries, N scratch folder(s), N temp file(s)". */
function countsLine(plan: GcPlan): string {
  return `${plan.counts.object} object(s), ${plan.counts.run} run entr${
    plan.counts.run === 1 ? "y" : "ies"
  }, ${plan.counts.scratch} scratch folder(s), ${plan.counts.tmp} temp file(s)`;
}

/** What --dry-run prints: the scratch folders and temp files by name, objects and run entries counted. */
function printDryRun(plan: GcPlan): void {
  // Objects and run entries are many and named by hash: counted, not listed.
  for (const item of plan.remove) {
    if (item.kind === "scratch" || item.kind === "tmp") {
      console.log(
        `would remove ${item.kind} ${item.path} (${formatBytes(item.bytes)})`,
      );
    }
  }
  console.log(
    `Would free ${formatBytes(plan.bytes)} (${plan.bytes} bytes): ${
      countsLine(plan)
    }; ` +
      `keeps ${plan.kept.objects} object(s) and ${plan.kept.runs} run entries`,
  );
}
