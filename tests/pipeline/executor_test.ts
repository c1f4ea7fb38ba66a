import { assertEquals, assertRejects } from "../assert.ts";
import { Engine, PipelineError } from "../../pipeline/engine.ts";
import { heavyEvents, heavyStage } from "./fixtures/heavy_stage.ts";
import { patientStage } from "./fixtures/patient_stage.ts";
import { decodeJson } from "../../pipeline/artifact.ts";
import type { Reporter } from "../../pipeline/progress.ts";
import { describeHost } from "../../pipeline/job.ts";
import { readLock } from "../../pipeline/lock.ts";
import type { Stage } from "../../pipeline/stage.ts";
import { eventRecorder } from "./_project.ts";

/** An engine with its cache and lock in `root`. */
function engineIn(root: string, stage: Stage): Engine {
  return new Engine({
    root,
    cacheDir: `${root}/c`,
    lockPath: `${root}/l`,
    stages: [stage],
  });
}

Deno.test("a heavy stage runs in a Worker and its progress and logs reach the reporter", async () => {
  const root = await Deno.makeTempDir();
  const engine = engineIn(root, heavyStage);
  const { events, reporter } = eventRecorder();
  const [result] = await engine.reproduce({
    experiment: "t",
    params: { n: 3 },
    reporter,
  });
  const out = decodeJson(
    await engine.store.get(result!.outputs!.out!) as Uint8Array,
  );
  assertEquals(out, { n: 3, inWorker: true });
  assertEquals(events, [...heavyEvents(3), "done heavy"]);
  // The Worker's host and ctx.timings reach the run cache and the lock entry, not the output.
  const run = await engine.store.getRun(result!.key!);
  assertEquals([run?.host, run?.timings], [describeHost(), { steps: 3 }]);
  const entry = (await readLock(`${root}/l`)).experiments.t!.heavy!;
  assertEquals(
    [entry.host, entry.timings, entry.seconds, entry.finished],
    [run!.host, run!.timings, run!.seconds, run!.finished],
  );
  assertEquals(Number.isNaN(Date.parse(entry.finished!)), false);
});

Deno.test("an error thrown in a Worker fails the instance with its message", async () => {
  const root = await Deno.makeTempDir();
  const engine = engineIn(root, heavyStage);
  await assertRejects(
    () => engine.reproduce({ experiment: "t", params: { n: -1 } }),
    PipelineError,
    "heavy: n must be ≥ 0",
  );
});

Deno.test("cancelling a run tells the Worker, whose stage saves its state at its next check and stops", async () => {
  const root = await Deno.makeTempDir();
  const engine = engineIn(root, patientStage);
  const controller = new AbortController();
  const reporter: Reporter = {
    ...eventRecorder().reporter,
    // The first step is done: the stage is in its loop.
    progress: () => controller.abort(),
  };
  const error = await assertRejects(
    () =>
      engine.reproduce({
        experiment: "t",
        params: {},
        reporter,
        signal: controller.signal,
      }),
    PipelineError,
    "patient: Instance 'patient' was cancelled",
  );
  const key = (error as PipelineError).failures[0]!.key!;
  // Saved by the stage after the abort, not by the engine: the Worker heard it.
  const saved = await Deno.readTextFile(`${engine.scratchDir(key)}/saved`);
  assertEquals(/^step \d+$/.test(saved), true, saved);
  await Deno.remove(root, { recursive: true });
});
