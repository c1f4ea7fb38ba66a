/**
 * `deno task experiments`: every experiment file with its description, its
 * state (fresh, stale, never run) and, when its results are cached, its
 * headline numbers. What a headline is belongs to the project: the wiring
 * module passes a reader for one result output.
 */
import { parseArgs } from "node:util";
import type { CliDefinition, Command } from "../cli.ts";
import { UsageError } from "../usage_error.ts";
import { Engine } from "../engine.ts";
import type { Json } from "../stage.ts";
import {
  cachedResult,
  experimentState,
  type ResultOutput,
  type State,
} from "./state.ts";
import { recordedVariants } from "./variant.ts";

/** The headline of a result: one short line per item (e.g. per optimizer group). */
export interface HeadlineReader extends ResultOutput {
  headline(bytes: Uint8Array): string[];
}

export interface ExperimentRow {
  name: string;
  description: string;
  state: State | "invalid";
  /** Instances not cached, of all. */
  stale: number;
  total: number;
  /** Headline lines; empty when no result is cached. */
  headline: string[];
  /** True when the headline comes from older params or code (the lock's last run). */
  headlineStale: boolean;
  error?: string;
  /** `--set` variants with a results folder (reports/out/NAME/VARIANT/). */
  variants: VariantRow[];
}

export interface VariantRow {
  variant: string;
  sets: string[];
  /** Fresh, or stale when not every instance is cached; invalid when its --set values no longer load. */
  state: "fresh" | "stale" | "invalid";
  stale: number;
  total: number;
  /** Headline lines when its results are cached for the current code. */
  headline: string[];
}

/** The variants of an experiment that have a results folder, with their state and headline. */
async function variantRows(
  def: CliDefinition,
  engine: Engine,
  reader: HeadlineReader,
  name: string,
): Promise<VariantRow[]> {
  const rows: VariantRow[] = [];
  for (const v of await recordedVariants(def.outDir, name)) {
    let params: Json;
    try {
      params = await def.loadExperiment(name, v.sets);
    } catch {
      rows.push({
        variant: v.variant,
        sets: v.sets,
        state: "invalid",
        stale: 0,
        total: 0,
        headline: [],
      });
      continue;
    }
    const state = await experimentState(engine, name, params);
    const line = state.lines.find((l) => l.id === reader.stage);
    const hash = line?.fresh ? line.outputs?.[reader.output] : undefined;
    const bytes = hash ? await engine.store.get(hash) : undefined;
    rows.push({
      variant: v.variant,
      sets: v.sets,
      state: state.stale === 0 ? "fresh" : "stale",
      stale: state.stale,
      total: state.total,
      headline: bytes ? reader.headline(bytes) : [],
    });
  }
  return rows;
}

/** One row per experiment file, in name order. */
export async function listExperiments(
  def: CliDefinition,
  reader: HeadlineReader,
): Promise<ExperimentRow[]> {
  const engine = new Engine(def.project, () => {});
  const rows: ExperimentRow[] = [];
  for (const name of def.experiments()) {
    let params: Json;
    try {
      params = await def.loadExperiment(name, []);
    } catch (error) {
      rows.push({
        name,
        description: "",
        state: "invalid",
        stale: 0,
        total: 0,
        headline: [],
        headlineStale: false,
        error: (error as Error).message.split("\n")[0]!,
        variants: [],
      });
      continue;
    }
    const state = await experimentState(engine, name, params);
    const result = await cachedResult(engine, name, state, reader);
    const description = (params as { experiment?: { description?: string } })
      .experiment?.description ?? "";
    rows.push({
      name,
      description,
      state: state.state,
      stale: state.stale,
      total: state.total,
      headline: result ? reader.headline(result.bytes) : [],
      headlineStale: result ? !result.fresh : false,
      variants: await variantRows(def, engine, reader, name),
    });
  }
  return rows;
}

/** First sentence of a description, cut to `width` characters. */
function short(text: string, width: number): string {
  const sentence = text.split(/(?<=\.)\s(?=[A-Z])/)[0] ?? "";
  return sentence.length > width
    ? `${sentence.slice(0, width - 1)}…`
    : sentence;
}

/** The rows as text: name, state, description, then indented headline lines. */
export function formatExperiments(rows: ExperimentRow[]): string {
  const width = Math.max(...rows.map((r) => r.name.length), 4);
  const lines: string[] = [];
  for (const row of rows) {
    const state = row.state === "stale"
      ? `stale (${row.stale}/${row.total})`
      : row.state;
    lines.push(
      `${row.name.padEnd(width)}  ${state.padEnd(15)}  ${
        row.error ?? short(row.description, 70)
      }`,
    );
    const pad = " ".repeat(width + 2);
    if (row.headlineStale && row.headline.length > 0) {
      lines.push(`${pad}last run (older params or code):`);
    }
    for (const h of row.headline) lines.push(`${pad}${h}`);
    for (const v of row.variants) {
      const vs = v.state === "stale"
        ? `stale (${v.stale}/${v.total})`
        : v.state;
      lines.push(
        `${pad}variant ${v.variant}: ${vs}  (--set ${v.sets.join(" --set ")})`,
      );
      for (const h of v.headline) lines.push(`${pad}  ${h}`);
    }
  }
  return lines.join("\n");
}

export const HELP = `deno task experiments [--json]

Lists every experiment file (experiments/*.json) with its description and its
state at its defaults: fresh (every instance cached for the current params and
code), stale (n/N instances not cached) or never run; with the headline
numbers of its results when cached (marked when they are the last run's, from
older params or code). Below each, its --set variants that have a results
folder (reports/out/NAME/VARIANT/), each with its state and headline.
--json prints the rows as JSON.`;

/** The command, given how to read headline numbers from a result output. */
export function experimentsCommand(reader: HeadlineReader): Command {
  return {
    help: HELP,
    async run(def: CliDefinition, args: string[]): Promise<number> {
      let json: boolean;
      try {
        json = parseArgs({ args, options: { json: { type: "boolean" } } })
          .values.json ?? false;
      } catch (error) {
        throw new UsageError(
          `${(error as Error).message} (see 'deno task experiments --help')`,
        );
      }
      const rows = await listExperiments(def, reader);
      console.log(
        json ? JSON.stringify(rows, null, 2) : formatExperiments(rows),
      );
      return 0;
    },
  };
}
