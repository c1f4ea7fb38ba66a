/**
 * What to do with a submitted task at each poll: pure, so the retry policy is
 * tested without a cluster.
 */
import { phaseOf } from "./squeue.ts";

export interface TaskView {
  /** The job runner wrote its result file. */
  hasResult: boolean;
  /** Slurm's state, or undefined when squeue no longer lists the task. */
  state: string | undefined;
  /** Milliseconds since the task was first seen ended (or unlisted) without a result file. */
  endedForMs: number;
  /** Resubmissions so far. */
  resubmits: number;
}

export interface PolicyLimits {
  /** How long an ended task may wait for its result file to appear (shared file systems lag). */
  graceMs: number;
  maxResubmits: number;
}

export type Decision =
  | { kind: "wait" }
  | { kind: "result" }
  | { kind: "failed"; why: string }
  | { kind: "resubmit"; why: string };

/**
 * A result file settles the task, whatever the state. Otherwise a queued or
 * running task waits; an ended one waits out the grace period, then fails
 * (its own fault: exit code, time, memory, cancelled) or, when lost (node
 * failure, launch failure, preempted, vanished from squeue, ended without a
 * result), is resubmitted up to `maxResubmits` times.
 */
export function decide(view: TaskView, limits: PolicyLimits): Decision {
  if (view.hasResult) return { kind: "result" };
  const phase = view.state === undefined ? "lost" : phaseOf(view.state);
  if (phase === "waiting") return { kind: "wait" };
  if (view.endedForMs < limits.graceMs) return { kind: "wait" };
  if (phase === "failed") {
    return { kind: "failed", why: `ended ${view.state} without a result` };
  }
  const why = view.state === undefined
    ? "vanished from squeue without a result"
    : phase === "completed"
    ? "ended COMPLETED but wrote no result"
    : `was lost (${view.state})`;
  if (view.resubmits < limits.maxResubmits) return { kind: "resubmit", why };
  return {
    kind: "failed",
    why: `${why}, after ${view.resubmits} resubmission(s)`,
  };
}

/** Splits `items` into chunks of at most `size` (Slurm caps array sizes, MaxArraySize). */
export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(items.slice(i, i + size));
  }
  return out;
}
