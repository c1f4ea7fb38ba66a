/**
 * One experiment's state for the researcher's commands (`experiments`,
 * `diff`): fresh, stale or never run, and the cached bytes of one result
 * output (e.g. the metrics document). A thin adapter over the engine's
 * staleness (`Engine.status`), so the commands follow it when it changes.
 */
import type { Engine, StatusLine } from "../engine.ts";
import { readLock } from "../lock.ts";
import type { Json } from "../stage.ts";

export type State = "fresh" | "stale" | "never run";

export interface ExperimentState {
  state: State;
  /** Instances in the experiment's graph, and how many of them are not cached. */
  total: number;
  stale: number;
  lines: StatusLine[];
}

/** Fresh when every instance is cached for the current params and code; never run when the lock has no entry for it. */
export async function experimentState(
  engine: Engine,
  experiment: string,
  params: Json,
): Promise<ExperimentState> {
  const lines = await engine.status(experiment, params);
  const stale = lines.filter((l) => !l.fresh).length;
  const lock = await readLock(engine.project.lockPath, () => {});
  const recorded = Object.keys(lock.experiments[experiment] ?? {}).length > 0;
  const state: State = stale === 0
    ? "fresh"
    : recorded || stale < lines.length
    ? "stale"
    : "never run";
  return { state, total: lines.length, stale, lines };
}

/** Where a result output comes from: one output of one (not fanned-out) stage. */
export interface ResultOutput {
  stage: string;
  output: string;
}

/** A result's bytes, and whether they belong to the current params and code. */
export interface CachedResult {
  bytes: Uint8Array;
  /** False when they are the lock's last recorded ones, from older params or code. */
  fresh: boolean;
}

/**
 * The result output of an experiment: the current one when cached, else the
 * one the lock last recorded if the cache still holds it, else undefined.
 */
export async function cachedResult(
  engine: Engine,
  experiment: string,
  state: ExperimentState,
  result: ResultOutput,
): Promise<CachedResult | undefined> {
  const line = state.lines.find((l) => l.id === result.stage);
  const current = line?.fresh ? line.outputs?.[result.output] : undefined;
  if (current) {
    const bytes = await engine.store.get(current);
    if (bytes) return { bytes, fresh: true };
  }
  const lock = await readLock(engine.project.lockPath, () => {});
  const recorded = lock.experiments[experiment]?.[result.stage]
    ?.outputs[result.output];
  if (!recorded) return undefined;
  const bytes = await engine.store.get(recorded);
  return bytes ? { bytes, fresh: false } : undefined;
}
