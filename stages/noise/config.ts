/** The noise stage's params, validated once: one-line errors naming the field. */
import type { Params } from "../../pipeline/stage.ts";

export interface NoiseConfig {
  /** Fraction of training labels corrupted, in [0, 1). */
  labelRate: number;
  /** Std of additive Gaussian pixel noise on the [0, 1] scale, >= 0. */
  inputStd: number;
  seed: number | string;
}

/** Reads `noise.*` params; missing values mean off (0) and seed 0. */
export function parseNoiseParams(params: Params): NoiseConfig {
  const labelRate = params["noise.label_rate"] ?? 0;
  if (typeof labelRate !== "number" || !(labelRate >= 0 && labelRate < 1)) {
    throw new Error(
      `noise.label_rate must be a number in [0, 1), got ${
        JSON.stringify(labelRate)
      }`,
    );
  }
  const inputStd = params["noise.input_std"] ?? 0;
  if (
    typeof inputStd !== "number" ||
    !(inputStd >= 0 && Number.isFinite(inputStd))
  ) {
    throw new Error(
      `noise.input_std must be a finite number >= 0, got ${
        JSON.stringify(inputStd)
      }`,
    );
  }
  const seed = params["noise.seed"] ?? 0;
  if (
    !(typeof seed === "string" ||
      (typeof seed === "number" && Number.isInteger(seed)))
  ) {
    throw new Error(
      `noise.seed must be an integer or a string, got ${JSON.stringify(seed)}`,
    );
  }
  return { labelRate, inputStd, seed };
}
