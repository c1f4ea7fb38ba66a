/**
 * `deno task measure`: the SCIENCE §2 sums and terms of a saved tfjs model
 * on MNIST / Fashion-MNIST, printed as JSON (see `HELP` in args.ts).
 * Effects live here: reading the model, the dataset and the optimizer state.
 */
import * as tf from "@tensorflow/tfjs";
import { dirname, join } from "node:path";
import { Rng } from "../../pipeline/rng.ts";
import { CHECKSUMS } from "../download/checksums.ts";
import { readPackageFile, readSystemFile } from "../download/sources.ts";
import { loadSplit } from "../download/split.ts";
import { corruptLabels } from "../noise/labels.ts";
import { initWasmBackend } from "../nn/backend.ts";
import { decodeOptimizerState } from "../nn/checkpoint.ts";
import { HELP, type MeasureOptions, parseMeasureArgs } from "./args.ts";
import { measureModel, type MeasureReport } from "./measure_model.ts";

/** Loads a layers model from model.json and the weights files its manifest names. */
export async function loadModelFile(path: string): Promise<tf.LayersModel> {
  const json = JSON.parse(await Deno.readTextFile(path)) as tf.io.ModelJSON;
  const parts: Uint8Array[] = [];
  for (const group of json.weightsManifest ?? []) {
    for (const p of group.paths) {
      parts.push(await Deno.readFile(join(dirname(path), p)));
    }
  }
  const weights = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    weights.set(p, offset);
    offset += p.length;
  }
  const artifacts = tf.io.getModelArtifactsForJSONSync(
    json,
    tf.io.getWeightSpecs(json.weightsManifest),
    weights.buffer,
  );
  return tf.loadLayersModel(tf.io.fromMemory(artifacts));
}

/**
 * The first `count` samples of a split as [0, 1] pixels, with the noise
 * stage's label noise (same seed stream: `noise:<seed>` forked "labels").
 */
export async function loadMeasureData(
  options: Pick<
    MeasureOptions,
    "dataset" | "split" | "count" | "noise" | "seed"
  >,
): Promise<{ images: Float32Array; labels: Int32Array }> {
  const split = await loadSplit({
    split: options.split,
    checksums: CHECKSUMS[options.dataset],
    read: options.dataset === "mnist"
      ? readPackageFile
      : (file) => readSystemFile(file),
    checkGzipMd5: false,
    // Both datasets have 60,000 training and 10,000 test images.
    size: options.count ?? (options.split === "train" ? 60000 : 10000),
    sizeField: "--count",
    subset: "first",
    subsetSeed: 0,
  });
  let labels = split.labels;
  if (options.noise > 0) {
    labels = corruptLabels(
      labels,
      options.noise,
      10,
      Rng.fromSeed(`noise:${options.seed}`).fork("labels"),
    ).labels;
  }
  const images = new Float32Array(split.images.length);
  for (let i = 0; i < images.length; i++) images[i] = split.images[i]! / 255;
  return { images, labels: Int32Array.from(labels) };
}

/** Runs the command for parsed options and returns the report. */
export async function runMeasure(
  options: MeasureOptions,
): Promise<MeasureReport & Record<string, unknown>> {
  await initWasmBackend();
  const model = await loadModelFile(options.model);
  try {
    const data = await loadMeasureData(options);
    const state = options.optimizerState
      ? decodeOptimizerState(await Deno.readFile(options.optimizerState))
      : null;
    const report = await measureModel({
      model,
      images: data.images,
      labels: data.labels,
      batch: options.batch,
      shuffleSeed: options.shuffleSeed,
      lr: options.lr,
      loss: options.loss,
      optimizer: options.optimizer,
      optimizerState: state,
      sharpness: options.sharpness
        ? {
          subset: options.sharpnessSubset,
          tol: options.sharpnessTol,
          maxIter: options.sharpnessMaxIter,
          seed: 0,
        }
        : null,
    });
    return {
      model: options.model,
      dataset: options.dataset,
      split: options.split,
      noise: options.noise,
      seed: options.seed,
      loss_name: options.loss,
      optimizer: options.optimizer,
      ...report,
    };
  } finally {
    model.dispose();
  }
}

if (import.meta.main) {
  try {
    const options = parseMeasureArgs(Deno.args);
    if (options === null) {
      console.log(HELP);
    } else {
      console.log(JSON.stringify(await runMeasure(options), null, 2));
    }
  } catch (error) {
    console.error(`measure: ${(error as Error).message}`);
    Deno.exit(2);
  }
}
