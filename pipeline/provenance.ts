/**
 * Run provenance for files written out of the cache: each instance's wall
 * time, end, host and timings, read back from the run cache by key. These
 * never enter an output's bytes (outputs hold results only, so their hashes
 * confirm a reproduction); a stage's `stamp` adds them to the written copy.
 */
import type { RunProvenance, RunRecord, Stage } from "./stage.ts";
import type { Store } from "./store.ts";

/** An instance as the CLI knows it after a run or a status walk. */
export interface KeyedInstance {
  id: string;
  key?: string;
}

/** The run cache's record of an instance; seconds NaN when the cache has none. */
export async function runRecord(
  store: Store,
  instance: KeyedInstance,
): Promise<RunRecord> {
  const key = instance.key ?? "";
  const run = key ? await store.getRun(key) : undefined;
  return {
    id: instance.id,
    key,
    seconds: run?.seconds ?? NaN,
    ...(run?.finished === undefined ? {} : { finished: run.finished }),
    ...(run?.host === undefined ? {} : { host: run.host }),
    ...(run?.timings === undefined ? {} : { timings: run.timings }),
  };
}

/** The run records of an instance and of its lineage (post-order). */
export async function runProvenance(
  store: Store,
  instance: KeyedInstance,
  lineage: KeyedInstance[],
): Promise<RunProvenance> {
  const records: RunRecord[] = [];
  for (const u of lineage) records.push(await runRecord(store, u));
  return { instance: await runRecord(store, instance), lineage: records };
}

/** The bytes to write for a stage's output file: stamped when the stage stamps. */
export async function fileBytes(
  stage: Stage,
  output: string,
  bytes: Uint8Array,
  provenance: () => Promise<RunProvenance>,
): Promise<Uint8Array> {
  return stage.stamp ? stage.stamp(output, bytes, await provenance()) : bytes;
}
