/**
 * `report --live`: renders the report from what exists while a run goes on
 * (pipeline/live.ts) into `<results>/live/`, beside the final report and
 * never over it, with a banner naming each training shown from its partial
 * record and the epoch it reached.
 */
import type { Engine } from "../engine.ts";
import { liveReproduce, type LiveResult } from "../live.ts";
import type { Json } from "../stage.ts";
import { writeStampedFiles } from "./stamped_files.ts";
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
    // The cached and rendered instances, stamped with their provenance and `live`.
    const written = await writeStampedFiles(engine, results, {
      dir: `${options.resultsDir}/${LIVE_FOLDER}`,
      store,
      live,
      shown: (r) => r.live !== "missing" && r.live !== "partial",
      ...(options.command !== undefined ? { command: options.command } : {}),
    });
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
