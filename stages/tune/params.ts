/**
 * The tuning section's schema (SCIENCE §7): per-optimizer learning-rate
 * candidates tried on a held-out split. The experiment schema composes it;
 * the tune and select stages parse their declared params with it.
 */
import { z } from "zod";
import { int, seed } from "../params.ts";

/** The `tuning` section's fields. */
export const tuningFields = {
  enabled: z.boolean(),
  lrs: z.array(z.number().gt(0).max(10)).min(1).max(32),
  epochs: int(1, 10000),
  validation_size: int(1, 59999),
  seed,
};

/** Disabled tuning: what an experiment without a `tuning` section means. */
export const NO_TUNING = {
  enabled: false,
  lrs: [0.001],
  epochs: 1,
  validation_size: 1,
  seed: 0,
};

/** The `tuning` section; absent means disabled. */
export const tuningSection = z.strictObject(tuningFields).default(NO_TUNING);
export type Tuning = z.infer<typeof tuningSection>;
