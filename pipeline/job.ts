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
  ProgressMetrics,
  Stage,
  StageContext,
} from "./stage.ts";
import { parseParams } from "./stage.ts";
import { denoFs, type FileSystem } from "./effects.ts";
import { codeFingerprint } from "./fingerprint.ts";
import { Rng } from "./rng.ts";
import { Store } from "./store.ts";

/** Reads a job's inputs from the store, each checked against its hash. */
export async function loadInputs(
  job: Job,
  fs: FileSystem = denoFs,
): Promise<Record<string, InputValue[]>> {
  const store = new Store(job.storeDir, console.warn, { fs });
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
  /**
   * The code the instance is keyed by: the fingerprint's entry files, the
   * project root its names are relative to, and each file's hash when the
   * run started. A job that imports the stage afresh (a Worker, a cluster
   * job) checks it first (`checkJobCode`).
   */
  code?: { entries: string[]; root: string; files: Record<string, string> };
  /** Publish partial outputs every this many progress units (live view); absent: none. */
  partialEvery?: number;
}

/**
 * Throws unless the stage's code on disk is still the code the run started
 * with. The engine fingerprints every stage when a run starts; a Worker or a
 * cluster job imports its stage from disk later, so an edit in between would
 * otherwise run new code and cache it under the old code's key.
 */
export async function checkJobCode(job: Job): Promise<void> {
  if (job.code === undefined) return;
  // The engine memoized every scan when it fingerprinted the stage.
  const now = (await codeFingerprint(job.code.entries, job.code.root, {
    memoDir: `${job.storeDir}/tokens`,
  })).files;
  const then = job.code.files;
  const changed = [
    ...Object.keys(then).filter((f) => now[f] !== then[f]).map((f) =>
      now[f] === undefined ? `${f} (no longer imported)` : f
    ),
    ...Object.keys(now).filter((f) => then[f] === undefined).map((f) =>
      `${f} (newly imported)`
    ),
  ].sort();
  if (changed.length > 0) {
    throw new Error(
      `The code of stage '${job.stageName}' changed after the run started (${
        changed.join(", ")
      }); nothing was run or cached for it: run reproduce again`,
    );
  }
}

export interface JobHooks {
  log(level: "info" | "warn", message: string): void;
  progress(done: number, total: number, metrics?: ProgressMetrics): void;
  /** Receives a partial output for the live view (pipeline/live.ts); without it the stage publishes none. */
  partial?(name: string, bytes: Uint8Array): void;
  signal: AbortSignal;
  /** Provenance of the run (host, timings), recorded outside the content hash. */
  facts?(facts: RunFacts): void;
}

/**
 * What a run reports about itself besides its outputs: where it ran and the
 * stage's `ctx.timings`. Later reports merge into earlier ones.
 */
export interface RunFacts {
  host?: string;
  timings?: Record<string, number>;
}

/** Merges `more` into `facts` (timings by name). */
export function mergeFacts(facts: RunFacts, more: RunFacts): RunFacts {
  return {
    ...facts,
    ...(more.host === undefined ? {} : { host: more.host }),
    ...(more.timings === undefined
      ? {}
      : { timings: { ...facts.timings, ...more.timings } }),
  };
}

/** This machine as a run's provenance: `name (os arch, N cores)`. */
export function describeHost(): string {
  let name = "unknown host";
  // Asked first, so a run without --allow-sys=hostname never prompts.
  const allowed = Deno.permissions.querySync({ name: "sys", kind: "hostname" });
  if (allowed.state === "granted") name = Deno.hostname();
  return `${name} (${Deno.build.os} ${Deno.build.arch}, ${navigator.hardwareConcurrency} cores)`;
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
  fs: FileSystem = denoFs,
): Promise<Outputs> {
  // Through the write check (denoFs): a symlink must not lead the stage's
  // scratch folder out of the cache.
  await fs.ensureDir(job.scratchDir);
  hooks.facts?.({ host: describeHost() });
  const inputs = await loadInputs(job, fs);
  const log: Logger = {
    info: (message) => hooks.log("info", message),
    warn: (message) => hooks.log("warn", message),
  };
  // The one parse at the stage's boundary: run receives the typed value.
  const params = stage.schema
    ? parseParams(stage.schema, job.params, `Stage '${stage.name}' params`)
    : job.params;
  const ctx: StageContext = {
    params,
    item: job.item,
    rng: Rng.fromSeed(job.seed),
    log,
    progress: (done, total, metrics) => hooks.progress(done, total, metrics),
    ...(hooks.partial && job.partialEvery && job.partialEvery > 0
      ? {
        partial: (name: string, bytes: Uint8Array) =>
          hooks.partial!(name, bytes),
        partialEvery: job.partialEvery,
      }
      : {}),
    timings(values) {
      const timings = checkedTimings(values); // checked even when unrecorded
      hooks.facts?.({ timings });
    },
    ...inputAccessors(stage, job, inputs),
    scratchDir: job.scratchDir,
    signal: hooks.signal,
    lineage: job.lineage,
  };
  const outputs = await stage.run(ctx);
  checkOutputs(stage, outputs);
  return outputs;
}

/** `ctx.timings`' values, copied, after checking each is a number. */
function checkedTimings(
  values: Record<string, number>,
): Record<string, number> {
  for (const [name, value] of Object.entries(values)) {
    if (typeof value !== "number") {
      throw new Error(
        `ctx.timings: '${name}' must be a number, got ${typeof value}`,
      );
    }
  }
  return { ...values };
}

/** `ctx.input` (one matched upstream) and `ctx.inputAll` (every one) over the loaded inputs. */
function inputAccessors(
  stage: Stage,
  job: Job,
  inputs: Record<string, InputValue[]>,
): Pick<StageContext, "input" | "inputAll"> {
  const valuesOf = (name: string) => {
    const values = inputs[name];
    if (!values) {
      throw new Error(`Stage '${stage.name}' has no input named '${name}'`);
    }
    return values;
  };
  return {
    input(name) {
      const values = valuesOf(name);
      if (job.select[name] === "all" || values.length !== 1) {
        throw new Error(
          `Input '${name}' of stage '${stage.name}' selects all upstream instances: use inputAll('${name}')`,
        );
      }
      return values[0]!.data;
    },
    inputAll: valuesOf,
  };
}

/** Refuses a declared output missing from what the stage returned, and an undeclared one in it. */
function checkOutputs(stage: Stage, outputs: Outputs): void {
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
}
