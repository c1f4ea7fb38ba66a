/**
 * What is submitted: one batch script per array job whose task index picks
 * the job file, and the sbatch arguments (resources, name, log file).
 */
import { UsageError } from "../cli.ts";

/** Resources asked of Slurm for every job; all optional (the cluster's defaults apply). */
export interface SlurmResources {
  partition?: string;
  /** Wall-time limit as Slurm reads it, e.g. "01:30:00" or "2-00:00:00". */
  time?: string;
  cpusPerTask?: number;
}

export interface ArraySubmission {
  /** Job name shown by squeue: the instance id, or the stage name and count for a batch. */
  name: string;
  /** Number of tasks: the array is 0..count-1. */
  count: number;
  /** Folder holding `job.sh` and one subfolder per task index (`0/job.json`, …). */
  dir: string;
  /** Working directory of the job (the project root). */
  chdir: string;
}

/** The sbatch argument list for an array submission (sbatch reads the script file last). */
export function sbatchArgs(
  resources: SlurmResources,
  sub: ArraySubmission,
): string[] {
  if (!Number.isInteger(sub.count) || sub.count < 1) {
    throw new Error(`Array size must be a positive integer, got ${sub.count}`);
  }
  const args = [
    "--parsable",
    `--array=0-${sub.count - 1}`,
    `--job-name=${sub.name}`,
    // %a is the task index: each task logs into its own folder, which exists before submission.
    `--output=${sub.dir}/%a/log.txt`,
    `--chdir=${sub.chdir}`,
  ];
  if (resources.partition !== undefined) {
    args.push(`--partition=${resources.partition}`);
  }
  if (resources.time !== undefined) args.push(`--time=${resources.time}`);
  if (resources.cpusPerTask !== undefined) {
    args.push(`--cpus-per-task=${resources.cpusPerTask}`);
  }
  args.push(`${sub.dir}/job.sh`);
  return args;
}

/** The array job id printed by `sbatch --parsable` ("12" or "12;cluster"). */
export function parseSbatchOutput(stdout: string): string {
  const id = stdout.trim().split(";")[0] ?? "";
  if (!/^\d+$/.test(id)) {
    throw new Error(`sbatch printed '${stdout.trim()}', expected a job id`);
  }
  return id;
}

/** Single-quotes a word for sh. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'"'"'`)}'`;
}

/** The batch script: runs the job runner on `<dir>/<task index>/job.json`. */
export function batchScript(
  options: {
    deno: string;
    denoArgs: string[];
    jobMain: string;
    dir: string;
    chdir: string;
  },
): string {
  const task = `${shellQuote(options.dir)}/"$SLURM_ARRAY_TASK_ID"`;
  return [
    "#!/bin/sh",
    "# Written by implicit-reg's Slurm executor: one stage instance per array task.",
    `cd ${shellQuote(options.chdir)} || exit 1`,
    `exec ${
      [options.deno, "run", ...options.denoArgs, options.jobMain].map(
        shellQuote,
      ).join(" ")
    } ${task}/job.json ${task}/result.json`,
    "",
  ].join("\n");
}

/**
 * Deno permissions of a job: the same scope as `deno task reproduce` minus
 * what only the engine needs — read the project, its cache and the Debian
 * dataset folder, write only the cache (objects, scratch, result files).
 */
export function jobPermissions(root: string, cacheDir: string): string[] {
  const reads = [...new Set([root, cacheDir, "/usr/share/datasets"])];
  return [
    "--no-prompt",
    `--config=${root}/deno.json`,
    `--allow-read=${reads.join(",")}`,
    `--allow-write=${cacheDir}`,
    "--allow-net=ossci-datasets.s3.amazonaws.com,storage.googleapis.com,fashion-mnist.s3-website.eu-central-1.amazonaws.com",
    "--allow-sys=hostname",
  ];
}

/** Checks --partition, --time and --cpus-per-task; throws a one-line UsageError naming the field. */
export function parseResources(
  options: Record<string, string | undefined>,
): SlurmResources {
  const resources: SlurmResources = {};
  const { partition, time, cpusPerTask } = options;
  if (partition !== undefined) {
    if (!/^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$/.test(partition)) {
      throw new UsageError(
        `--partition must be a partition name (letters, digits, _ . -; comma-separated for several), got '${partition}'`,
      );
    }
    resources.partition = partition;
  }
  if (time !== undefined) {
    if (
      !/^(\d+-)?\d{1,2}:\d{2}:\d{2}$/.test(time) || /:[6-9]\d(:|$)/.test(time)
    ) {
      throw new UsageError(
        `--time must be HH:MM:SS or D-HH:MM:SS (minutes and seconds below 60), got '${time}'`,
      );
    }
    resources.time = time;
  }
  if (cpusPerTask !== undefined) {
    const n = Number(cpusPerTask);
    if (!/^\d+$/.test(cpusPerTask) || n < 1 || n > 1024) {
      throw new UsageError(
        `--cpus-per-task must be an integer from 1 to 1024, got '${cpusPerTask}'`,
      );
    }
    resources.cpusPerTask = n;
  }
  return resources;
}
