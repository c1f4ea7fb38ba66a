/**
 * The training loop's config (loop.ts `TrainConfig`) from the train stage's
 * parsed params: the one place the params become a run's settings, shared by
 * the train stage and the tuning runs (stages/tune/stage.ts).
 */
import type { Item, Params } from "../../pipeline/stage.ts";
import { parseParams } from "../../pipeline/stage.ts";
import type { OptimizerConfig } from "../nn/contracts.ts";
import { CLASSES, IMAGE_SIZE } from "../nn/data.ts";
import { applyCell, cellOptimizer, itemCell } from "./items.ts";
import type { TrainConfig } from "../nn/loop.ts";
import { type TrainParams, trainParams } from "./params.ts";

/**
 * The run's config from the declared params and the item: the cell's
 * overrides applied (and parsed by the stage's one schema: every cell was
 * validated with the experiment, so this is the typed view, not a check).
 */
export function trainConfig(
  declared: TrainParams | Params,
  item: Item,
  tunedLr?: number,
): TrainConfig {
  const params = parseParams(
    trainParams.schema,
    applyCell(declared as unknown as Params, itemCell(item)),
    "train params with the sweep cell",
  );
  const optimizer = cellOptimizer(item) as unknown as OptimizerConfig;
  if (tunedLr !== undefined) optimizer.lr = tunedLr;
  return loopConfig(params, optimizer, item["seed"] as number);
}

/**
 * The loop's config from parsed params: `train.weight_decay` merged into the
 * optimizer unless the optimizer sets its own `weight_decay`.
 */
export function loopConfig(
  params: TrainParams,
  optimizer: OptimizerConfig,
  seed: number,
): TrainConfig {
  const weightDecay = params["train.weight_decay"];
  if (optimizer.weight_decay === undefined && weightDecay !== 0) {
    optimizer = { ...optimizer, weight_decay: weightDecay };
  }
  return {
    model: {
      arch: params["model.arch"],
      hidden: params["model.hidden"],
      loss: params["model.loss"],
      inputSize: IMAGE_SIZE,
      classes: CLASSES,
    },
    optimizer,
    seed,
    epochs: params["train.epochs"],
    batchSize: params["train.batch_size"],
    snapshotEvery: params["train.snapshot_every"],
    checkpointEpochs: params["train.checkpoint_epochs"],
    explicitPenalty: params["train.explicit_penalty"],
  };
}
