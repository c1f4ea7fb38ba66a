/**
 * The sharpness stage's section, `metrics.sharpness` (SCIENCE §4): the top
 * Hessian eigenvalue by power iteration on a fixed subset, and optionally
 * Hutchinson's trace estimate. Composed into the experiment schema and parsed
 * by the sharpness stage.
 */
import { z } from "zod";
import { int, seed } from "../params.ts";

export const sharpnessFields = {
  enabled: z.boolean(),
  subset: int(1, 60000),
  tol: z.number().gt(0).lt(1),
  max_iter: int(1, 10000),
  seed,
  /** Rademacher samples for Hutchinson's Hessian-trace estimate (SCIENCE §4.2); 0 = off. */
  trace_samples: int(0, 1000).default(0),
};
