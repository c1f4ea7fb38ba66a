/**
 * The tuning stage (SCIENCE §7): one instance per optimizer × candidate lr.
 * Trains with the project's own loop (stages/train/loop.ts) on the first
 * N − V noisy training samples for `tuning.epochs` epochs and reports the
 * error and loss on the last V (noisy labels, split.ts). The select stage
 * picks each optimizer's lr from these results.
 */
import { createHash } from "node:crypto";
import { encodeJson } from "../../pipeline/artifact.ts";
import { defineStage, type StageContext } from "../../pipeline/stage.ts";
import { decodeTrainSet } from "../train/data.ts";
import { trainRun } from "../train/loop.ts";
import { trainConfig } from "../train/stage.ts";
import type { TuneResult } from "./choose.ts";
import { optimizerLabel, readTuning, tuneItems } from "./items.ts";
import { holdOut } from "./split.ts";

export const tuneStage = defineStage({
  name: "tune",
  module: import.meta.url,
  heavy: true,
  params: [
    "model.arch",
    "model.hidden",
    "model.loss",
    "train.batch_size",
    "train.weight_decay",
    "train.explicit_penalty",
    // Not the whole "tuning" section: a new candidate lr adds an instance
    // without rerunning the others (the lr is in the item).
    "tuning.epochs",
    "tuning.validation_size",
    "tuning.seed",
  ],
  foreach: { params: ["optimizers", "tuning"], items: tuneItems },
  inputs: { train: { stage: "noise", output: "train" } },
  // A choice, not a version: the npm versions come from deno.lock.
  versions: { backend: "wasm" },
  outputs: ["result"],
  run,
});

async function run(ctx: StageContext): Promise<Record<string, Uint8Array>> {
  const lr = ctx.item["lr"];
  if (typeof lr !== "number" || !(lr > 0)) {
    throw new Error(
      `item.lr: expected a positive number, got ${JSON.stringify(lr)}`,
    );
  }
  const tuning = readTuning({
    enabled: true,
    lrs: [lr],
    epochs: ctx.params["tuning.epochs"] ?? NaN,
    validation_size: ctx.params["tuning.validation_size"] ?? NaN,
    seed: ctx.params["tuning.seed"] ?? NaN,
  });
  const optimizer = ctx.item["optimizer"];
  const label = optimizerLabel(optimizer);
  const bytes = ctx.input("train");
  const { train, validation } = holdOut(
    decodeTrainSet(bytes),
    tuning.validation_size,
  );
  // The train stage's own config logic (weight decay merge, model), with the
  // tuning run's length; only row 0 takes the costly IR snapshot.
  const config = trainConfig({
    ...ctx.params,
    "train.epochs": tuning.epochs,
    "train.snapshot_every": tuning.epochs + 1,
    "train.checkpoint_epochs": [],
  }, {
    optimizer: { ...(optimizer as Record<string, never>), lr },
    seed: tuning.seed,
    cell: {},
  });
  ctx.log.info(
    `tuning ${label} at lr ${lr}: ${tuning.epochs} epochs on ${train.n}, validating on ${validation.n}`,
  );
  const result = await trainRun(config, { train, test: validation }, {
    progress: (epoch, epochs) => ctx.progress(epoch, epochs),
    log: (message) => ctx.log.info(message),
    signal: ctx.signal,
    scratchDir: ctx.scratchDir,
    identity: createHash("sha256").update(bytes).update(
      `tune:${tuning.validation_size}`,
    ).digest("hex"),
  });
  const last = (name: string): number | null => {
    const column = result.columns[name];
    const v = column?.[column.length - 1];
    return v !== undefined && Number.isFinite(v) ? v : null;
  };
  const diverged = result.status === "diverged";
  const out: TuneResult = {
    optimizer: label,
    lr,
    validation_error: diverged ? null : last("test_error"),
    validation_loss: diverged ? null : last("test_loss"),
    diverged,
  };
  return { result: encodeJson(out) };
}
