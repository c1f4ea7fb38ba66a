/**
 * The tuning fan-out (SCIENCE §7): one `tune` instance per optimizer × lr
 * when `tuning.enabled`, none otherwise; one `select` instance per optimizer
 * always, so the train stage can read its optimizer's lr by `match`.
 */
import { z } from "zod";
import type { Item } from "../../pipeline/stage.ts";
import { declareParams } from "../params.ts";
import { labelled } from "../train/items.ts";
import { optimizersSchema } from "../train/params.ts";
import { tuningSection } from "./params.ts";

export { NO_TUNING, type Tuning } from "./params.ts";

/** What the tune stage's fan-out is listed from. */
export const tuneForeach = declareParams({
  optimizers: optimizersSchema,
  tuning: tuningSection,
});
export type TuneForeach = z.infer<typeof tuneForeach.schema>;

/** What the select stage's fan-out is listed from. */
export const selectForeach = declareParams({ optimizers: optimizersSchema });
export type SelectForeach = z.infer<typeof selectForeach.schema>;

/** `tune` items: optimizers × `tuning.lrs` when enabled, else none. */
export function tuneItems(params: TuneForeach): Item[] {
  if (!params.tuning.enabled) return [];
  return labelled(params.optimizers).flatMap((optimizer) =>
    params.tuning.lrs.map((lr) => ({ optimizer, lr }))
  );
}

/** `select` items: one per optimizer, whatever the tuning says. */
export function selectItems(params: SelectForeach): Item[] {
  return labelled(params.optimizers).map((optimizer) => ({ optimizer }));
}
