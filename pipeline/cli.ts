/**
 * The command line: `reproduce`, `status`, `dag`, `report` and `publish`,
 * plus the commands the wiring module adds (`commands`, each in its own
 * module under pipeline/commands/ or stages/commands/). It knows nothing
 * about neural networks: the wiring module hands it the project, an
 * experiment loader and where results go.
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
import { readRunning, RunningFile, runningPath } from "./running.ts";
import { absolutePath, writeFileAtomic } from "./fs.ts";
import { fileBytes, runProvenance } from "./provenance.ts";
import { checkReproduction, describeCheck } from "./check.ts";
import type { Executor } from "./executor.ts";
import {
  resultsDir,
  type Target,
  VARIANT_FILE,
  variantName,
  type VariantRecord,
} from "./commands/variant.ts";
import { checkForceStages, needCached } from "./commands/guards.ts";
import { UsageError } from "./usage_error.ts";

export { UsageError };

/** What the wiring module provides. */
export interface CliDefinition {
  project: Project;
  defaultExperiment: string;
  experiments(): string[];
  /** The validated params tree of an experiment with `--set` overrides applied; throws one-line errors. */
  loadExperiment(name: string, sets: string[]): Promise<Json>;
  /** Folder for results (`<outDir>/<experiment>/…`). */
  outDir: string;
  /** More commands, by name: each parses its own arguments and answers --help. */
  commands?: Record<string, Command>;
  /**
   * The stages `report` reruns (default: only "report"); everything they
   * read must already be cached, or `report` says what is missing.
   */
  reportStages?: string[];
  /**
   * The command line that runs `task` with `args` and may also write `dir`
   * (a task's permissions are fixed in deno.json): quoted in the error when a
   * command is asked to write outside them.
   */
  commandWriting?(task: string, dir: string, args: string[]): string;
  /** Builds a non-local executor by name (e.g. "slurm") from the parsed options. */
  executor?(
    name: string,
    options: Record<string, string | undefined>,
    engine: Engine,
  ): Executor;
}

/** A command in its own module: its help text and its run function (returns the exit code). */
export interface Command {
  help: string;
  run(def: CliDefinition, args: string[]): Promise<number>;
}

const HELP: Record<string, string> = {
  reproduce: `deno task reproduce [STAGE...] [options]

Runs what is stale in the requested subgraph (all stages by default) and
prints where the results are.

Options:
  --experiment NAME   experiment file experiments/NAME.json (default: paper)
  --set KEY=VALUE     override a param, e.g. --set train.epochs=5 --set seeds=0,1,2
  --force             rerun every requested instance even if cached
  --force-stage S     rerun only stage S (or instance id S), not its upstream;
                      repeatable
  --dry-run           show what would run, run nothing
  --check             rerun the cached instances (each from its cached inputs,
                      in a scratch folder) and compare every output's hash with
                      the cached one, like 'nix build --check'; names each
                      instance and output that differs. Caches nothing and
                      leaves the lock file alone. Exit 0 when all match, 1 when
                      one differs, fails, or is not cached yet (run reproduce
                      first: what is not cached cannot be checked)
  --jobs N            cores' worth of work kept running (default: 3 × the cores)
  --executor NAME     local (default) or slurm
  --partition P, --time HH:MM:SS, --cpus-per-task N   Slurm options
  -h, --help          this help`,
  status:
    `deno task status [STAGE...] [--experiment NAME] [--set KEY=VALUE] [--why]

Lists each stage instance as fresh, stale, waiting (reruns only if an
upstream that will run changes its outputs) or running (in another
reproduce); with --why, what changed: each param path old → new (per
optimizer, e.g. optimizers[adam].lr), input, source file and version.`,
  dag: `deno task dag [--experiment NAME] [--mermaid]

Prints the stage graph (with fan-out counts); --mermaid prints a Mermaid flowchart.`,
  report: `deno task report [--experiment NAME] [--set KEY=VALUE]

Re-renders the charts and the report from cached metrics. It never trains:
when something upstream is not cached it says what, and how to compute it.
Results go to reports/out/NAME/ (a --set variant: reports/out/NAME/VARIANT/).`,
  publish: `deno task publish [DIR] [--experiment NAME] [--set KEY=VALUE]

Writes a static folder (index.html, metrics.csv, metrics.json, runs.csv, ...)
ready for any static host, from the report of the experiment
(default DIR: publish/NAME, or publish/NAME/VARIANT for a --set variant).`,
};

const GENERAL =
  `implicit-reg: a reproducible pipeline studying optimizers' implicit regularization

Commands: reproduce, status, dag, report, publish`;

/** Runs a command line; returns the exit code. */
export async function runCli(
  def: CliDefinition,
  argv: string[],
): Promise<number> {
  const [command, ...rest] = argv;
  const extra = Object.keys(def.commands ?? {});
  if (!command || command === "-h" || command === "--help") {
    console.log(
      `${GENERAL}${extra.map((c) => `, ${c}`).join("")} (each answers --help)`,
    );
    return 0;
  }
  const own = def.commands?.[command];
  if (own) return await runCommand(def, own, rest);
  if (!(command in HELP)) {
    console.error(
      `Unknown command '${command}': use one of ${
        [...Object.keys(HELP), ...extra].join(", ")
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
        "force-stage": { type: "string", multiple: true },
        "dry-run": { type: "boolean" },
        check: { type: "boolean" },
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
    // status only reads: damage in the cache is reported, not repaired.
    const engine = new Engine(def.project, console.warn, {
      readOnly: command === "status",
    });
    const sets = values.set ?? [];
    const variant = sets.length === 0
      ? ""
      : variantName(await def.loadExperiment(experiment, []), params);
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
        return await publish(
          def,
          engine,
          { experiment, variant, params, sets },
          positionals[0],
        );
      default: {
        const reportStages = def.reportStages ?? ["report"];
        if (command === "report") {
          await needCached(engine, experiment, params, reportStages, sets);
        }
        const targets = command === "report" ? reportStages : positionals;
        const jobs = values.jobs === undefined
          ? undefined
          : parseJobs(values.jobs);
        const executorName = values.executor ?? "local";
        if (values.check && command === "report") {
          throw new UsageError(
            "'report' does not take --check: use 'deno task reproduce --check report'",
          );
        }
        if (values.check) {
          const clash = values.force
            ? "--force"
            : values["dry-run"]
            ? "--dry-run"
            : executorName !== "local"
            ? `--executor ${executorName}`
            : undefined;
          if (clash) {
            throw new UsageError(
              `--check cannot be combined with ${clash}: it reruns locally and caches nothing`,
            );
          }
          return await check(engine, params, targets, jobs);
        }
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
        return await reproduce(def, engine, {
          experiment,
          variant,
          params,
          sets,
        }, {
          targets,
          force: values.force ?? false,
          forceStages: checkForceStages(
            def.project.stages,
            params,
            values["force-stage"] ?? [],
          ),
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

/** Runs a command from `def.commands`: --help, then its run; errors as one line. */
async function runCommand(
  def: CliDefinition,
  command: Command,
  args: string[],
): Promise<number> {
  if (args.includes("-h") || args.includes("--help")) {
    console.log(command.help);
    return 0;
  }
  try {
    return await command.run(def, args);
  } catch (error) {
    if (error instanceof PipelineError) {
      console.error(error.message);
      return 1;
    }
    console.error(`error: ${(error as Error).message.split("\n")[0]}`);
    return error instanceof UsageError ? 2 : 1;
  }
}

interface ReproduceOptions {
  targets: string[];
  force: boolean;
  forceStages: string[];
  dryRun: boolean;
  jobs?: number;
  executor?: Executor;
}

async function reproduce(
  def: CliDefinition,
  engine: Engine,
  target: Target,
  options: ReproduceOptions,
): Promise<number> {
  const { experiment, params } = target;
  const tty = Deno.stdout.isTerminal();
  const encoder = new TextEncoder();
  const reporter = createReporter(
    (text) => Deno.stdout.writeSync(encoder.encode(text)),
    tty,
  );
  const runLock = `${def.project.cacheDir}/run.lock`;
  const release = options.dryRun
    ? async () => {}
    : await acquireRunLock(runLock, { say: (m) => reporter.line(m) });
  const running = options.dryRun ? undefined : new RunningFile(
    runningPath(runLock),
    (m) => reporter.line(m),
    `${def.project.cacheDir}/tmp`,
  );
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
      ...(options.forceStages.length
        ? { forceStages: options.forceStages }
        : {}),
      dryRun: options.dryRun,
      reporter,
      signal: abort.signal,
      ...(options.jobs ? { jobs: options.jobs } : {}),
      ...(options.executor ? { executor: options.executor } : {}),
      ...(running ? { running } : {}),
    });
    const written = options.dryRun
      ? []
      : await writeResultFiles(def, engine, target, results);
    const ran = results.filter((r) => r.outcome === "ran").length;
    const cached = results.filter((r) => r.outcome === "cached").length;
    const wouldRun = results.filter((r) => r.outcome === "would run").length;
    const mayRun = results.filter((r) => r.outcome === "may run").length;
    console.log(
      options.dryRun
        ? `${wouldRun} instance(s) would run, ${
          mayRun ? `${mayRun} would run only if their inputs change, ` : ""
        }${cached} cached`
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
    await running?.close();
    await release();
  }
}

/**
 * `reproduce --check`: reruns the cached instances and compares hashes
 * (pipeline/check.ts); exit 0 only when every instance reproduced.
 */
async function check(
  engine: Engine,
  params: Json,
  targets: string[],
  jobs: number | undefined,
): Promise<number> {
  const encoder = new TextEncoder();
  const reporter = createReporter(
    (text) => Deno.stdout.writeSync(encoder.encode(text)),
    Deno.stdout.isTerminal(),
  );
  const abort = new AbortController();
  const onSignal = () => {
    reporter.line("Interrupted: stopping the check (the cache is untouched)");
    abort.abort();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    const results = await checkReproduction(engine, {
      params,
      targets,
      reporter,
      signal: abort.signal,
      ...(jobs === undefined ? {} : { jobs }),
    });
    const { lines, ok } = describeCheck(results);
    for (const line of lines) console.log(line);
    return ok ? 0 : 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
  }
}

/** Writes the declared result files of finished instances into `<outDir>/<experiment>[/<variant>]/`. */
async function writeResultFiles(
  def: CliDefinition,
  engine: Engine,
  target: Target,
  results: InstanceResult[],
): Promise<string[]> {
  const written: string[] = [];
  const byName = new Map<string, Stage>(
    def.project.stages.map((s) => [s.name, s]),
  );
  const byId = new Map(results.map((r) => [r.id, r]));
  for (const result of results) {
    const stage = byName.get(result.stage);
    const files = stage?.files;
    if (!stage || !files || !result.outputs) continue;
    for (const [output, fileName] of Object.entries(files)) {
      const cached = await engine.store.get(result.outputs[output]!);
      if (!cached) continue;
      // Wall times and hosts join the written copy only (Stage.stamp).
      const bytes = await fileBytes(stage, output, cached, () =>
        runProvenance(
          engine.store,
          result,
          (result.lineage ?? []).map((id) => byId.get(id) ?? { id }),
        ));
      const path = `${resultsDir(def.outDir, target)}/${fileName}`;
      await writeFileAtomic(path, bytes);
      written.push(path);
    }
  }
  if (target.variant && written.length > 0) {
    // Names the overrides, so gc keeps these results and experiments lists them.
    const record: VariantRecord = {
      experiment: target.experiment,
      variant: target.variant,
      sets: target.sets ?? [],
    };
    await writeFileAtomic(
      `${resultsDir(def.outDir, target)}/${VARIANT_FILE}`,
      JSON.stringify(record, null, 2) + "\n",
    );
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
  const running = await readRunning(`${engine.project.cacheDir}/run.lock`);
  const lines = await engine.status(
    experiment,
    params,
    targets,
    running ? { running } : {},
  );
  for (const line of lines) {
    console.log(`${line.state.padEnd(7)}  ${line.id}`);
    if (why && !line.fresh) {
      for (const reason of line.reasons) console.log(`         ${reason}`);
    }
  }
  const count = (state: string) =>
    lines.filter((l) => l.state === state).length;
  const waiting = count("waiting");
  const inFlight = count("running");
  console.log(
    `${count("fresh")} fresh, ${count("stale")} stale${
      waiting ? `, ${waiting} waiting (rerun only if their inputs change)` : ""
    }${inFlight ? `, ${inFlight} running` : ""} (experiment '${experiment}')`,
  );
  return 0;
}

/** Writes the result files of the report and of every stage it reads (e.g. runs.csv) into one folder. */
async function publish(
  def: CliDefinition,
  engine: Engine,
  target: Target,
  dir: string | undefined,
): Promise<number> {
  const { experiment } = target;
  const folder = dir ?? resultsDir("publish", target);
  const allowed = Deno.permissions.querySync({
    name: "write",
    path: absolutePath(folder),
  }).state === "granted";
  if (!allowed) {
    const args = [
      folder,
      "--experiment",
      experiment,
      ...(target.sets ?? []).flatMap((s) => ["--set", s]),
    ];
    const command = def.commandWriting?.("publish", folder, args) ??
      `deno run --allow-write=${folder} … publish ${args.join(" ")}`;
    throw new UsageError(
      `Cannot publish to '${folder}': the publish task may write only under publish/; publish there, or grant this folder: ${command}`,
    );
  }
  const lines = await engine.status(experiment, target.params, ["report"]);
  const report = lines.at(-1);
  if (!report?.fresh || !report.outputs) {
    throw new UsageError(
      `The report of '${experiment}' is not up to date: run 'deno task reproduce --experiment ${experiment}' first`,
    );
  }
  const byId = new Map(lines.map((l) => [l.id, l]));
  for (const stage of def.project.stages) {
    const line = byId.get(stage.name);
    if (!stage.files || !line?.outputs) continue;
    for (const [output, fileName] of Object.entries(stage.files)) {
      const cached = await engine.store.get(line.outputs[output]!);
      if (!cached) {
        throw new Error(
          `Output '${stage.name}.${output}' is missing from the cache`,
        );
      }
      // Wall times and hosts join the written copy only (Stage.stamp); the
      // status walk for the report lists exactly its lineage before it.
      const bytes = await fileBytes(
        stage,
        output,
        cached,
        () => runProvenance(engine.store, report, lines.slice(0, -1)),
      );
      await writeFileAtomic(`${folder}/${fileName}`, bytes);
    }
  }
  console.log(`Published: ${folder}/index.html`);
  return 0;
}
