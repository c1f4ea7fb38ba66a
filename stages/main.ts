/**
 * Entry point of every `deno task`: the project's folders, its experiments
 * and stages, handed to the engine's command line.
 */
import { runCli, UsageError } from "../pipeline/cli.ts";
import { SlurmExecutor } from "../pipeline/slurm/executor.ts";
import { parseResources } from "../pipeline/slurm/sbatch.ts";
import { STAGES } from "./mod.ts";
import { loadExperimentFile } from "./experiment.ts";
import { gcCommand } from "../pipeline/commands/gc.ts";
import { experimentsCommand } from "../pipeline/commands/experiments.ts";
import { diffCommand } from "../pipeline/commands/diff.ts";
import { exportCommand } from "./commands/export.ts";
import { metricsDiffReader, metricsHeadline } from "./commands/results.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const experimentsDir = `${root}/experiments`;

function experiments(): string[] {
  return [...Deno.readDirSync(experimentsDir)]
    .filter((e) => e.isFile && e.name.endsWith(".json"))
    .map((e) => e.name.slice(0, -5))
    .sort();
}

if (import.meta.main) {
  const code = await runCli({
    project: {
      root,
      cacheDir: `${root}/.cache`,
      lockPath: `${root}/implicit-reg.lock`,
      stages: STAGES,
    },
    defaultExperiment: "paper",
    experiments,
    loadExperiment: (name, sets) =>
      loadExperimentFile(experimentsDir, name, sets),
    outDir: `${root}/reports/out`,
    // `report` re-renders: it reruns these, and needs everything else cached.
    reportStages: ["charts", "report"],
    commands: {
      experiments: experimentsCommand(metricsHeadline),
      diff: diffCommand(metricsDiffReader),
      export: exportCommand,
      gc: gcCommand,
    },
    executor(name, options, engine) {
      if (name !== "slurm") {
        throw new UsageError(
          `--executor must be one of local, slurm, got '${name}'`,
        );
      }
      return new SlurmExecutor({
        store: engine.store,
        root,
        resources: parseResources(options),
      });
    },
  }, Deno.args);
  Deno.exit(code);
}
