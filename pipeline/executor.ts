/**
 * Executors run jobs. The local one runs light stages in the engine's thread
 * and heavy ones (training) in a Worker each, so two trainings use two cores.
 * Every executor returns the hashes of outputs it has put into the store.
 */
import type { Stage } from "./stage.ts";
import { type Job, type JobHooks, runJob } from "./job.ts";
import type { Store } from "./store.ts";

export interface Executor {
  readonly name: string;
  /** Instances at once when --jobs is not given (default: the cores here); a cluster queues many. */
  readonly slots?: number;
  /** Runs the job and stores its outputs; resolves to output name → object hash. */
  execute(
    stage: Stage,
    job: Job,
    hooks: JobHooks,
  ): Promise<Record<string, string>>;
}

/** An error raised inside a stage, carried across the Worker boundary with its name. */
export class StageError extends Error {
  constructor(
    message: string,
    readonly causeName: string,
    readonly causeStack: string,
  ) {
    super(message);
    this.name = "StageError";
  }
}

export class LocalExecutor implements Executor {
  readonly name = "local";
  constructor(private readonly store: Store) {}

  async execute(
    stage: Stage,
    job: Job,
    hooks: JobHooks,
  ): Promise<Record<string, string>> {
    const outputs = stage.heavy
      ? await runInWorker(job, hooks)
      : await runJob(stage, job, hooks, this.store.fs);
    const hashes: Record<string, string> = {};
    for (const name of stage.outputs) {
      hashes[name] = await this.store.put(outputs[name]!);
    }
    return hashes;
  }
}

/** How long a cancelled Worker may take to stop on its own before it is terminated. */
export const ABORT_GRACE_MS = 10_000;

/**
 * Runs a job in a fresh module Worker (it inherits this process's
 * permissions). On abort the Worker is told first, so the stage stops at its
 * next check (the training loop's `throwIfAborted`, between steps) with its
 * resume state saved; one that does not stop within ABORT_GRACE_MS is
 * terminated.
 */
function runInWorker(
  job: Job,
  hooks: JobHooks,
): Promise<Record<string, Uint8Array>> {
  const cancelled = () =>
    new DOMException(`Instance '${job.id}' was cancelled`, "AbortError");
  if (hooks.signal.aborted) return Promise.reject(cancelled());
  const worker = new Worker(new URL("./worker.ts", import.meta.url), {
    type: "module",
  });
  return new Promise((resolve, reject) => {
    let grace: ReturnType<typeof setTimeout> | undefined;
    const onAbort = () => {
      worker.postMessage({ abort: true });
      grace = setTimeout(() => {
        finish();
        reject(cancelled());
      }, ABORT_GRACE_MS);
    };
    hooks.signal.addEventListener("abort", onAbort, { once: true });
    const finish = () => {
      clearTimeout(grace);
      hooks.signal.removeEventListener("abort", onAbort);
      worker.terminate();
    };
    worker.onmessage = (event) => {
      const message = event.data;
      if (message.type === "log") hooks.log(message.level, message.message);
      else if (message.type === "progress") {
        hooks.progress(message.done, message.total, message.metrics);
      } else if (message.type === "partial") {
        hooks.partial?.(message.name, message.data);
      } else if (message.type === "facts") hooks.facts?.(message.facts);
      else if (message.type === "done") {
        finish();
        resolve(message.outputs);
      } else if (message.type === "error") {
        finish();
        reject(
          hooks.signal.aborted
            ? cancelled()
            : new StageError(message.message, message.name, message.stack),
        );
      }
    };
    worker.onerror = (event) => {
      event.preventDefault();
      finish();
      reject(new StageError(event.message, "Error", ""));
    };
    worker.postMessage({ job });
  });
}
