/**
 * Job states from `squeue -h -t all -j IDS -o '%i|%T|%r'`, one line per task
 * or per still-pending range of an array (`12_[0-3,7%2]|PENDING|None`).
 * The text form is used rather than `--json` because Slurm 22.05's `--json`
 * ignores `-j` and dumps every job on the cluster (measured), too heavy to
 * poll every few hundred milliseconds on a shared cluster.
 */

/** The squeue arguments that list the given array jobs' tasks in any state. */
export function squeueArgs(arrayJobIds: string[]): string[] {
  return ["-h", "-t", "all", "-j", arrayJobIds.join(","), "-o", "%i|%T|%r"];
}

export interface TaskState {
  /** Slurm's state name, e.g. PENDING, RUNNING, COMPLETED, FAILED, NODE_FAIL. */
  state: string;
  reason: string;
}

/** Task id → state, keyed `<arrayJobId>_<taskIndex>`; array ranges are expanded. */
export function parseSqueue(text: string): Map<string, TaskState> {
  const states = new Map<string, TaskState>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    const [id, state, reason = ""] = line.split("|");
    if (id === undefined || state === undefined || state === "") {
      throw new Error(
        `Unexpected squeue line '${line}': expected 'JOBID|STATE|REASON'`,
      );
    }
    // Slurm suffixes states like "CANCELLED by 0"; keep the word.
    const entry = { state: state.split(" ")[0]!, reason };
    for (const taskId of expandJobId(id)) states.set(taskId, entry);
  }
  return states;
}

/**
 * `12_3` → [`12_3`]; `12_[0-2,5%4]` → [`12_0`, `12_1`, `12_2`, `12_5`];
 * a plain `12` (not an array) → [`12`].
 */
export function expandJobId(id: string): string[] {
  const match = /^(\d+)_\[([^\]]*)\]$/.exec(id);
  if (!match) return [id];
  const [, job, spec] = match;
  const tasks: string[] = [];
  for (const part of spec!.split("%")[0]!.split(",")) {
    const range = /^(\d+)(?:-(\d+))?(?::(\d+))?$/.exec(part);
    if (!range) {
      throw new Error(
        `Unexpected array range '${part}' in squeue job id '${id}'`,
      );
    }
    const from = Number(range[1]);
    const to = range[2] === undefined ? from : Number(range[2]);
    const step = range[3] === undefined ? 1 : Number(range[3]);
    for (let i = from; i <= to; i += step) tasks.push(`${job}_${i}`);
  }
  return tasks;
}

/** How the executor treats a state. */
export type StatePhase = "waiting" | "completed" | "failed" | "lost";

/**
 * Waiting (queued, running, being requeued), completed, failed (the job
 * itself ended badly: exit code, time limit, memory, cancelled), or lost (the
 * node or the launch failed, not the job: worth resubmitting).
 */
export function phaseOf(state: string): StatePhase {
  switch (state) {
    case "COMPLETED":
      return "completed";
    case "FAILED":
    case "TIMEOUT":
    case "OUT_OF_MEMORY":
    case "CANCELLED":
    case "DEADLINE":
      return "failed";
    case "NODE_FAIL":
    case "BOOT_FAIL":
    case "PREEMPTED":
    case "REVOKED":
      return "lost";
    default:
      // PENDING, CONFIGURING, RUNNING, COMPLETING, REQUEUED, RESIZING, SUSPENDED, STOPPED, …
      return "waiting";
  }
}
