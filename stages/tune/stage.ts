/**
 * The tuning stage (SCIENCE §7): one instance per optimizer × candidate lr.
 * Trains with the project's own loop (stages/nn/loop.ts) on the first
 * N − V noisy training samples for `tuning.epochs` epochs and reports the
 * error and loss on the last V (noisy labels, split.ts). The select stage
 * picks each optimizer's lr from these results.
 */
import { createHash } from "node:crypto";
import { encodeJson } from "../../pipeline/artifact.ts";
import { z } from "zod";
import { defineStage, type StageContext } from "../../pipeline/stage.ts";
import { declareParams, pick, under } from "../params.ts";
import { decodeTrainSet } from "../nn/data.ts";
import { type TrainConfig, type TrainResult, trainRun } from "../nn/loop.ts";
import { timingSummary } from "../nn/timings.ts";
import { loopConfig } from "../train/config.ts";
import type { OptimizerConfig } from "../nn/contracts.ts";
import { modelFields, trainFields } from "../train/params.ts";
import { tuningFields } from "./params.ts";
import type { TuneResult } from "./choose.ts";
import { type TuneForeach, tuneForeach, tuneItems } from "./items.ts";
import { optimizerLabel } from "../train/items.ts";
import { holdOut } from "./split.ts";

/**
 * The model and training settings of the final runs, and the tuning run's
 * length, split and seed. Not the whole "tuning" section: a new candidate lr
 * adds an instance without rerunning the others (the lr is in the item).
 */
const tuneParams = declareParams({
  ...under("model", modelFields),
  ...under(
    "train",
    pick(trainFields, ["batch_size", "weight_decay", "explicit_penalty"]),
  ),
  ...under("tuning", pick(tuningFields, ["epochs", "validation_size", "seed"])),
});
type TuneParams = z.infer<typeof tuneParams.schema>;

export const tuneStage = defineStage<TuneParams, TuneForeach>({
  name: "tune",
  module: import.meta.url,
  heavy: true,
  ...tuneParams,
  foreach: { ...tuneForeach, items: tuneItems },
  inputs: { train: { stage: "noise", output: "train" } },
  // A choice, not a version: the npm versions come from deno.lock.
  versions: { backend: "wasm" },
  outputs: ["result"],
  run,
});

/** Trains one candidate lr on the held-out split and reports its validation error and loss. */
async function run(
  ctx: StageContext<TuneParams>,
): Promise<Record<string, Uint8Array>> {
  // The item was listed by tuneItems from the parsed params.
  const lr = ctx.item["lr"] as number;
  const p = ctx.params;
  const optimizer = ctx.item["optimizer"];
  const label = optimizerLabel(optimizer);
  const bytes = ctx.input("train");
  const { train, validation } = holdOut(
    decodeTrainSet(bytes),
    p["tuning.validation_size"],
  );
  const config = tuneConfig(p, {
    ...(optimizer as unknown as OptimizerConfig),
    lr,
  });
  ctx.log.info(
    `tuning ${label} at lr ${lr}: ${config.epochs} epochs on ${train.n}, validating on ${validation.n}`,
  );
  const result = await trainRun(config, { train, test: validation }, {
    progress: (epoch, epochs) => ctx.progress(epoch, epochs),
    log: (message) => ctx.log.info(message),
    signal: ctx.signal,
    scratchDir: ctx.scratchDir,
    identity: createHash("sha256").update(bytes).update(
      `tune:${p["tuning.validation_size"]}`,
    ).digest("hex"),
  });
  ctx.timings?.(timingSummary(result.seconds));
  return { result: encodeJson(tuneResult(result, label, lr)) };
}

/**
 * The train stage's own config logic (weight decay merge, model), with the
 * tuning run's length and seed; only row 0 takes the costly IR snapshot.
 */
function tuneConfig(p: TuneParams, optimizer: OptimizerConfig): TrainConfig {
  const epochs = p["tuning.epochs"];
  return loopConfig(
    {
      "model.arch": p["model.arch"],
      "model.hidden": p["model.hidden"],
      "model.loss": p["model.loss"],
      "train.batch_size": p["train.batch_size"],
      "train.weight_decay": p["train.weight_decay"],
      "train.explicit_penalty": p["train.explicit_penalty"],
      "train.epochs": epochs,
      "train.snapshot_every": epochs + 1,
      "train.checkpoint_epochs": [],
    },
    optimizer,
    p["tuning.seed"],
  );
}

/** The last epoch's validation error and loss (null when diverged or not finite). */
function tuneResult(
  result: TrainResult,
  label: string,
  lr: number,
): TuneResult {
  const last = (name: string): number | null => {
    const column = result.columns[name];
    const v = column?.[column.length - 1];
    return v !== undefined && Number.isFinite(v) ? v : null;
  };
  const diverged = result.status === "diverged";
  return {
    optimizer: label,
    lr,
    validation_error: diverged ? null : last("test_error"),
    validation_loss: diverged ? null : last("test_loss"),
    diverged,
  };
}
