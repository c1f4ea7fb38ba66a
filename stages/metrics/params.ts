/**
 * The `metrics` section's schemas: sharpness (SCIENCE §4: the top Hessian
 * eigenvalue by power iteration on a fixed subset, optionally Hutchinson's
 * trace estimate), the known answers (SCIENCE §6) and the loss barrier
 * (stages/barrier). Composed into the experiment schema; the sharpness,
 * known and barrier stages declare their params from it.
 */
import { z } from "zod";
import { int, seed } from "../params.ts";
import { FINDING_IDS } from "./findings/ids.ts";

export const sharpnessFields = {
  enabled: z.boolean(),
  subset: int(1, 60000),
  tol: z.number().gt(0).lt(1),
  max_iter: int(1, 10000),
  seed,
  /** Rademacher samples for Hutchinson's Hessian-trace estimate (SCIENCE §4.2); 0 = off. */
  trace_samples: int(0, 1000).default(0),
};

/** The `metrics` section's fields. */
export const metricsFields = {
  sharpness: z.strictObject(sharpnessFields),
  known_answers: z.boolean(),
  /** Loss barrier between same-seed runs of different optimizers (stages/barrier). */
  barrier: z.boolean().default(false),
  /** The finding modules that answer this experiment's question (stages/metrics/findings); none by default. */
  findings: z.array(z.enum(FINDING_IDS)).default([]),
  /**
   * Check the (adaptive) edge of stability as a known answer
   * (stages/metrics/edge_of_stability.ts, SCIENCE §4.2.1): for experiments of
   * full-batch runs such as experiments/adaptive-eos.json.
   */
  edge_of_stability: z.boolean().default(false),
};
