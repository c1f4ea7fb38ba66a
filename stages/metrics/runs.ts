/**
 * One training run as the metrics stage sees it: its identity (optimizer,
 * seed, sweep cell, group) and its per-epoch quantities, derived from the
 * record's raw sums (SCIENCE §2) so that changing a formula here never needs
 * retraining.
 */
import type { OptimizerConfig } from "../nn/contracts.ts";
import type { RunSeries } from "./aggregate.ts";
import type { RecordView } from "./record_view.ts";
import {
  deriveTerms,
  ownTerm,
  ownValue,
  type RawSums,
  TERM_QUANTITIES,
  type TermQuantity,
} from "./terms.ts";
import type { Quantity } from "./types.ts";
import { RECORDED_QUANTITIES } from "../quantities.ts";
import type { RecordColumn } from "../nn/contracts.ts";

export type Cell = Record<string, number | string | boolean>;

export interface Run {
  optimizer: OptimizerConfig;
  /** The optimizer's display label (config.label, else its name). */
  label: string;
  seed: number;
  cell: Cell;
  /** Label plus sweep cell, e.g. "sgd · batch_size=16". */
  group: string;
  status: "ok" | "diverged";
  divergedEpoch: number | null;
  /** Training samples N, when the record says. */
  nTrain?: number;
  /** Per-quantity series; a quantity absent here was not measured for this run. */
  series: Partial<Record<Quantity, RunSeries>>;
}

/** "sgd" or "sgd · batch_size=16, lr=0.1" (keys by their last dotted segment, sorted). */
export function groupLabel(label: string, cell: Cell): string {
  const keys = Object.keys(cell).sort();
  if (keys.length === 0) return label;
  const parts = keys.map((k) => `${k.split(".").at(-1)}=${String(cell[k])}`);
  return `${label} · ${parts.join(", ")}`;
}

/** Runs grouped by `key`, groups and runs in first-appearance order. */
export function groupBy(
  runs: Run[],
  key: (run: Run) => string,
): Map<string, Run[]> {
  const out = new Map<string, Run[]>();
  for (const run of runs) {
    const k = key(run);
    const list = out.get(k);
    if (list) list.push(run);
    else out.set(k, [run]);
  }
  return out;
}

/** Runs by sweep cell, cells in first-appearance order. */
export function byCell(runs: Run[]): Run[][] {
  return [...groupBy(runs, (run) => groupLabel("", run.cell)).values()];
}

/**
 * A sweep cell with scalar values: numbers, strings and booleans as they are,
 * any other value (e.g. `model.hidden: [512, 256]`) as its JSON text, so
 * cells that differ only there stay apart.
 */
export function toCell(value: unknown): Cell {
  const out: Cell = {};
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return out;
  }
  for (const [k, v] of Object.entries(value)) {
    const scalar = typeof v === "number" || typeof v === "string" ||
      typeof v === "boolean";
    out[k] = scalar ? v : JSON.stringify(v);
  }
  return out;
}

/** Terms that read the optimizer's state (s, v), which is only its zero init before the first step. */
const STATE_TERMS = new Set<Quantity>(["ir_rms_paper", "ir_preconditioned"]);

/**
 * Per-epoch quantities of one record: the pass-through columns, every term
 * of `deriveTerms` and `ir_own`. η per epoch is the record's `lr` column,
 * falling back to the config's lr where the column is NaN. At epoch 0 (no
 * step taken) the terms built on the optimizer's state are NaN: s = v = 0
 * there, so the paper's term is 0 and the preconditioned one Σg²/ε (about
 * 1e8 × Σg²) — artefacts of the initialisation, not of the dynamics
 * (RMSprop's first step already uses s = (1−α)g²). This also blanks
 * `ir_own` of RMSprop, Adam and SWATS at epoch 0.
 */
export function runQuantities(
  view: RecordView,
  config: OptimizerConfig,
): Partial<Record<Quantity, Float64Array>> {
  const c = view.columns;
  const rows = view.rows;
  const out: Partial<Record<Quantity, Float64Array>> = {};
  // The record quantities are copied through unchanged (registry source "record").
  for (const q of RECORDED_QUANTITIES) out[q] = c[q as RecordColumn];
  for (const q of TERM_QUANTITIES) out[q] = new Float64Array(rows);
  const own = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const lr = Number.isFinite(c.lr[i]!) ? c.lr[i]! : config.lr;
    const sums: RawSums = {
      lr,
      m: c.m[i]!,
      sum_g2: c.sum_g2[i]!,
      gbar2: c.gbar2[i]!,
      sum_dev2: c.sum_dev2[i]!,
      full_grad2: c.full_grad2[i]!,
      sum_pre: c.sum_pre[i]!,
      pre_scale: c.pre_scale[i]!,
      sum_s_g2: c.sum_s_g2[i]!,
      one_norm: c.one_norm[i]!,
      traj_g2: c.traj_g2[i]!,
    };
    const terms = deriveTerms(sums, config);
    own[i] = ownValue(terms, config);
    if (c.epoch[i] === 0) {
      for (const q of STATE_TERMS) terms[q as TermQuantity] = NaN;
      if (STATE_TERMS.has(ownTerm(config))) own[i] = NaN;
    }
    for (const q of TERM_QUANTITIES) out[q]![i] = terms[q];
  }
  out.ir_own = own;
  return out;
}

/** Builds a Run from a decoded record and its identity; quantities never finite are left out. */
export function buildRun(
  view: RecordView,
  identity: { optimizer: OptimizerConfig; seed: number; cell: Cell },
): Run {
  const label = identity.optimizer.label ?? identity.optimizer.name;
  const series: Partial<Record<Quantity, RunSeries>> = {};
  const epochs = view.columns.epoch;
  for (
    const [q, values] of Object.entries(runQuantities(view, identity.optimizer))
  ) {
    if (values.some(Number.isFinite)) {
      series[q as Quantity] = { epochs, values };
    }
  }
  return {
    optimizer: identity.optimizer,
    label,
    seed: identity.seed,
    cell: identity.cell,
    group: groupLabel(label, identity.cell),
    status: view.meta.status,
    divergedEpoch: view.meta.divergedEpoch,
    ...(Number.isFinite(view.meta.nTrain) ? { nTrain: view.meta.nTrain } : {}),
    series,
  };
}
