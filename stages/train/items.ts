/**
 * The training stage's fan-out: one instance per optimizer × seed × sweep
 * cell, and the helpers that turn an item back into concrete settings.
 */
import type { Item, Json, Params } from "../../pipeline/stage.ts";
import {
  type OptimizerParams,
  type TrainForeach,
  trainForeach,
} from "./params.ts";

export { OPTIMIZER_NAMES, SWEEPABLE } from "./params.ts";

/** A sweep cell: dotted param path → value, e.g. `{ "train.batch_size": 16 }`. */
export type Cell = Record<string, Json>;

/**
 * Lists the instances: `optimizers` × `seeds` × the Cartesian product of
 * `matrix` (a single empty cell when the matrix is empty), in that nesting
 * order. Each optimizer config gets `label` defaulted to its name. The params
 * were parsed by the stage's fan-out schema (params.ts), and every cell was
 * validated with the experiment before anything ran.
 */
export function trainItems(params: TrainForeach): Item[] {
  const optimizers = labelled(params.optimizers);
  const cells = matrixCells(params.matrix);
  const items: Item[] = [];
  for (const optimizer of optimizers) {
    for (const seed of params.seeds) {
      for (const cell of cells) items.push({ optimizer, seed, cell });
    }
  }
  return items;
}

/**
 * One instance per training run, listed by `trainItems`: the fan-out of the
 * train stage and of every stage that follows its runs one to one.
 */
export const trainFanOut = { ...trainForeach, items: trainItems };

/** The Cartesian product of a sweep matrix's value lists, keys in sorted order. */
export function matrixCells(matrix: Record<string, readonly Json[]>): Cell[] {
  let cells: Cell[] = [{}];
  for (const path of Object.keys(matrix).sort()) {
    const values = matrix[path]!;
    cells = cells.flatMap((cell) =>
      values.map((value) => ({ ...cell, [path]: value }))
    );
  }
  return cells;
}

/**
 * The declared params with a cell's overrides applied. `optimizer.<field>`
 * paths are not params: they are applied by `cellOptimizer`.
 */
export function applyCell(params: Params, cell: Cell): Params {
  const out: Params = { ...params };
  for (const [path, value] of Object.entries(cell)) {
    if (!path.startsWith("optimizer.")) out[path] = value;
  }
  return out;
}

/** The item's optimizer config with a cell's `optimizer.<field>` overrides applied. */
export function cellOptimizer(item: Item): { [key: string]: Json } {
  const out = { ...optimizerObject(item["optimizer"]) };
  for (const [path, value] of Object.entries(itemCell(item))) {
    if (path.startsWith("optimizer.")) {
      out[path.slice("optimizer.".length)] = value;
    }
  }
  return out;
}

/** An item's `optimizer`, checked to be a config object. */
function optimizerObject(optimizer: Json | undefined): { [key: string]: Json } {
  if (
    optimizer === null || typeof optimizer !== "object" ||
    Array.isArray(optimizer)
  ) {
    throw new Error(
      `item.optimizer: expected an optimizer config object, got ${
        JSON.stringify(optimizer)
      }`,
    );
  }
  return optimizer;
}

/** The optimizer's display label (`label`, else `name`). */
export function optimizerLabel(optimizer: Json | undefined): string {
  const config = optimizerObject(optimizer);
  return String(config["label"] ?? config["name"]);
}

/** The item's cell (`{}` when absent). */
export function itemCell(item: Item): Cell {
  const cell = item["cell"] ?? {};
  if (cell === null || typeof cell !== "object" || Array.isArray(cell)) {
    throw new Error(
      `item.cell: expected an object of param overrides, got ${
        JSON.stringify(cell)
      }`,
    );
  }
  return cell;
}

/** A short human label, e.g. `"sgd-m0.9 · seed 0 · batch_size=16"`. */
export function itemLabel(item: Item): string {
  const parts = [
    optimizerLabel(cellOptimizer(item)),
    `seed ${JSON.stringify(item["seed"])}`,
  ];
  for (const [path, value] of Object.entries(itemCell(item))) {
    parts.push(
      `${path.slice(path.lastIndexOf(".") + 1)}=${JSON.stringify(value)}`,
    );
  }
  return parts.join(" · ");
}

/**
 * The experiment's optimizer configs (already parsed) with `label` defaulted
 * to the name: the form train, tune and select items carry.
 */
export function labelled(
  optimizers: readonly OptimizerParams[],
): Array<{ [key: string]: Json }> {
  return optimizers.map((o) =>
    ({ ...o, label: o.label ?? o.name }) as { [key: string]: Json }
  );
}
