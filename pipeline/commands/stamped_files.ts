/**
 * Writing the declared result files of finished instances, each stamped with
 * its provenance when its stage stamps (Stage.stamp): the commit, date and
 * command, the wall times and hosts join the written copy only, never the
 * cached bytes. Shared by `reproduce`/`report` and `report --live`.
 */
import type { Engine, InstanceResult } from "../engine.ts";
import { writeFileAtomic } from "../fs.ts";
import {
  commandLine,
  fileBytes,
  runContext,
  runProvenance,
} from "../provenance.ts";
import type { RunContext, RunProvenance, Stage } from "../stage.ts";
import type { Store } from "../store.ts";

export interface StampedFilesOptions<R extends InstanceResult> {
  /** The folder the files go to. */
  dir: string;
  /** Where the outputs are read from (default: the engine's cache). */
  store?: Store;
  /** The command line for the provenance (default: this process's). */
  command?: string;
  /** The partial records shown, for a live view's provenance. */
  live?: RunProvenance["live"];
  /** Which results to write (default: all); the others still name lineage. */
  shown?: (result: R) => boolean;
}

/** Writes each shown result's declared files into `dir`, stamped; returns the paths written. */
export async function writeStampedFiles<R extends InstanceResult>(
  engine: Engine,
  results: R[],
  options: StampedFilesOptions<R>,
): Promise<string[]> {
  const store = options.store ?? engine.store;
  const byName = new Map<string, Stage>(
    engine.project.stages.map((s) => [s.name, s]),
  );
  const byId = new Map(results.map((r) => [r.id, r]));
  let context: Promise<RunContext> | undefined;
  /** The provenance of one result, the run context read once for all. */
  const provenance = async (result: R) =>
    runProvenance(
      engine.store,
      result,
      (result.lineage ?? []).map((id) => byId.get(id) ?? { id }),
      {
        context: await (context ??= runContext(
          options.command ?? commandLine(),
          engine.project.root,
        )),
        ...(options.live ? { live: options.live } : {}),
      },
    );
  const written: string[] = [];
  for (const result of results) {
    const stage = byName.get(result.stage);
    if (!stage?.files || !result.outputs) continue;
    if (options.shown && !options.shown(result)) continue;
    for (const [output, fileName] of Object.entries(stage.files)) {
      const hash = result.outputs[output];
      const bytes = hash === undefined ? undefined : await store.get(hash);
      if (!bytes) continue;
      const path = `${options.dir}/${fileName}`;
      await writeFileAtomic(
        path,
        await fileBytes(stage, output, bytes, () => provenance(result)),
      );
      written.push(path);
    }
  }
  return written;
}
