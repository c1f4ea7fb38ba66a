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

/** Everything a run function receives. */
export interface StageContext {
  /** Values of the declared param paths only. */
  params: Params;
  /** This instance's fan-out item (`{}` when not fanned out). */
  item: Item;
  /** A generator seeded from the stage name, item and declared params. */
  rng: Rng;
  log: Logger;
  /** Reports progress of long work (e.g. epochs) for the bar and ETA. */
  progress(done: number, total: number): void;
  /** The one upstream artifact of a `select: "match"` input. */
  input(name: string): Uint8Array;
  /** All upstream artifacts of a `select: "all"` input. */
  inputAll(name: string): InputValue[];
  /** A folder private to this run for resumable state; kept across retries, removed on success. */
  scratchDir: string;
  signal: AbortSignal;
  /**
   * The instances this one was built from, transitively, with their keys and
   * wall times: descriptive provenance for reports, not part of the key (the
   * inputs' hashes already are).
   */
  lineage?: LineageEntry[];
}

export interface LineageEntry {
  id: string;
  key: string;
  seconds: number;
  params: Params;
  /** Runtime versions in that instance's key (Deno, and e.g. tfjs and backend). */
  versions: Record<string, string>;
}

/**
 * The declaration of one stage. A stage module exports it as a named const
 * (`export const trainStage = defineStage({...})`) and has no side effects at
 * import time: Workers and cluster jobs import it by URL and find it by name.
 */
export interface Stage {
  name: string;
  /** `import.meta.url` of the module that defines the stage: its source and local imports are fingerprinted. */
  module: string;
  /** Dotted param paths the stage reads, e.g. `"train.lr"`. Only these reach it or its key. */
  params: string[];
  inputs?: Record<string, InputSpec>;
  /** Names of the outputs `run` returns. */
  outputs: string[];
  /**
   * Fan-out: one instance per item. `params` are read only to list the items
   * and are NOT part of an instance's key: the item is, so editing one
   * optimizer's entry reruns only that optimizer's instances.
   */
  foreach?: { params: string[]; items: (params: Params) => Item[] };
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
  /** Run in a Worker so CPU-heavy instances use separate cores. */
  heavy?: boolean;
  run(ctx: StageContext): Promise<Outputs> | Outputs;
}

/** Declares a stage; a typed identity that documents intent at the call site. */
export function defineStage(stage: Stage): Stage {
  return stage;
}
