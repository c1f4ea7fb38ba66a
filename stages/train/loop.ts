/**
 * The training loop of one run (one optimizer × seed × sweep cell), read top
 * to bottom in `trainRun`: model, optimizer, epochs of seeded mini-batches,
 * a measured row per epoch, checkpoints, resume state, divergence.
 *
 * Randomness: one root generator `Rng.fromSeed(seed)`; the initial weights
 * come from `root.fork("init")` and epoch e's permutation from
 * `root.fork("shuffle:<e>")`. `fork` does not advance the root, so each
 * epoch's partition is a pure function of (seed, epoch): resuming needs no
 * generator state, and runs that differ only in optimizer or sweep cell
 * start from the same weights and (at equal batch size) see the same batches.
 *
 * Snapshot partition (SCIENCE §2): the row of epoch e ≥ 1 measures every
 * batch gradient at the end-of-epoch weights over the partition of epoch e
 * (the one just trained on). Row 0 (the initial weights) uses the partition
 * of epoch 1, the first one trained on.
 */
import * as tf from "@tensorflow/tfjs";
import { createHash } from "node:crypto";
import { Rng } from "../../pipeline/rng.ts";
import { initWasmBackend } from "./backend.ts";
import {
  captureCheckpoint,
  type CheckpointFiles,
  checkpointSchedule,
  loadCheckpointFiles,
  loadResume,
  saveCheckpointFiles,
  saveResume,
} from "./checkpoint.ts";
import type {
  ModelConfig,
  OptimizerConfig,
  Preconditioner,
  SnapshotSums,
} from "./contracts.ts";
import {
  type DataSet,
  rangeTensors,
  rowTensors,
  type Samples,
  type TrainData,
} from "./data.ts";
import {
  autodiffGradient,
  type BatchGradient,
  mlpBackprop,
} from "./batch_gradient.ts";
import { mlpBlockGradients } from "./block_gradients.ts";
import { meanLoss, perSampleLoss } from "./losses.ts";
import { squaredNorm } from "./host_sums.ts";
import { measureSnapshot } from "./measure.ts";
import { penalizedGradients } from "./penalty.ts";
import {
  createModel,
  layerIndexOfVariable,
  parameterLayers,
  trainableVariables,
  validateModelConfig,
  variableInfo,
} from "./model.ts";
import { createOptimizer, resolveOptimizerConfig } from "./optimizers.ts";
import {
  appendRow,
  columnsToRows,
  emptyRows,
  normLayerColumn,
  recordColumnNames,
  rowsToColumns,
} from "./record.ts";

/** Everything that determines a run's numbers. */
export interface TrainConfig {
  model: ModelConfig;
  /** The optimizer as trained (weight decay merged in). GD ("gd") trains on one batch of all N. */
  optimizer: OptimizerConfig;
  seed: number;
  epochs: number;
  batchSize: number;
  /**
   * Full IR snapshot (SCIENCE §2) when epoch % snapshotEvery == 0; other
   * epochs get the cheap evaluation. 0 = never (e.g. learning-rate tuning).
   */
  snapshotEvery: number;
  /** Epochs whose weights are saved (the last epoch is always added). */
  checkpointEpochs: number[];
  /** λ_e of SCIENCE §5.2; 0 = off. */
  explicitPenalty: number;
}

/** Side channels of a run; all optional. */
export interface TrainHooks {
  /** Called after every finished epoch (and once on resume with the resumed epoch). */
  progress?: (epoch: number, epochs: number) => void;
  log?: (message: string) => void;
  /** Aborting stops the run at the next step with the signal's reason; resume state is kept. */
  signal?: AbortSignal;
  /** Folder for resume state; without it nothing is saved or resumed. */
  scratchDir?: string;
  /** Extra identity of the run for the resume fingerprint (e.g. digests of the input data). */
  identity?: string;
}

/** What a run produces. */
export interface TrainResult {
  status: "ok" | "diverged";
  divergedEpoch: number | null;
  /** Record columns (`recordColumnNames(layers)`), row 0 = initial weights. */
  columns: Record<string, Float64Array>;
  checkpoints: CheckpointFiles;
  /** Trainable parameter count and layers with weights. */
  params: number;
  layers: number;
  /** The batch size used (N for GD). */
  batchSize: number;
  /** Weights at the end (the last finished epoch), in `trainableVariables` order. */
  finalWeights: Float32Array[];
}

/** Rows per forward chunk of the cheap evaluation. */
const EVAL_CHUNK = 2000;

/** Trains one run; never throws on divergence (status "diverged"), throws on abort. */
export async function trainRun(
  config: TrainConfig,
  data: TrainData,
  hooks: TrainHooks = {},
): Promise<TrainResult> {
  await initWasmBackend();
  checkConfig(config);
  const log = hooks.log ?? (() => {});
  const root = Rng.fromSeed(config.seed);
  const model = createModel(config.model, root.fork("init"));
  const vars = trainableVariables(model); // kernel [in, out], bias [out] per layer
  const optimizer = createOptimizer(config.optimizer, vars);
  try {
    const n = data.train.n;
    const batchSize = config.optimizer.name === "gd"
      ? n
      : Math.min(config.batchSize, n);
    const layers = parameterLayers(model).length;
    const layerOf = layerIndexOfVariable(model);
    const isBias = variableInfo(model).map((v) => v.kind === "bias");
    const params = vars.reduce((s, v) => s + v.size, 0);
    const schedule = checkpointSchedule(config.checkpointEpochs, config.epochs);
    const w0 = readWeights(vars);
    const partition = (epoch: number) =>
      cutBatches(root.fork(`shuffle:${epoch}`).permutation(n), batchSize);
    const forward = (x: tf.Tensor2D, training = false) =>
      model.apply(x, { training }) as tf.Tensor2D; // [b, 784] → [b, 10]
    // ∇Ĉ_B by hand-written back-propagation for the MLP (half the tfjs ops), by autodiff otherwise.
    const gradient: BatchGradient = config.model.arch === "mlp"
      ? mlpBackprop(vars, config.model.loss)
      : autodiffGradient(vars, (x) => forward(x, true), config.model.loss);
    const fingerprint = runFingerprint(config, data, hooks.identity ?? "");

    /** The measured row of `epoch` at the current weights (SCIENCE §2, §4). */
    const measureRow = (
      epoch: number,
      batches: Uint32Array[],
      weights: Float32Array[],
    ): Record<string, number> => {
      const row: Record<string, number> = {
        epoch,
        lr: optimizer.lr(),
        m: batches.length,
      };
      Object.assign(row, weightNorms(weights, w0, layerOf, isBias));
      let sums: {
        losses: Float32Array;
        correct: Uint8Array;
        loss: number;
        error: number;
      };
      // Before the first step the optimizer's v is PyTorch's zero init, not an
      // estimate of anything: the preconditioned sums are NaN at row 0.
      const own: Preconditioner | null = optimizer.preconditioner();
      const pre = optimizer.steps > 0 ? own : null;
      row.pre_scale = own ? own.scale : NaN;
      if (config.snapshotEvery > 0 && epoch % config.snapshotEvery === 0) {
        const t0 = performance.now();
        // The MLP's batch gradients over row blocks (block_gradients.ts), others batch by batch.
        const blocks = config.model.arch === "mlp"
          ? mlpBlockGradients(vars, config.model.loss)
          : null;
        const s: SnapshotSums = measureSnapshot({
          variables: vars,
          forward: (x) => forward(x),
          loss: config.model.loss,
          samples: data.train,
          gradient,
          ...(blocks ? { blocks: blocks.run } : {}),
          batches,
          preconditioner: pre,
        });
        blocks?.dispose();
        row.snapshot_seconds = (performance.now() - t0) / 1000;
        Object.assign(row, {
          sum_g2: s.sumG2,
          gbar2: s.gbar2,
          sum_dev2: s.sumDev2,
          full_grad2: s.fullGrad2,
          sum_pre: s.sumPre,
          sum_s_g2: s.sumSG2,
          one_norm: s.oneNorm,
        });
        sums = s;
      } else {
        sums = evaluate(forward, data.train, config.model.loss);
      }
      row.train_loss = sums.loss;
      row.train_error = sums.error;
      const split = splitByCorruption(
        sums.losses,
        sums.correct,
        data.train.corrupted,
      );
      row.train_clean_loss = split.cleanLoss;
      row.train_clean_error = split.cleanError;
      row.train_corrupt_loss = split.corruptLoss;
      row.train_corrupt_error = split.corruptError;
      const t = evaluate(forward, data.test, config.model.loss);
      row.test_loss = t.loss;
      row.test_error = t.error;
      return row;
    };

    // Progress so far: resumed from the scratch folder, or row 0 at the initial weights.
    const resumed = hooks.scratchDir
      ? await loadResume(hooks.scratchDir, fingerprint)
      : null;
    const state = {
      rows: emptyRows(recordColumnNames(layers)),
      checkpoints: {} as CheckpointFiles,
      checkpointEpochs: [] as number[],
      weights: w0,
    };
    const finish = (
      status: "ok" | "diverged",
      divergedEpoch: number | null,
    ): TrainResult => ({
      status,
      divergedEpoch,
      columns: rowsToColumns(state.rows),
      checkpoints: state.checkpoints,
      params,
      layers,
      batchSize,
      finalWeights: state.weights,
    });
    /** Checkpoint (if scheduled) and resume state after a finished epoch. */
    const endEpoch = async (epoch: number): Promise<void> => {
      if (schedule.includes(epoch)) {
        const files = await captureCheckpoint(model, optimizer, epoch);
        Object.assign(state.checkpoints, files);
        if (hooks.scratchDir) {
          await saveCheckpointFiles(hooks.scratchDir, epoch, files);
        }
        state.checkpointEpochs.push(epoch);
      }
      if (hooks.scratchDir) {
        await saveResume(hooks.scratchDir, {
          fingerprint,
          epoch,
          weights: state.weights,
          optimizer: optimizer.saveState(),
          columns: rowsToColumns(state.rows),
          checkpointEpochs: state.checkpointEpochs,
        });
      }
      hooks.progress?.(epoch, config.epochs);
    };

    let start = 0;
    if (resumed !== null) {
      setWeights(vars, resumed.weights);
      optimizer.loadState(resumed.optimizer);
      state.rows = columnsToRows(resumed.columns);
      state.checkpointEpochs = resumed.checkpointEpochs;
      state.checkpoints = await loadCheckpointFiles(
        hooks.scratchDir!,
        resumed.checkpointEpochs,
      );
      state.weights = resumed.weights;
      start = resumed.epoch;
      log(`resuming after epoch ${start} of ${config.epochs}`);
      hooks.progress?.(start, config.epochs);
    } else {
      const row0 = measureRow(0, partition(1), w0); // row 0 uses epoch 1's partition
      appendRow(state.rows, row0);
      if (!isFinite(row0.train_loss!)) return finish("diverged", 0);
      await endEpoch(0);
    }

    for (let epoch = start + 1; epoch <= config.epochs; epoch++) {
      const batches = partition(epoch); // m = ⌈N/B⌉ index arrays, the last may be smaller (SCIENCE §1.4)
      const tEpoch = performance.now();
      let trajSum = 0; // Σ_k ||∇Ĉ_k(w_k)||², each at the step's own weights (SCIENCE §2.8)
      let steps = 0;
      let stepDiverged = false;
      for (const batch of batches) {
        hooks.signal?.throwIfAborted();
        const { x, y } = rowTensors(data.train, batch); // [b, 784], [b]
        const pass = gradient(x, y); // Ĉ_k(w) and ∇Ĉ_k(w) (SCIENCE §1.3)
        const lossK = pass.loss.dataSync()[0]!;
        const g2K = squaredNorm(pass.grads); // ||∇Ĉ_k(w_k)||² of the unpenalized batch loss
        tf.dispose([pass.loss, pass.perSample, pass.logits]);
        trajSum += g2K;
        steps++;
        if (!isFinite(lossK) || !isFinite(g2K)) {
          // The loss is no longer finite: no update from it; the run ends at this epoch.
          tf.dispose([...pass.grads, x, y]);
          stepDiverged = true;
          break;
        }
        // Plus 2λ_e H_k ∇Ĉ_k when the explicit penalty is on (SCIENCE §5.2).
        const grads = penalizedGradients(
          vars,
          () => meanLoss(forward(x, true), y, config.model.loss),
          pass.grads,
          config.explicitPenalty,
        );
        tf.dispose([x, y]);
        optimizer.step(grads);
        tf.dispose(grads);
      }
      const epochSeconds = (performance.now() - tEpoch) / 1000;
      state.weights = readWeights(vars);
      if (stepDiverged) {
        appendRow(state.rows, {
          epoch,
          lr: optimizer.lr(),
          m: batches.length,
          traj_g2: trajSum / steps,
          epoch_seconds: epochSeconds,
          ...weightNorms(state.weights, w0, layerOf, isBias),
        });
        log(`diverged in epoch ${epoch}: a mini-batch loss was not finite`);
        return finish("diverged", epoch);
      }
      const row = measureRow(epoch, batches, state.weights);
      row.traj_g2 = trajSum / steps;
      row.epoch_seconds = epochSeconds;
      appendRow(state.rows, row);
      if (!isFinite(row.train_loss!)) {
        log(
          `diverged in epoch ${epoch}: the training loss is ${row.train_loss}`,
        );
        return finish("diverged", epoch);
      }
      await endEpoch(epoch);
    }
    return finish("ok", null);
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}

/** Cuts a permutation into ⌈N/B⌉ consecutive batches; the last may be smaller (SCIENCE §1.4). */
export function cutBatches(
  permutation: Uint32Array,
  batchSize: number,
): Uint32Array[] {
  const batches: Uint32Array[] = [];
  for (let i = 0; i < permutation.length; i += batchSize) {
    batches.push(permutation.slice(i, i + batchSize));
  }
  return batches;
}

/**
 * ||w||₂ over all weights and biases, without biases, ||w − w₀||₂, and per
 * layer (kernel and bias of layer i) — SCIENCE §4.1, in float64.
 */
export function weightNorms(
  weights: Float32Array[],
  w0: Float32Array[],
  layerOf: number[],
  isBias: boolean[],
): Record<string, number> {
  let all = 0;
  let noBias = 0;
  let dist = 0;
  const perLayer = new Map<number, number>();
  weights.forEach((w, i) => {
    const init = w0[i]!;
    let s = 0;
    let d = 0;
    for (let j = 0; j < w.length; j++) {
      const x = w[j]!;
      s += x * x;
      const e = x - init[j]!;
      d += e * e;
    }
    all += s;
    dist += d;
    if (!isBias[i]) noBias += s;
    const layer = layerOf[i]!;
    perLayer.set(layer, (perLayer.get(layer) ?? 0) + s);
  });
  const out: Record<string, number> = {
    norm: Math.sqrt(all),
    norm_no_bias: Math.sqrt(noBias),
    dist_init: Math.sqrt(dist),
  };
  for (const [layer, s] of perLayer) out[normLayerColumn(layer)] = Math.sqrt(s);
  return out;
}

/**
 * Mean loss and error on the clean and the corrupted part of the training
 * set (SCIENCE §1.2, §4.3), both against the labels trained on (the noisy
 * ones): the corrupted error is 1 − memorization. NaN for an empty part.
 */
export function splitByCorruption(
  losses: Float32Array,
  correct: Uint8Array,
  corrupted: Uint8Array,
): {
  cleanLoss: number;
  cleanError: number;
  corruptLoss: number;
  corruptError: number;
} {
  const loss = [0, 0];
  const right = [0, 0];
  const count = [0, 0];
  for (let i = 0; i < losses.length; i++) {
    const part = corrupted[i] ? 1 : 0;
    loss[part]! += losses[i]!;
    right[part]! += correct[i]!;
    count[part]! += 1;
  }
  const mean = (x: number, c: number) => (c === 0 ? NaN : x / c);
  return {
    cleanLoss: mean(loss[0]!, count[0]!),
    cleanError: mean(count[0]! - right[0]!, count[0]!),
    corruptLoss: mean(loss[1]!, count[1]!),
    corruptError: mean(count[1]! - right[1]!, count[1]!),
  };
}

/** Per-sample losses and correctness over a whole set, forward passes in chunks (no gradients). */
function evaluate(
  forward: (x: tf.Tensor2D) => tf.Tensor2D,
  set: Samples,
  loss: ModelConfig["loss"],
): { losses: Float32Array; correct: Uint8Array; loss: number; error: number } {
  const n = set.n;
  const losses = new Float32Array(n);
  const correct = new Uint8Array(n);
  for (let start = 0; start < n; start += EVAL_CHUNK) {
    const size = Math.min(EVAL_CHUNK, n - start);
    const { x, y } = rangeTensors(set, start, size); // [c, 784], [c]
    const [l, c] = tf.tidy(() => {
      const outputs = forward(x); // [c, 10]
      return [
        perSampleLoss(outputs, y, loss),
        tf.equal(tf.argMax(outputs, 1), y),
      ]; // [c], [c]
    });
    losses.set(l!.dataSync() as Float32Array, start);
    const ok = c!.dataSync();
    for (let i = 0; i < size; i++) correct[start + i] = ok[i] ? 1 : 0;
    tf.dispose([l!, c!, x, y]);
  }
  let sum = 0;
  let right = 0;
  for (let i = 0; i < n; i++) {
    sum += losses[i]!;
    right += correct[i]!;
  }
  return { losses, correct, loss: sum / n, error: 1 - right / n };
}

/** Copies of the variables' values, in order. */
function readWeights(vars: tf.Variable[]): Float32Array[] {
  return vars.map((v) => (v.dataSync() as Float32Array).slice());
}

function setWeights(vars: tf.Variable[], weights: Float32Array[]): void {
  if (weights.length !== vars.length) {
    throw new Error(
      `resume state: expected ${vars.length} weight arrays, got ${weights.length}`,
    );
  }
  vars.forEach((v, i) =>
    tf.tidy(() => v.assign(tf.tensor(weights[i]!, v.shape, "float32")))
  );
}

/** Identifies a run for resuming: its config, data sizes and the caller's identity string. */
function runFingerprint(
  config: TrainConfig,
  data: TrainData,
  identity: string,
): string {
  const text = JSON.stringify({
    format: 1,
    config,
    n: data.train.n,
    nTest: data.test.n,
    identity,
  });
  return createHash("sha256").update(text).digest("hex");
}

/** Validates the config before anything is allocated (one-line errors naming the field). */
function checkConfig(config: TrainConfig): void {
  resolveOptimizerConfig(config.optimizer);
  validateModelConfig(config.model);
  const positive = (name: string, v: number) => {
    if (!Number.isInteger(v) || v <= 0) {
      throw new Error(
        `${name}: expected a positive integer, got ${JSON.stringify(v)}`,
      );
    }
  };
  if (!Number.isInteger(config.epochs) || config.epochs < 0) {
    throw new Error(
      `train.epochs: expected a non-negative integer, got ${
        JSON.stringify(config.epochs)
      }`,
    );
  }
  positive("train.batch_size", config.batchSize);
  if (!Number.isInteger(config.snapshotEvery) || config.snapshotEvery < 0) {
    throw new Error(
      `train.snapshot_every: expected a non-negative integer (0 = never), got ${
        JSON.stringify(config.snapshotEvery)
      }`,
    );
  }
  if (!(config.explicitPenalty >= 0)) {
    throw new Error(
      `train.explicit_penalty: expected a number ≥ 0, got ${
        JSON.stringify(config.explicitPenalty)
      }`,
    );
  }
}

export type { DataSet };
