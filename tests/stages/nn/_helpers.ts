/** Tiny synthetic inputs and a hand-made stage context for the training tests. */
import { encodeBundle, encodeJson } from "../../../pipeline/artifact.ts";
import { Rng } from "../../../pipeline/rng.ts";
import type { Item, Params, StageContext } from "../../../pipeline/stage.ts";
import type { SnapshotSums } from "../../../stages/nn/contracts.ts";
import { assert } from "../../assert.ts";

/**
 * Bundles shaped like the noise stage's "train" and the download stage's
 * "test" outputs: random u8 pixels, labels = (sum of the first 8 pixels) mod 10
 * so that the task is learnable, and `corrupted` indices whose labels are shifted by 1.
 */
export function tinyBundles(
  n = 64,
  nTest = 32,
  corrupted = 16,
  seed = 1,
): { train: Uint8Array; test: Uint8Array } {
  const rng = Rng.fromSeed(`tiny-data:${seed}`);
  const make = (count: number) => {
    const images = new Uint8Array(count * 784);
    for (let i = 0; i < images.length; i++) images[i] = rng.int(256);
    const labels = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      let s = 0;
      for (let j = 0; j < 8; j++) s += images[i * 784 + j]!;
      labels[i] = s % 10;
    }
    return { images, labels };
  };
  const train = make(n);
  const test = make(nTest);
  const corruptedIdx = rng.sample(n, corrupted);
  const noisy = train.labels.slice();
  for (const i of corruptedIdx) noisy[i] = (noisy[i]! + 1) % 10;
  return {
    train: encodeBundle({
      images: train.images,
      labels: noisy,
      original_labels: train.labels,
      corrupted: corruptedIdx,
    }),
    test: encodeBundle({ images: test.images, labels: test.labels }),
  };
}

/** Declared params of a tiny run (hidden [8], 3 epochs, batch 16). */
export function tinyParams(overrides: Params = {}): Params {
  return {
    "model.arch": "mlp",
    "model.hidden": [8],
    "model.loss": "cross_entropy",
    "train.epochs": 3,
    "train.batch_size": 16,
    "train.snapshot_every": 1,
    "train.checkpoint_epochs": [0, 1, 2],
    "train.weight_decay": 0,
    "train.explicit_penalty": 0,
    ...overrides,
  };
}

/** A stage context like the engine's, with inputs from `bundles` and a log of progress calls. */
export function tinyContext(
  params: Params,
  item: Item,
  bundles: { train: Uint8Array; test: Uint8Array },
  scratchDir: string,
  options: {
    signal?: AbortSignal;
    onProgress?: (done: number, total: number) => void;
  } = {},
): StageContext & {
  progressCalls: Array<[number, number]>;
  timingCalls: Array<Record<string, number>>;
} {
  const progressCalls: Array<[number, number]> = [];
  const timingCalls: Array<Record<string, number>> = [];
  return {
    params,
    item,
    rng: Rng.fromSeed("train-test"),
    log: { info: () => {}, warn: () => {} },
    progress(done, total) {
      progressCalls.push([done, total]);
      options.onProgress?.(done, total);
    },
    timings(values) {
      timingCalls.push(values);
    },
    input(name) {
      if (name === "train") return bundles.train;
      if (name === "test") return bundles.test;
      if (name === "lr") return encodeJson({ lr: NaN, tuned: false });
      throw new Error(`no input '${name}'`);
    },
    inputAll() {
      throw new Error("train has no select:all input");
    },
    scratchDir,
    signal: options.signal ?? new AbortController().signal,
    lineage: [],
    progressCalls,
    timingCalls,
  };
}

/** Full-batch GD at `lr`: seed 0, no sweep cell. */
export function gdItem(lr: number): Item {
  return { optimizer: { name: "gd", lr, label: "gd" }, seed: 0, cell: {} };
}

/** The default item: plain SGD at lr 0.1, seed 0, no sweep cell. */
export function sgdItem(lr = 0.1, seed = 0): Item {
  return { optimizer: { name: "sgd", lr, label: "sgd" }, seed, cell: {} };
}

/**
 * Asserts that every number of a snapshot's sums (m, the gradient sums, the
 * preconditioned sums, loss, error) agrees with `expected` to `tol` relative;
 * NaN passes only against NaN (a sum that does not apply on both sides).
 */
export function assertSumsClose(
  actual: SnapshotSums,
  expected: SnapshotSums,
  tol: number,
): void {
  for (const [key, want] of Object.entries(expected)) {
    if (typeof want !== "number") continue;
    const got = actual[key as keyof SnapshotSums] as number;
    assert(
      Object.is(got, want) || Math.abs(got - want) <= tol * Math.abs(want),
      `${key}: ${got} vs ${want}`,
    );
  }
}
