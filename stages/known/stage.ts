/**
 * The known-answers stage (SCIENCE §6): tiny experiments whose outcome theory
 * predicts, run with the project's own optimizers, so the report can show
 * that the machinery reproduces them. Returns `known`: KnownAnswer[] as JSON
 * (an empty list when `metrics.known_answers` is false).
 */
import { encodeJson } from "../../pipeline/artifact.ts";
import { z } from "zod";
import { defineStage, type StageContext } from "../../pipeline/stage.ts";
import { metricsFields } from "../metrics/params.ts";
import { declareParams } from "../params.ts";
import type { Rng } from "../../pipeline/rng.ts";
import type { KnownAnswer } from "../metrics/types.ts";
import { initWasmBackend } from "../nn/backend.ts";
import {
  minNormExperiment,
  quadraticExperiment,
  wilsonExperiment,
} from "./experiments.ts";

const knownParams = declareParams({
  "metrics.known_answers": metricsFields.known_answers,
});

/** The known-answer experiments in report order, each on its own fork of the stage's stream. */
const EXPERIMENTS: ReadonlyArray<(rng: Rng) => KnownAnswer> = [
  (rng) => minNormExperiment(rng.fork("min_norm")),
  (rng) => wilsonExperiment(rng.fork("wilson")),
  () => quadraticExperiment(),
];

async function run(
  ctx: StageContext<z.infer<typeof knownParams.schema>>,
): Promise<Record<string, Uint8Array>> {
  if (!ctx.params["metrics.known_answers"]) {
    return { known: encodeJson([] satisfies KnownAnswer[]) };
  }
  await initWasmBackend();
  const known: KnownAnswer[] = [];
  for (const [i, experiment] of EXPERIMENTS.entries()) {
    const answer = experiment(ctx.rng);
    ctx.log.info(`${answer.id}: ${answer.verdict}`);
    known.push(answer);
    ctx.progress(i + 1, EXPERIMENTS.length);
  }
  return { known: encodeJson(known) };
}

export const knownStage = defineStage({
  name: "known",
  module: import.meta.url,
  ...knownParams,
  outputs: ["known"],
  // A choice, not a version: the npm versions come from deno.lock.
  versions: { backend: "wasm" },
  heavy: false,
  run,
});
