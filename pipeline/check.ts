/**
 * `reproduce --check`, like `nix build --check`: reruns the cached instances
 * of the requested subgraph from their cached inputs, in a scratch area, and
 * compares each output's hash with the cached one. It never writes the cache
 * or the lock file: the reruns' outputs go to a temporary store under
 * `<cacheDir>/check/`, removed at the end, and each rerun gets a fresh
 * scratch folder (so training does not resume from a cached run's state).
 *
 * Every instance is rerun on its cached inputs, not on the rerun of its
 * upstream, so a difference is pinned to the instance that produced it.
 * An instance with no cached outputs for its current key (never run, or its
 * code, params or inputs changed since) cannot be checked: it is reported as
 * "not cached" and the check fails, since a check that skipped part of what
 * was asked must not pass.
 */
import type { Json } from "./stage.ts";
import { buildGraph, type Instance, plan } from "./graph.ts";
import {
  cacheKey,
  type Engine,
  inputHashesOf,
  type InstanceResult,
} from "./engine.ts";
import { LocalExecutor } from "./executor.ts";
import { Store } from "./store.ts";
import { createReporter, formatDuration, type Reporter } from "./progress.ts";

export interface CheckOptions {
  /** The experiment's params tree. */
  params: Json;
  /** Stage names whose subgraph is checked; all when empty. */
  targets?: string[];
  jobs?: number;
  reporter?: Reporter;
  signal?: AbortSignal;
}

/** One output whose rerun hash differs from the cached one. */
export interface OutputDifference {
  output: string;
  cached: string;
  rerun: string;
}

export type CheckOutcome = "same" | "differs" | "not cached" | "failed";

export interface CheckResult {
  id: string;
  stage: string;
  outcome: CheckOutcome;
  key?: string;
  /** For "differs": every output that changed. */
  differences?: OutputDifference[];
  /** For "not cached": why (no outputs under this key, or an upstream not cached). */
  reason?: string;
  error?: Error;
  seconds?: number;
}

/** The cached outputs of every instance in `order`, by the keys they have now. */
async function cachedOutputs(
  engine: Engine,
  order: Instance[],
): Promise<Map<Instance, CheckResult & { outputs?: Record<string, string> }>> {
  const found = new Map<
    Instance,
    CheckResult & { outputs?: Record<string, string> }
  >();
  for (const instance of order) {
    const base = { id: instance.id, stage: instance.stage.name };
    const missing = Object.values(instance.inputs).flatMap((i) => i.upstream)
      .find((u) => !found.get(u)!.outputs);
    if (missing) {
      found.set(instance, {
        ...base,
        outcome: "not cached",
        reason: `its input from '${missing.id}' is not cached`,
      });
      continue;
    }
    const inputs = inputHashesOf(
      instance,
      (u) => asResult(found.get(u)!).outputs!,
    );
    const key = cacheKey(engine.keyParts(instance, inputs));
    const run = await engine.store.getRun(key);
    found.set(
      instance,
      run ? { ...base, outcome: "same", key, outputs: run.outputs } : {
        ...base,
        outcome: "not cached",
        key,
        reason:
          "no cached outputs under its current key (never run, or its code, params or inputs changed)",
      },
    );
  }
  return found;
}

function asResult(
  r: CheckResult & { outputs?: Record<string, string> },
): InstanceResult {
  return {
    id: r.id,
    stage: r.stage,
    outcome: "cached",
    ...(r.key ? { key: r.key } : {}),
    ...(r.outputs ? { outputs: r.outputs } : {}),
  };
}

/**
 * Reruns every cached instance of the requested subgraph and compares its
 * outputs' hashes with the cached ones; returns one result per instance, in
 * plan order. Writes nothing outside a temporary folder it removes.
 */
export async function checkReproduction(
  engine: Engine,
  options: CheckOptions,
): Promise<CheckResult[]> {
  const graph = buildGraph(engine.project.stages, options.params);
  const order = plan(graph, options.targets ?? []);
  // Fingerprints and package versions, as reproduce computes them for keys.
  await engine.prepare(order.map((i) => i.stage));
  const reporter = options.reporter ?? createReporter(() => {}, false);
  const signal = options.signal ?? new AbortController().signal;
  const found = await cachedOutputs(engine, order);
  const scratch = `${engine.project.cacheDir}/check/${crypto.randomUUID()}`;
  const executor = new LocalExecutor(
    new Store(`${scratch}/store`, () => {}),
  );
  const results = new Map<Instance, CheckResult>();
  const queue = order.filter((i) => found.get(i)!.outputs !== undefined);
  for (const instance of order) {
    const r = found.get(instance)!;
    if (r.outputs) reporter.state(instance.id, "queued");
    else {
      reporter.state(instance.id, "skipped", "(not cached)");
      const { outputs: _, ...rest } = r;
      results.set(instance, rest);
    }
  }
  const rerun = (instance: Instance) =>
    rerunOne({ engine, reporter, signal, executor, scratch, found }, instance);
  try {
    const jobs = Math.max(1, options.jobs ?? navigator.hardwareConcurrency);
    await Promise.all(
      Array.from({ length: Math.min(jobs, queue.length) }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) {
          results.set(next, await rerun(next));
        }
      }),
    );
  } finally {
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
    // The check folder itself, once no other check is using it.
    await Deno.remove(`${engine.project.cacheDir}/check`).catch(() => {});
    reporter.close();
  }
  return order.map((i) => results.get(i)!);
}

/** What rerunning one instance needs: where to run it and what the cache held. */
interface RerunContext {
  engine: Engine;
  reporter: Reporter;
  signal: AbortSignal;
  executor: LocalExecutor;
  /** The check's temporary folder. */
  scratch: string;
  found: Map<Instance, CheckResult & { outputs?: Record<string, string> }>;
}

/** Reruns one cached instance from its cached inputs and compares its outputs' hashes. */
async function rerunOne(
  { engine, reporter, signal, executor, scratch, found }: RerunContext,
  instance: Instance,
): Promise<CheckResult> {
  const cached = found.get(instance)!;
  const base = {
    id: instance.id,
    stage: instance.stage.name,
    key: cached.key!,
  };
  reporter.state(instance.id, "running");
  const started = performance.now();
  try {
    signal.throwIfAborted();
    const job = {
      ...engine.makeJob(
        instance,
        cached.key!,
        (u) => asResult(found.get(u)!),
      ),
      // A fresh folder: a cached run's resume state must not be reused.
      scratchDir: `${scratch}/scratch/${cached.key}`,
    };
    const outputs = await executor.execute(instance.stage, job, {
      log: (level, message) => reporter.log(instance.id, level, message),
      progress: (done, total) => reporter.progress(instance.id, done, total),
      signal,
    });
    const seconds = (performance.now() - started) / 1000;
    const differences = outputDifferences(
      instance.stage.outputs,
      cached.outputs!,
      outputs,
    );
    reporter.state(
      instance.id,
      differences.length ? "failed" : "done",
      differences.length
        ? `differs: ${differences.map((d) => d.output).join(", ")}`
        : `same outputs, in ${formatDuration(seconds)}`,
    );
    return differences.length
      ? { ...base, outcome: "differs", differences, seconds }
      : { ...base, outcome: "same", seconds };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    reporter.state(instance.id, "failed", e.message.split("\n")[0]);
    return { ...base, outcome: "failed", error: e };
  }
}

/** The declared outputs whose rerun hash is not the cached one. */
function outputDifferences(
  names: readonly string[],
  cached: Record<string, string>,
  rerun: Record<string, string>,
): OutputDifference[] {
  return names
    .filter((name) => rerun[name] !== cached[name])
    .map((name) => ({
      output: name,
      cached: cached[name]!,
      rerun: rerun[name]!,
    }));
}

/** The check's report, one line per instance and a summary; `ok` when every instance reproduced. */
export function describeCheck(
  results: CheckResult[],
): { lines: string[]; ok: boolean } {
  const short = (hash: string) => hash.slice(0, 12);
  const lines: string[] = [];
  for (const r of results) {
    if (r.outcome === "same") lines.push(`same        ${r.id}`);
    else if (r.outcome === "differs") {
      for (const d of r.differences ?? []) {
        lines.push(
          `DIFFERS     ${r.id}: output '${d.output}' was ${
            short(d.cached)
          }, rerun gives ${short(d.rerun)}`,
        );
      }
    } else if (r.outcome === "failed") {
      lines.push(
        `FAILED      ${r.id}: ${r.error?.message.split("\n")[0] ?? "failed"}`,
      );
    } else lines.push(`not cached  ${r.id}: ${r.reason}`);
  }
  const count = (o: CheckOutcome) =>
    results.filter((r) => r.outcome === o).length;
  const [same, differs, failed, uncached] = [
    count("same"),
    count("differs"),
    count("failed"),
    count("not cached"),
  ];
  const ok = same === results.length;
  const parts = [
    `${same} of ${results.length} instance(s) reproduced their cached outputs bit for bit`,
    ...(differs ? [`${differs} differ`] : []),
    ...(failed ? [`${failed} failed to rerun`] : []),
    ...(uncached
      ? [`${uncached} not cached (run 'deno task reproduce' first)`]
      : []),
  ];
  lines.push(parts.join("; "));
  return { lines, ok };
}
