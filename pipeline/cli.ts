/**
 * The command line: `reproduce`, `status`, `dag`, `report` and `publish`.
 * It knows nothing about neural networks: the wiring module hands it the
 * project, an experiment loader and where results go.
 */
import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import type { Json, Stage } from "./stage.ts";
import {
  Engine,
  type InstanceResult,
  PipelineError,
  type Project,
} from "./engine.ts";
import { buildGraph, drawGraph } from "./graph.ts";
import { createReporter, formatDuration } from "./progress.ts";
import { acquireRunLock } from "./run_lock.ts";
import { writeFileAtomic } from "./fs.ts";
import type { Executor } from "./executor.ts";

/** What the wiring module provides. */
export interface CliDefinition {
  project: Project;
  defaultExperiment: string;
  experiments(): string[];
  /** The validated params tree of an experiment with `--set` overrides applied; throws one-line errors. */
  loadExperiment(name: string, sets: string[]): Promise<Json>;
  /** Folder for results (`<outDir>/<experiment>/…`). */
  outDir: string;
  /** Builds a non-local executor by name (e.g. "slurm") from the parsed options. */
  executor?(
    name: string,
    options: Record<string, string | undefined>,
    engine: Engine,
  ): Executor;
}

/** A user error: printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

const HELP: Record<string, string> = {
  reproduce: `deno task reproduce [STAGE...] [options]

Runs what is stale in the requested subgraph (all stages by default) and
prints where the results are.

Options:
  --experiment NAME   experiment file experiments/NAME.json (default: paper)
  --set KEY=VALUE     override a param, e.g. --set train.epochs=5 --set seeds=0,1,2
  --force             rerun every requested instance even if cached
  --dry-run           show what would run, run nothing
  --jobs N            cores' worth of work kept running (default: 3 × the cores)
  --executor NAME     local (default) or slurm
  --partition P, --time HH:MM:SS, --cpus-per-task N   Slurm options
  -h, --help          this help`,
  status:
    `deno task status [STAGE...] [--experiment NAME] [--set KEY=VALUE] [--why]

Lists each stage instance as fresh or stale; with --why, what changed
(which param old → new, which input, which source file).`,
  dag: `deno task dag [--experiment NAME] [--mermaid]

Prints the stage graph (with fan-out counts); --mermaid prints a Mermaid flowchart.`,
  report: `deno task report [--experiment NAME] [--set KEY=VALUE]

Re-renders the charts and the report from cached metrics (runs what is stale
up to the report stage, which after a template edit is only charts and report).`,
  publish: `deno task publish [DIR] [--experiment NAME]

Writes a static folder (index.html, metrics.csv, metrics.json) ready for any
static host, from the report of the experiment (default DIR: publish/NAME).`,
};

const GENERAL =
  `implicit-reg: a reproducible pipeline studying optimizers' implicit regularization

Commands: reproduce, status, dag, report, publish (each answers --help)`;

/** Runs a command line; returns the exit code. */
export async function runCli(
  def: CliDefinition,
  argv: string[],
): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "-h" || command === "--help") {
    console.log(GENERAL);
    return 0;
  }
  if (!(command in HELP)) {
    console.error(
      `Unknown command '${command}': use one of ${
        Object.keys(HELP).join(", ")
      }`,
    );
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        help: { type: "boolean", short: "h" },
        experiment: { type: "string" },
        set: { type: "string", multiple: true },
        force: { type: "boolean" },
        "dry-run": { type: "boolean" },
        jobs: { type: "string" },
        why: { type: "boolean" },
        mermaid: { type: "boolean" },
        executor: { type: "string" },
        partition: { type: "string" },
        time: { type: "string" },
        "cpus-per-task": { type: "string" },
      },
    });
  } catch (error) {
    console.error(
      `${(error as Error).message} (see 'deno task ${command} --help')`,
    );
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(HELP[command]);
    return 0;
  }
  try {
    const experiment = values.experiment ?? def.defaultExperiment;
    if (!def.experiments().includes(experiment)) {
      throw new UsageError(
        `Unknown experiment '${experiment}': use one of ${
          def.experiments().join(", ")
        }`,
      );
    }
    let params: Json;
    try {
      params = await def.loadExperiment(experiment, values.set ?? []);
    } catch (error) {
      // A bad experiment file or --set value is the user's to fix: exit 2.
      throw new UsageError((error as Error).message);
    }
    const engine = new Engine(def.project);
    switch (command) {
      case "dag":
        console.log(
          drawGraph(
            buildGraph(def.project.stages, params),
            values.mermaid ?? false,
          ),
        );
        return 0;
      case "status":
        return await status(
          engine,
          experiment,
          params,
          positionals,
          values.why ?? false,
        );
      case "publish":
        return await publish(def, engine, experiment, params, positionals[0]);
      default: {
        const targets = command === "report" ? ["report"] : positionals;
        const jobs = values.jobs === undefined
          ? undefined
          : parseJobs(values.jobs);
        const executorName = values.executor ?? "local";
        let executor: Executor | undefined;
        if (executorName !== "local") {
          if (!def.executor) {
            throw new UsageError(
              `--executor must be 'local', got '${executorName}'`,
            );
          }
          executor = def.executor(executorName, {
            partition: values.partition,
            time: values.time,
            cpusPerTask: values["cpus-per-task"],
          }, engine);
        }
        return await reproduce(def, engine, experiment, params, {
          targets,
          force: values.force ?? false,
          dryRun: values["dry-run"] ?? false,
          ...(jobs === undefined ? {} : { jobs }),
          ...(executor ? { executor } : {}),
        });
      }
    }
  } catch (error) {
    if (error instanceof PipelineError) {
      console.error(error.message);
      return 1;
    }
    console.error(`error: ${(error as Error).message.split("\n")[0]}`);
    return error instanceof UsageError ? 2 : 1;
  }
}

/**
 * The run's CPU time (user + system of the whole process: getrusage counts
 * every thread, Workers included) over wall time × cores.
 */
export function utilisationLine(
  cpu: { user: number; system: number },
  wallSeconds: number,
  cores: number,
): string {
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return `CPU time ${formatDuration(cpuSeconds)} over ${
    formatDuration(wallSeconds)
  } of wall time on ${cores} cores: utilisation ${
    (cpuSeconds / (wallSeconds * cores)).toFixed(2)
  }`;
}

function parseJobs(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new UsageError(
      `--jobs must be an integer from 1 to 256, got '${text}'`,
    );
  }
  return n;
}

interface ReproduceOptions {
  targets: string[];
  force: boolean;
  dryRun: boolean;
  jobs?: number;
  executor?: Executor;
}

async function reproduce(
  def: CliDefinition,
  engine: Engine,
  experiment: string,
  params: Json,
  options: ReproduceOptions,
): Promise<number> {
  const tty = Deno.stdout.isTerminal();
  const encoder = new TextEncoder();
  const reporter = createReporter(
    (text) => Deno.stdout.writeSync(encoder.encode(text)),
    tty,
  );
  const release = options.dryRun
    ? async () => {}
    : await acquireRunLock(`${def.project.cacheDir}/run.lock`, {
      say: (m) => reporter.line(m),
    });
  const abort = new AbortController();
  const onSignal = () => {
    reporter.line(
      "Interrupted: stopping running instances (finished ones stay cached)",
    );
    abort.abort();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  const started = performance.now();
  const cpu0 = cpuUsage();
  try {
    const results = await engine.reproduce({
      experiment,
      params,
      targets: options.targets,
      force: options.force,
      dryRun: options.dryRun,
      reporter,
      signal: abort.signal,
      ...(options.jobs ? { jobs: options.jobs } : {}),
      ...(options.executor ? { executor: options.executor } : {}),
    });
    const written = options.dryRun
      ? []
      : await writeResultFiles(def, engine, experiment, results);
    const ran = results.filter((r) => r.outcome === "ran").length;
    const cached = results.filter((r) => r.outcome === "cached").length;
    const wouldRun = results.filter((r) => r.outcome === "would run").length;
    console.log(
      options.dryRun
        ? `${wouldRun} instance(s) would run, ${cached} cached`
        : `${ran} instance(s) ran, ${cached} cached, in ${
          ((performance.now() - started) / 1000).toFixed(2)
        } s`,
    );
    if (ran > 0 && !options.executor) {
      console.log(
        utilisationLine(
          cpuUsage(cpu0),
          (performance.now() - started) / 1000,
          navigator.hardwareConcurrency ?? 1,
        ),
      );
    }
    for (const path of written) console.log(`Result: ${path}`);
    return 0;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    await release();
  }
}

/** Writes the declared result files of finished instances into `<outDir>/<experiment>/`. */
async function writeResultFiles(
  def: CliDefinition,
  engine: Engine,
  experiment: string,
  results: InstanceResult[],
): Promise<string[]> {
  const written: string[] = [];
  const byName = new Map<string, Stage>(
    def.project.stages.map((s) => [s.name, s]),
  );
  for (const result of results) {
    const files = byName.get(result.stage)?.files;
    if (!files || !result.outputs) continue;
    for (const [output, fileName] of Object.entries(files)) {
      const bytes = await engine.store.get(result.outputs[output]!);
      if (!bytes) continue;
      const path = `${def.outDir}/${experiment}/${fileName}`;
      await writeFileAtomic(path, bytes);
      written.push(path);
    }
  }
  return written;
}

async function status(
  engine: Engine,
  experiment: string,
  params: Json,
  targets: string[],
  why: boolean,
): Promise<number> {
  const lines = await engine.status(experiment, params, targets);
  for (const line of lines) {
    console.log(`${line.fresh ? "fresh" : "stale"}  ${line.id}`);
    if (why && !line.fresh) {
      for (const reason of line.reasons) console.log(`         ${reason}`);
    }
  }
  const stale = lines.filter((l) => !l.fresh).length;
  console.log(
    `${
      lines.length - stale
    } fresh, ${stale} stale (experiment '${experiment}')`,
  );
  return 0;
}

async function publish(
  def: CliDefinition,
  engine: Engine,
  experiment: string,
  params: Json,
  dir: string | undefined,
): Promise<number> {
  const lines = await engine.status(experiment, params, ["report"]);
  const report = lines.at(-1);
  if (!report?.fresh || !report.outputs) {
    throw new UsageError(
      `The report of '${experiment}' is not up to date: run 'deno task reproduce --experiment ${experiment}' first`,
    );
  }
  const target = dir ?? `publish/${experiment}`;
  const stage = def.project.stages.find((s) => s.name === "report");
  for (const [output, fileName] of Object.entries(stage?.files ?? {})) {
    const bytes = await engine.store.get(report.outputs[output]!);
    if (!bytes) {
      throw new Error(`Report output '${output}' is missing from the cache`);
    }
    await writeFileAtomic(`${target}/${fileName}`, bytes);
  }
  console.log(`Published: ${target}/index.html`);
  return 0;
}
