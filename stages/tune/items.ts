/**
 * The tuning fan-out (SCIENCE §7): one `tune` instance per optimizer × lr
 * when `tuning.enabled`, none otherwise; one `select` instance per optimizer
 * always, so the train stage can read its optimizer's lr by `match`.
 */
import type { Item, Json, Params } from "../../pipeline/stage.ts";
import { readOptimizers } from "../train/items.ts";

/** The `tuning` section of an experiment. */
export interface Tuning {
  enabled: boolean;
  lrs: number[];
  epochs: number;
  validation_size: number;
  seed: number;
}

/** Disabled tuning: what an experiment without a `tuning` section means. */
export const NO_TUNING: Tuning = {
  enabled: false,
  lrs: [],
  epochs: 1,
  validation_size: 1,
  seed: 0,
};

/** Reads and checks the `tuning` param (absent or null = disabled). */
export function readTuning(value: Json | undefined): Tuning {
  if (value === undefined || value === null) return NO_TUNING;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new Error(
      `tuning: expected an object {enabled, lrs, epochs, validation_size, seed}, got ${
        JSON.stringify(value)
      }`,
    );
  }
  const enabled = value["enabled"] ?? false;
  if (typeof enabled !== "boolean") {
    throw new Error(
      `tuning.enabled: expected true or false, got ${JSON.stringify(enabled)}`,
    );
  }
  const lrs = value["lrs"] ?? [];
  if (
    !Array.isArray(lrs) ||
    !lrs.every((lr) => typeof lr === "number" && lr > 0 && isFinite(lr))
  ) {
    throw new Error(
      `tuning.lrs: expected a list of positive numbers, got ${
        JSON.stringify(lrs)
      }`,
    );
  }
  if (enabled && lrs.length === 0) {
    throw new Error("tuning.lrs: expected at least one lr when enabled");
  }
  const integer = (name: string, min: number, fallback: number): number => {
    const v = value[name] ?? fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
      throw new Error(
        `tuning.${name}: expected an integer ≥ ${min}, got ${
          JSON.stringify(v)
        }`,
      );
    }
    return v;
  };
  return {
    enabled,
    lrs: lrs as number[],
    epochs: integer("epochs", 1, 1),
    validation_size: integer("validation_size", 1, 1),
    seed: integer("seed", 0, 0),
  };
}

/** The optimizer's display label (`label`, else `name`). */
export function optimizerLabel(optimizer: Json | undefined): string {
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
  return String(optimizer["label"] ?? optimizer["name"]);
}

/** `tune` items: optimizers × `tuning.lrs` when enabled, else none. */
export function tuneItems(params: Params): Item[] {
  const tuning = readTuning(params["tuning"]);
  if (!tuning.enabled) return [];
  return readOptimizers(params["optimizers"]).flatMap((optimizer) =>
    tuning.lrs.map((lr) => ({ optimizer, lr }))
  );
}

/** `select` items: one per optimizer, whatever the tuning says. */
export function selectItems(params: Params): Item[] {
  return readOptimizers(params["optimizers"]).map((optimizer) => ({
    optimizer,
  }));
}
