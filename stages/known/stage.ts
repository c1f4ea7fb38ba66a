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
import { declareParams, pick, under } from "../params.ts";
import type { KnownAnswer } from "../metrics/types.ts";
import { initWasmBackend } from "../train/backend.ts";
import {
  minNormExperiment,
  quadraticExperiment,
  wilsonExperiment,
} from "./experiments.ts";

const knownParams = declareParams(
  under("metrics", pick(metricsFields, ["known_answers"])),
);
type KnownParams = z.infer<typeof knownParams.schema>;

async function run(
  ctx: StageContext<KnownParams>,
): Promise<Record<string, Uint8Array>> {
  const enabled = ctx.params["metrics.known_answers"];
  if (!enabled) return { known: encodeJson([] satisfies KnownAnswer[]) };
  await initWasmBackend();
  const experiments = [
    () => minNormExperiment(ctx.rng.fork("min_norm")),
    () => wilsonExperiment(ctx.rng.fork("wilson")),
    () => quadraticExperiment(),
  ];
  const known: KnownAnswer[] = [];
  for (const [i, experiment] of experiments.entries()) {
    const answer = experiment();
    ctx.log.info(`${answer.id}: ${answer.verdict}`);
    known.push(answer);
    ctx.progress(i + 1, experiments.length);
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
