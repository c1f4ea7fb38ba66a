/**
 * The noise stage (SCIENCE §1.2): symmetric label noise and optional Gaussian
 * input noise on the training split; the test split never passes through it.
 * Randomness comes from `noise.seed` alone (not ctx.rng), with separate
 * streams for labels and pixels so turning input noise on leaves the
 * corrupted labels unchanged.
 */
import {
  type Column,
  decodeBundle,
  encodeBundle,
} from "../../pipeline/artifact.ts";
import { Rng } from "../../pipeline/rng.ts";
import {
  defineStage,
  type Json,
  type StageContext,
} from "../../pipeline/stage.ts";
import { type NoiseParams, noiseParams } from "./config.ts";
import { addInputNoise } from "./input.ts";
import { corruptLabels } from "./labels.ts";

function run(ctx: StageContext<NoiseParams>): Record<string, Uint8Array> {
  const config = {
    labelRate: ctx.params["noise.label_rate"],
    inputStd: ctx.params["noise.input_std"],
    seed: ctx.params["noise.seed"],
  };
  const upstream = decodeBundle(ctx.input("train"));
  const images = upstream.columns.images;
  const labels = upstream.columns.labels;
  if (!(images instanceof Uint8Array) || !(labels instanceof Uint8Array)) {
    throw new Error(
      "Noise stage input 'train' needs u8 columns 'images' and 'labels'",
    );
  }
  const meta = (upstream.meta ?? {}) as Record<string, Json>;
  const classes = typeof meta.classes === "number" ? meta.classes : 10;
  const base = Rng.fromSeed(`noise:${config.seed}`);

  const noisy = corruptLabels(
    labels,
    config.labelRate,
    classes,
    base.fork("labels"),
  );
  // [N·rows·cols]: u8 0..255 passed through, or f32 in [0, 1] when noised.
  const outImages: Column = config.inputStd > 0
    ? addInputNoise(images, config.inputStd, base.fork("input"))
    : images;
  ctx.log.info(
    `${noisy.corrupted.length} of ${labels.length} labels corrupted (rate ${config.labelRate}), input std ${config.inputStd}`,
  );
  return {
    train: encodeBundle(
      {
        images: outImages,
        labels: noisy.labels,
        original_labels: labels,
        corrupted: noisy.corrupted,
      },
      {
        ...meta,
        label_rate: config.labelRate,
        input_std: config.inputStd,
        seed: config.seed,
        corrupted_count: noisy.corrupted.length,
        pixels: config.inputStd > 0
          ? "f32 in [0, 1], row-major [count, rows, cols]: already scaled, do not divide by 255"
          : meta.pixels ?? "u8 in 0..255; divide by 255 for [0, 1]",
      },
    ),
  };
}

export const noiseStage = defineStage({
  name: "noise",
  module: import.meta.url,
  ...noiseParams,
  inputs: { train: { stage: "download", output: "train" } },
  outputs: ["train"],
  run,
});
