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
import { publishResultCommand } from "../pipeline/commands/publish_result.ts";
import { verifyCommand } from "../pipeline/commands/verify.ts";
import { findingsCommand } from "./commands/findings.ts";
import { thinPublishedFolder } from "./report/published_page.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const experimentsDir = `${root}/experiments`;
/** Results committed with the project: one folder per experiment and the findings page. */
const publishedDir = `${root}/reports/published`;

function experiments(): string[] {
  return [...Deno.readDirSync(experimentsDir)]
    .filter((e) => e.isFile && e.name.endsWith(".json"))
    .map((e) => e.name.slice(0, -5))
    .sort();
}

/**
 * A deno.json task's command with `dir` added to what it may read and write,
 * e.g. `deno run --allow-read=.,DIR --allow-write=.cache,publish,DIR … publish DIR`.
 */
export function commandWriting(
  tasks: Record<string, string>,
  task: string,
  dir: string,
  args: string[],
): string {
  const command = (tasks[task] ?? `deno run stages/main.ts ${task}`)
    .split(/\s+/).map((word) =>
      /^--allow-(read|write)=/.test(word) ? `${word},${dir}` : word
    );
  return [...command, ...args].join(" ");
}

function tasks(): Record<string, string> {
  try {
    const config = JSON.parse(Deno.readTextFileSync(`${root}/deno.json`));
    return (config as { tasks?: Record<string, string> }).tasks ?? {};
  } catch {
    return {};
  }
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
      "publish-result": publishResultCommand({
        dir: publishedDir,
        outputs: ["implicit-reg.lock", "reports/published"],
        // The chart libraries once, in reports/published/assets/; no static
        // drawings or inlined metrics.json (stages/report/published_page.ts).
        afterPublish: (folder) => thinPublishedFolder(folder, publishedDir),
      }),
      verify: verifyCommand({ dir: publishedDir }),
      findings: findingsCommand({ dir: publishedDir }),
    },
    commandWriting: (task, dir, args) =>
      commandWriting(tasks(), task, dir, args),
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
