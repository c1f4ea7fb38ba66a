/**
 * The command line: `reproduce`, `status`, `dag`, `report` and `publish`,
 * plus the commands the wiring module adds (`commands`, each in its own
 * module under pipeline/commands/ or stages/commands/). It knows nothing
 * about neural networks: the wiring module hands it the project, an
 * experiment loader and where results go.
 */
import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import type { Json, RunContext } from "./stage.ts";
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
import {
  commandLine,
  fileBytes,
  runContext,
  runProvenance,
} from "./provenance.ts";
import { checkReproduction, describeCheck } from "./check.ts";
import type { Executor } from "./executor.ts";
import {
  resultsDir,
  type Target,
  VARIANT_FILE,
  type VariantRecord,
} from "./commands/variant.ts";
import { checkForceStages, needCached } from "./commands/guards.ts";
import { writeLiveReport } from "./commands/live_report.ts";
import { writeStampedFiles } from "./commands/stamped_files.ts";
import { loadVariantArg } from "./commands/experiment_arg.ts";
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
   * The stages `report` reruns, in order, the report itself last: everything
   * they read must already be cached, or `report` says what is missing.
   * `publish` writes the files of the last one's lineage.
   */
  reportStages: string[];
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
  --live-every N      a training publishes its record so far every N epochs
                      (default 5; 0: never) for 'deno task report --live';
                      changes no result and no cache key. Local runs only:
                      Slurm jobs publish nothing until they finish
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
  report: `deno task report [--experiment NAME] [--set KEY=VALUE] [--live]

Re-renders the charts and the report from cached metrics. It never trains:
when something upstream is not cached it says what, and how to compute it.
Results go to reports/out/NAME/ (a --set variant: reports/out/NAME/VARIANT/).

  --live   while 'reproduce' runs (or after it was interrupted): render the
           report from what exists — finished instances from the cache,
           trainings in progress from the partial records they publish
           (reproduce --live-every) — into reports/out/NAME/live/, with a
           banner "in progress: epoch k of E" per training. Caches nothing;
           run it again to refresh.`,
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
  let parsed: ParsedArgs;
  try {
    parsed = parseBuiltinArgs(rest);
  } catch (error) {
    console.error(
      `${(error as Error).message} (see 'deno task ${command} --help')`,
    );
    return 2;
  }
  if (parsed.values.help) {
    console.log(HELP[command]);
    return 0;
  }
  try {
    return await runBuiltin(def, command, parsed, argv);
  } catch (error) {
    return reportFailure(error);
  }
}

/** The options of the built-in commands (each command reads the ones its help lists). */
function parseBuiltinArgs(args: string[]) {
  return parseArgs({
    args,
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
      live: { type: "boolean" },
      "live-every": { type: "string" },
    },
  });
}

type ParsedArgs = ReturnType<typeof parseBuiltinArgs>;
type Values = ParsedArgs["values"];
type CommandTarget = Target & { command: string; sets: string[] };

/** The experiment named by --experiment with its --set overrides, and the variant they make. */
async function loadTarget(
  def: CliDefinition,
  values: Values,
  argv: string[],
): Promise<CommandTarget> {
  const experiment = values.experiment ?? def.defaultExperiment;
  const sets = values.set ?? [];
  const { params, variant } = await loadVariantArg(def, experiment, sets);
  return { experiment, variant, params, sets, command: commandLine(argv) };
}

/** `dag`, `status`, `publish`, `report` and `reproduce`, once the arguments parsed. */
async function runBuiltin(
  def: CliDefinition,
  command: string,
  { values, positionals }: ParsedArgs,
  argv: string[],
): Promise<number> {
  const target = await loadTarget(def, values, argv);
  const { experiment, params } = target;
  // status only reads: damage in the cache is reported, not repaired.
  const engine = new Engine(def.project, console.warn, {
    readOnly: command === "status",
  });
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
      return await publish(def, engine, target, positionals[0]);
    default:
      return await reportOrReproduce(def, engine, command, target, {
        values,
        positionals,
      });
  }
}

/** `report` (live or from the cache), `reproduce --check`, or `reproduce`. */
async function reportOrReproduce(
  def: CliDefinition,
  engine: Engine,
  command: string,
  target: CommandTarget,
  { values, positionals }: ParsedArgs,
): Promise<number> {
  const { reportStages } = def;
  const { experiment, params, sets } = target;
  checkPlacement(command, values);
  if (command === "report" && values.live) {
    return await liveReport(def, engine, target, reportStages);
  }
  if (command === "report") {
    await needCached(engine, experiment, params, reportStages, sets);
  }
  const targets = command === "report" ? reportStages : positionals;
  const jobs = values.jobs === undefined ? undefined : parseJobs(values.jobs);
  checkCheckOptions(command, values, reportStages);
  if (values.check) return await check(engine, params, targets, jobs);
  const executor = executorOf(def, values, engine);
  return await reproduce(def, engine, target, {
    targets,
    force: values.force ?? false,
    forceStages: checkForceStages(
      def.project.stages,
      params,
      values["force-stage"] ?? [],
    ),
    dryRun: values["dry-run"] ?? false,
    partialEvery: parseLiveEvery(values["live-every"]),
    ...(jobs === undefined ? {} : { jobs }),
    ...(executor ? { executor } : {}),
  });
}

/** Refuses --live and --live-every given to a command that has no such option. */
function checkPlacement(command: string, values: Values): void {
  if (values.live && command !== "report") {
    throw new UsageError(
      "--live is an option of 'report': run 'deno task report --live' beside a running reproduce",
    );
  }
  if (values["live-every"] !== undefined && command !== "reproduce") {
    throw new UsageError("--live-every is an option of 'reproduce'");
  }
}

/** Refuses --check given to `report`, or combined with an option it contradicts. */
function checkCheckOptions(
  command: string,
  values: Values,
  reportStages: string[],
): void {
  if (values.check && command === "report") {
    throw new UsageError(
      `'report' does not take --check: use 'deno task reproduce --check ${
        reportStages.at(-1)
      }'`,
    );
  }
  if (!values.check) return;
  const executorName = values.executor ?? "local";
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
}

/** `--executor NAME` (and its Slurm options) as an executor; undefined for local. */
function executorOf(
  def: CliDefinition,
  values: Values,
  engine: Engine,
): Executor | undefined {
  const executorName = values.executor ?? "local";
  if (executorName === "local") return undefined;
  if (!def.executor) {
    throw new UsageError(
      `--executor must be 'local', got '${executorName}'`,
    );
  }
  return def.executor(executorName, {
    partition: values.partition,
    time: values.time,
    cpusPerTask: values["cpus-per-task"],
  }, engine);
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

/** `--live-every N`: epochs between partial records (0: none); default 5. */
function parseLiveEvery(text: string | undefined): number {
  if (text === undefined) return DEFAULT_LIVE_EVERY;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) {
    throw new UsageError(
      `--live-every must be a whole number of epochs (0 for none), got '${text}'`,
    );
  }
  return n;
}

/** Epochs between a training's partial records for `report --live`. */
export const DEFAULT_LIVE_EVERY = 5;

/** `report --live`: the report from what exists, into the results folder's live/ (commands/live_report.ts). */
async function liveReport(
  def: CliDefinition,
  engine: Engine,
  target: Target & { command?: string },
  targets: string[],
): Promise<number> {
  const reporter = stdoutReporter(false);
  const { written, partial } = await writeLiveReport(engine, {
    experiment: target.experiment,
    params: target.params,
    resultsDir: resultsDir(def.outDir, target),
    targets,
    reporter,
    ...(target.command ? { command: target.command } : {}),
  });
  console.log(
    partial.length === 0
      ? "No training in progress: the live view shows cached results only"
      : `In progress: ${
        partial.map((r) =>
          `${r.id} epoch ${r.progress?.done ?? "?"} of ${
            r.progress?.total ?? "?"
          }`
        ).join(", ")
      }`,
  );
  for (const path of written) console.log(`Result: ${path}`);
  return 0;
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
    return reportFailure(error);
  }
}

interface ReproduceOptions {
  targets: string[];
  force: boolean;
  forceStages: string[];
  dryRun: boolean;
  partialEvery: number;
  jobs?: number;
  executor?: Executor;
}

async function reproduce(
  def: CliDefinition,
  engine: Engine,
  target: Target & { command?: string },
  options: ReproduceOptions,
): Promise<number> {
  const { experiment, params } = target;
  const reporter = stdoutReporter(Deno.stdout.isTerminal());
  const { release, running } = options.dryRun
    ? { release: async () => {}, running: undefined }
    : await claimRun(def, reporter);
  const interrupt = onInterrupt(
    reporter,
    "Interrupted: stopping running instances (finished ones stay cached)",
  );
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
      partialEvery: options.partialEvery,
      reporter,
      signal: interrupt.signal,
      ...(options.jobs ? { jobs: options.jobs } : {}),
      ...(options.executor ? { executor: options.executor } : {}),
      ...(running ? { running } : {}),
    });
    const written = options.dryRun
      ? []
      : await writeResultFiles(def, engine, target, results);
    const seconds = (performance.now() - started) / 1000;
    console.log(summaryLine(results, options.dryRun, seconds));
    const ran = results.some((r) => r.outcome === "ran");
    if (ran && !options.executor) {
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
    interrupt.dispose();
    await running?.close();
    await release();
  }
}

/** The project's run lock (one reproduce at a time), and the file that tells `status` what runs. */
async function claimRun(
  def: CliDefinition,
  reporter: { line(text: string): void },
): Promise<{ release: () => Promise<void>; running: RunningFile }> {
  const runLock = `${def.project.cacheDir}/run.lock`;
  const release = await acquireRunLock(runLock, {
    say: (m) => reporter.line(m),
  });
  const running = new RunningFile(
    runningPath(runLock),
    (m) => reporter.line(m),
    `${def.project.cacheDir}/tmp`,
  );
  return { release, running };
}

/** A progress reporter writing to stdout; `tty` redraws lines in place. */
function stdoutReporter(tty: boolean) {
  const encoder = new TextEncoder();
  return createReporter(
    (text) => Deno.stdout.writeSync(encoder.encode(text)),
    tty,
  );
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
  const reporter = stdoutReporter(Deno.stdout.isTerminal());
  const interrupt = onInterrupt(
    reporter,
    "Interrupted: stopping the check (the cache is untouched)",
  );
  try {
    const results = await checkReproduction(engine, {
      params,
      targets,
      reporter,
      signal: interrupt.signal,
      ...(jobs === undefined ? {} : { jobs }),
    });
    const { lines, ok } = describeCheck(results);
    for (const line of lines) console.log(line);
    return ok ? 0 : 1;
  } finally {
    interrupt.dispose();
  }
}

/** Ctrl-C says `message` and aborts the returned signal, until `dispose`. */
function onInterrupt(
  reporter: { line(text: string): void },
  message: string,
): { signal: AbortSignal; dispose(): void } {
  const abort = new AbortController();
  const onSignal = () => {
    reporter.line(message);
    abort.abort();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  return {
    signal: abort.signal,
    dispose: () => Deno.removeSignalListener("SIGINT", onSignal),
  };
}

/** The line after a run: what ran and was cached, and the wall time (a dry run: what would run). */
function summaryLine(
  results: InstanceResult[],
  dryRun: boolean,
  seconds: number,
): string {
  const count = (outcome: InstanceResult["outcome"]) =>
    results.filter((r) => r.outcome === outcome).length;
  const cached = count("cached");
  const mayRun = count("may run");
  return dryRun
    ? `${count("would run")} instance(s) would run, ${
      mayRun ? `${mayRun} would run only if their inputs change, ` : ""
    }${cached} cached`
    : `${count("ran")} instance(s) ran, ${cached} cached, in ${
      seconds.toFixed(2)
    } s`;
}

/** Writes the declared result files of finished instances into `<outDir>/<experiment>[/<variant>]/`. */
async function writeResultFiles(
  def: CliDefinition,
  engine: Engine,
  target: Target & { command?: string },
  results: InstanceResult[],
): Promise<string[]> {
  const written = await writeStampedFiles(engine, results, {
    dir: resultsDir(def.outDir, target),
    ...(target.command !== undefined ? { command: target.command } : {}),
  });
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

/** Refuses a folder the publish task may not write, quoting the command line that may. */
function checkMayPublishTo(
  def: CliDefinition,
  target: Target,
  folder: string,
): void {
  const allowed = Deno.permissions.querySync({
    name: "write",
    path: absolutePath(folder),
  }).state === "granted";
  if (allowed) return;
  const args = [
    folder,
    "--experiment",
    target.experiment,
    ...(target.sets ?? []).flatMap((s) => ["--set", s]),
  ];
  const command = def.commandWriting?.("publish", folder, args) ??
    `deno run --allow-write=${folder} … publish ${args.join(" ")}`;
  throw new UsageError(
    `Cannot publish to '${folder}': the publish task may write only under publish/; publish there, or grant this folder: ${command}`,
  );
}

/**
 * Writes the result files of the report and of every stage it reads (e.g.
 * runs.csv) into one folder. Exported for `publish-result`
 * (commands/publish_result.ts), which adds the lock entries and provenance.
 */
export async function publish(
  def: CliDefinition,
  engine: Engine,
  target: Target & { command?: string },
  dir: string | undefined,
): Promise<number> {
  const { experiment } = target;
  const folder = dir ?? resultsDir("publish", target);
  checkMayPublishTo(def, target, folder);
  const lines = await engine.status(
    experiment,
    target.params,
    def.reportStages,
  );
  const report = lines.at(-1);
  if (!report?.fresh || !report.outputs) {
    throw new UsageError(
      `The report of '${experiment}' is not up to date: run 'deno task reproduce --experiment ${experiment}' first`,
    );
  }
  const byId = new Map(lines.map((l) => [l.id, l]));
  let context: Promise<RunContext> | undefined;
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
        async () =>
          runProvenance(engine.store, report, lines.slice(0, -1), {
            context: await (context ??= runContext(
              target.command ?? commandLine(),
              def.project.root,
            )),
          }),
      );
      await writeFileAtomic(`${folder}/${fileName}`, bytes);
    }
  }
  console.log(`Published: ${folder}/index.html`);
  return 0;
}

/**
 * Prints a command's failure and returns its exit code: a pipeline failure
 * as the engine summarised it (1), anything else as one line, 2 for the
 * user's own mistakes (UsageError) and 1 otherwise.
 */
function reportFailure(error: unknown): number {
  if (error instanceof PipelineError) {
    console.error(error.message);
    return 1;
  }
  console.error(`error: ${(error as Error).message.split("\n")[0]}`);
  return error instanceof UsageError ? 2 : 1;
}
