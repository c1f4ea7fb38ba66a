/**
 * The pipeline, wired in one place: the map a newcomer reads first.
 *
 *   download ─► noise ─► train[optimizer × seed × cell] ─► sharpness[…]
 *      │                      │                               │
 *      └──── test set ────────┘                               ▼
 *                             └──────── records ─────────► metrics ◄── known
 *                                                             │
 *                                                   charts ◄──┘──► report
 */
import type { Stage } from "../pipeline/stage.ts";
import { downloadStage } from "./download/stage.ts";
import { noiseStage } from "./noise/stage.ts";
import { trainStage } from "./train/stage.ts";
import { sharpnessStage } from "./metrics/sharpness_stage.ts";
// import { knownStage } from "./known/stage.ts";
import { metricsStage } from "./metrics/stage.ts";
import { chartsStage } from "./charts/stage.ts";
import { reportStage } from "./report/stage.ts";

export const STAGES: Stage[] = [
  downloadStage,
  noiseStage,
  trainStage,
  sharpnessStage,
  // knownStage,
  metricsStage,
  chartsStage,
  reportStage,
];
