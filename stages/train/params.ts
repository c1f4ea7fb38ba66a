/**
 * The train stage's params, one zod schema per field: the `model` and `train`
 * sections, the optimizer configs (PyTorch 1.13's fields and ranges, SCIENCE
 * §3), seeds and the sweep matrix. The experiment schema is composed from
 * these, and the train, tune and sharpness stages parse their declared params
 * with them, so a value is checked by one rule wherever it comes from.
 */
import { z } from "zod";
import { declareParams, int, seed, under } from "../params.ts";

/** Optimizer names the project implements (SCIENCE §3). */
export const OPTIMIZER_NAMES = [
  "gd",
  "sgd",
  "rmsprop",
  "adam",
  "swats",
] as const;

export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

/** Config fields each optimizer accepts besides the common ones (SCIENCE §3). */
export const OPTIMIZER_FIELDS: Record<OptimizerName, readonly string[]> = {
  gd: ["momentum", "nesterov"],
  sgd: ["momentum", "nesterov"],
  rmsprop: ["momentum", "alpha", "eps", "centered"],
  adam: ["beta1", "beta2", "eps"],
  swats: ["beta1", "beta2", "eps", "switch_eps"],
};

/** Fields every optimizer accepts. */
const COMMON_FIELDS = ["name", "lr", "weight_decay", "label"];

/** PyTorch's defaults of the optional fields (SCIENCE §3). */
export const OPTIMIZER_DEFAULTS = {
  momentum: 0,
  nesterov: false,
  alpha: 0.99,
  eps: 1e-8,
  centered: false,
  beta1: 0.9,
  beta2: 0.999,
  switch_eps: 1e-9,
} as const;

/** A display label: it becomes part of file names and HTML, so a safe alphabet only. */
export const label = z.string().regex(
  /^[\w.+-]{1,40}$/,
  "must be 1–40 letters, digits or . _ + -",
);

/** One optimizer's fields and their ranges. */
export const optimizerFields = {
  name: z.enum(OPTIMIZER_NAMES),
  lr: z.number().gt(0).max(10),
  momentum: z.number().min(0).lt(1).optional(),
  nesterov: z.boolean().optional(),
  alpha: z.number().gt(0).lt(1).optional(),
  eps: z.number().gt(0).lt(1).optional(),
  centered: z.boolean().optional(),
  beta1: z.number().min(0).lt(1).optional(),
  beta2: z.number().min(0).lt(1).optional(),
  weight_decay: z.number().min(0).max(1).optional(),
  switch_eps: z.number().gt(0).lt(1).optional(),
  label: label.optional(),
};

/**
 * An optimizer config. A field that does not apply to the optimizer is
 * accepted only at its default (so a sweep's `momentum: 0` can reach adam),
 * and Nesterov needs momentum, as in PyTorch.
 */
export const optimizerSchema = z.strictObject(optimizerFields).superRefine(
  (config, ctx) => {
    const own = [...COMMON_FIELDS, ...OPTIMIZER_FIELDS[config.name]];
    for (const [key, value] of Object.entries(config)) {
      if (own.includes(key) || value === undefined) continue;
      if (
        value !== OPTIMIZER_DEFAULTS[key as keyof typeof OPTIMIZER_DEFAULTS]
      ) {
        ctx.addIssue({
          code: "custom",
          path: [key],
          input: value,
          message: `does not apply to '${config.name}' (its fields: ${
            own.join(", ")
          })`,
        });
      }
    }
    if (config.nesterov && !((config.momentum ?? 0) > 0)) {
      ctx.addIssue({
        code: "custom",
        path: ["nesterov"],
        input: config.nesterov,
        message: "needs momentum > 0 (PyTorch's rule)",
      });
    }
  },
);

export type OptimizerParams = z.infer<typeof optimizerSchema>;

/** Parameters a machine of 24 GiB can train with weights, gradients and optimizer state. */
export const MAX_PARAMETERS = 50_000_000;

/** Parameters of the MLP 784 → hidden… → 10: Σ (fan_in·fan_out + fan_out). */
export function mlpParameters(hidden: readonly number[]): number {
  const sizes = [784, ...hidden, 10];
  let parameters = 0;
  for (let i = 1; i < sizes.length; i++) {
    parameters += sizes[i - 1]! * sizes[i]! + sizes[i]!;
  }
  return parameters;
}

/** The `model` section's fields. */
export const modelFields = {
  arch: z.enum(["mlp", "cnn"]),
  hidden: z.array(int(1, 8192)).max(16),
  loss: z.enum(["cross_entropy", "squared"]),
};

/** The `model` section: its fields, and an MLP small enough to fit the machine. */
export const modelSection = z.strictObject(modelFields).superRefine(
  (model, ctx) => {
    const parameters = mlpParameters(model.hidden);
    if (model.arch === "mlp" && parameters > MAX_PARAMETERS) {
      ctx.addIssue({
        code: "custom",
        path: ["hidden"],
        input: model.hidden,
        message: `${model.hidden.join("-")} needs ${
          parameters.toExponential(2)
        } parameters; at most ${
          MAX_PARAMETERS.toExponential(0)
        } fit this machine`,
      });
    }
  },
);

/** The `train` section's fields. */
export const trainFields = {
  epochs: int(1, 10000),
  batch_size: int(1, 60000),
  /** Epochs between IR snapshots; 0 = never (losses are still recorded every epoch). */
  snapshot_every: int(0, 10000),
  checkpoint_epochs: z.array(int(0, 10000)).max(1000),
  weight_decay: z.number().min(0).max(1),
  explicit_penalty: z.number().min(0).max(100),
};

/** At most this many optimizers, seeds, and values per swept path. */
export const MAX_OPTIMIZERS = 32;
export const MAX_SEEDS = 32;

export const optimizersSchema = z.array(optimizerSchema).min(1).max(
  MAX_OPTIMIZERS,
);
export const seedsSchema = z.array(seed).min(1).max(MAX_SEEDS);

/** Params of the train stage a sweep cell may override (besides `optimizer.<field>`). */
export const SWEEPABLE = [
  "model.arch",
  "model.hidden",
  "model.loss",
  "train.epochs",
  "train.batch_size",
  "train.snapshot_every",
  "train.checkpoint_epochs",
  "train.weight_decay",
  "train.explicit_penalty",
] as const;

/** Optimizer fields a sweep cell may override as `optimizer.<field>`. */
const SWEEPABLE_OPTIMIZER = Object.keys(optimizerFields).map((f) =>
  `optimizer.${f}`
);

/** A value a sweep lists; the cell it lands in is validated like a file. */
const sweepValue = z.union([
  z.number(),
  z.string().max(100),
  z.boolean(),
  z.array(z.number()).max(1000),
]);

/** The sweep matrix: sweepable param path → the values to try. */
export const matrixSchema = z.record(
  z.string().refine(
    (path) =>
      (SWEEPABLE as readonly string[]).includes(path) ||
      SWEEPABLE_OPTIMIZER.includes(path),
    {
      message:
        "cannot be swept; allowed: model.<arch|hidden|loss>, train.<epochs|batch_size|snapshot_every|checkpoint_epochs|weight_decay|explicit_penalty>, optimizer.<field>",
    },
  ),
  z.array(sweepValue).min(1).max(64),
);

/** The train stage's declared params: the `model` and `train` sections. */
export const trainParams = declareParams({
  ...under("model", modelFields),
  ...under("train", trainFields),
});
export type TrainParams = z.infer<typeof trainParams.schema>;

/** What the train stage's fan-out is listed from. */
export const trainForeach = declareParams({
  optimizers: optimizersSchema,
  seeds: seedsSchema,
  matrix: matrixSchema,
});
export type TrainForeach = z.infer<typeof trainForeach.schema>;
