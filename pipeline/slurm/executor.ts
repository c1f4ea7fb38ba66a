/**
 * The Slurm executor: each stage instance runs as a task of a Slurm array
 * job (instances of one stage arriving within a short window share one
 * array), on a shared file system holding the content-addressed cache. The
 * job runner (pipeline/job_main.ts) puts outputs into the store itself; this
 * side submits, polls squeue, tails the job logs for progress, verifies the
 * result's objects, cancels on abort, and resubmits jobs lost by the cluster.
 *
 * On a login node, with the project (and so .cache) on a file system the
 * compute nodes mount at the same path, and deno at the same path there:
 *
 *   deno task reproduce --executor slurm --partition short --time 01:00:00
 *
 * Job folders are .cache/slurm/<batch>/<task index>/{job.json,log.txt,result.json};
 * a batch's folder is removed once all its jobs succeeded, kept otherwise.
 */
import type { Stage } from "../stage.ts";
import type { Executor } from "../executor.ts";
import { StageError } from "../executor.ts";
import type { Job, JobHooks } from "../job.ts";
import type { Store } from "../store.ts";
import { exists, readFileIfExists, writeFileAtomic } from "../fs.ts";
import type { JobResult } from "../job_main.ts";
import { type CommandRunner, commandRunner } from "./command.ts";
import { parseSqueue, phaseOf, squeueArgs, type TaskState } from "./squeue.ts";
import {
  batchScript,
  jobPermissions,
  parseSbatchOutput,
  sbatchArgs,
  type SlurmResources,
} from "./sbatch.ts";
import { chunk, decide } from "./policy.ts";
import { parseEvent, readableTail } from "./log_lines.ts";

export interface SlurmExecutorOptions {
  /** The cache (on a file system the compute nodes share, at the same path). */
  store: Store;
  /** Project root: the jobs' working directory, holding deno.json. */
  root: string;
  resources?: SlurmResources;
  /** Runs sbatch, squeue and scancel; a fake one in tests. */
  run?: CommandRunner;
  /** The deno binary on the compute nodes (default: this one's path). */
  deno?: string;
  /** Instances of a stage arriving within this window share one array job (default 300 ms). */
  batchWindowMs?: number;
  /** squeue poll interval (default 300 ms). */
  pollMs?: number;
  /** How long an ended job may take for its result file to appear (default 5 s). */
  graceMs?: number;
  /** Resubmissions of a job lost by the cluster before failing it (default 2). */
  maxResubmits?: number;
  /** Largest array submitted at once (Slurm's default MaxArraySize is 1001). */
  maxArraySize?: number;
  /** Instances in flight when --jobs is not given (default 256). */
  slots?: number;
  /** Lines of a failed job's log quoted in its error (default 20). */
  tailLines?: number;
}

/** One instance on its way through Slurm. */
interface Task {
  stage: Stage;
  job: Job;
  hooks: JobHooks;
  resolve(outputs: Record<string, string>): void;
  reject(error: Error): void;
  settled: boolean;
  /** The run was interrupted: the task waits only for its scancel. */
  aborted: boolean;
  resubmits: number;
  batch?: Batch;
  /** `<arrayJobId>_<index>` once submitted. */
  slurmId?: string;
  /** Folder with job.json, result.json and log.txt. */
  dir?: string;
  logOffset: number;
  endedSince?: number;
  /** The last unusual pending reason reported (e.g. PartitionTimeLimit). */
  pendingReason?: string;
  onAbort(): void;
}

interface Batch {
  dir: string;
  open: number;
  failed: boolean;
}

let sequence = 0;

export class SlurmExecutor implements Executor {
  readonly name = "slurm";
  /** Instances in flight when --jobs is not given: Slurm queues them (many clusters cap a user near 500). */
  readonly slots: number;
  readonly #o: Required<Omit<SlurmExecutorOptions, "resources">> & {
    resources: SlurmResources;
  };
  /** Stage name → instances waiting for their batch window to close. */
  readonly #waiting = new Map<string, Task[]>();
  readonly #active = new Set<Task>();
  #polling = false;
  #squeueWarned = false;
  readonly #cancels: Task[] = [];

  constructor(options: SlurmExecutorOptions) {
    this.#o = {
      run: commandRunner(),
      deno: Deno.execPath(),
      batchWindowMs: 300,
      pollMs: 300,
      graceMs: 5000,
      maxResubmits: 2,
      maxArraySize: 1000,
      tailLines: 20,
      slots: 256,
      resources: {},
      ...options,
    };
    this.slots = this.#o.slots;
  }

  execute(
    stage: Stage,
    job: Job,
    hooks: JobHooks,
  ): Promise<Record<string, string>> {
    return new Promise((resolve, reject) => {
      const task: Task = {
        stage,
        job,
        hooks,
        resolve,
        reject,
        settled: false,
        aborted: false,
        resubmits: 0,
        logOffset: 0,
        onAbort: () => this.#abort(task),
      };
      if (hooks.signal.aborted) return reject(cancelled(job));
      hooks.signal.addEventListener("abort", task.onAbort, { once: true });
      let group = this.#waiting.get(stage.name);
      if (!group) {
        group = [];
        this.#waiting.set(stage.name, group);
        setTimeout(() => this.#flush(stage.name), this.#o.batchWindowMs);
      }
      group.push(task);
    });
  }

  #settle(
    task: Task,
    outcome: { outputs: Record<string, string> } | { error: Error },
  ): void {
    if (task.settled) return;
    task.settled = true;
    this.#active.delete(task);
    task.hooks.signal.removeEventListener("abort", task.onAbort);
    if (task.batch) {
      task.batch.open--;
      if ("error" in outcome) task.batch.failed = true;
      // Logs of successful batches are not kept; a failure's folder stays for inspection.
      if (task.batch.open === 0 && !task.batch.failed) {
        Deno.remove(task.batch.dir, { recursive: true }).catch(() => {});
      }
    }
    if ("error" in outcome) task.reject(outcome.error);
    else task.resolve(outcome.outputs);
  }

  #flush(stageName: string): void {
    const group = this.#waiting.get(stageName) ?? [];
    this.#waiting.delete(stageName);
    for (
      const tasks of chunk(
        group.filter((t) => !t.settled),
        this.#o.maxArraySize,
      )
    ) {
      this.#submit(tasks).catch((error) => {
        for (const task of tasks) this.#settle(task, { error: error as Error });
      });
    }
  }

  /** Writes the job files and the script, then submits them as one array job. */
  async #submit(tasks: Task[]): Promise<void> {
    const stamp = new Date().toISOString().replace(/[-:.]/g, "").slice(0, 15);
    const dir = `${this.#o.store.dir}/slurm/${stamp}-${Deno.pid}-${sequence++}`;
    const batch: Batch = { dir, open: tasks.length, failed: false };
    for (const [index, task] of tasks.entries()) {
      task.dir = `${dir}/${index}`;
      task.batch = batch;
      task.logOffset = 0;
      delete task.endedSince;
      // The log folder must exist before the job starts, or Slurm fails it (JobLaunchFailure).
      await writeFileAtomic(`${task.dir}/job.json`, JSON.stringify(task.job));
    }
    const root = this.#o.root;
    await writeFileAtomic(
      `${dir}/job.sh`,
      batchScript({
        deno: this.#o.deno,
        denoArgs: jobPermissions(root, this.#o.store.dir),
        jobMain: new URL("../job_main.ts", import.meta.url).pathname,
        dir,
        chdir: root,
      }),
    );
    const name = tasks.length === 1
      ? tasks[0]!.job.id
      : `${tasks[0]!.stage.name}-x${tasks.length}`;
    const args = sbatchArgs(this.#o.resources, {
      name,
      count: tasks.length,
      dir,
      chdir: root,
    });
    const out = await this.#o.run("sbatch", args);
    if (out.code !== 0) {
      batch.failed = true;
      throw new Error(
        `sbatch failed (exit ${out.code}): ${
          out.stderr.trim().split("\n").join(" ") || "no message"
        }`,
      );
    }
    const arrayId = parseSbatchOutput(out.stdout);
    for (const [index, task] of tasks.entries()) {
      task.slurmId = `${arrayId}_${index}`;
      if (task.aborted) this.#queueCancel(task); // aborted while sbatch ran
      else {
        this.#active.add(task);
        task.hooks.log(
          "info",
          `submitted as Slurm job ${task.slurmId} (log: ${
            this.#shown(`${task.dir}/log.txt`)
          })`,
        );
      }
    }
    this.#startPolling();
  }

  #startPolling(): void {
    if (this.#polling) return;
    this.#polling = true;
    const loop = async () => {
      while (this.#active.size > 0) {
        await new Promise((r) => setTimeout(r, this.#o.pollMs));
        await this.#poll().catch((error) => {
          for (const task of [...this.#active]) {
            this.#settle(task, { error: error as Error });
          }
        });
      }
      this.#polling = false;
    };
    loop();
  }

  /** One round: squeue for every active array, then each task's log and result. */
  async #poll(): Promise<void> {
    const tasks = [...this.#active];
    if (tasks.length === 0) return;
    const arrays = [...new Set(tasks.map((t) => t.slurmId!.split("_")[0]!))];
    const out = await this.#o.run("squeue", squeueArgs(arrays));
    let states: Map<string, TaskState>;
    if (out.code === 0) states = parseSqueue(out.stdout);
    else if (/invalid job id/i.test(out.stderr)) states = new Map(); // every listed job was purged
    else {
      // A busy or restarting controller: keep waiting, say so once.
      if (!this.#squeueWarned) {
        this.#squeueWarned = true;
        tasks[0]!.hooks.log(
          "warn",
          `squeue failed (exit ${out.code}): ${out.stderr.trim()}; still waiting`,
        );
      }
      return;
    }
    const now = performance.now();
    for (const task of tasks) {
      if (task.settled || task.aborted) continue;
      await this.#readLog(task);
      // A whole array cancelled while pending is listed under its bare id.
      const listed = states.get(task.slurmId!) ??
        states.get(task.slurmId!.split("_")[0]!);
      const state = listed?.state;
      if (state === "PENDING") this.#reportPending(task, listed!.reason);
      const hasResult = await exists(`${task.dir}/result.json`);
      if (!hasResult && (state === undefined || phaseOf(state) !== "waiting")) {
        task.endedSince ??= now;
      } else delete task.endedSince;
      const decision = decide(
        {
          hasResult,
          state,
          endedForMs: task.endedSince === undefined ? 0 : now - task.endedSince,
          resubmits: task.resubmits,
        },
        { graceMs: this.#o.graceMs, maxResubmits: this.#o.maxResubmits },
      );
      if (decision.kind === "wait") continue;
      if (decision.kind === "result") await this.#finish(task);
      else if (decision.kind === "failed") {
        this.#settle(task, { error: await this.#failure(task, decision.why) });
      } else await this.#resubmit(task, decision.why);
    }
  }

  /**
   * Says once why a job waits when the reason is not the usual queueing
   * (e.g. PartitionTimeLimit, QOSMaxJobsPerUserLimit, ReqNodeNotAvail): some
   * never resolve by themselves.
   */
  #reportPending(task: Task, reason: string): void {
    if (["None", "Priority", "Resources", "BeginTime", ""].includes(reason)) {
      return;
    }
    if (task.pendingReason === reason) return;
    task.pendingReason = reason;
    task.hooks.log("warn", `Slurm job ${task.slurmId} is pending: ${reason}`);
  }

  /** Forwards new progress and log events from the job's log to the hooks. */
  async #readLog(task: Task): Promise<void> {
    const fresh = await readFrom(`${task.dir}/log.txt`, task.logOffset);
    if (fresh === undefined) return;
    if (fresh === "truncated") {
      task.logOffset = 0; // Slurm requeued the job: its log starts over
      return;
    }
    const end = fresh.lastIndexOf(10); // only whole lines: the job may be mid-write
    if (end < 0) return;
    task.logOffset += end + 1;
    for (
      const line of new TextDecoder().decode(fresh.subarray(0, end)).split("\n")
    ) {
      const event = parseEvent(line);
      if (event?.type === "progress") {
        task.hooks.progress(event.done, event.total, event.metrics);
      } else if (event?.type === "log") {
        task.hooks.log(event.level, event.message);
      }
    }
  }

  /** Reads the result file; outputs count only if every object is in the store, intact. */
  async #finish(task: Task): Promise<void> {
    await this.#readLog(task);
    let result: JobResult;
    try {
      result = JSON.parse(
        await Deno.readTextFile(`${task.dir}/result.json`),
      ) as JobResult;
    } catch (error) {
      return this.#settle(task, {
        error: await this.#failure(
          task,
          `wrote an unreadable result (${(error as Error).message})`,
        ),
      });
    }
    if ("error" in result) {
      const tail = await this.#tail(task);
      const error = new StageError(
        `${result.error}${tail}`,
        result.name,
        result.stack,
      );
      return this.#settle(task, { error });
    }
    for (const name of task.stage.outputs) {
      const hash = result.outputs?.[name];
      if (typeof hash !== "string" || !(await this.#o.store.has(hash))) {
        const what = typeof hash === "string"
          ? `output '${name}' as object ${
            hash.slice(0, 12)
          }, which is missing from the cache or damaged`
          : `no output '${name}'`;
        return this.#settle(task, {
          error: await this.#failure(
            task,
            `reported ${what}`,
          ),
        });
      }
    }
    const outputs = Object.fromEntries(
      task.stage.outputs.map((n) => [n, result.outputs[n]!]),
    );
    if (result.facts) task.hooks.facts?.(result.facts);
    this.#settle(task, { outputs });
  }

  /** A path relative to the project root when inside it, for shorter lines. */
  #shown(path: string): string {
    const prefix = `${this.#o.root}/`;
    return path.startsWith(prefix) ? path.slice(prefix.length) : path;
  }

  /** An error naming the Slurm job and quoting the end of its log. */
  async #failure(task: Task, why: string): Promise<Error> {
    await this.#readLog(task);
    return new Error(
      `Slurm job ${task.slurmId} ${why}${await this.#tail(task)}`,
    );
  }

  async #tail(task: Task): Promise<string> {
    const path = `${task.dir}/log.txt`;
    const bytes = await readFileIfExists(path);
    const lines = bytes
      ? readableTail(new TextDecoder().decode(bytes), this.#o.tailLines)
      : [];
    const shown = this.#shown(path);
    if (lines.length === 0) return `\n    (log ${shown} is empty or missing)`;
    return `\n    last ${lines.length} line(s) of ${shown}:\n${
      lines.map((l) => `      ${l}`).join("\n")
    }`;
  }

  async #resubmit(task: Task, why: string): Promise<void> {
    this.#active.delete(task);
    if (task.batch) {
      task.batch.open--;
      task.batch.failed = true; // keep the lost attempt's folder for inspection
    }
    task.resubmits++;
    task.hooks.log(
      "warn",
      `Slurm job ${task.slurmId} ${why}: resubmitting (${task.resubmits} of ${this.#o.maxResubmits})`,
    );
    delete task.slurmId;
    delete task.batch;
    await this.#submit([task]).catch((error) =>
      this.#settle(task, { error: error as Error })
    );
  }

  /**
   * Ctrl-C: a task not yet submitted fails at once; a submitted one is
   * cancelled with scancel and fails when scancel has returned, so the run
   * does not end (and exit) with jobs still queued.
   */
  #abort(task: Task): void {
    if (task.settled || task.aborted) return;
    task.aborted = true;
    this.#active.delete(task);
    if (task.slurmId !== undefined) this.#queueCancel(task);
    else if (task.dir === undefined) {
      this.#settle(task, { error: cancelled(task.job) });
    }
    // else: sbatch is running; #submit cancels the task when it returns.
  }

  /** Cancels aborted tasks with one scancel per burst (an abort reaches every task at once). */
  #queueCancel(task: Task): void {
    this.#cancels.push(task);
    if (this.#cancels.length > 1) return;
    setTimeout(async () => {
      const tasks = this.#cancels.splice(0);
      const ids = tasks.map((t) => t.slurmId!);
      const out = await this.#o.run("scancel", ids).catch((e) => ({
        code: 1,
        stdout: "",
        stderr: String(e),
      }));
      if (out.code !== 0) {
        tasks[0]!.hooks.log(
          "warn",
          `scancel ${ids.join(" ")} failed: ${out.stderr.trim()}`,
        );
      }
      for (const t of tasks) this.#settle(t, { error: cancelled(t.job) });
    }, 0);
  }
}

/** The bytes of a file from `offset` on; undefined if missing or not grown, "truncated" if now shorter. */
async function readFrom(
  path: string,
  offset: number,
): Promise<Uint8Array | "truncated" | undefined> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  try {
    const size = (await file.stat()).size;
    if (size < offset) return "truncated";
    if (size === offset) return undefined;
    await file.seek(offset, Deno.SeekMode.Start);
    const bytes = new Uint8Array(size - offset);
    let read = 0;
    while (read < bytes.length) {
      const n = await file.read(bytes.subarray(read));
      if (n === null) break;
      read += n;
    }
    return bytes.subarray(0, read);
  } finally {
    file.close();
  }
}

function cancelled(job: Job): DOMException {
  return new DOMException(`Instance '${job.id}' was cancelled`, "AbortError");
}
