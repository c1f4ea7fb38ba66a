/**
 * `report --live`: renders the report from what exists while a run goes on
 * (pipeline/live.ts) into `<results>/live/`, beside the final report and
 * never over it, with a banner naming each training shown from its partial
 * record and the epoch it reached.
 */
import type { Engine } from "../engine.ts";
import { liveReproduce, type LiveResult } from "../live.ts";
import type { Json, RunContext, Stage } from "../stage.ts";
import {
  commandLine,
  fileBytes,
  runContext,
  runProvenance,
} from "../provenance.ts";
import { writeFileAtomic } from "../fs.ts";
import type { Store } from "../store.ts";
import { UsageError } from "../usage_error.ts";
import type { Reporter } from "../progress.ts";

/** The folder a live view is written to, inside the results folder. */
export const LIVE_FOLDER = "live";

export interface LiveReportOptions {
  experiment: string;
  params: Json;
  /** The results folder of the experiment (or variant). */
  resultsDir: string;
  /** Stages to render, e.g. ["charts", "report"]. */
  targets: string[];
  reporter: Reporter;
  /** The command line for the provenance (default: this process's). */
  command?: string;
}

/** Renders and writes the live view; returns the paths written and the instances shown from partials. */
export async function writeLiveReport(
  engine: Engine,
  options: LiveReportOptions,
): Promise<{ written: string[]; partial: LiveResult[] }> {
  const { results, store, dir } = await liveReproduce(engine, {
    experiment: options.experiment,
    params: options.params,
    targets: options.targets,
    log: (id, level, message) => options.reporter.log(id, level, message),
  });
  try {
    checkShowable(options.experiment, results);
    const partial = results.filter((r) => r.live === "partial");
    const live = partial.map((r) => ({
      id: r.id,
      done: r.progress?.done ?? 0,
      total: r.progress?.total ?? 0,
    }));
    const written = await writeShown(engine, options, results, store, live);
    return { written, partial };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Refuses a view whose last target has nothing to show, saying what is there. */
function checkShowable(experiment: string, results: LiveResult[]): void {
  const target = results.at(-1);
  if (target && target.live !== "missing") return;
  const running = results.filter((r) => r.live === "partial").length;
  throw new UsageError(
    `Nothing to show yet for '${experiment}': ${
      running
        ? `${running} training(s) have published partial records, but`
        : "no training has published a partial record and"
    } ${
      target?.id ?? "the report"
    } needs what is not there (run 'deno task reproduce --experiment ${experiment}' and try again in a few epochs)`,
  );
}

/** Writes the result files of the cached and rendered instances into live/, stamped with their provenance and `live`. */
async function writeShown(
  engine: Engine,
  options: LiveReportOptions,
  results: LiveResult[],
  store: Store,
  live: Array<{ id: string; done: number; total: number }>,
): Promise<string[]> {
  const byName = new Map<string, Stage>(
    engine.project.stages.map((s) => [s.name, s]),
  );
  const byId = new Map(results.map((r) => [r.id, r]));
  let context: Promise<RunContext> | undefined;
  const written: string[] = [];
  for (const result of results) {
    const stage = byName.get(result.stage);
    if (!stage?.files || !result.outputs) continue;
    if (result.live === "missing" || result.live === "partial") continue;
    for (const [output, fileName] of Object.entries(stage.files)) {
      const hash = result.outputs[output];
      const bytes = hash === undefined ? undefined : await store.get(hash);
      if (!bytes) continue;
      const stamped = await fileBytes(
        stage,
        output,
        bytes,
        async () =>
          runProvenance(
            engine.store,
            result,
            (result.lineage ?? []).map((id) => byId.get(id) ?? { id }),
            {
              context: await (context ??= runContext(
                options.command ?? commandLine(),
                engine.project.root,
              )),
              live,
            },
          ),
      );
      const path = `${options.resultsDir}/${LIVE_FOLDER}/${fileName}`;
      await writeFileAtomic(path, stamped);
      written.push(path);
    }
  }
  return written;
}
