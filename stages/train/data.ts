/**
 * Turns the noise stage's "train" bundle and the download stage's "test"
 * bundle into the arrays and tensors training reads. Pixels become float32
 * in [0, 1] (SCIENCE §1.1): u8 pixels are divided by 255, f32 pixels (input
 * noise on, SCIENCE §1.2) are taken as they are.
 */
import * as tf from "@tensorflow/tfjs-core";
import { type Column, decodeBundle } from "../../pipeline/artifact.ts";

/** Pixels per MNIST image. */
export const IMAGE_SIZE = 784;
/** MNIST / Fashion-MNIST classes. */
export const CLASSES = 10;

/** One labelled set as plain arrays. */
export interface DataSet {
  /** Samples and features. */
  n: number;
  d: number;
  /** Row-major pixels in [0, 1]: [n * d]. */
  images: Float32Array;
  /** The labels trained or tested on (noisy for the train set): [n]. */
  labels: Int32Array;
  /** 1 where the label was corrupted by the noise stage (SCIENCE §1.2), else 0: [n]. */
  corrupted: Uint8Array;
}

/** Both sets of one run. */
export interface TrainData {
  train: DataSet;
  test: DataSet;
}

/** Tensors of one set, owned by the caller (dispose them). */
export interface DataTensors {
  images: tf.Tensor2D; // [n, d]
  labels: tf.Tensor1D; // [n] int32
}

/** Decodes the noise stage's "train" bundle (images, labels, original_labels, corrupted). */
export function decodeTrainSet(bytes: Uint8Array): DataSet {
  const { columns } = decodeBundle(bytes);
  const set = decodeImagesLabels(columns, "train");
  const indices = columns["corrupted"];
  if (indices !== undefined) {
    for (const i of indices) {
      if (!Number.isInteger(i) || i < 0 || i >= set.n) {
        throw new Error(
          `train.corrupted: index ${i} is outside 0..${set.n - 1}`,
        );
      }
      set.corrupted[i] = 1;
    }
  }
  return set;
}

/** Decodes the download stage's "test" bundle (images, labels). */
export function decodeTestSet(bytes: Uint8Array): DataSet {
  return decodeImagesLabels(decodeBundle(bytes).columns, "test");
}

/** Float32 tensors of a set, on the active backend. */
export function toTensors(set: DataSet): DataTensors {
  return {
    images: tf.tensor2d(set.images, [set.n, set.d], "float32"),
    labels: tf.tensor1d(set.labels, "int32"),
  };
}

function decodeImagesLabels(
  columns: Record<string, Column>,
  name: string,
): DataSet {
  const rawImages = columns["images"];
  const rawLabels = columns["labels"];
  if (rawImages === undefined || rawLabels === undefined) {
    throw new Error(
      `${name}: the bundle needs columns 'images' and 'labels', got ${
        Object.keys(columns).join(", ")
      }`,
    );
  }
  const n = rawLabels.length;
  if (n === 0 || rawImages.length !== n * IMAGE_SIZE) {
    throw new Error(
      `${name}.images: expected ${n} × ${IMAGE_SIZE} pixels for ${n} labels, got ${rawImages.length}`,
    );
  }
  let images: Float32Array;
  if (rawImages instanceof Uint8Array) {
    images = new Float32Array(rawImages.length);
    for (let i = 0; i < rawImages.length; i++) images[i] = rawImages[i]! / 255;
  } else if (rawImages instanceof Float32Array) {
    images = rawImages;
  } else {
    throw new Error(
      `${name}.images: expected u8 (0..255) or f32 ([0, 1]) pixels, got ${rawImages.constructor.name}`,
    );
  }
  const labels = Int32Array.from(rawLabels);
  for (const label of labels) {
    if (!(label >= 0 && label < CLASSES)) {
      throw new Error(
        `${name}.labels: expected classes 0..${CLASSES - 1}, got ${label}`,
      );
    }
  }
  return { n, d: IMAGE_SIZE, images, labels, corrupted: new Uint8Array(n) };
}
