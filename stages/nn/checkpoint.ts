/**
 * Checkpoints and resume state of a training run.
 *
 * Checkpoints are tfjs layers-format folders (model.json + weights.bin, as
 * `tf.loadLayersModel` reads them) plus the optimizer state, packed into
 * the "checkpoints" output as one bundle column per file:
 * `epoch-0005/model.json`, `epoch-0005/weights.bin`, `epoch-0005/optimizer.bin`.
 *
 * Resume state lives in the instance's scratch folder and is replaced
 * atomically (temp file + rename) after every epoch, so a run killed at any
 * moment restarts from its last finished epoch.
 */
import * as tf from "@tensorflow/tfjs";
import {
  decodeBundle,
  decodeJson,
  encodeBundle,
  encodeJson,
} from "../../pipeline/artifact.ts";
import { writeFileAtomic } from "../../pipeline/fs.ts";
import type { Json } from "../../pipeline/stage.ts";
import type { Optimizer } from "./contracts.ts";

/** Default epochs at which weights are saved; the last epoch is always added. */
export const DEFAULT_CHECKPOINT_EPOCHS = [
  0,
  1,
  2,
  5,
  10,
  20,
  50,
  100,
  200,
  300,
];

/** Files of one or more checkpoints, by bundle name (`epoch-0005/model.json`, …). */
export type CheckpointFiles = Record<string, Uint8Array>;

/** Serializable optimizer state (`Optimizer.saveState()`). */
export type OptimizerState = ReturnType<Optimizer["saveState"]>;

/** The schedule: requested epochs within 0..epochs, plus the last epoch, sorted and unique. */
export function checkpointSchedule(
  requested: number[],
  epochs: number,
): number[] {
  const set = new Set(
    requested.filter((e) => Number.isInteger(e) && e >= 0 && e <= epochs),
  );
  set.add(epochs);
  return [...set].sort((a, b) => a - b);
}

/** The folder name of an epoch's checkpoint, e.g. `epoch-0005`. */
export function checkpointFolder(epoch: number): string {
  return `epoch-${String(epoch).padStart(4, "0")}`;
}

/** Captures the model (tfjs layers format) and the optimizer state at `epoch`. */
export async function captureCheckpoint(
  model: tf.LayersModel,
  optimizer: Optimizer,
  epoch: number,
): Promise<CheckpointFiles> {
  let artifacts: tf.io.ModelArtifacts | null = null;
  await model.save(tf.io.withSaveHandler((a) => {
    artifacts = a;
    return Promise.resolve({
      modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: "JSON" },
    });
  }));
  const saved = artifacts as tf.io.ModelArtifacts | null;
  if (
    saved === null || saved.weightData === undefined ||
    saved.weightSpecs === undefined
  ) {
    throw new Error("checkpoint: model.save produced no weights");
  }
  const modelJson = {
    modelTopology: saved.modelTopology,
    format: saved.format ?? "layers-model",
    generatedBy: saved.generatedBy ?? null,
    convertedBy: saved.convertedBy ?? null,
    weightsManifest: [{ paths: ["weights.bin"], weights: saved.weightSpecs }],
  };
  const state = optimizer.saveState();
  const folder = checkpointFolder(epoch);
  return {
    [`${folder}/model.json`]: encodeJson(modelJson),
    [`${folder}/weights.bin`]: new Uint8Array(
      tf.io.concatenateArrayBuffers(saved.weightData),
    ),
    [`${folder}/optimizer.bin`]: encodeOptimizerState(state),
  };
}

/** Packs all checkpoint files into the "checkpoints" output. */
export function encodeCheckpoints(files: CheckpointFiles): Uint8Array {
  const names = Object.keys(files).sort();
  const epochs = [
    ...new Set(names.map((n) => Number(/^epoch-(\d+)\//.exec(n)?.[1]))),
  ];
  return encodeBundle(Object.fromEntries(names.map((n) => [n, files[n]!])), {
    epochs,
  });
}

/** One checkpoint read back from the "checkpoints" output. */
export interface Checkpoint {
  epoch: number;
  /** `model.json` as parsed JSON. */
  modelJson: tf.io.ModelJSON;
  weights: Uint8Array;
  /** The model with its weights, built by `tf.loadLayersModel`. */
  load(): Promise<tf.LayersModel>;
  /** The optimizer state saved with it. */
  optimizerState(): OptimizerState;
}

/** Lists the checkpoints of a "checkpoints" output, in epoch order. */
export function readCheckpoints(bytes: Uint8Array): Checkpoint[] {
  const { columns } = decodeBundle(bytes);
  const file = (name: string): Uint8Array => {
    const column = columns[name];
    if (!(column instanceof Uint8Array)) {
      throw new Error(`checkpoints: file '${name}' is missing`);
    }
    return column;
  };
  const folders = [
    ...new Set(Object.keys(columns).map((n) => n.split("/")[0]!)),
  ].sort();
  return folders.map((folder) => {
    const match = /^epoch-(\d+)$/.exec(folder);
    if (match === null) {
      throw new Error(
        `checkpoints: unexpected folder '${folder}', expected epoch-NNNN`,
      );
    }
    const modelJson = decodeJson<tf.io.ModelJSON>(file(`${folder}/model.json`));
    const weights = file(`${folder}/weights.bin`);
    const optimizerBytes = file(`${folder}/optimizer.bin`);
    return {
      epoch: Number(match[1]),
      modelJson,
      weights,
      load: () => loadLayersModelFromFiles(modelJson, weights),
      optimizerState: () => decodeOptimizerState(optimizerBytes),
    };
  });
}

/** `tf.loadLayersModel` over an in-memory model.json and weights.bin. */
export function loadLayersModelFromFiles(
  modelJson: tf.io.ModelJSON,
  weights: Uint8Array,
): Promise<tf.LayersModel> {
  const buffer = weights.buffer.slice(
    weights.byteOffset,
    weights.byteOffset + weights.byteLength,
  ) as ArrayBuffer;
  const artifacts = tf.io.getModelArtifactsForJSONSync(
    modelJson,
    tf.io.getWeightSpecs(modelJson.weightsManifest),
    buffer,
  );
  return tf.loadLayersModel(tf.io.fromMemory(artifacts));
}

/** Optimizer state as a bundle: one f32 column per array, scalars in meta. */
export function encodeOptimizerState(state: OptimizerState): Uint8Array {
  return encodeBundle(state.arrays, { scalars: state.scalars });
}

export function decodeOptimizerState(bytes: Uint8Array): OptimizerState {
  const { meta, columns } = decodeBundle(bytes);
  const arrays: Record<string, Float32Array> = {};
  for (const [name, column] of Object.entries(columns)) {
    if (!(column instanceof Float32Array)) {
      throw new Error(`optimizer state '${name}': expected f32`);
    }
    arrays[name] = column;
  }
  const scalars =
    (meta as { scalars?: Record<string, number> } | null)?.scalars ?? {};
  return { arrays, scalars };
}

// ---------------------------------------------------------------------------
// Resume state

/** Everything a run needs to continue after its last finished epoch. */
export interface ResumeState {
  /** Identifies the run (config and data); state of another run is ignored. */
  fingerprint: string;
  /** The last finished epoch (0 = only the initial row is recorded). */
  epoch: number;
  /** Variable values, in `trainableVariables` order. */
  weights: Float32Array[];
  optimizer: OptimizerState;
  /** Record rows 0..epoch. */
  columns: Record<string, Float64Array>;
  /** Epochs whose checkpoints are saved in the scratch folder. */
  checkpointEpochs: number[];
  /**
   * The row of `epoch` when its measurement was still in flight: the fields
   * training gave (the rest is measured again from the saved state); null
   * when the rows are complete.
   */
  pending: Record<string, number> | null;
}

const RESUME_FILE = "resume.bin";

/** Saves the resume state into `dir` (atomically replacing the previous one). */
export async function saveResume(
  dir: string,
  state: ResumeState,
): Promise<void> {
  const columns: Record<string, Float32Array | Float64Array> = {};
  state.weights.forEach((w, i) => columns[`w/${i}`] = w);
  for (const [name, a] of Object.entries(state.optimizer.arrays)) {
    columns[`opt/${name}`] = a;
  }
  for (const [name, c] of Object.entries(state.columns)) {
    columns[`rec/${name}`] = c;
  }
  for (const [name, x] of Object.entries(state.pending ?? {})) {
    columns[`pending/${name}`] = Float64Array.of(x); // a column keeps NaN, JSON would not
  }
  const meta: Json = {
    fingerprint: state.fingerprint,
    epoch: state.epoch,
    weights: state.weights.length,
    scalars: state.optimizer.scalars,
    checkpointEpochs: state.checkpointEpochs,
    pending: state.pending !== null,
  };
  await writeFileAtomic(`${dir}/${RESUME_FILE}`, encodeBundle(columns, meta));
}

/** Loads the resume state in `dir` if there is one for this fingerprint; null otherwise. */
export async function loadResume(
  dir: string,
  fingerprint: string,
): Promise<ResumeState | null> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(`${dir}/${RESUME_FILE}`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  const { meta, columns } = decodeBundle(bytes);
  const m = meta as {
    fingerprint: string;
    epoch: number;
    weights: number;
    scalars: Record<string, number>;
    checkpointEpochs: number[];
    pending?: boolean;
  };
  if (m.fingerprint !== fingerprint) return null;
  const weights: Float32Array[] = [];
  for (let i = 0; i < m.weights; i++) {
    weights.push(columns[`w/${i}`] as Float32Array);
  }
  const arrays: Record<string, Float32Array> = {};
  const record: Record<string, Float64Array> = {};
  const pending: Record<string, number> = {};
  for (const [name, column] of Object.entries(columns)) {
    if (name.startsWith("opt/")) arrays[name.slice(4)] = column as Float32Array;
    if (name.startsWith("rec/")) record[name.slice(4)] = column as Float64Array;
    if (name.startsWith("pending/")) pending[name.slice(8)] = column[0]!;
  }
  return {
    fingerprint,
    epoch: m.epoch,
    weights,
    optimizer: { arrays, scalars: m.scalars },
    columns: record,
    checkpointEpochs: m.checkpointEpochs,
    pending: m.pending === true ? pending : null,
  };
}

/** Saves one epoch's checkpoint files into the scratch folder (before the resume state names it). */
export async function saveCheckpointFiles(
  dir: string,
  epoch: number,
  files: CheckpointFiles,
): Promise<void> {
  await writeFileAtomic(
    `${dir}/${checkpointFolder(epoch)}.bin`,
    encodeBundle(files),
  );
}

/** Reads the checkpoint files of `epochs` back from the scratch folder. */
export async function loadCheckpointFiles(
  dir: string,
  epochs: number[],
): Promise<CheckpointFiles> {
  const files: CheckpointFiles = {};
  for (const epoch of epochs) {
    const { columns } = decodeBundle(
      await Deno.readFile(`${dir}/${checkpointFolder(epoch)}.bin`),
    );
    for (const [name, column] of Object.entries(columns)) {
      files[name] = column as Uint8Array;
    }
  }
  return files;
}
