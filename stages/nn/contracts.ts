/**
 * Shared shapes of the training stage: model and optimizer configuration,
 * the optimizer interface the measurement code reads, and the per-epoch
 * record's column names. Implementations live beside this file.
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { OptimizerName } from "../train/params.ts";
import { RECORD_COLUMNS } from "../quantities.ts";

/** SCIENCE §1.3: both losses are means over the samples of a batch. */
export type LossName = "cross_entropy" | "squared";

export interface ModelConfig {
  arch: "mlp" | "cnn";
  /** Hidden widths of the MLP (default 512-256-128-64: 575,050 parameters with 784 in, 10 out). */
  hidden: number[];
  loss: LossName;
  /** Input features (784 for MNIST) and classes (10). */
  inputSize: number;
  classes: number;
}

/** One of OPTIMIZER_NAMES (params.ts, the one list of them). */
export type { OptimizerName };

/** SCIENCE §3, PyTorch 1.13 semantics; omitted fields take PyTorch's defaults. */
export interface OptimizerConfig {
  name: OptimizerName;
  lr: number;
  /** SGD heavy-ball β (default 0) or RMSprop momentum (default 0). */
  momentum?: number;
  nesterov?: boolean;
  /** RMSprop smoothing (default 0.99). */
  alpha?: number;
  /** ε outside the square root (default 1e-8). */
  eps?: number;
  centered?: boolean;
  /** Adam/SWATS β₁ (0.9) and β₂ (0.999). */
  beta1?: number;
  beta2?: number;
  /** L2 term added to the gradient (SCIENCE §5.1). */
  weight_decay?: number;
  /** SWATS switch tolerance (default 1e-9). */
  switch_eps?: number;
  /** A display label, e.g. "sgd-m0.9"; defaults to name. */
  label?: string;
}

/** The optimizer state the measurements read (SCIENCE §2.5, §2.6). */
export interface Preconditioner {
  /** v per variable: RMSprop's s, or Adam's bias-corrected v̂. */
  v: tf.Tensor[];
  eps: number;
  /** (1+β₁)/(1−β₁) for Adam, (1+μ)/(1−μ)² for RMSprop with momentum μ (SCIENCE §2.6; preconditioned_scale.ts). */
  scale: number;
}

/** A hand-written optimizer updating tf.Variables in place. */
export interface Optimizer {
  readonly config: OptimizerConfig;
  /** Steps taken so far. */
  readonly steps: number;
  /** One update from gradients aligned with the variables; weight decay is applied inside. */
  step(grads: tf.Tensor[]): void;
  /** The running average of squared gradients (s or v̂), or null for SGD/GD. */
  preconditioner(): Preconditioner | null;
  /** The current effective learning rate (SWATS changes it after the switch). */
  lr(): number;
  /** Serializable state for resuming: named Float32Arrays (one per variable) and scalars. */
  saveState(): {
    arrays: Record<string, Float32Array>;
    scalars: Record<string, number>;
  };
  loadState(
    state: {
      arrays: Record<string, Float32Array>;
      scalars: Record<string, number>;
    },
  ): void;
  dispose(): void;
}

/** Raw sums of one snapshot (SCIENCE §2), stored so derived terms can be recomputed. */
export interface SnapshotSums {
  /** Number of mini-batches m. */
  m: number;
  /** Σ_k ||g_k||² (SCIENCE §2.1). */
  sumG2: number;
  /** ||ḡ||², ḡ = (1/m) Σ_k g_k (SCIENCE §2.2). */
  gbar2: number;
  /** Σ_k ||g_k − ḡ||² (SCIENCE §2.2). */
  sumDev2: number;
  /** ||∇C||², the sample-weighted full-batch gradient (SCIENCE §2.2, §2.3). */
  fullGrad2: number;
  /** Σ_k Σ_j g_kj² / (√v_j + ε) with the optimizer's own v (SCIENCE §2.6); NaN without one. */
  sumPre: number;
  /** Σ_k ||s ⊙ g_k||², the paper's RMSprop formula (SCIENCE §2.5); NaN without s. */
  sumSG2: number;
  /** Σ_j √(ḡ_j² + ε) (SCIENCE §2.6). */
  oneNorm: number;
  /** Mean loss and error over the training set, from the same forward passes. */
  loss: number;
  error: number;
  /** Per-sample correctness (1 = right), so clean/corrupted errors need no second pass. */
  correct: Uint8Array;
  /** Per-sample loss, in dataset order. */
  losses: Float32Array;
}

/**
 * Columns of the per-epoch record (Float64Array each, one row per epoch,
 * row 0 = the initial weights), read from the quantity registry: epoch, lr,
 * the "record" quantities, the raw sums. NaN where a quantity does not apply.
 * Results only: wall times go to the run's provenance (`ctx.timings`), so a
 * rerun gives the same record bytes and hash.
 */
export { RECORD_COLUMNS };
export type RecordColumn = typeof RECORD_COLUMNS[number];
// Per-layer norms are extra columns named `norm_layer_<i>` (weights and bias of layer i).
