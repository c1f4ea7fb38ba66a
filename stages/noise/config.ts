/**
 * The noise stage's params (SCIENCE §1.2): one schema per field, composed
 * into the experiment schema and parsed once at the stage's boundary.
 */
import { z } from "zod";
import { declareParams, seed, under } from "../params.ts";

/** The `noise` section's fields. */
export const noiseFields = {
  /** Fraction of training labels corrupted, in [0, 1). */
  label_rate: z.number().min(0).lt(1),
  /** Std of additive Gaussian pixel noise on the [0, 1] scale. */
  input_std: z.number().min(0).max(10),
  seed,
};

export const noiseParams = declareParams(under("noise", noiseFields));
export type NoiseParams = z.infer<typeof noiseParams.schema>;
