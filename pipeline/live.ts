/**
 * The live view: a run still going on publishes partial outputs (a
 * training's record so far, `ctx.partial`), which the engine writes to
 * `<cache>/live/<instance key>/` — outside the object store, the run cache
 * and the lock, so a partial result is never taken for a final one — and
 * removes once the instance is cached. `liveReproduce` then brings a target
 * (the report) up to date from what exists: cached instances from the cache,
 * running or interrupted ones from their partial outputs, the light stages
 * after them rerun in this thread into a throw-away store. Nothing it
 * computes is cached or locked.
 *
 * Slurm jobs publish no partials (job_main.ts has no channel back for
 * bytes); their instances are shown only once cached.
 */
import type { Instance } from "./graph.ts";
import { ancestorsOf, buildGraph, plan } from "./graph.ts";
import type { Json, ProgressMetrics } from "./stage.ts";
import { cacheKey, type Engine, type InstanceResult } from "./engine.ts";
import { inputHashesOf, judge, type JudgeContext } from "./staleness.ts";
import { readLock } from "./lock.ts";
import { Store } from "./store.ts";
import { runJob } from "./job.ts";
import { writeFileAtomic } from "./fs.ts";

/** The progress file beside an instance's partial outputs. */
export const LIVE_STATE = "state.json";

/** What a live folder says about its run. */
export interface LiveState {
  id: string;
  key: string;
  /** Progress when the partial outputs were last written (e.g. epoch k of E). */
  done: number;
  total: number;
  metrics?: ProgressMetrics;
  /** Names of the partial outputs in the folder. */
  outputs: string[];
  /** When they were written (ISO 8601). */
  updated: string;
}

/** Where an instance's partial outputs go: one folder per cache key. */
export function liveDir(cacheDir: string, key: string): string {
  return `${cacheDir}/live/${key}`;
}

/**
 * The engine's side of `ctx.partial`: writes each partial output and the
 * state file atomically (the state last, so a reader that sees a state sees
 * its outputs), one instance's writes in order.
 */
export class LivePublisher {
  readonly #writes = new Map<string, Promise<void>>();
  constructor(
    readonly cacheDir: string,
    /** Partials every this many progress units (e.g. epochs), handed to the job. */
    readonly every: number,
    private readonly warn: (message: string) => void = console.warn,
  ) {}

  /** Hooks for one running instance: pass its progress through `progress`, its partials through `partial`. */
  track(id: string, key: string) {
    const dir = liveDir(this.cacheDir, key);
    const tmp = `${this.cacheDir}/tmp`;
    const last = { done: 0, total: 0 } as {
      done: number;
      total: number;
      metrics?: ProgressMetrics;
    };
    const outputs = new Set<string>();
    return {
      progress: (done: number, total: number, metrics?: ProgressMetrics) => {
        last.done = done;
        last.total = total;
        if (metrics) last.metrics = metrics;
      },
      partial: (name: string, bytes: Uint8Array) => {
        if (!/^[\w.-]+$/.test(name) || name === LIVE_STATE) {
          this.warn(`${id}: partial output name '${name}' refused`);
          return;
        }
        outputs.add(name);
        const state: LiveState = {
          id,
          key,
          ...last,
          outputs: [...outputs].sort(),
          updated: new Date().toISOString(),
        };
        this.#chain(key, async () => {
          await writeFileAtomic(`${dir}/${name}`, bytes, tmp);
          await writeFileAtomic(
            `${dir}/${LIVE_STATE}`,
            JSON.stringify(state, null, 2) + "\n",
            tmp,
          );
        });
      },
    };
  }

  /** Waits for the instance's writes, then removes its folder: the cache holds the final outputs now. */
  async finished(key: string): Promise<void> {
    await this.#writes.get(key);
    this.#writes.delete(key);
    await Deno.remove(liveDir(this.cacheDir, key), { recursive: true })
      .catch(() => {});
  }

  /** Waits for the instance's writes (a failed or interrupted run keeps its partials). */
  async settled(key: string): Promise<void> {
    await this.#writes.get(key);
    this.#writes.delete(key);
  }

  #chain(key: string, write: () => Promise<void>) {
    const next = (this.#writes.get(key) ?? Promise.resolve()).then(write)
      .catch((error) =>
        this.warn(`live view: ${(error as Error).message.split("\n")[0]}`)
      );
    this.#writes.set(key, next);
  }
}

/** Reads the state of an instance's partial outputs, if any. */
export async function readLiveState(
  cacheDir: string,
  key: string,
): Promise<LiveState | undefined> {
  try {
    const text = await Deno.readTextFile(
      `${liveDir(cacheDir, key)}/${LIVE_STATE}`,
    );
    return JSON.parse(text) as LiveState;
  } catch {
    return undefined;
  }
}

/** How an instance came into a live view. */
export type LiveOutcome =
  /** Final: read from the cache. */
  | "cached"
  /** From the partial outputs of a run going on or interrupted. */
  | "partial"
  /** Computed here from what exists; not cached. */
  | "rendered"
  /** Nothing to show: not cached, no partial outputs, or needs what is missing. */
  | "missing";

export interface LiveResult extends InstanceResult {
  live: LiveOutcome;
  /** For "partial": where the run was. */
  progress?: { done: number; total: number };
}

export interface LiveOptions {
  experiment: string;
  params: Json;
  /** Stages to render (e.g. ["report"]). */
  targets: string[];
  log?: (id: string, level: "info" | "warn", message: string) => void;
}

/**
 * Brings `targets` up to date from what exists, caching nothing. Returns
 * every planned instance with how it was obtained, and `store`, which holds
 * every output the results name (remove `dir` when done).
 */
export async function liveReproduce(
  engine: Engine,
  options: LiveOptions,
): Promise<{ results: LiveResult[]; store: Store; dir: string }> {
  const { cacheDir } = engine.project;
  const order = plan(buildGraph(engine.project.stages, options.params), [
    ...options.targets,
  ]);
  await engine.prepare(order.map((i) => i.stage));
  const lock = await readLock(engine.project.lockPath, () => {});
  const dir = await Deno.makeTempDir({
    dir: await ensured(`${cacheDir}/live`),
    prefix: ".render-",
  });
  const view: LiveView = {
    engine,
    options,
    context: engine.judgeContext(
      lock.experiments[options.experiment] ?? {},
      options.params,
    ),
    dir,
    overlay: new Store(dir),
    results: new Map(),
  };
  try {
    for (const instance of order) {
      const base = { id: instance.id, stage: instance.stage.name };
      view.results.set(instance, {
        ...base,
        ...await liveOne(view, instance),
      });
    }
  } catch (error) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
  // Cached outputs the caller may read (e.g. a cached report) into the overlay too.
  for (const r of view.results.values()) {
    if (r.live === "cached") await copyToOverlay(view, r.outputs ?? {});
  }
  const list = order.map((i) => ({
    ...view.results.get(i)!,
    lineage: ancestorsOf(i).map((u) => u.id),
  }));
  return { results: list, store: view.overlay, dir };
}

/** One live view in the making: what it judges with, where it writes, what it has so far. */
interface LiveView {
  engine: Engine;
  options: LiveOptions;
  context: JudgeContext;
  /** The overlay store's folder. */
  dir: string;
  overlay: Store;
  results: Map<Instance, LiveResult>;
}

type LiveOne = Omit<LiveResult, "id" | "stage">;

/** An instance in the live view: cached, partial, rendered here, or missing. */
async function liveOne(view: LiveView, instance: Instance): Promise<LiveOne> {
  const { engine, results } = view;
  const { inputs, final } = existingInputs(instance, results);
  const shown: Instance = { ...instance, inputs };
  const hashes = inputHashesOf(shown, (u) => results.get(u)!.outputs!);
  if (final) {
    const judged = await judge(view.context, instance, hashes);
    if (judged.run) {
      return {
        outcome: "cached",
        live: "cached",
        key: judged.key!,
        outputs: judged.run.outputs,
        lineage: [],
      };
    }
  }
  const key = cacheKey(engine.keyParts(shown, hashes));
  const partial = final ? await readPartial(view, key) : undefined;
  if (partial) return partial;
  if (instance.stage.heavy || Object.keys(instance.inputs).length === 0) {
    // Never computed here: the heavy ones are the run's to compute, and a
    // stage without inputs (e.g. the download) is not downstream of one.
    return { outcome: "skipped", live: "missing", key };
  }
  return await renderLight(view, instance, shown, key);
}

/**
 * Each input keeps the upstream instances that have the output it reads
 * (an "all" input shows what exists); an input with none is left out, and
 * the stage says whether it can do without (e.g. the metrics without
 * barriers, whose stage needs every checkpoint). `final` when every
 * upstream is there and cached.
 */
function existingInputs(
  instance: Instance,
  results: Map<Instance, LiveResult>,
): { inputs: Instance["inputs"]; final: boolean } {
  const inputs: Instance["inputs"] = {};
  let final = true;
  for (const [name, input] of Object.entries(instance.inputs)) {
    const upstream = input.upstream.filter((u) =>
      results.get(u)?.outputs?.[input.spec.output] !== undefined
    );
    if (upstream.some((u) => results.get(u)!.live !== "cached")) {
      final = false;
    }
    if (upstream.length < input.upstream.length) final = false;
    // (An "all" input of no instances at all is an empty list, as in a run.)
    if (upstream.length > 0 || input.upstream.length === 0) {
      inputs[name] = { spec: input.spec, upstream };
    }
  }
  return { inputs, final };
}

/** The partial outputs a run going on (or interrupted) published under `key`, copied into the overlay. */
async function readPartial(
  view: LiveView,
  key: string,
): Promise<LiveOne | undefined> {
  const { cacheDir } = view.engine.project;
  const state = await readLiveState(cacheDir, key);
  if (!state) return undefined;
  const outputs: Record<string, string> = {};
  for (const name of state.outputs) {
    const bytes = await Deno.readFile(`${liveDir(cacheDir, key)}/${name}`)
      .catch(() => undefined);
    if (bytes) outputs[name] = await view.overlay.put(bytes);
  }
  return {
    outcome: "skipped",
    live: "partial",
    key,
    outputs,
    progress: { done: state.done, total: state.total },
  };
}

/** A light stage rerun here on what exists, into the overlay store; "missing" when it cannot do without what is absent. */
async function renderLight(
  view: LiveView,
  instance: Instance,
  shown: Instance,
  key: string,
): Promise<LiveOne> {
  const { engine, options, results, dir, overlay } = view;
  for (const input of Object.values(shown.inputs)) {
    for (const u of input.upstream) {
      const r = results.get(u)!;
      if (r.live !== "cached") continue;
      await copyToOverlay(view, {
        [input.spec.output]: r.outputs![input.spec.output]!,
      }, true);
    }
  }
  const resultOf = (u: Instance): InstanceResult =>
    results.get(u) ?? { id: u.id, stage: u.stage.name, outcome: "skipped" };
  const job = {
    ...engine.makeJob(shown, key, resultOf),
    storeDir: dir,
    scratchDir: `${dir}/scratch/${key}`,
  };
  delete job.code;
  let outputs;
  try {
    outputs = await runJob(instance.stage, job, {
      log: (level, message) => options.log?.(instance.id, level, message),
      progress: () => {},
      signal: new AbortController().signal,
    });
  } catch (error) {
    // It needs what does not exist yet: its dependents go without.
    options.log?.(
      instance.id,
      "warn",
      `not shown: ${(error as Error).message.split("\n")[0]}`,
    );
    return { outcome: "skipped", live: "missing", key };
  }
  const stored: Record<string, string> = {};
  for (const name of instance.stage.outputs) {
    stored[name] = await overlay.put(outputs[name]!);
  }
  return { outcome: "ran", live: "rendered", key, outputs: stored };
}

/** Copies cached objects into the overlay store; `required`: a missing one is an error. */
async function copyToOverlay(
  view: LiveView,
  hashes: Record<string, string>,
  required = false,
): Promise<void> {
  for (const hash of Object.values(hashes)) {
    const bytes = await view.engine.store.get(hash);
    if (bytes) await view.overlay.put(bytes);
    else if (required) throw new Error(`object ${hash} left the cache`);
  }
}

async function ensured(dir: string): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  return dir;
}
