/**
 * The engine: computes each instance's cache key, restores what the cache
 * holds, runs what is stale (independent instances in parallel, up to
 * `jobs`), records results in the store and the lock file, and reports one
 * summary error when anything failed. A failed instance skips only its
 * dependents; finished siblings stay cached.
 */
import type { Json, Stage } from "./stage.ts";
import { codeFingerprint, type Fingerprint, hashJson } from "./hash.ts";
import { buildGraph, type Instance, plan } from "./graph.ts";
import { Store } from "./store.ts";
import { type LockEntry, readLock, writeLock } from "./lock.ts";
import { type Executor, LocalExecutor } from "./executor.ts";
import type { Job } from "./job.ts";
import { createReporter, formatDuration, type Reporter } from "./progress.ts";
import { Scheduler } from "./schedule.ts";

/** Where a project keeps its cache and lock, and its stages. */
export interface Project {
  /** Project root: fingerprints name files relative to it. */
  root: string;
  cacheDir: string;
  lockPath: string;
  stages: Stage[];
}

export interface RunOptions {
  experiment: string;
  /** The experiment's params tree. */
  params: Json;
  /** Stage names to bring up to date (with what they need); all when empty. */
  targets?: string[];
  force?: boolean;
  dryRun?: boolean;
  /** Cores' worth of work kept running (schedule.ts); default: the executor's slots, else three times the cores. */
  jobs?: number;
  executor?: Executor;
  reporter?: Reporter;
  signal?: AbortSignal;
}

export type Outcome = "cached" | "ran" | "failed" | "skipped" | "would run";

export interface InstanceResult {
  id: string;
  stage: string;
  outcome: Outcome;
  key?: string;
  outputs?: Record<string, string>;
  seconds?: number;
  error?: Error;
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

/** The parts of a cache key, kept in the lock so `status --why` can diff them. */
export interface KeyParts {
  stage: string;
  item: Json;
  params: Record<string, Json>;
  inputs: Record<string, string | string[]>;
  code: Fingerprint;
  versions: Record<string, string>;
}

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

/** Runtime versions that change results, for every stage. */
export function runtimeVersions(stage: Stage): Record<string, string> {
  return { deno: Deno.version.deno, ...(stage.versions ?? {}) };
}

export class Engine {
  readonly store: Store;
  readonly #fingerprints = new Map<string, Fingerprint>();

  constructor(
    readonly project: Project,
    private readonly warn: (m: string) => void = console.warn,
  ) {
    this.store = new Store(project.cacheDir, warn);
  }

  /** The stage's code fingerprint, computed once per engine. */
  fingerprint(stage: Stage): Fingerprint {
    let fp = this.#fingerprints.get(stage.name);
    if (!fp) {
      fp = codeFingerprint(
        [stage.module, ...(stage.sources ?? [])],
        this.project.root,
      );
      this.#fingerprints.set(stage.name, fp);
    }
    return fp;
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
      versions: runtimeVersions(instance.stage),
    };
  }

  /** Brings the requested subgraph up to date. Throws PipelineError if anything failed. */
  async reproduce(options: RunOptions): Promise<InstanceResult[]> {
    const graph = buildGraph(this.project.stages, options.params);
    const order = plan(graph, options.targets ?? []);
    // Fingerprint every stage now, so an edit made while the run goes on
    // cannot be recorded under a key that claims the edited code.
    for (const instance of order) this.fingerprint(instance.stage);
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
      const base = { id: instance.id, stage: instance.stage.name };
      const blocked = upstream.find((r) =>
        r.outcome === "failed" || r.outcome === "skipped"
      );
      if (blocked) {
        reporter.state(instance.id, "skipped", `(needs ${blocked.id})`);
        return { ...base, outcome: "skipped" };
      }
      if (upstream.some((r) => r.outcome === "would run")) {
        reporter.state(instance.id, "would run", "(an input will change)");
        return { ...base, outcome: "would run" };
      }
      const inputHashes = inputHashesOf(instance, (u) => resultOf(u));
      const parts = this.keyParts(instance, inputHashes);
      const key = cacheKey(parts);
      const entryOf = (
        outputs: Record<string, string>,
        seconds: number,
      ): LockEntry => ({
        stage: instance.stage.name,
        item: instance.item,
        key,
        params: instance.params,
        inputs: inputHashes,
        code: parts.code.files,
        versions: parts.versions,
        outputs,
        seconds,
      });
      // It may ask for a slot once its cache lookup is done: until then the
      // scheduler holds its grants, so the costliest of the instances that
      // became ready together starts first.
      slots.announce();
      const cached = options.force
        ? undefined
        : await this.store.getRun(key).catch((error) => {
          slots.withdraw();
          throw error;
        });
      if (cached || options.dryRun) slots.withdraw();
      if (cached) {
        reporter.state(instance.id, "cached");
        const previous = entries[instance.id];
        const recorded = previous &&
          previous.key === key &&
          JSON.stringify(previous.outputs) === JSON.stringify(cached.outputs);
        if (!recorded) {
          await saveLock(entryOf(cached.outputs, cached.seconds), instance.id);
        }
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
        const started = performance.now();
        const job = this.makeJob(instance, key, resultOf);
        const outputs = await executor.execute(instance.stage, job, {
          log: (level, message) => reporter.log(instance.id, level, message),
          progress: (done, total) =>
            reporter.progress(instance.id, done, total),
          signal,
        });
        const seconds = (performance.now() - started) / 1000;
        await this.store.putRun(key, {
          outputs,
          seconds,
          finished: new Date().toISOString(),
        });
        await saveLock(entryOf(outputs, seconds), instance.id);
        await Deno.remove(job.scratchDir, { recursive: true }).catch(() => {});
        reporter.state(instance.id, "done", `in ${formatDuration(seconds)}`);
        return { ...base, outcome: "ran", key, outputs, seconds };
      } catch (error) {
        const e = error instanceof Error ? error : new Error(String(error));
        reporter.state(instance.id, "failed", e.message.split("\n")[0]);
        return { ...base, outcome: "failed", key, error: e };
      } finally {
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
   * Fresh or stale for each instance of the requested subgraph, and with
   * reasons: which param (old → new), input, source file or version changed.
   */
  async status(
    experiment: string,
    params: Json,
    targets: string[] = [],
  ): Promise<StatusLine[]> {
    const graph = buildGraph(this.project.stages, params);
    const order = plan(graph, targets);
    const lock = await readLock(this.project.lockPath, this.warn);
    const entries = lock.experiments[experiment] ?? {};
    const lines = new Map<Instance, StatusLine>();
    for (const instance of order) {
      const staleUpstream = Object.values(instance.inputs).flatMap((i) =>
        i.upstream
      )
        .find((u) => !lines.get(u)!.fresh);
      const previous = entries[instance.id];
      if (staleUpstream) {
        lines.set(instance, {
          id: instance.id,
          fresh: false,
          reasons: [`upstream '${staleUpstream.id}' is stale`],
        });
        continue;
      }
      const inputs = inputHashesOf(
        instance,
        (u) => ({
          id: u.id,
          stage: u.stage.name,
          outcome: "cached",
          outputs: lines.get(u)!.outputs!,
        }),
      );
      const parts = this.keyParts(instance, inputs);
      const key = cacheKey(parts);
      const run = await this.store.getRun(key);
      const line: StatusLine = {
        id: instance.id,
        fresh: run !== undefined,
        key,
        reasons: [],
      };
      if (run) line.outputs = run.outputs;
      if (!run) line.reasons = explain(previous, parts, key);
      lines.set(instance, line);
    }
    return order.map((i) => lines.get(i)!);
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
      scratchDir: `${this.project.cacheDir}/scratch/${key}`,
      code: {
        entries: [instance.stage.module, ...(instance.stage.sources ?? [])],
        root: this.project.root,
        files: this.fingerprint(instance.stage).files,
      },
      lineage: ancestors(instance).map((u) => ({
        id: u.id,
        key: resultOf(u).key ?? "",
        seconds: resultOf(u).seconds ?? 0,
        params: u.params,
        versions: runtimeVersions(u.stage),
      })),
    };
  }
}

export interface StatusLine {
  id: string;
  fresh: boolean;
  key?: string;
  outputs?: Record<string, string>;
  reasons: string[];
}

/** What differs between the lock's record of an instance and its key parts now. */
export function explain(
  previous: LockEntry | undefined,
  parts: KeyParts,
  key: string,
): string[] {
  if (!previous) return ["never run"];
  const reasons: string[] = [];
  const show = (v: unknown) => JSON.stringify(v);
  for (
    const path of new Set([
      ...Object.keys(previous.params),
      ...Object.keys(parts.params),
    ])
  ) {
    const before = previous.params[path];
    const after = parts.params[path];
    if (show(before) !== show(after)) {
      reasons.push(`param ${path}: ${show(before)} → ${show(after)}`);
    }
  }
  for (
    const name of new Set([
      ...Object.keys(previous.inputs),
      ...Object.keys(parts.inputs),
    ])
  ) {
    if (show(previous.inputs[name]) !== show(parts.inputs[name])) {
      reasons.push(`input ${name} changed`);
    }
  }
  for (
    const file of new Set([
      ...Object.keys(previous.code),
      ...Object.keys(parts.code.files),
    ])
  ) {
    const before = previous.code[file];
    const after = parts.code.files[file];
    if (before !== after) {
      reasons.push(
        before === undefined
          ? `source ${file} added`
          : after === undefined
          ? `source ${file} no longer imported`
          : `source ${file} changed`,
      );
    }
  }
  for (
    const name of new Set([
      ...Object.keys(previous.versions),
      ...Object.keys(parts.versions),
    ])
  ) {
    if (previous.versions[name] !== parts.versions[name]) {
      reasons.push(
        `version ${name}: ${previous.versions[name] ?? "none"} → ${
          parts.versions[name] ?? "none"
        }`,
      );
    }
  }
  if (reasons.length === 0) {
    reasons.push(
      previous.key === key ? "outputs missing from the cache" : "key changed",
    );
  }
  return reasons;
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

/** Upstream output hashes per input: one hash, or a list for `select: "all"`. */
function inputHashesOf(
  instance: Instance,
  resultOf: (u: Instance) => InstanceResult,
): Record<string, string | string[]> {
  const hashes: Record<string, string | string[]> = {};
  for (const [name, { spec, upstream }] of Object.entries(instance.inputs)) {
    const list = upstream.map((u) => resultOf(u).outputs![spec.output]!);
    hashes[name] = (spec.select ?? "match") === "all" ? list : list[0]!;
  }
  return hashes;
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
