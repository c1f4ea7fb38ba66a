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
} from "./contracts.ts";
import { type DataSet, rowTensors, type TrainData } from "./data.ts";
import {
  autodiffGradient,
  type BatchGradient,
  mlpBackprop,
} from "./batch_gradient.ts";
import { meanLoss } from "./losses.ts";
import { squaredNorm } from "./host_sums.ts";
import {
  localStream,
  type MeasureStream,
  workerStream,
} from "./measure_stream.ts";
import {
  batchPenaltyProduct,
  partitionPenalizedGradients,
  penalizedGradients,
} from "./penalty.ts";
import { type BatchHvp, finiteDiffBatchHvp, mlpBatchHvp } from "./hvp.ts";
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
  rowCount,
  rowsToColumns,
} from "./record.ts";
import { type RowFields, setWeights } from "./row.ts";

export { splitByCorruption } from "./row.ts";

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
  /**
   * Called after every finished epoch (and once on resume with the resumed
   * epoch), with that epoch's row and the record so far (a live view's
   * partial record).
   */
  progress?: (epoch: number, epochs: number, view: EpochView) => void;
  log?: (message: string) => void;
  /** Aborting stops the run at the next step with the signal's reason; resume state is kept. */
  signal?: AbortSignal;
  /** Folder for resume state; without it nothing is saved or resumed. */
  scratchDir?: string;
  /** Extra identity of the run for the resume fingerprint (e.g. digests of the input data). */
  identity?: string;
  /**
   * Measure each epoch's row in a second Worker while training goes on with
   * the next epoch (measure_stream.ts); the record is the same bit for bit.
   */
  overlap?: boolean;
}

/** The run as of a finished epoch, for progress lines and partial records. */
export interface EpochView {
  /** The epoch's record row. */
  row: Record<string, number>;
  /** The record's columns so far (rows 0 … epoch); copied on each call. */
  columns(): Record<string, Float64Array>;
  params: number;
  layers: number;
  batchSize: number;
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
  /**
   * Wall seconds by epoch of this process's training steps and snapshots
   * (not those of resumed epochs). Kept out of the record: its hash must name
   * results only, and wall times differ on every run.
   */
  seconds: { epoch: Map<number, number>; snapshot: Map<number, number> };
}

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
  const streams: MeasureStream[] = [];
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
    const partition = (epoch: number, size = batchSize) =>
      cutBatches(root.fork(`shuffle:${epoch}`).permutation(n), size);
    // GD's explicit penalty is taken over mini-batches of train.batch_size (SCIENCE §5.2).
    const gdPenalty = config.optimizer.name === "gd" &&
      config.explicitPenalty > 0 && config.batchSize < n;
    const forward = (x: tf.Tensor2D, training = false) =>
      model.apply(x, { training }) as tf.Tensor2D; // [b, 784] → [b, 10]
    // ∇Ĉ_B by hand-written back-propagation for the MLP (half the tfjs ops), by autodiff otherwise.
    const gradient: BatchGradient = config.model.arch === "mlp"
      ? mlpBackprop(vars, config.model.loss)
      : autodiffGradient(vars, (x) => forward(x, true), config.model.loss);
    // H_k v for the explicit penalty (SCIENCE §5.2): exact for the MLP, finite differences otherwise.
    const hessian: BatchHvp = config.model.arch === "mlp"
      ? mlpBatchHvp(vars, config.model.loss)
      : finiteDiffBatchHvp(
        vars,
        (x, y) => meanLoss(forward(x, true), y, config.model.loss),
      );
    const fingerprint = runFingerprint(config, data, hooks.identity ?? "");
    const seconds = {
      epoch: new Map<number, number>(),
      snapshot: new Map<number, number>(),
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
      seconds,
    });
    const viewOf = (row: Record<string, number>): EpochView => ({
      row,
      columns: () => rowsToColumns(state.rows),
      params,
      layers,
      batchSize,
    });
    /** The checkpoint of `epoch` if scheduled, captured now and saved to scratch (listed once its row is finite). */
    const capture = async (epoch: number): Promise<CheckpointFiles | null> => {
      if (!schedule.includes(epoch)) return null;
      const files = await captureCheckpoint(model, optimizer, epoch);
      if (hooks.scratchDir) {
        await saveCheckpointFiles(hooks.scratchDir, epoch, files);
      }
      return files;
    };
    /**
     * Waits for the pending row and appends it. A finite loss commits the
     * epoch (its checkpoint, progress); otherwise the run ends there, as if
     * training had stopped at that epoch: returns the diverged epoch.
     */
    const settle = async (p: Pending): Promise<number | null> => {
      // The snapshot's wall time is provenance (TrainResult.seconds), never a record column.
      const { snapshot_seconds: snapshotSeconds, ...measured } = await p.result;
      if (snapshotSeconds !== undefined) {
        seconds.snapshot.set(p.epoch, snapshotSeconds);
      }
      const row = { ...p.known, ...measured };
      appendRow(state.rows, row);
      if (!isFinite(row.train_loss!)) {
        state.weights = p.weights;
        if (p.epoch > 0) {
          log(
            `diverged in epoch ${p.epoch}: the training loss is ${row.train_loss}`,
          );
        }
        return p.epoch;
      }
      if (p.files) {
        Object.assign(state.checkpoints, p.files);
        state.checkpointEpochs.push(p.epoch);
      }
      hooks.progress?.(p.epoch, config.epochs, viewOf(row));
      return null;
    };
    /** Resume state after epoch `epoch`: its weights and optimizer, the rows settled, the pending row's known fields. */
    const saveState = async (epoch: number, p: Pending | null) => {
      if (!hooks.scratchDir) return;
      await saveResume(hooks.scratchDir, {
        fingerprint,
        epoch,
        weights: state.weights,
        optimizer: optimizer.saveState(),
        columns: rowsToColumns(state.rows),
        checkpointEpochs: state.checkpointEpochs,
        pending: p ? p.known : null,
      });
    };

    // Rows are measured by a stream (row.ts): beside the training in a second
    // Worker (hooks.overlap), or here. Same bits either way.
    const measurer = hooks.overlap
      ? workerStream(config.model, data)
      : localStream(config.model, data);
    streams.push(measurer);
    /**
     * The end-of-epoch state of `epoch` goes to the measurer; its row is
     * filled in when the measurement arrives (`settle`). Training meanwhile
     * goes on with the next epoch. `known` holds the fields training itself
     * gives (e.g. traj_g2); `files` the epoch's checkpoint, kept until the
     * row shows a finite loss.
     */
    const submit = (
      epoch: number,
      weights: Float32Array[],
      known: Record<string, number>,
      files: CheckpointFiles | null,
    ): Pending => {
      const batches = partition(Math.max(epoch, 1)); // row 0 uses epoch 1's partition
      // Before the first step the optimizer's v is PyTorch's zero init, not an
      // estimate of anything: the preconditioned sums are NaN at row 0.
      const own: Preconditioner | null = optimizer.preconditioner();
      const pre = optimizer.steps > 0 ? own : null;
      const snapshot = config.snapshotEvery > 0 &&
        epoch % config.snapshotEvery === 0;
      const result = measurer.measure({
        weights,
        batches: snapshot ? batches : null,
        preconditioner: pre
          ? {
            v: pre.v.map((t) => (t.dataSync() as Float32Array).slice()),
            eps: pre.eps,
          }
          : null,
      });
      result.catch(() => {}); // awaited in settle; never an unhandled rejection meanwhile
      return {
        epoch,
        known: {
          epoch,
          lr: optimizer.lr(),
          m: batches.length,
          pre_scale: own ? own.scale : NaN,
          ...weightNorms(weights, w0, layerOf, isBias),
          ...known,
        },
        weights,
        files,
        result,
      };
    };

    let start = 0;
    let pending: Pending | null;
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
      const last = rowCount(state.rows) - 1; // the last epoch with its row
      hooks.progress?.(
        last,
        config.epochs,
        viewOf(
          Object.fromEntries(
            Object.entries(state.rows).map(([k, v]) => [k, v[last]!]),
          ),
        ),
      );
      // The measurement that was in flight is asked again, from the same state.
      pending = resumed.pending === null ? null : submit(
        start,
        resumed.weights,
        resumed.pending,
        schedule.includes(start)
          ? await loadCheckpointFiles(hooks.scratchDir!, [start])
          : null,
      );
    } else {
      pending = submit(0, w0, {}, await capture(0));
      await saveState(0, pending);
    }

    for (let epoch = start + 1; epoch <= config.epochs; epoch++) {
      const batches = partition(epoch); // m = ⌈N/B⌉ index arrays, the last may be smaller (SCIENCE §1.4)
      // For GD, the penalty's batches: the partition SGD draws in this epoch.
      const penaltyBatches = gdPenalty
        ? partition(epoch, config.batchSize)
        : null;
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
        // Plus 2λ_e H_k ∇Ĉ_k when the explicit penalty is on (SCIENCE §5.2);
        // for GD, (2λ_e/m) Σ_k H_k ∇Ĉ_k over the penalty's batches.
        const grads = penaltyBatches
          ? partitionPenalizedGradients(
            pass.grads,
            penaltyBatches.length,
            (k) =>
              batchPenaltyProduct(
                gradient,
                hessian,
                data.train,
                penaltyBatches[k]!,
              ),
            config.explicitPenalty,
          )
          : penalizedGradients(
            (v) => hessian(x, y, v),
            pass.grads,
            config.explicitPenalty,
          );
        tf.dispose([x, y]);
        optimizer.step(grads);
        tf.dispose(grads);
      }
      const epochSeconds = (performance.now() - tEpoch) / 1000;
      seconds.epoch.set(epoch, epochSeconds);
      const weights = readWeights(vars);
      if (stepDiverged) {
        // The previous epoch's row first: the run may have ended there.
        const stopped = pending ? await settle(pending) : null;
        if (stopped !== null) return finish("diverged", stopped);
        state.weights = weights;
        appendRow(state.rows, {
          epoch,
          lr: optimizer.lr(),
          m: batches.length,
          traj_g2: trajSum / steps,
          ...weightNorms(weights, w0, layerOf, isBias),
        });
        log(`diverged in epoch ${epoch}: a mini-batch loss was not finite`);
        return finish("diverged", epoch);
      }
      // This epoch's row goes to the measurer; the previous one's, measured
      // meanwhile, is filled in (and may end the run at the previous epoch).
      const next = submit(
        epoch,
        weights,
        { traj_g2: trajSum / steps },
        await capture(epoch),
      );
      const stopped = pending ? await settle(pending) : null;
      if (stopped !== null) return finish("diverged", stopped);
      hooks.signal?.throwIfAborted();
      pending = next;
      state.weights = weights;
      await saveState(epoch, pending);
    }
    const stopped = pending ? await settle(pending) : null;
    if (stopped !== null) return finish("diverged", stopped);
    return finish("ok", null);
  } finally {
    for (const stream of streams) stream.close();
    optimizer.dispose();
    model.dispose();
  }
}

/** A row being measured: the fields training gave, the measurement, the epoch's weights and checkpoint. */
interface Pending {
  epoch: number;
  known: Record<string, number>;
  result: Promise<RowFields>;
  weights: Float32Array[];
  files: CheckpointFiles | null;
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

/** Copies of the variables' values, in order. */
function readWeights(vars: tf.Variable[]): Float32Array[] {
  return vars.map((v) => (v.dataSync() as Float32Array).slice());
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
