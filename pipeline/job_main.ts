/**
 * Runs one stage instance as its own process, e.g. as a Slurm job:
 *
 *   deno run <scoped permissions> pipeline/job_main.ts JOBFILE RESULTFILE
 *
 * Reads the Job (plain JSON), runs the stage, puts each output into the store
 * at job.storeDir (atomic, content-addressed), then writes
 * `{ "outputs": { name: hash }, "facts": { host, timings } }` or `{ "error": message, … }` to RESULTFILE
 * through a temp file and a rename. Progress and log events go to stdout as
 * JSON lines (see slurm/log_lines.ts). Exit code 0 on success, 1 on a stage
 * error, 2 on bad arguments.
 */
import {
  checkJobCode,
  findStage,
  type Job,
  mergeFacts,
  type RunFacts,
  runJob,
} from "./job.ts";
import { Store } from "./store.ts";
import { writeFileAtomic } from "./fs.ts";
import { formatEvent, type JobEvent } from "./slurm/log_lines.ts";

/** What a job leaves for the executor. */
export type JobResult =
  | { outputs: Record<string, string>; facts?: RunFacts }
  | { error: string; name: string; stack: string };

const emit = (event: JobEvent) => console.log(formatEvent(event));

/** Runs the job described in `jobFile` and returns its result (outputs stored). */
export async function runJobFile(
  jobFile: string,
  signal: AbortSignal,
): Promise<JobResult> {
  try {
    const job = JSON.parse(await Deno.readTextFile(jobFile)) as Job;
    await checkJobCode(job);
    const stage = findStage(
      await import(job.module),
      job.stageName,
      job.module,
    );
    let facts: RunFacts = {};
    const outputs = await runJob(stage, job, {
      log: (level, message) => emit({ type: "log", level, message }),
      progress: (done, total) => emit({ type: "progress", done, total }),
      facts: (more) => facts = mergeFacts(facts, more),
      signal,
    });
    const store = new Store(
      job.storeDir,
      (message) => emit({ type: "log", level: "warn", message }),
    );
    const hashes: Record<string, string> = {};
    for (const name of stage.outputs) {
      hashes[name] = await store.put(outputs[name]!);
    }
    return { outputs: hashes, facts };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    return { error: e.message, name: e.name, stack: e.stack ?? "" };
  }
}

if (import.meta.main) {
  const [jobFile, resultFile, ...extra] = Deno.args;
  if (jobFile === undefined || resultFile === undefined || extra.length > 0) {
    console.error(
      "usage: deno run <permissions> pipeline/job_main.ts JOBFILE RESULTFILE",
    );
    Deno.exit(2);
  }
  const abort = new AbortController();
  // scancel and time limits send SIGTERM before SIGKILL: let the stage stop cleanly.
  Deno.addSignalListener("SIGTERM", () => abort.abort());
  const result = await runJobFile(jobFile, abort.signal);
  if ("error" in result && abort.signal.aborted) {
    result.error =
      `Terminated by SIGTERM (the --time limit or scancel): ${result.error}`;
  }
  if ("error" in result) console.error(`${result.name}: ${result.error}`);
  await writeFileAtomic(resultFile, JSON.stringify(result));
  Deno.exit("error" in result ? 1 : 0);
}
