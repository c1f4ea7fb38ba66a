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

/** The host arrays batch tensors are cut from (a `DataSet` is one). */
export type Samples = Pick<DataSet, "n" | "d" | "images" | "labels">;

/** A batch as tensors, owned by the caller (dispose them). */
export interface BatchTensors {
  x: tf.Tensor2D; // [b, d]
  y: tf.Tensor1D; // [b] int32
}

/**
 * The samples `rows` as tensors, copied row by row on the host. Batches are
 * never cut from a whole-set tensor: on tfjs-backend-wasm 4.22 `tf.gather`
 * costs ~3 ms per batch of 64 MNIST rows and `tf.slice` copies the entire
 * source tensor to JS on every call (7 ms for 10,000 rows), while this copy
 * and upload take ~0.1 ms.
 */
export function rowTensors(
  set: Samples,
  rows: ArrayLike<number>,
): BatchTensors {
  const { d } = set;
  const images = new Float32Array(rows.length * d);
  const labels = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    if (!(r >= 0 && r < set.n) || !Number.isInteger(r)) {
      throw new Error(`rows: index ${r} is outside 0..${set.n - 1}`);
    }
    images.set(set.images.subarray(r * d, (r + 1) * d), i * d);
    labels[i] = set.labels[r]!;
  }
  return {
    x: tf.tensor2d(images, [rows.length, d], "float32"),
    y: tf.tensor1d(labels, "int32"),
  };
}

/** Samples start .. start+size−1 as tensors (see `rowTensors` for why not tf.slice). */
export function rangeTensors(
  set: Samples,
  start: number,
  size: number,
): BatchTensors {
  const { d } = set;
  if (!(start >= 0 && size >= 1 && start + size <= set.n)) {
    throw new Error(
      `range: ${start}..${start + size - 1} is outside 0..${set.n - 1}`,
    );
  }
  return {
    x: tf.tensor2d(
      set.images.subarray(start * d, (start + size) * d),
      [size, d],
      "float32",
    ),
    y: tf.tensor1d(set.labels.subarray(start, start + size), "int32"),
  };
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
