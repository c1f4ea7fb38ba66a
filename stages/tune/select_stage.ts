/**
 * The select stage: each optimizer's learning rate for the final runs. With
 * tuning on, the lr of the lowest final validation error among its tune
 * instances (choose.ts); with tuning off, the lr of the experiment file.
 * One instance per optimizer (item `{ optimizer }`, exactly as in the train
 * items), so a train instance reads its own optimizer's choice by `match`
 * and adding an optimizer never invalidates the others' cached runs.
 */
import { decodeJson, encodeJson } from "../../pipeline/artifact.ts";
import { z } from "zod";
import { defineStage, type StageContext } from "../../pipeline/stage.ts";
import { declareParams, pick, under } from "../params.ts";
import { tuningFields } from "./params.ts";
import { chooseLr, type TunedLr, type TuneResult } from "./choose.ts";
import { edgeWarning, type GridEdge, gridEdge } from "./edge.ts";
import { type SelectForeach, selectForeach, selectItems } from "./items.ts";
import { optimizerLabel } from "../train/items.ts";

const selectParams = declareParams(
  under("tuning", pick(tuningFields, ["enabled"])),
);
type SelectParams = z.infer<typeof selectParams.schema>;

/** The select stage's output "lr". */
export interface SelectedLr extends TunedLr {
  optimizer: string;
  /** False when tuning is off: `lr` is the configured one and `table` is empty. */
  tuned: boolean;
  /**
   * Whether the choice is the grid's smallest or largest candidate (edge.ts);
   * only when tuned, so an untuned output stays byte for byte what it was
   * before the field existed and published results still verify.
   */
  edge?: GridEdge;
}

/** This optimizer's selection from all tune results (pure). */
export function selectLr(
  label: string,
  configuredLr: number,
  enabled: boolean,
  results: TuneResult[],
): SelectedLr {
  if (!enabled) {
    return { optimizer: label, lr: configuredLr, tuned: false, table: [] };
  }
  const own = results.filter((r) => r.optimizer === label);
  const tuned = chooseLr(label, own);
  return { optimizer: label, tuned: true, ...tuned, edge: gridEdge(tuned) };
}

function run(ctx: StageContext<SelectParams>): Record<string, Uint8Array> {
  const optimizer = ctx.item["optimizer"] as Record<string, unknown>;
  const label = optimizerLabel(ctx.item["optimizer"]);
  const configured = optimizer["lr"];
  if (typeof configured !== "number") {
    throw new Error(
      `optimizers.${label}.lr: expected a number, got ${
        JSON.stringify(configured)
      }`,
    );
  }
  const enabled = ctx.params["tuning.enabled"];
  const results = ctx.inputAll("results").map((v) =>
    decodeJson<TuneResult>(v.data)
  );
  const selected = selectLr(label, configured, enabled, results);
  if (selected.tuned) {
    ctx.log.info(
      `${label}: lr ${selected.lr} (configured ${configured}) from ${selected.table.length} candidates`,
    );
    const warning = edgeWarning(label, selected);
    if (warning) ctx.log.warn(warning);
  }
  return { lr: encodeJson(selected) };
}

export const selectStage = defineStage<SelectParams, SelectForeach>({
  name: "select",
  module: import.meta.url,
  ...selectParams,
  foreach: { ...selectForeach, items: selectItems },
  inputs: { results: { stage: "tune", output: "result", select: "all" } },
  outputs: ["lr"],
  run,
});
