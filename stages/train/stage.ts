/**
 * The training stage: one instance per optimizer × seed × sweep cell
 * (items.ts). Reads the noisy training set and the clean test set, trains
 * (loop.ts), and returns the per-epoch record and the checkpoints: results
 * only, bit for bit the same on every rerun. Its wall times go to
 * `ctx.timings`.
 */
import { createHash } from "node:crypto";
import { decodeJson } from "../../pipeline/artifact.ts";
import type { Item, Json, Params, StageContext } from "../../pipeline/stage.ts";
import { defineStage } from "../../pipeline/stage.ts";
import { backendVersions } from "../nn/backend.ts";
import { encodeCheckpoints } from "../nn/checkpoint.ts";
import { trainConfig } from "./config.ts";
import { decodeTestSet, decodeTrainSet, type TrainData } from "../nn/data.ts";
import {
  applyCell,
  cellOptimizer,
  itemCell,
  itemLabel,
  trainFanOut,
} from "./items.ts";
import { type TrainConfig, type TrainHooks, trainRun } from "../nn/loop.ts";
import { type TrainForeach, type TrainParams, trainParams } from "./params.ts";
import { MEASURE_WORKER } from "../nn/measure_stream.ts";
import { encodeRecord, type RecordMeta } from "../nn/record.ts";
import { timingSummary } from "../nn/timings.ts";

export const trainStage = defineStage<TrainParams, TrainForeach>({
  name: "train",
  module: import.meta.url,
  heavy: true,
  // The measuring Worker's entry is loaded by URL, not imported: declared so it is fingerprinted.
  sources: [MEASURE_WORKER],
  // Training keeps one core busy, and its measuring Worker another: the
  // snapshot costs about a training epoch (`deno task bench`).
  threads: 2,
  cost: trainCost,
  ...trainParams,
  foreach: trainFanOut,
  inputs: {
    train: { stage: "noise", output: "train" },
    test: { stage: "download", output: "test" },
    // Each optimizer's lr: tuned on a held-out split when tuning.enabled (SCIENCE §7), else the configured one.
    lr: { stage: "select", output: "lr" },
  },
  // A choice, not a version: the npm versions come from deno.lock.
  versions: { backend: "wasm" },
  outputs: ["record", "checkpoints"],
  run,
});

/** Trains one instance and packs its record and checkpoints. */
async function run(
  ctx: StageContext<TrainParams>,
): Promise<Record<string, Uint8Array>> {
  const selected = decodeJson<{ lr: number; tuned: boolean }>(ctx.input("lr"));
  const config = trainConfig(
    ctx.params,
    ctx.item,
    selected.tuned ? selected.lr : undefined,
  );
  const trainBytes = ctx.input("train");
  const testBytes = ctx.input("test");
  const data = {
    train: decodeTrainSet(trainBytes),
    test: decodeTestSet(testBytes),
  };
  const identity = createHash("sha256").update(trainBytes).update(testBytes)
    .digest("hex");
  ctx.log.info(
    `training ${
      itemLabel(ctx.item)
    }: ${config.epochs} epochs on ${data.train.n} samples`,
  );
  const metaOf = recordMetaOf(ctx.item, config, selected.tuned, data);
  const result = await trainRun(config, data, {
    progress: reportProgress(ctx, metaOf),
    log: (message) => ctx.log.info(message),
    signal: ctx.signal,
    scratchDir: ctx.scratchDir,
    identity,
    overlap: true,
  });
  if (result.status === "diverged") {
    ctx.log.warn(`diverged at epoch ${result.divergedEpoch}`);
  }
  // Wall times are provenance (lock entry, run cache), not part of the record.
  ctx.timings?.(timingSummary(result.seconds));
  const meta = metaOf(result, result.status, result.divergedEpoch);
  return {
    record: encodeRecord({ meta, columns: result.columns }),
    checkpoints: encodeCheckpoints(result.checkpoints),
  };
}

/** The record's meta of a run (so far, or finished) of this item and config. */
type MetaOf = (
  run: { params: number; layers: number; batchSize: number },
  status: RecordMeta["status"],
  divergedEpoch: number | null,
) => RecordMeta;

/** What the record says about a run of `item` with `config` on `data`. */
function recordMetaOf(
  item: Item,
  config: TrainConfig,
  tuned: boolean,
  data: TrainData,
): MetaOf {
  return (run, status, divergedEpoch) => ({
    status,
    diverged_epoch: divergedEpoch,
    optimizer: config.optimizer as unknown as Json,
    lr_source: tuned ? "tuned" : "config",
    configured_lr: cellOptimizer(item)["lr"] as number,
    seed: config.seed,
    cell: itemCell(item),
    params: run.params,
    layers: run.layers,
    batch_size: run.batchSize,
    n_train: data.train.n,
    n_test: data.test.n,
    corrupted_count: data.train.corrupted.reduce((a, b) => a + b, 0),
    epochs: config.epochs,
    snapshot_every: config.snapshotEvery,
    snapshot_partition:
      "row e >= 1: the partition of epoch e (just trained on); row 0: the partition of epoch 1",
    versions: backendVersions(),
  });
}

/**
 * The loop's progress hook: the progress line, and every `partialEvery`
 * epochs (and at the last) the partial record a live view shows (pipeline/live.ts).
 */
function reportProgress(
  ctx: StageContext<TrainParams>,
  metaOf: MetaOf,
): NonNullable<TrainHooks["progress"]> {
  return (epoch, epochs, view) => {
    ctx.progress(epoch, epochs, {
      loss: view.row["train_loss"] ?? NaN,
      test_error: view.row["test_error"] ?? NaN,
    });
    const every = ctx.partialEvery ?? 0;
    if (
      ctx.partial && every > 0 && epoch > 0 &&
      (epoch % every === 0 || epoch === epochs)
    ) {
      ctx.partial(
        "record",
        encodeRecord({
          meta: metaOf(view, "ok", null),
          columns: view.columns(),
        }),
      );
    }
  };
}

/**
 * Expected work of an instance, for the scheduler: epochs × (1 + the
 * snapshot's share of an epoch) × the optimizer's cost per step relative to
 * SGD's (the adaptive updates' elementwise work: 3.76–3.92 s against 3.05 s
 * an epoch in the paper run), doubled by the explicit penalty's extra passes.
 */
export function trainCost(
  declared: Params,
  item: Record<string, Json>,
): number {
  const params = applyCell(declared, itemCell(item));
  const epochs = Number(params["train.epochs"] ?? 0);
  const every = Number(params["train.snapshot_every"] ?? 1);
  const snapshot = every > 0 ? 1 / every : 0; // a snapshot costs about an epoch
  const name = cellOptimizer(item)["name"];
  const step = name === "sgd" || name === "gd" ? 1 : 1.25;
  const penalty = Number(params["train.explicit_penalty"] ?? 0) > 0 ? 2 : 1;
  return epochs * (1 + snapshot) * step * penalty;
}
