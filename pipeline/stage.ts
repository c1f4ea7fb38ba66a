/**
 * The stage declaration: what a stage reads (declared params, inputs), what it
 * returns (named outputs, each a byte array), and how it is fanned out.
 * The engine owns hashing, caching and scheduling; a stage only computes.
 */
import type { Rng } from "./rng.ts";

/** A JSON value: the only thing params and items may hold. */
export type Json =
  | null
  | boolean
  | number
  | string
  | Json[]
  | { [key: string]: Json };

/** One fan-out item, e.g. `{ optimizer: "sgd", seed: 0 }`. */
export type Item = Record<string, Json>;

/** Params as the stage sees them: its declared dotted paths → values. */
export type Params = Record<string, Json>;

/** Named output bytes; encode with pipeline/artifact.ts helpers. */
export type Outputs = Record<string, Uint8Array>;

/** An upstream artifact handed to a stage. */
export interface InputValue {
  /** The upstream instance's item (`{}` when not fanned out). */
  item: Item;
  data: Uint8Array;
}

/**
 * Where an input comes from. `select: "match"` (default) picks the upstream
 * instance whose item agrees with this instance's item on every key the
 * upstream item has; `"all"` hands over every upstream instance, in item order.
 */
export interface InputSpec {
  stage: string;
  output: string;
  select?: "match" | "all";
}

/** Lines a stage may write; the engine prefixes them with the instance name. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

/**
 * A schema that parses a stage's declared params (dotted path → value) into
 * the typed value its run function receives: the validating half of the
 * Standard Schema interface (https://standardschema.dev), which zod 4 schemas
 * implement, so the engine needs no schema library of its own.
 */
export interface ParamsSchema<P> {
  readonly "~standard": {
    validate(value: unknown): ParseResult<P> | Promise<ParseResult<P>>;
  };
}

/** What a `ParamsSchema` returns: the parsed value, or the issues that stop it. */
export type ParseResult<P> =
  | { readonly value: P; readonly issues?: undefined }
  | {
    readonly issues: ReadonlyArray<{
      readonly message: string;
      readonly path?:
        | ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>
        | undefined;
    }>;
  };

/**
 * Parses `value` with a stage's schema; throws one line naming the stage, the
 * first bad param path and the rule it breaks.
 */
export function parseParams<P>(
  schema: ParamsSchema<P>,
  value: unknown,
  what: string,
): P {
  const result = schema["~standard"].validate(value);
  if (result instanceof Promise) {
    throw new Error(`${what}: the params schema must parse synchronously`);
  }
  if (result.issues === undefined) return result.value;
  const issue = result.issues[0]!;
  const path = (issue.path ?? []).map((p) =>
    String(typeof p === "object" && p !== null && "key" in p ? p.key : p)
  ).join(".");
  throw new Error(
    `${what}: ${path || "(params)"}: ${issue.message}`.replace(/\s+/g, " "),
  );
}

/** Everything a run function receives. */
export interface StageContext<P = Params> {
  /** Values of the declared param paths only, as the stage's schema parsed them. */
  params: P;
  /** This instance's fan-out item (`{}` when not fanned out). */
  item: Item;
  /** A generator seeded from the stage name, item and declared params. */
  rng: Rng;
  log: Logger;
  /** Reports progress of long work (e.g. epochs) for the bar and ETA. */
  progress(done: number, total: number): void;
  /**
   * Reports wall-time facts about this run (e.g. mean seconds per epoch),
   * merged by name. The engine records them in the lock entry and the run
   * cache, never in an output: outputs hold results only, so that their
   * hashes confirm a reproduction. The engine always supplies it; it is
   * optional only so that hand-made contexts (tests) need not.
   */
  timings?(values: Record<string, number>): void;
  /** The one upstream artifact of a `select: "match"` input. */
  input(name: string): Uint8Array;
  /** All upstream artifacts of a `select: "all"` input. */
  inputAll(name: string): InputValue[];
  /** A folder private to this run for resumable state; kept across retries, removed on success. */
  scratchDir: string;
  signal: AbortSignal;
  /**
   * The instances this one was built from, transitively, with their keys,
   * params and versions: descriptive provenance for reports, not part of the
   * key (the inputs' hashes already are). It holds no wall times, hosts or
   * dates, which would make an output differ between identical runs; a stage
   * adds those to a file as it is written, with `Stage.stamp`.
   */
  lineage?: LineageEntry[];
}

export interface LineageEntry {
  id: string;
  key: string;
  params: Params;
  /** Runtime versions in that instance's key (Deno, and e.g. tfjs and backend). */
  versions: Record<string, string>;
}

/**
 * The declaration of one stage. A stage module exports it as a named const
 * (`export const trainStage = defineStage({...})`) and has no side effects at
 * import time: Workers and cluster jobs import it by URL and find it by name.
 */
export interface Stage<P = Params, F = Params> {
  name: string;
  /** `import.meta.url` of the module that defines the stage: its source and local imports are fingerprinted. */
  module: string;
  /** Dotted param paths the stage reads, e.g. `"train.lr"`. Only these reach it or its key. */
  params: string[];
  /**
   * Parses the declared params (dotted path → value, the form they are hashed
   * in) into what `run` receives. The engine parses once per instance before
   * anything runs, and again in the job, so a stage never re-validates them.
   */
  schema?: ParamsSchema<P>;
  inputs?: Record<string, InputSpec>;
  /** Names of the outputs `run` returns. */
  outputs: string[];
  /**
   * Fan-out: one instance per item. `params` are read only to list the items
   * and are NOT part of an instance's key: the item is, so editing one
   * optimizer's entry reruns only that optimizer's instances.
   */
  foreach?: {
    params: string[];
    /** Parses the foreach params before `items` sees them. */
    schema?: ParamsSchema<F>;
    items(params: F): Item[];
  };
  /**
   * Cores an instance keeps busy while it runs, for the scheduler
   * (pipeline/schedule.ts); default 1.
   */
  threads?: number;
  /**
   * Expected work of an instance from its declared params and item, in any
   * unit the project's stages share; the costliest ready instance starts
   * first. Default 0.
   */
  cost?: (params: Params, item: Item) => number;
  /** Extra files (URLs, e.g. templates) hashed into the code fingerprint with the module. */
  sources?: string[];
  /** Runtime versions that change results (e.g. tfjs, backend); part of the key. */
  versions?: Record<string, string>;
  /** Outputs the CLI also writes as files into the experiment's results folder: output → file name. */
  files?: Record<string, string>;
  /**
   * Adds run provenance (wall times, hosts, dates) to one of `files` as the
   * CLI writes or publishes it. The cached output stays free of them, so its
   * hash is the same on every rerun and machine; only the written copy
   * carries them. Returns the bytes to write (`bytes` when nothing to add).
   */
  stamp?(output: string, bytes: Uint8Array, runs: RunProvenance): Uint8Array;
  /** Run in a Worker so CPU-heavy instances use separate cores. */
  heavy?: boolean;
  run(ctx: StageContext<P>): Promise<Outputs> | Outputs;
}

/** What the engine recorded about one instance's run, outside any content hash. */
export interface RunRecord {
  id: string;
  key: string;
  /** Wall time of the run that produced the cached outputs. */
  seconds: number;
  /** When it finished (ISO 8601), if known. */
  finished?: string;
  /** Where it ran, e.g. `node7 (linux x86_64, 2 cores)`, if known. */
  host?: string;
  /** What the stage reported through `ctx.timings`. */
  timings?: Record<string, number>;
}

/** The run records of an instance and of everything it was built from (post-order). */
export interface RunProvenance {
  instance: RunRecord;
  lineage: RunRecord[];
}

/**
 * Declares a stage: typed against its schemas here, at the call site, and
 * returned as the engine sees every stage (params as plain JSON until parsed).
 */
export function defineStage<P = Params, F = Params>(
  stage: Stage<P, F>,
): Stage {
  return stage as unknown as Stage;
}
