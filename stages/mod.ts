/**
 * The pipeline, wired in one place: the map a newcomer reads first.
 *
 *   download ─► noise ─┬──────────────────► train[optimizer × seed × cell] ─┬─► sharpness[…]
 *      │               │                      ▲         ▲                  └─► barrier
 *      └── test set ───┼──────────────────────┘         │ lr                     │
 *                      └─► tune[optimizer × lr] ─► select[optimizer]              │
 *                                                       │                        │
 *            records, sharpness ──────────────────► metrics ◄── tuning table, barriers, known
 *                                                       │
 *                                             charts ◄──┘──► report
 */
import type { Stage } from "../pipeline/stage.ts";
import { downloadStage } from "./download/stage.ts";
import { noiseStage } from "./noise/stage.ts";
import { trainStage } from "./train/stage.ts";
import { sharpnessStage } from "./metrics/sharpness_stage.ts";
import { knownStage } from "./known/stage.ts";
import { metricsStage } from "./metrics/stage.ts";
import { tuneStage } from "./tune/stage.ts";
import { selectStage } from "./tune/select_stage.ts";
import { barrierStage } from "./barrier/stage.ts";
import { chartsStage } from "./charts/stage.ts";
import { reportStage } from "./report/stage.ts";

export const STAGES: Stage[] = [
  downloadStage,
  noiseStage,
  trainStage,
  sharpnessStage,
  tuneStage,
  selectStage,
  barrierStage,
  knownStage,
  metricsStage,
  chartsStage,
  reportStage,
];
