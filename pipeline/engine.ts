/**
 * The engine: computes each instance's cache key, restores what the cache
 * holds, runs what is stale (independent instances in parallel, up to
 * `jobs`), records results in the store and the lock file, and reports one
 * summary error when anything failed. A failed instance skips only its
 * dependents; finished siblings stay cached.
 */
import type { Json, Stage } from "./stage.ts";
import { hashJson } from "./hash.ts";
import { codeFingerprint, type Fingerprint } from "./fingerprint.ts";
import { ancestorsOf, buildGraph, type Instance, plan } from "./graph.ts";
import { type RunEntry, Store } from "./store.ts";
import { type LockEntry, readLock, writeLock } from "./lock.ts";
import {
  inputHashesOf,
  judge,
  type JudgeContext,
  type KeyParts,
  type StatusLine,
  statusOf,
} from "./staleness.ts";
import {
  type PackageLock,
  packageVersions,
  readPackageLock,
} from "./versions.ts";
import type { Running } from "./running.ts";
import { type Executor, LocalExecutor } from "./executor.ts";
import { type Job, mergeFacts, type RunFacts } from "./job.ts";
import { createReporter, formatDuration, type Reporter } from "./progress.ts";
import { Scheduler } from "./schedule.ts";
import { type Clock, denoFs, type FileSystem, systemClock } from "./effects.ts";
import { LivePublisher } from "./live.ts";

/** Where a project keeps its cache and lock, and its stages. */
export interface Project {
  /** Project root: fingerprints name files relative to it. */
  root: string;
  cacheDir: string;
  lockPath: string;
  stages: Stage[];
  /** The import map and the package lock npm versions are read from (default: deno.json, deno.lock in root). */
  denoConfig?: string;
  denoLock?: string;
}

export interface RunOptions {
  experiment: string;
  /** The experiment's params tree. */
  params: Json;
  /** Stage names to bring up to date (with what they need); all when empty. */
  targets?: string[];
  force?: boolean;
  /** Stage names or instance ids to rerun even if cached; their upstream is restored from the cache. */
  forceStages?: string[];
  dryRun?: boolean;
  /** Cores' worth of work kept running (schedule.ts); default: the executor's slots, else three times the cores. */
  jobs?: number;
  executor?: Executor;
  reporter?: Reporter;
  signal?: AbortSignal;
  /**
   * Instances that can publish partial outputs do so every this many
   * progress units (e.g. epochs), for `report --live` (live.ts); 0 or
   * absent: none. It changes no key and no result.
   */
  partialEvery?: number;
  /** Told when an instance starts and stops running, so `status` elsewhere can show it (running.ts). */
  running?: {
    start(id: string, key: string): Promise<void>;
    finish(id: string): Promise<void>;
  };
}

/** "may run": a dry run's instance that reruns only if an upstream that will run changes its outputs. */
export type Outcome =
  | "cached"
  | "ran"
  | "failed"
  | "skipped"
  | "would run"
  | "may run";

export interface InstanceResult {
  id: string;
  stage: string;
  outcome: Outcome;
  key?: string;
  outputs?: Record<string, string>;
  seconds?: number;
  error?: Error;
  /** Ids of every instance this one reads from, transitively, in post-order. */
  lineage?: string[];
}

/** One error for a run in which instances failed; it keeps every cause. */
export class PipelineError extends Error {
  constructor(readonly failures: InstanceResult[], readonly skipped: number) {
    const lines = failures.map((f) =>
      `  ${f.id}: ${f.error?.message ?? "failed"}`
    );
    super(
      `${failures.length} stage instance(s) failed${
        skipped ? `, ${skipped} skipped because they depend on them` : ""
      }:\n${lines.join("\n")}`,
    );
    this.name = "PipelineError";
  }
}

export type { KeyParts, StatusLine };
export { explain, inputHashesOf } from "./staleness.ts";

/** SHA-256 of canonical JSON of the key parts (the code enters as its combined hash). */
export function cacheKey(parts: KeyParts): string {
  return hashJson({
    stage: parts.stage,
    item: parts.item,
    params: parts.params,
    inputs: parts.inputs,
    code: parts.code.hash,
    versions: parts.versions,
  });
}

/** Runtime versions that change results for every stage, and the stage's declared choices (e.g. backend). */
export function runtimeVersions(stage: Stage): Record<string, string> {
  return { deno: Deno.version.deno, ...(stage.versions ?? {}) };
}

export interface EngineOptions {
  /** Never delete or write in the cache (status): damage is reported, not repaired. */
  readOnly?: boolean;
  /** Where the cache, the lock, the sources and deno.json/deno.lock are read and written (default: the disk). */
  fs?: FileSystem;
  /** What times runs and dates them (default: `performance.now`, `new Date`). */
  clock?: Clock;
}

/**
 * @example
 * In memory (MemoryFs), a two-stage project runs once, then is all cached.
 * ```ts
 * import { Engine } from "./engine.ts";
 * import { MemoryFs } from "./memory_fs.ts";
 * import { defineStage } from "./stage.ts";
 * import { decodeText, encodeText } from "./artifact.ts";
 * const fs = new MemoryFs();
 * for (const name of ["a", "b"]) {
 *   await fs.writeFileAtomic(`/mem/${name}.ts`, `export const ${name} = 1;\n`);
 * }
 * const a = defineStage({
 *   name: "a", module: "file:///mem/a.ts", params: ["x"], outputs: ["out"],
 *   run: (ctx) => ({ out: encodeText(String(ctx.params.x)) }),
 * });
 * const b = defineStage({
 *   name: "b", module: "file:///mem/b.ts", params: [], outputs: ["out"],
 *   inputs: { n: { stage: "a", output: "out" } },
 *   run: (ctx) => ({ out: encodeText(decodeText(ctx.input("n")) + "!") }),
 * });
 * const project = { root: "/mem", cacheDir: "/mem/.cache", lockPath: "/mem/x.lock", stages: [a, b] };
 * const engine = new Engine(project, console.warn, { fs });
 * const first = await engine.reproduce({ experiment: "e", params: { x: 7 } });
 * const again = await engine.reproduce({ experiment: "e", params: { x: 7 } });
 * if (first.map((r) => r.outcome).join() !== "ran,ran") throw new Error("cold");
 * if (again.map((r) => r.outcome).join() !== "cached,cached") throw new Error("warm");
 * const out = await engine.store.get(again[1]!.outputs!.out!);
 * if (decodeText(out!) !== "7!") throw new Error("output");
 * ```
 */
export class Engine {
  readonly store: Store;
  readonly #readOnly: boolean;
  readonly fs: FileSystem;
  readonly clock: Clock;
  #packageLock?: Promise<PackageLock>;
  readonly #prepared = new Map<
    string,
    Promise<{ code: Fingerprint; versions: Record<string, string> }>
  >();
  readonly #ready = new Map<
    string,
    { code: Fingerprint; versions: Record<string, string> }
  >();

  constructor(
    readonly project: Project,
    private readonly warn: (m: string) => void = console.warn,
    options: EngineOptions = {},
  ) {
    this.fs = options.fs ?? denoFs;
    this.clock = options.clock ?? systemClock;
    this.store = new Store(project.cacheDir, warn, {
      readOnly: options.readOnly ?? false,
      fs: this.fs,
    });
    this.#readOnly = options.readOnly ?? false;
  }

  /**
   * Fingerprints the stages' code and reads the versions of the packages it
   * imports (deno.lock), once per engine: an edit made while a run goes on
   * cannot be recorded under a key that claims the edited code.
   */
  async prepare(stages: Iterable<Stage>): Promise<void> {
    await Promise.all([...new Set(stages)].map((stage) => {
      let pending = this.#prepared.get(stage.name);
      if (!pending) {
        pending = (async () => {
          const code = await codeFingerprint(
            [stage.module, ...(stage.sources ?? [])],
            this.project.root,
            {
              memoDir: `${this.project.cacheDir}/tokens`,
              write: !this.#readOnly,
              fs: this.fs,
            },
          );
          this.#packageLock ??= readPackageLock(
            this.project.denoConfig ?? `${this.project.root}/deno.json`,
            this.project.denoLock ?? `${this.project.root}/deno.lock`,
            this.fs,
          );
          const lock = await this.#packageLock;
          const versions = {
            ...runtimeVersions(stage),
            ...packageVersions(code.packages, lock),
          };
          const ready = { code, versions };
          this.#ready.set(stage.name, ready);
          return ready;
        })();
        this.#prepared.set(stage.name, pending);
      }
      return pending;
    }));
  }

  #readyOf(
    stage: Stage,
  ): { code: Fingerprint; versions: Record<string, string> } {
    const ready = this.#ready.get(stage.name);
    if (!ready) {
      throw new Error(
        `Stage '${stage.name}' was not prepared: call engine.prepare() first`,
      );
    }
    return ready;
  }

  /** The stage's code fingerprint (after `prepare`). */
  fingerprint(stage: Stage): Fingerprint {
    return this.#readyOf(stage).code;
  }

  /** The versions in the stage's key: Deno, its declared choices and its npm packages from deno.lock (after `prepare`). */
  versions(stage: Stage): Record<string, string> {
    return this.#readyOf(stage).versions;
  }

  /** What the staleness rule reads (staleness.ts), for one experiment's lock entries. */
  judgeContext(
    entries: Record<string, LockEntry>,
    tree: Json,
    running?: Running,
  ): JudgeContext {
    return {
      keyParts: (instance, inputs) => this.keyParts(instance, inputs),
      cacheKey,
      store: this.store,
      previous: (id) => entries[id],
      tree,
      ...(running ? { running } : {}),
    };
  }

  /** The key parts of an instance given its upstream output hashes. */
  keyParts(
    instance: Instance,
    inputs: Record<string, string | string[]>,
  ): KeyParts {
    return {
      stage: instance.stage.name,
      item: instance.item,
      params: instance.params,
      inputs,
      code: this.fingerprint(instance.stage),
      versions: this.versions(instance.stage),
    };
  }

  /** Brings the requested subgraph up to date. Throws PipelineError if anything failed. */
  async reproduce(options: RunOptions): Promise<InstanceResult[]> {
    const graph = buildGraph(this.project.stages, options.params);
    const order = plan(graph, options.targets ?? []);
    // Fingerprint every stage now, so an edit made while the run goes on
    // cannot be recorded under a key that claims the edited code.
    await this.prepare(order.map((i) => i.stage));
    const lock = await readLock(this.project.lockPath, this.warn, this.fs);
    const run = new Reproduction(this, options, order, {
      ...(lock.experiments[options.experiment] ?? {}),
    }, this.warn);
    const all = await run.all();
    const failures = all.filter((r) => r.outcome === "failed");
    if (failures.length > 0) {
      throw new PipelineError(
        failures,
        all.filter((r) => r.outcome === "skipped").length,
      );
    }
    return all;
  }

  /**
   * Fresh, stale, waiting (reruns only if an upstream that will run changes
   * its outputs) or running for each instance of the requested subgraph, by
   * the same rule `reproduce` applies (staleness.ts), with reasons: which
   * param (old → new), input, source file or version changed.
   */
  async status(
    experiment: string,
    params: Json,
    targets: string[] = [],
    options: { running?: Running } = {},
  ): Promise<StatusLine[]> {
    const graph = buildGraph(this.project.stages, params);
    const order = plan(graph, targets);
    await this.prepare(order.map((i) => i.stage));
    const lock = await readLock(this.project.lockPath, this.warn, this.fs);
    const entries = lock.experiments[experiment] ?? {};
    return await statusOf(
      this.judgeContext(entries, params, options.running),
      order,
    );
  }

  /** The folder an instance keeps resumable state in, per key. */
  scratchDir(key: string): string {
    return `${this.project.cacheDir}/scratch/${key}`;
  }

  /** The job for an instance: declared params and the hashes of its upstream outputs. */
  makeJob(
    instance: Instance,
    key: string,
    resultOf: (u: Instance) => InstanceResult,
  ): Job {
    const inputs: Job["inputs"] = {};
    const select: Record<string, "match" | "all"> = {};
    for (const [name, { spec, upstream }] of Object.entries(instance.inputs)) {
      select[name] = spec.select ?? "match";
      inputs[name] = upstream.map((u) => ({
        item: u.item,
        hash: resultOf(u).outputs![spec.output]!,
      }));
    }
    return {
      id: instance.id,
      stageName: instance.stage.name,
      module: instance.stage.module,
      params: instance.params,
      item: instance.item,
      inputs,
      select,
      storeDir: this.project.cacheDir,
      seed: hashJson({
        stage: instance.stage.name,
        item: instance.item,
        params: instance.params,
      }),
      scratchDir: this.scratchDir(key),
      code: {
        entries: [instance.stage.module, ...(instance.stage.sources ?? [])],
        root: this.project.root,
        files: this.fingerprint(instance.stage).files,
      },
      lineage: ancestorsOf(instance).map((u) => ({
        id: u.id,
        key: resultOf(u).key ?? "",
        params: u.params,
        versions: this.versions(u.stage),
      })),
    };
  }
}

/** A run cache entry's provenance fields, as a lock entry holds them. */
function provenanceOf(
  run: RunEntry,
): Pick<LockEntry, "seconds" | "finished" | "host" | "timings"> {
  return {
    seconds: run.seconds,
    ...(run.finished === undefined ? {} : { finished: run.finished }),
    ...(run.host === undefined ? {} : { host: run.host }),
    ...(run.timings === undefined ? {} : { timings: run.timings }),
  };
}

/** An instance's expected work (`Stage.cost`); 0 when undeclared or when it cannot be computed. */
function costOf(instance: Instance): number {
  try {
    const cost = instance.stage.cost?.(instance.params, instance.item) ?? 0;
    return Number.isFinite(cost) ? cost : 0;
  } catch {
    return 0;
  }
}

/** `base` of every result: who the instance is and what it reads from. */
type ResultBase = Pick<InstanceResult, "id" | "stage" | "lineage">;

/**
 * One `reproduce` call: the run's scheduler, lock writer, reporter and live
 * publisher, and each instance's path through skip, dry-run judgement,
 * cache restore or execution.
 */
class Reproduction {
  readonly #reporter: Reporter;
  readonly #executor: Executor;
  readonly #slots: Scheduler;
  readonly #signal: AbortSignal;
  readonly #judgeContext: JudgeContext;
  readonly #live: LivePublisher | undefined;
  readonly #planOrder: Map<Instance, number>;
  readonly #results = new Map<Instance, Promise<InstanceResult>>();
  readonly #settled = new Map<Instance, InstanceResult>();
  #lockWrite = Promise.resolve();

  constructor(
    readonly engine: Engine,
    readonly options: RunOptions,
    readonly order: Instance[],
    readonly entries: Record<string, LockEntry>,
    warn: (m: string) => void,
  ) {
    this.#reporter = options.reporter ?? createReporter(() => {}, false);
    this.#executor = options.executor ?? new LocalExecutor(engine.store);
    const jobs = Math.max(
      1,
      options.jobs ?? this.#executor.slots ??
        3 * (navigator.hardwareConcurrency ?? 1),
    );
    this.#slots = new Scheduler(jobs);
    this.#signal = options.signal ?? new AbortController().signal;
    this.#judgeContext = engine.judgeContext(entries, options.params);
    this.#planOrder = new Map(order.map((instance, i) => [instance, i]));
    this.#live = options.partialEvery && options.partialEvery > 0
      ? new LivePublisher(
        engine.project.cacheDir,
        options.partialEvery,
        warn,
      )
      : undefined;
  }

  /** Runs every instance (each waits for its upstream), then flushes the lock and closes the reporter. */
  async all(): Promise<InstanceResult[]> {
    for (const instance of this.order) {
      this.#reporter.state(instance.id, "queued");
      this.#reporter.expect?.(instance.id, costOf(instance));
    }
    for (const instance of this.order) {
      this.#results.set(
        instance,
        this.#runOne(instance).then((r) => (this.#settled.set(instance, r), r)),
      );
    }
    const all = await Promise.all(this.order.map((i) => this.#results.get(i)!));
    await this.#lockWrite;
    this.#reporter.close();
    return all;
  }

  #resultOf = (u: Instance): InstanceResult => this.#settled.get(u)!;

  /** Records an instance's entry, re-reading the lock so concurrent runs of other experiments survive. */
  #saveLock(entry: LockEntry, id: string): Promise<void> {
    const { project, fs } = this.engine;
    const experiment = this.options.experiment;
    this.entries[id] = entry;
    this.#lockWrite = this.#lockWrite.then(async () => {
      const fresh = await readLock(project.lockPath, () => {}, fs);
      fresh.experiments[experiment] = {
        ...(fresh.experiments[experiment] ?? {}),
        [id]: entry,
      };
      await writeLock(project.lockPath, fresh, `${project.cacheDir}/tmp`, fs);
    });
    return this.#lockWrite;
  }

  async #runOne(instance: Instance): Promise<InstanceResult> {
    const upstream = await Promise.all(
      upstreamOf(instance).map((u) => this.#results.get(u)!),
    );
    const base: ResultBase = {
      id: instance.id,
      stage: instance.stage.name,
      lineage: ancestorsOf(instance).map((u) => u.id),
    };
    const blocked = upstream.find((r) =>
      r.outcome === "failed" || r.outcome === "skipped"
    );
    if (blocked) {
      this.#reporter.state(instance.id, "skipped", `(needs ${blocked.id})`);
      return { ...base, outcome: "skipped" };
    }
    return await this.#judgeUnsettled(instance, base) ??
      await this.#bringUpToDate(instance, base);
  }

  /**
   * A dry run whose upstream would run has no outputs to key on: the
   * instance "would run" if it is stale anyway, else it "may run".
   * Undefined when every upstream is settled.
   */
  async #judgeUnsettled(
    instance: Instance,
    base: ResultBase,
  ): Promise<InstanceResult | undefined> {
    const unsettled = upstreamOf(instance).filter((u) => {
      const outcome = this.#resultOf(u).outcome;
      return outcome === "would run" || outcome === "may run";
    }).map((u) => ({ id: u.id, state: "stale" as const }));
    if (unsettled.length === 0) return undefined;
    const judged = await judge(this.#judgeContext, instance, undefined, [
      ...new Map(unsettled.map((u) => [u.id, u])).values(),
    ]);
    const outcome = judged.state === "stale" ? "would run" : "may run";
    this.#reporter.state(
      instance.id,
      outcome,
      outcome === "may run" ? "(if an input changes)" : "",
    );
    return { ...base, outcome };
  }

  /** Keys the instance, then restores it from the cache, reports it as "would run", or runs it. */
  async #bringUpToDate(
    instance: Instance,
    base: ResultBase,
  ): Promise<InstanceResult> {
    const { options } = this;
    const inputHashes = inputHashesOf(
      instance,
      (u) => this.#resultOf(u).outputs!,
    );
    const forced = options.force ||
      (options.forceStages ?? []).some((s) =>
        s === instance.id || s === instance.stage.name
      );
    // It may ask for a slot once its cache lookup is done: until then the
    // scheduler holds its grants, so the costliest of the instances that
    // became ready together starts first.
    this.#slots.announce();
    const judged = forced
      ? undefined
      : await judge(this.#judgeContext, instance, inputHashes).catch(
        (error) => {
          this.#slots.withdraw();
          throw error;
        },
      );
    const parts = judged?.parts ?? this.engine.keyParts(instance, inputHashes);
    const key = judged?.key ?? cacheKey(parts);
    const entryOf = (run: RunEntry): LockEntry => ({
      stage: instance.stage.name,
      item: instance.item,
      key,
      params: instance.params,
      inputs: inputHashes,
      code: parts.code.files,
      versions: parts.versions,
      outputs: run.outputs,
      ...provenanceOf(run),
    });
    const cached = judged?.run;
    if (cached || options.dryRun) this.#slots.withdraw();
    if (cached) {
      return await this.#restore(instance, base, key, cached, entryOf);
    }
    if (options.dryRun) {
      this.#reporter.state(instance.id, "would run");
      return { ...base, outcome: "would run", key };
    }
    return await this.#execute(instance, base, key, entryOf);
  }

  /** A cache hit: recorded in the lock unless the lock already says so. */
  async #restore(
    instance: Instance,
    base: ResultBase,
    key: string,
    cached: RunEntry,
    entryOf: (run: RunEntry) => LockEntry,
  ): Promise<InstanceResult> {
    this.#reporter.state(instance.id, "cached");
    const previous = this.entries[instance.id];
    const recorded = previous &&
      previous.key === key &&
      JSON.stringify(previous.outputs) === JSON.stringify(cached.outputs);
    if (!recorded) await this.#saveLock(entryOf(cached), instance.id);
    return {
      ...base,
      outcome: "cached",
      key,
      outputs: cached.outputs,
      seconds: cached.seconds,
    };
  }

  /** Waits for a slot, runs the stage, stores the run and its lock entry; a failure becomes a result. */
  async #execute(
    instance: Instance,
    base: ResultBase,
    key: string,
    entryOf: (run: RunEntry) => LockEntry,
  ): Promise<InstanceResult> {
    const { engine, options } = this;
    const load = instance.stage.threads ?? 1;
    await this.#slots.acquire(
      load,
      costOf(instance),
      this.#planOrder.get(instance)!,
    );
    try {
      if (this.#signal.aborted) {
        throw new DOMException("Cancelled", "AbortError");
      }
      this.#reporter.state(instance.id, "running");
      await options.running?.start(instance.id, key);
      const job = engine.makeJob(instance, key, this.#resultOf);
      const run = await this.#runJob(instance, key, job);
      await engine.store.putRun(key, run);
      await this.#saveLock(entryOf(run), instance.id);
      await this.#live?.finished(key);
      await engine.fs.remove(job.scratchDir, { recursive: true }).catch(
        () => {},
      );
      this.#reporter.state(
        instance.id,
        "done",
        `in ${formatDuration(run.seconds)}`,
      );
      return {
        ...base,
        outcome: "ran",
        key,
        outputs: run.outputs,
        seconds: run.seconds,
      };
    } catch (error) {
      // Resume state stays for the next attempt; an empty folder does not.
      // Partial outputs stay too: `report --live` shows the interrupted run.
      await this.#live?.settled(key);
      await engine.fs.remove(engine.scratchDir(key)).catch(() => {});
      const e = error instanceof Error ? error : new Error(String(error));
      this.#reporter.state(instance.id, "failed", e.message.split("\n")[0]);
      return { ...base, outcome: "failed", key, error: e };
    } finally {
      await options.running?.finish(instance.id);
      this.#slots.release(load);
    }
  }

  /** Hands the job to the executor, wiring its log, progress, partial outputs and facts; times it. */
  async #runJob(instance: Instance, key: string, job: Job): Promise<RunEntry> {
    const { clock } = this.engine;
    const reporter = this.#reporter;
    const started = clock.now();
    const watch = this.#live?.track(instance.id, key);
    if (this.#live) job.partialEvery = this.#live.every;
    let facts: RunFacts = {};
    const outputs = await this.#executor.execute(instance.stage, job, {
      log: (level, message) => reporter.log(instance.id, level, message),
      progress: (done, total, metrics) => {
        watch?.progress(done, total, metrics);
        reporter.progress(instance.id, done, total, metrics);
      },
      ...(watch ? { partial: watch.partial } : {}),
      facts: (more) => facts = mergeFacts(facts, more),
      signal: this.#signal,
    });
    const seconds = (clock.now() - started) / 1000;
    // Wall time, date, host and timings go to the run cache and the lock
    // entry: provenance beside the outputs, never inside their bytes.
    return {
      outputs,
      seconds,
      finished: clock.date().toISOString(),
      ...facts,
    };
  }
}

/** The instances an instance's inputs read from, in input order (repeats kept). */
function upstreamOf(instance: Instance): Instance[] {
  return Object.values(instance.inputs).flatMap((i) => i.upstream);
}
