/**
 * The training stage's fan-out: one instance per optimizer × seed × sweep
 * cell, and the helpers that turn an item back into concrete settings.
 */
import type { Item, Json, Params } from "../../pipeline/stage.ts";

/** Optimizer names the project implements (SCIENCE §3). */
export const OPTIMIZER_NAMES = [
  "gd",
  "sgd",
  "rmsprop",
  "adam",
  "swats",
] as const;

/** Params of the train stage a sweep cell may override (besides `optimizer.<field>`). */
export const SWEEPABLE = [
  "model.arch",
  "model.hidden",
  "model.loss",
  "train.epochs",
  "train.batch_size",
  "train.snapshot_every",
  "train.checkpoint_epochs",
  "train.weight_decay",
  "train.explicit_penalty",
] as const;

/** A sweep cell: dotted param path → value, e.g. `{ "train.batch_size": 16 }`. */
export type Cell = Record<string, Json>;

/**
 * Lists the instances: `optimizers` × `seeds` × the Cartesian product of
 * `matrix` (a single empty cell when the matrix is empty), in that nesting
 * order. Each optimizer config gets `label` defaulted to its name.
 */
export function trainItems(params: Params): Item[] {
  const optimizers = readOptimizers(params["optimizers"]);
  const seeds = readSeeds(params["seeds"]);
  const cells = matrixCells(params["matrix"] ?? {});
  const items: Item[] = [];
  for (const optimizer of optimizers) {
    for (const seed of seeds) {
      for (const cell of cells) items.push({ optimizer, seed, cell });
    }
  }
  return items;
}

/** The Cartesian product of a sweep matrix's value lists, keys in sorted order. */
export function matrixCells(matrix: Json): Cell[] {
  if (matrix === null || typeof matrix !== "object" || Array.isArray(matrix)) {
    throw new Error(
      `matrix: expected an object mapping param paths to lists of values, got ${
        JSON.stringify(matrix)
      }`,
    );
  }
  let cells: Cell[] = [{}];
  for (const path of Object.keys(matrix).sort()) {
    const values = matrix[path];
    if (!Array.isArray(values) || values.length === 0) {
      throw new Error(
        `matrix.${path}: expected a non-empty list of values, got ${
          JSON.stringify(values)
        }`,
      );
    }
    checkSweepPath(path);
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
    checkSweepPath(path);
    if (!path.startsWith("optimizer.")) out[path] = value;
  }
  return out;
}

/** The item's optimizer config with a cell's `optimizer.<field>` overrides applied. */
export function cellOptimizer(item: Item): { [key: string]: Json } {
  const optimizer = item["optimizer"];
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
  const out = { ...optimizer };
  for (const [path, value] of Object.entries(itemCell(item))) {
    if (path.startsWith("optimizer.")) {
      out[path.slice("optimizer.".length)] = value;
    }
  }
  return out;
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
  const optimizer = cellOptimizer(item);
  const name = String(optimizer["label"] ?? optimizer["name"]);
  const parts = [name, `seed ${JSON.stringify(item["seed"])}`];
  for (const [path, value] of Object.entries(itemCell(item))) {
    parts.push(
      `${path.slice(path.lastIndexOf(".") + 1)}=${JSON.stringify(value)}`,
    );
  }
  return parts.join(" · ");
}

function checkSweepPath(path: string): void {
  if (path.startsWith("optimizer.") && path.length > "optimizer.".length) {
    return;
  }
  if ((SWEEPABLE as readonly string[]).includes(path)) return;
  throw new Error(
    `matrix: '${path}' cannot be swept by the train stage; allowed: ${
      SWEEPABLE.join(", ")
    }, optimizer.<field>`,
  );
}

/**
 * The experiment's optimizer configs, checked, with `label` defaulted to the
 * name: the form train, tune and select items carry.
 */
export function readOptimizers(
  value: Json | undefined,
): Array<{ [key: string]: Json }> {
  if (!Array.isArray(value) || value.length === 0) {
    throw new Error(
      `optimizers: expected a non-empty list of optimizer configs, got ${
        JSON.stringify(value)
      }`,
    );
  }
  return value.map((entry, i) => {
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
      throw new Error(
        `optimizers[${i}]: expected an object like {"name": "sgd", "lr": 0.001}, got ${
          JSON.stringify(entry)
        }`,
      );
    }
    const name = entry["name"];
    if (
      typeof name !== "string" ||
      !(OPTIMIZER_NAMES as readonly string[]).includes(name)
    ) {
      throw new Error(
        `optimizers[${i}].name: expected one of ${
          OPTIMIZER_NAMES.join(", ")
        }, got ${JSON.stringify(name)}`,
      );
    }
    const lr = entry["lr"];
    if (typeof lr !== "number" || !(lr > 0) || !Number.isFinite(lr)) {
      throw new Error(
        `optimizers[${i}].lr: expected a positive finite number, got ${
          JSON.stringify(lr)
        }`,
      );
    }
    return { ...entry, label: entry["label"] ?? name };
  });
}

function readSeeds(value: Json | undefined): number[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new Error(
      `seeds: expected a non-empty list of integers, got ${
        JSON.stringify(value)
      }`,
    );
  }
  return value.map((seed, i) => {
    if (typeof seed !== "number" || !Number.isInteger(seed)) {
      throw new Error(
        `seeds[${i}]: expected an integer, got ${JSON.stringify(seed)}`,
      );
    }
    return seed;
  });
}
