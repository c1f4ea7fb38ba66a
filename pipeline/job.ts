/**
 * One stage instance's run, the same wherever it executes (in the engine's
 * thread, in a Worker, or as a cluster job): build the context from the job
 * description, call the stage, and check that it returned what it declared.
 */
import type {
  InputValue,
  Item,
  LineageEntry,
  Logger,
  Outputs,
  Params,
  Stage,
  StageContext,
} from "./stage.ts";
import { Rng } from "./rng.ts";
import { Store } from "./store.ts";

/** Reads a job's inputs from the store, each checked against its hash. */
export async function loadInputs(
  job: Job,
): Promise<Record<string, InputValue[]>> {
  const store = new Store(job.storeDir);
  const inputs: Record<string, InputValue[]> = {};
  for (const [name, refs] of Object.entries(job.inputs)) {
    inputs[name] = [];
    for (const ref of refs) {
      const data = await store.get(ref.hash);
      if (data === undefined) {
        throw new Error(
          `Input '${name}' (object ${
            ref.hash.slice(0, 12)
          }) is missing from the cache`,
        );
      }
      inputs[name]!.push({ item: ref.item, data });
    }
  }
  return inputs;
}

/** Everything needed to run one instance, as plain data. */
export interface Job {
  id: string;
  stageName: string;
  /** URL of the module exporting the stage. */
  module: string;
  params: Params;
  item: Item;
  /** Input name → upstream items and object hashes (one for "match", all for "all"). */
  inputs: Record<string, Array<{ item: Item; hash: string }>>;
  select: Record<string, "match" | "all">;
  /** Seed string for ctx.rng. */
  seed: string;
  scratchDir: string;
  lineage: LineageEntry[];
  /** The content-addressed store the inputs are read from. */
  storeDir: string;
}

export interface JobHooks {
  log(level: "info" | "warn", message: string): void;
  progress(done: number, total: number): void;
  signal: AbortSignal;
}

/** Finds a stage exported by a module, by its declared name. */
export function findStage(
  module: Record<string, unknown>,
  name: string,
  url: string,
): Stage {
  for (const value of Object.values(module)) {
    if (
      typeof value === "object" && value !== null &&
      (value as Stage).name === name &&
      typeof (value as Stage).run === "function"
    ) return value as Stage;
  }
  throw new Error(`Module '${url}' exports no stage named '${name}'`);
}

/** Runs the stage for the job and returns its declared outputs. */
export async function runJob(
  stage: Stage,
  job: Job,
  hooks: JobHooks,
): Promise<Outputs> {
  await Deno.mkdir(job.scratchDir, { recursive: true });
  const inputs = await loadInputs(job);
  const log: Logger = {
    info: (message) => hooks.log("info", message),
    warn: (message) => hooks.log("warn", message),
  };
  const ctx: StageContext = {
    params: job.params,
    item: job.item,
    rng: Rng.fromSeed(job.seed),
    log,
    progress: (done, total) => hooks.progress(done, total),
    input(name) {
      const values = inputs[name];
      if (!values) {
        throw new Error(`Stage '${stage.name}' has no input named '${name}'`);
      }
      if (job.select[name] === "all" || values.length !== 1) {
        throw new Error(
          `Input '${name}' of stage '${stage.name}' selects all upstream instances: use inputAll('${name}')`,
        );
      }
      return values[0]!.data;
    },
    inputAll(name) {
      const values = inputs[name];
      if (!values) {
        throw new Error(`Stage '${stage.name}' has no input named '${name}'`);
      }
      return values;
    },
    scratchDir: job.scratchDir,
    signal: hooks.signal,
    lineage: job.lineage,
  };
  const outputs = await stage.run(ctx);
  for (const name of stage.outputs) {
    if (!(outputs[name] instanceof Uint8Array)) {
      throw new Error(
        `Stage '${stage.name}' returned no output '${name}' (declared outputs: ${
          stage.outputs.join(", ")
        })`,
      );
    }
  }
  for (const name of Object.keys(outputs)) {
    if (!stage.outputs.includes(name)) {
      throw new Error(
        `Stage '${stage.name}' returned undeclared output '${name}'`,
      );
    }
  }
  return outputs;
}
