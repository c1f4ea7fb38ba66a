/**
 * The metrics stage: reads every run's record (raw sums only, so a formula
 * changed here never needs retraining), derives the IR terms (SCIENCE §2),
 * merges sharpness (§4.2), aggregates over seeds (§7), summarises each group
 * and evaluates the paper's claims. Output: `MetricsDoc` as JSON.
 */
import { decodeJson, encodeJson, encodeText } from "../../pipeline/artifact.ts";
import {
  defineStage,
  type InputValue,
  type Item,
  type Json,
  type StageContext,
} from "../../pipeline/stage.ts";
import type { OptimizerConfig } from "../nn/contracts.ts";
import { aggregateSeries } from "./aggregate.ts";
import { describeComparison, evaluateClaims } from "./claims.ts";
import { stallCaution, stalledGroups } from "./findings/stalled.ts";
import {
  evaluateFindings,
  FINDING_IDS,
  type FindingId,
  isFindingId,
} from "./findings/mod.ts";
import { edgeOfStabilityAnswer } from "./edge_of_stability.ts";
import { decodeRecord } from "./record_view.ts";
import { buildRun, groupBy, groupLabel, type Run, toCell } from "./runs.ts";
import { groupSummary } from "./summary.ts";
import { metricsSchema, runsCsv, runsParquet } from "./tidy.ts";
import { describeGroup, scopeOf } from "./groups.ts";
import { QUANTITY_ORDER } from "../quantities.ts";
import type {
  BarrierEntry,
  KnownAnswer,
  MetricsDoc,
  Series,
  TuningEntry,
} from "./types.ts";

/** The sharpness stage's per-run output. */
export interface SharpnessData {
  epochs: number[];
  sharpness: number[];
  iterations: number[];
  /** Relative residual bound per epoch (absent in outputs made before it existed). */
  residual?: number[];
  /** Hutchinson trace estimates per epoch (absent or empty when not asked). */
  trace?: number[];
  /**
   * λ₁(P⁻¹H) per epoch (SCIENCE §4.2.1) and its residual bound, for RMSprop
   * and Adam; absent in outputs made before it existed, empty for others.
   */
  preconditioned_sharpness?: Array<number | null>;
  preconditioned_residual?: Array<number | null>;
}

function asObject(value: Json | undefined): Record<string, Json> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? value
    : {};
}

/**
 * The optimizer config a run was trained with: the record's meta (cell
 * overrides already applied by the train stage), else the item's config with
 * the cell's `optimizer.<field>` overrides applied (e.g. an lr sweep).
 * Throws if neither names an optimizer with a numeric lr.
 */
export function optimizerOf(
  item: Item,
  meta: Json | undefined,
): OptimizerConfig {
  const recorded = asObject(meta);
  let config = recorded;
  if (!isConfig(recorded)) {
    config = { ...asObject(item["optimizer"]) };
    for (const [path, value] of Object.entries(asObject(item["cell"]))) {
      if (path.startsWith("optimizer.")) {
        config[path.slice("optimizer.".length)] = value;
      }
    }
  }
  if (!isConfig(config)) {
    throw new Error(
      "Run optimizer needs 'name' (gd, sgd, rmsprop, adam, swats) and numeric 'lr'",
    );
  }
  return config as unknown as OptimizerConfig;
}

function isConfig(config: Record<string, Json>): boolean {
  return typeof config["name"] === "string" && typeof config["lr"] === "number";
}

/** A run's identity key, to match sharpness outputs with records. */
function runKey(label: string, seed: number, cell: Run["cell"]): string {
  return JSON.stringify([label, seed, groupLabel("", cell)]);
}

/** Decodes every record into a Run (item first, record meta as fallback). */
export function readRuns(
  records: InputValue[],
  log: StageContext["log"],
): Run[] {
  return records.map(({ item, data }) => {
    const view = decodeRecord(data);
    const optimizer = optimizerOf(item, view.meta.optimizer);
    const seed = typeof item["seed"] === "number"
      ? item["seed"]
      : view.meta.seed;
    if (seed === null) {
      throw new Error("Run seed is missing from both the item and the record");
    }
    const cell = toCell(item["cell"] ?? view.meta.cell);
    const run = buildRun(view, { optimizer, seed, cell });
    if (view.missing.length > 0) {
      log.warn(
        `${run.group} seed ${seed}: record lacks ${
          view.missing.join(", ")
        } (not measured)`,
      );
    }
    return run;
  });
}

/** Adds each sharpness output to the run with the same optimizer label, seed and cell. */
export function mergeSharpness(runs: Run[], sharpness: InputValue[]): number {
  const byKey = new Map(runs.map((r) => [runKey(r.label, r.seed, r.cell), r]));
  let merged = 0;
  for (const { item, data } of sharpness) {
    const config = asObject(item["optimizer"]);
    const label = typeof config["label"] === "string"
      ? config["label"]
      : String(config["name"]);
    const seed = typeof item["seed"] === "number" ? item["seed"] : NaN;
    const run = byKey.get(runKey(label, seed, toCell(item["cell"])));
    if (!run) continue;
    const s = decodeJson<SharpnessData>(data);
    if (s.epochs.length !== s.sharpness.length) {
      throw new Error(
        `Sharpness of ${run.group} seed ${seed}: epochs and sharpness lengths differ`,
      );
    }
    // JSON turns NaN into null; treat it as not measured.
    run.series.sharpness = {
      epochs: s.epochs,
      values: s.sharpness.map((v) => (typeof v === "number" ? v : NaN)),
    };
    if (s.residual && s.residual.length === s.epochs.length) {
      run.series.sharpness_residual = {
        epochs: s.epochs,
        values: s.residual.map((v) => (typeof v === "number" ? v : NaN)),
      };
    }
    const finite = (values: Array<number | null>) =>
      values.map((v) => (typeof v === "number" ? v : NaN));
    const pre = s.preconditioned_sharpness;
    if (pre && pre.length === s.epochs.length) {
      run.series.preconditioned_sharpness = {
        epochs: s.epochs,
        values: finite(pre),
      };
    }
    const preResidual = s.preconditioned_residual;
    if (preResidual && preResidual.length === s.epochs.length) {
      run.series.preconditioned_sharpness_residual = {
        epochs: s.epochs,
        values: finite(preResidual),
      };
    }
    if (s.trace && s.trace.length === s.epochs.length) {
      run.series.hessian_trace = {
        epochs: s.epochs,
        values: s.trace.map((v) => (typeof v === "number" ? v : NaN)),
      };
    }
    merged++;
  }
  return merged;
}

/** Groups runs by group label, in first-appearance order. */
export function groupRuns(runs: Run[]): Run[][] {
  return [...groupBy(runs, (run) => run.group).values()];
}

/** Per-group, per-quantity series aggregated over seeds; quantities no run measured are left out. */
export function buildSeries(groups: Run[][]): Series[] {
  const out: Series[] = [];
  for (const runs of groups) {
    const first = runs[0]!;
    for (const quantity of QUANTITY_ORDER) {
      const measured = runs.flatMap((
        r,
      ) => (r.series[quantity] ? [r.series[quantity]] : []));
      if (measured.length === 0) continue;
      const agg = aggregateSeries(measured);
      if (agg.epochs.length === 0) continue;
      out.push({
        group: first.group,
        optimizer: first.label,
        cell: first.cell,
        quantity,
        ...agg,
      });
    }
  }
  return out;
}

/** The last epoch any run of a group recorded (0 when none). */
function lastEpoch(runs: Run[]): number {
  let last = 0;
  for (const run of runs) {
    for (const s of Object.values(run.series)) {
      const epochs = s?.epochs ?? [];
      for (let i = 0; i < epochs.length; i++) {
        last = Math.max(last, epochs[i]!);
      }
    }
  }
  return last;
}

/** Builds the whole document from runs (pure; the stage's run() only decodes and encodes). */
export function buildDoc(
  experiment: string,
  runs: Run[],
  known: KnownAnswer[],
): MetricsDoc {
  const groups = groupRuns(runs);
  const lr: Record<string, number> = {};
  const optimizers: NonNullable<MetricsDoc["optimizers"]> = {};
  for (const g of groups) {
    lr[g[0]!.group] = g[0]!.optimizer.lr;
    optimizers[g[0]!.group] = toCell(g[0]!.optimizer);
  }
  const infos = groups.map((g) =>
    describeGroup(
      g[0]!.group,
      g[0]!.optimizer,
      g[0]!.cell,
      [...new Set(g.map((r) => r.seed))],
      lastEpoch(g),
    )
  );
  const caution = stallCaution(stalledGroups(runs));
  return {
    experiment,
    groups: infos,
    scope: scopeOf(infos),
    lr,
    series: buildSeries(groups),
    summaries: groups.map(groupSummary),
    // JSON has no NaN/Infinity: a claim number that is not finite is left out.
    claims: evaluateClaims(runs).map((c) => ({
      ...c,
      ...(c.verdict === "not measured" || caution === ""
        ? {}
        : { evidence: `${c.evidence} ${caution}` }),
      numbers: Object.fromEntries(
        Object.entries(c.numbers).filter(([, v]) => Number.isFinite(v)),
      ),
    })),
    known,
    optimizers,
  };
}

/** An optional input: [] (with a warning) when the engine does not provide it. */
function optionalAll(ctx: StageContext, name: string): InputValue[] {
  try {
    return ctx.inputAll(name);
  } catch (e) {
    ctx.log.warn(
      `No '${name}' input (${
        e instanceof Error ? e.message : String(e)
      }); not measured`,
    );
    return [];
  }
}

/** An optional single input: null (with a warning) when the engine does not provide it. */
function optionalOne(ctx: StageContext, name: string): Uint8Array | null {
  try {
    return ctx.input(name);
  } catch (e) {
    ctx.log.warn(
      `No '${name}' input (${e instanceof Error ? e.message : String(e)})`,
    );
    return null;
  }
}

/** The select stage's outputs as `MetricsDoc.tuning`: tuned optimizers only, by label. */
export function readTuning(
  selected: InputValue[],
): Record<string, TuningEntry> {
  const out: Record<string, TuningEntry> = {};
  for (const { data } of selected) {
    const s = decodeJson<
      { optimizer: string; lr: number; tuned: boolean } & TuningEntry
    >(data);
    if (s.tuned) {
      out[s.optimizer] = { lr: s.lr, table: s.table, edge: s.edge ?? null };
    }
  }
  return out;
}

/** The `metrics.findings` param as finding ids (absent: none); throws on an unknown id. */
export function findingList(value: Json | undefined): FindingId[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    throw new Error(
      `metrics.findings: expected a list of ${FINDING_IDS.join(", ")}`,
    );
  }
  return value.map((v) => {
    if (!isFindingId(v)) {
      throw new Error(
        `metrics.findings: expected one of ${FINDING_IDS.join(", ")}, got ${
          JSON.stringify(v)
        }`,
      );
    }
    return v;
  });
}

/** The sharpness outputs merged into the runs (SCIENCE §4.2), with a warning for any that matched none. */
function mergeSharpnessInputs(ctx: StageContext, runs: Run[]): void {
  const sharpness = optionalAll(ctx, "sharpness");
  const merged = mergeSharpness(runs, sharpness);
  if (merged < sharpness.length) {
    ctx.log.warn(
      `${sharpness.length - merged} sharpness output(s) matched no record`,
    );
  }
}

/** The known answers (SCIENCE §6), plus the edge of stability of this experiment's own runs when asked. */
function knownAnswers(ctx: StageContext, runs: Run[]): KnownAnswer[] {
  const bytes = optionalOne(ctx, "known");
  const known = bytes ? decodeJson<KnownAnswer[]>(bytes) : [];
  if (ctx.params["metrics.edge_of_stability"] === true) {
    const answer = edgeOfStabilityAnswer(runs);
    ctx.log.info(`${answer.id}: ${answer.verdict}`);
    known.push(answer);
  }
  return known;
}

/** Adds the optional parts to the document: tuning, barriers and the findings the experiment names. */
function addOptionalParts(ctx: StageContext, doc: MetricsDoc, runs: Run[]) {
  const tuning = readTuning(optionalAll(ctx, "tuning"));
  if (Object.keys(tuning).length > 0) doc.tuning = tuning;
  const barriers = optionalOne(ctx, "barriers");
  const barrierList = barriers === null
    ? []
    : decodeJson<BarrierEntry[]>(barriers);
  if (barrierList.length > 0) doc.barriers = barrierList;
  const findingIds = findingList(ctx.params["metrics.findings"]);
  if (findingIds.length > 0) {
    doc.findings = evaluateFindings(findingIds, {
      runs,
      barriers: barrierList,
    });
    for (const f of doc.findings) {
      ctx.log.info(`finding ${f.id}: ${f.verdict}`);
    }
  }
}

/** One log line per claim, with its comparisons. */
function logClaims(ctx: StageContext, doc: MetricsDoc): void {
  for (const c of doc.claims) {
    ctx.log.info(
      `claim ${c.id}: ${c.verdict}` +
        (c.comparisons.length > 0
          ? ` (${c.comparisons.map(describeComparison).join("; ")})`
          : ""),
    );
  }
}

function run(ctx: StageContext) {
  const experiment = ctx.params["experiment.name"];
  const runs = readRuns(ctx.inputAll("records"), ctx.log);
  mergeSharpnessInputs(ctx, runs);
  const known = knownAnswers(ctx, runs);
  const doc = buildDoc(
    typeof experiment === "string" ? experiment : "",
    runs,
    known,
  );
  addOptionalParts(ctx, doc, runs);
  ctx.log.info(`${runs.length} runs in ${doc.summaries.length} groups`);
  logClaims(ctx, doc);
  return {
    metrics: encodeJson(doc),
    runs_csv: encodeText(runsCsv(runs, QUANTITY_ORDER)),
    runs_parquet: runsParquet(runs, QUANTITY_ORDER),
    schema: encodeText(
      JSON.stringify(metricsSchema(runs, QUANTITY_ORDER), null, 2) + "\n",
    ),
  };
}

export const metricsStage = defineStage({
  name: "metrics",
  module: import.meta.url,
  params: ["experiment.name", "metrics.findings", "metrics.edge_of_stability"],
  inputs: {
    records: { stage: "train", output: "record", select: "all" },
    sharpness: { stage: "sharpness", output: "sharpness", select: "all" },
    known: { stage: "known", output: "known" },
    tuning: { stage: "select", output: "lr", select: "all" },
    barriers: { stage: "barrier", output: "barriers" },
  },
  outputs: ["metrics", "runs_csv", "runs_parquet", "schema"],
  // Tidy per-seed data and its dictionary, beside the report (tidy.ts).
  files: {
    runs_csv: "runs.csv",
    runs_parquet: "runs.parquet",
    schema: "metrics.schema.json",
  },
  // The parquet writer's version shapes runs.parquet's bytes.
  versions: { "hyparquet-writer": "0.17.0" },
  run,
});
