/** Test helpers: a temp project with fake stages whose runs are counted. */
import type { Outputs, Stage, StageContext } from "../../pipeline/stage.ts";
import { Engine } from "../../pipeline/engine.ts";
import { decodeText, encodeText } from "../../pipeline/artifact.ts";
import type { Reporter } from "../../pipeline/progress.ts";

export interface TempProject {
  root: string;
  engine: Engine;
  runs: string[];
  warnings: string[];
  /** Writes a module file under the project and returns its file URL. */
  writeModule(name: string, source: string): string;
  newEngine(stages: Stage[]): Engine;
}

export async function tempProject(
  makeStages: (p: TempProject) => Stage[],
): Promise<TempProject> {
  const root = await Deno.makeTempDir({ prefix: "ir-engine-" });
  const p: TempProject = {
    root,
    runs: [],
    warnings: [],
    engine: undefined as unknown as Engine,
    writeModule(name, source) {
      const path = `${root}/src/${name}`;
      Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      Deno.writeTextFileSync(path, source);
      return new URL(`file://${path}`).href;
    },
    newEngine(stages) {
      return new Engine(
        {
          root,
          cacheDir: `${root}/.cache`,
          lockPath: `${root}/test.lock`,
          stages,
        },
        (m) => p.warnings.push(m),
      );
    },
  };
  p.engine = p.newEngine(makeStages(p));
  return p;
}

/** A light stage that records each run and concatenates its inputs with a param. */
export function fakeStage(
  p: TempProject,
  name: string,
  options: Partial<Stage> & { module: string; fail?: boolean },
): Stage {
  return {
    name,
    params: [],
    outputs: ["out"],
    ...options,
    run(ctx: StageContext): Outputs {
      p.runs.push(
        name + (Object.keys(ctx.item).length ? JSON.stringify(ctx.item) : ""),
      );
      if (options.fail) throw new Error(`${name} exploded`);
      const parts: string[] = [
        name,
        JSON.stringify(ctx.params),
        JSON.stringify(ctx.item),
      ];
      for (const [input, spec] of Object.entries(options.inputs ?? {})) {
        if (spec.select === "all") {
          parts.push(...ctx.inputAll(input).map((v) => decodeText(v.data)));
        } else parts.push(decodeText(ctx.input(input)));
      }
      return { out: encodeText(parts.join("|")) };
    },
  };
}

/** Writes `<name>.ts` under the project, exporting one constant named after it, and returns its file URL. */
export function stubModule(p: TempProject, name: string): string {
  return p.writeModule(`${name}.ts`, `export const ${name} = 1;\n`);
}

/** The fan-out over the `seeds` param: one item `{ seed }` per entry. */
export const SEED_FOREACH: NonNullable<Stage["foreach"]> = {
  params: ["seeds"],
  items: (q) => (q.seeds as number[]).map((seed) => ({ seed })),
};

/**
 * download(a.x) → train[seed](b.y) → report (reads every train), as fake
 * stages; each module is a stub unless `modules` names one, and `failTrain`
 * makes train throw.
 */
export function seedChain(
  p: TempProject,
  options: {
    modules?: Partial<Record<"download" | "train" | "report", string>>;
    failTrain?: boolean;
  } = {},
): Stage[] {
  const module = (name: "download" | "train" | "report") =>
    options.modules?.[name] ?? stubModule(p, name);
  return [
    fakeStage(p, "download", { module: module("download"), params: ["a.x"] }),
    fakeStage(p, "train", {
      module: module("train"),
      params: ["b.y"],
      inputs: { data: { stage: "download", output: "out" } },
      foreach: SEED_FOREACH,
      ...(options.failTrain ? { fail: true } : {}),
    }),
    fakeStage(p, "report", {
      module: module("report"),
      inputs: { runs: { stage: "train", output: "out", select: "all" } },
    }),
  ];
}

/** seedChain's instance ids under PARAMS (seeds 0 and 1), sorted. */
export const SEED_CHAIN_IDS = [
  "download",
  "report",
  "train[seed=0]",
  "train[seed=1]",
];

export const PARAMS = {
  a: { x: 1, unused: "u" },
  b: { y: [1, 2] },
  seeds: [0, 1],
};

/** A reporter that writes each state change, progress call and log line to `events` as one line ("done id", "progress id 1/3", "log id message"). */
export function eventRecorder(): { events: string[]; reporter: Reporter } {
  const events: string[] = [];
  const reporter: Reporter = {
    state: (id, state) => events.push(`${state} ${id}`),
    progress: (id, done, total) =>
      events.push(`progress ${id} ${done}/${total}`),
    log: (id, _level, message) => events.push(`log ${id} ${message}`),
    line: () => {},
    close: () => {},
  };
  return { events, reporter };
}
