/**
 * Test helpers for the command line: a temp project of fake stages
 * (download → train[seed] → metrics → charts → report, with result files),
 * experiments held in memory, and runCli with its output captured.
 */
import { type CliDefinition, runCli } from "../../../pipeline/cli.ts";
import type { Command } from "../../../pipeline/cli.ts";
import type { Json, Stage } from "../../../pipeline/stage.ts";
import {
  fakeStage,
  seedChain,
  stubModule,
  type TempProject,
  tempProject,
} from "../_project.ts";

/** download(a.x) → train[seed](b.y) → metrics(all) → charts → report. */
export function chainStages(p: TempProject): Stage[] {
  const m = (name: string) => stubModule(p, name);
  return [
    ...seedChain(p).slice(0, 2), // its download and train
    fakeStage(p, "metrics", {
      module: m("metrics"),
      inputs: { runs: { stage: "train", output: "out", select: "all" } },
      files: { out: "runs.csv" },
    }),
    fakeStage(p, "charts", {
      module: m("charts"),
      inputs: { metrics: { stage: "metrics", output: "out" } },
    }),
    fakeStage(p, "report", {
      module: m("report"),
      inputs: {
        metrics: { stage: "metrics", output: "out" },
        charts: { stage: "charts", output: "out" },
      },
      files: { out: "index.html" },
    }),
  ];
}

export const BASE = {
  description: "a test experiment. Second sentence.",
  a: { x: 1 },
  b: { y: [1, 2] },
  seeds: [0, 1],
};

/** Applies `k.l=v` (v as JSON, else a string) to a copy of the tree. */
export function applySets(tree: Json, sets: string[]): Json {
  const copy = structuredClone(tree) as Record<string, Json>;
  for (const set of sets) {
    const [path, text] = set.split("=") as [string, string];
    let value: Json;
    try {
      value = JSON.parse(text);
    } catch {
      value = text;
    }
    const parts = path.split(".");
    let node = copy as Record<string, Json>;
    for (const part of parts.slice(0, -1)) {
      node = node[part] as Record<string, Json>;
    }
    node[parts.at(-1)!] = value;
  }
  return copy;
}

export interface CliProject {
  p: TempProject;
  def: CliDefinition;
  experiments: Record<string, Json>;
  /** Runs the command line; returns the exit code and what it printed. */
  cli(argv: string[]): Promise<{ code: number; out: string; err: string }>;
}

export async function cliProject(
  commands: Record<string, Command> = {},
  stages: (p: TempProject) => Stage[] = chainStages,
): Promise<CliProject> {
  const p = await tempProject(stages);
  const experiments: Record<string, Json> = {
    test: BASE,
    other: applySets(BASE, ["a.x=5", "description=another one."]),
  };
  const def: CliDefinition = {
    project: p.engine.project,
    defaultExperiment: "test",
    experiments: () => Object.keys(experiments).sort(),
    loadExperiment: (name, sets) => {
      const tree = applySets(experiments[name]!, sets) as Record<string, Json>;
      return Promise.resolve({
        ...tree,
        experiment: {
          name,
          description: tree["description"] ?? "",
          command: sets.join(" "),
        },
      });
    },
    outDir: `${p.root}/out`,
    reportStages: ["charts", "report"],
    commands,
  };
  const cli = async (argv: string[]) => {
    const { code, out, err } = await runCliCaptured(def, argv);
    return { code, out: out.join("\n"), err: err.join("\n") };
  };
  return { p, def, experiments, cli };
}

/** What runCli printed: stdout lines, stderr lines, and both in the order printed. */
export interface Printed {
  code: number;
  out: string[];
  err: string[];
  all: string[];
}

/** Runs runCli(def, argv) with console.log and console.error captured (and restored after). */
export async function runCliCaptured(
  def: CliDefinition,
  argv: string[],
): Promise<Printed> {
  const printed: Printed = { code: -1, out: [], err: [], all: [] };
  const { log, error } = console;
  const capture = (into: string[]) => (...a: unknown[]) => {
    const line = a.map(String).join(" ");
    into.push(line);
    printed.all.push(line);
  };
  console.log = capture(printed.out);
  console.error = capture(printed.err);
  try {
    printed.code = await runCli(def, argv);
    return printed;
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** Files under a folder, recursively, as paths relative to it. */
export function listFiles(dir: string, prefix = ""): string[] {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return [];
  }
  return entries.flatMap((e) =>
    e.isDirectory
      ? listFiles(`${dir}/${e.name}`, `${prefix}${e.name}/`)
      : [`${prefix}${e.name}`]
  ).sort();
}
