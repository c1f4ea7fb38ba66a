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
import { buildGraph, type Instance, plan } from "./graph.ts";
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
}

export class Engine {
  readonly store: Store;
  readonly #readOnly: boolean;
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
    this.store = new Store(project.cacheDir, warn, options);
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
            },
          );
          this.#packageLock ??= readPackageLock(
            this.project.denoConfig ?? `${this.project.root}/deno.json`,
            this.project.denoLock ?? `${this.project.root}/deno.lock`,
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
    const reporter = options.reporter ?? createReporter(() => {}, false);
    const executor: Executor = options.executor ??
      new LocalExecutor(this.store);
    const jobs = Math.max(
      1,
      options.jobs ?? executor.slots ??
        3 * (navigator.hardwareConcurrency ?? 1),
    );
    const signal = options.signal ?? new AbortController().signal;
    const lock = await readLock(this.project.lockPath, this.warn);
    const entries: Record<string, LockEntry> = {
      ...(lock.experiments[options.experiment] ?? {}),
    };
    const judgeContext = this.judgeContext(entries, options.params);
    let lockWrite = Promise.resolve();
    const saveLock = (entry: LockEntry, id: string) => {
      entries[id] = entry;
      lockWrite = lockWrite.then(async () => {
        const fresh = await readLock(this.project.lockPath, () => {});
        fresh.experiments[options.experiment] = {
          ...(fresh.experiments[options.experiment] ?? {}),
          [id]: entry,
        };
        await writeLock(
          this.project.lockPath,
          fresh,
          `${this.project.cacheDir}/tmp`,
        );
      });
      return lockWrite;
    };

    const slots = new Scheduler(jobs);
    const planOrder = new Map(order.map((instance, i) => [instance, i]));
    const results = new Map<Instance, Promise<InstanceResult>>();
    for (const instance of order) reporter.state(instance.id, "queued");

    const runOne = async (instance: Instance): Promise<InstanceResult> => {
      const upstream = await Promise.all(
        Object.values(instance.inputs).flatMap((i) => i.upstream).map((u) =>
          results.get(u)!
        ),
      );
      const base = {
        id: instance.id,
        stage: instance.stage.name,
        lineage: ancestors(instance).map((u) => u.id),
      };
      const blocked = upstream.find((r) =>
        r.outcome === "failed" || r.outcome === "skipped"
      );
      if (blocked) {
        reporter.state(instance.id, "skipped", `(needs ${blocked.id})`);
        return { ...base, outcome: "skipped" };
      }
      // A dry run: upstream instances that would run have no outputs yet.
      const unsettled = Object.values(instance.inputs).flatMap((i) =>
        i.upstream
      ).filter((u) => {
        const outcome = resultOf(u).outcome;
        return outcome === "would run" || outcome === "may run";
      }).map((u) => ({ id: u.id, state: "stale" as const }));
      if (unsettled.length > 0) {
        const judged = await judge(judgeContext, instance, undefined, [
          ...new Map(unsettled.map((u) => [u.id, u])).values(),
        ]);
        const outcome = judged.state === "stale" ? "would run" : "may run";
        reporter.state(
          instance.id,
          outcome,
          outcome === "may run" ? "(if an input changes)" : "",
        );
        return { ...base, outcome };
      }
      const inputHashes = inputHashesOf(
        instance,
        (u) => resultOf(u).outputs!,
      );
      const forced = options.force ||
        (options.forceStages ?? []).some((s) =>
          s === instance.id || s === instance.stage.name
        );
      // It may ask for a slot once its cache lookup is done: until then the
      // scheduler holds its grants, so the costliest of the instances that
      // became ready together starts first.
      slots.announce();
      const judged = forced
        ? undefined
        : await judge(judgeContext, instance, inputHashes).catch((error) => {
          slots.withdraw();
          throw error;
        });
      const parts = judged?.parts ?? this.keyParts(instance, inputHashes);
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
      if (cached || options.dryRun) slots.withdraw();
      if (cached) {
        reporter.state(instance.id, "cached");
        const previous = entries[instance.id];
        const recorded = previous &&
          previous.key === key &&
          JSON.stringify(previous.outputs) === JSON.stringify(cached.outputs);
        if (!recorded) await saveLock(entryOf(cached), instance.id);
        return {
          ...base,
          outcome: "cached",
          key,
          outputs: cached.outputs,
          seconds: cached.seconds,
        };
      }
      if (options.dryRun) {
        reporter.state(instance.id, "would run");
        return { ...base, outcome: "would run", key };
      }
      const load = instance.stage.threads ?? 1;
      await slots.acquire(load, costOf(instance), planOrder.get(instance)!);
      try {
        if (signal.aborted) throw new DOMException("Cancelled", "AbortError");
        reporter.state(instance.id, "running");
        await options.running?.start(instance.id, key);
        const started = performance.now();
        const job = this.makeJob(instance, key, resultOf);
        let facts: RunFacts = {};
        const outputs = await executor.execute(instance.stage, job, {
          log: (level, message) => reporter.log(instance.id, level, message),
          progress: (done, total) =>
            reporter.progress(instance.id, done, total),
          facts: (more) => facts = mergeFacts(facts, more),
          signal,
        });
        const seconds = (performance.now() - started) / 1000;
        // Wall time, date, host and timings go to the run cache and the lock
        // entry: provenance beside the outputs, never inside their bytes.
        const run: RunEntry = {
          outputs,
          seconds,
          finished: new Date().toISOString(),
          ...facts,
        };
        await this.store.putRun(key, run);
        await saveLock(entryOf(run), instance.id);
        await Deno.remove(job.scratchDir, { recursive: true }).catch(() => {});
        reporter.state(instance.id, "done", `in ${formatDuration(seconds)}`);
        return { ...base, outcome: "ran", key, outputs, seconds };
      } catch (error) {
        // Resume state stays for the next attempt; an empty folder does not.
        await Deno.remove(this.scratchDir(key)).catch(() => {});
        const e = error instanceof Error ? error : new Error(String(error));
        reporter.state(instance.id, "failed", e.message.split("\n")[0]);
        return { ...base, outcome: "failed", key, error: e };
      } finally {
        await options.running?.finish(instance.id);
        slots.release(load);
      }
    };
    const settled = new Map<Instance, InstanceResult>();
    const resultOf = (u: Instance) => settled.get(u)!;
    for (const instance of order) {
      results.set(
        instance,
        runOne(instance).then((r) => (settled.set(instance, r), r)),
      );
    }
    const all = await Promise.all(order.map((i) => results.get(i)!));
    await lockWrite;
    reporter.close();
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
    const lock = await readLock(this.project.lockPath, this.warn);
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
      lineage: ancestors(instance).map((u) => ({
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

/** Every instance `instance` reads from, transitively, in post-order. */
function ancestors(instance: Instance): Instance[] {
  const out: Instance[] = [];
  const seen = new Set<Instance>();
  const visit = (i: Instance) => {
    for (const input of Object.values(i.inputs)) {
      for (const u of input.upstream) {
        if (seen.has(u)) continue;
        seen.add(u);
        visit(u);
        out.push(u);
      }
    }
  };
  visit(instance);
  return out;
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
