/**
 * The Slurm executor against a real single-node cluster (tests/slurm/cluster.sh):
 * fan-out as one array job, progress through the job log, failures quoting
 * the log, two jobs storing the same object at once, Ctrl-C → scancel, and
 * the smoke experiment giving the local run's output hash for every instance. Reported as
 * ignored, with the reason printed, where a cluster cannot be started
 * (not root, no apt-get, no --allow-run for bash and the Slurm clients).
 */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import {
  Engine,
  type InstanceResult,
  PipelineError,
} from "../../pipeline/engine.ts";
import type { Stage } from "../../pipeline/stage.ts";
import { decodeJson } from "../../pipeline/artifact.ts";
import { describeHost } from "../../pipeline/job.ts";
import { SlurmExecutor } from "../../pipeline/slurm/executor.ts";
import { heavyEvents, heavyStage } from "../pipeline/fixtures/heavy_stage.ts";
import { squareStage, waitStage } from "./fixtures/stages.ts";
import { STAGES } from "../../stages/mod.ts";
import { loadExperimentFile } from "../../stages/experiment.ts";
import { type Cluster, prepareCluster, startCluster } from "./_cluster.ts";
import { eventRecorder } from "../pipeline/_project.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/** Temp project folders, removed when the test ends. */
const folders: string[] = [];

async function project(stages: Stage[]) {
  const dir = await Deno.makeTempDir({ prefix: "ir-slurm-project-" });
  folders.push(dir);
  return new Engine({
    root: ROOT,
    cacheDir: `${dir}/.cache`,
    lockPath: `${dir}/test.lock`,
    stages,
  }, () => {});
}

function slurm(engine: Engine, cluster: Cluster): SlurmExecutor {
  return new SlurmExecutor({
    store: engine.store,
    root: ROOT,
    run: cluster.run,
    pollMs: 200,
    graceMs: 2000,
  });
}

/** Jobs of this cluster as `name|state` lines, one per task. */
async function jobs(cluster: Cluster): Promise<string[]> {
  const out = await cluster.run("squeue", [
    "-h",
    "-t",
    "all",
    "-o",
    "%j|%T|%i",
  ]);
  return out.stdout.trim().split("\n").filter((l) => l !== "").sort();
}

// Only checks and installs here: the cluster starts inside the test, so a
// filtered-out test leaves nothing running.
const skipReason = await prepareCluster();
if (skipReason) {
  console.log(`SKIPPED tests/slurm/slurm_smoke_test.ts: ${skipReason}`);
}

Deno.test({
  name: `SlurmExecutor on a real single-node cluster${
    skipReason ? ` (SKIPPED: ${skipReason})` : ""
  }`,
  ignore: skipReason !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const cluster = await startCluster();
    try {
      await t.step(
        "a fan-out of three is one array job and gives the local run's outputs",
        async () => {
          const engine = await project([squareStage]);
          const { events, reporter } = eventRecorder();
          const results = await engine.reproduce({
            experiment: "t",
            params: { ks: [1, 2, 3] },
            executor: slurm(engine, cluster),
            reporter,
            jobs: 8,
          });
          const values = [];
          for (const r of results) {
            values.push(
              decodeJson(await engine.store.get(r.outputs!.out!) as Uint8Array),
            );
          }
          assertEquals(values, [{ k: 1, square: 1 }, { k: 2, square: 4 }, {
            k: 3,
            square: 9,
          }]);
          const local = await project([squareStage]);
          const localResults = await local.reproduce({
            experiment: "t",
            params: { ks: [1, 2, 3] },
          });
          assertEquals(
            results.map((r) => r.outputs),
            localResults.map((r) => r.outputs),
          );
          assertEquals(await jobs(cluster), [
            "square-x3|COMPLETED|1_0",
            "square-x3|COMPLETED|1_1",
            "square-x3|COMPLETED|1_2",
          ]);
          for (const k of [1, 2, 3]) {
            assert(
              events.includes(`progress square[k=${k}] 1/1`),
              `progress of k=${k} in ${events}`,
            );
          }
        },
      );

      await t.step(
        "progress and log lines travel through the job log to the reporter",
        async () => {
          const engine = await project([heavyStage]);
          const { events, reporter } = eventRecorder();
          const [result] = await engine.reproduce({
            experiment: "t",
            params: { n: 3 },
            executor: slurm(engine, cluster),
            reporter,
          });
          assertEquals(
            decodeJson(
              await engine.store.get(result!.outputs!.out!) as Uint8Array,
            ),
            { n: 3, inWorker: false },
          );
          assertEquals(
            events.filter((e) =>
              !e.startsWith("done") && !e.includes("submitted as Slurm job")
            ),
            heavyEvents(3),
          );
          assertEquals(events.at(-1)?.startsWith("done heavy"), true);
          // The job's host and ctx.timings come back in its result file, for the run cache.
          const run = await engine.store.getRun(result!.key!);
          assertEquals([run?.host, run?.timings], [describeHost(), {
            steps: 3,
          }]);
        },
      );

      await t.step(
        "a failing stage's error names the instance and quotes the end of its job log",
        async () => {
          const engine = await project([heavyStage]);
          const error = await assertRejects(
            () =>
              engine.reproduce({
                experiment: "t",
                params: { n: -1 },
                executor: slurm(engine, cluster),
              }),
            PipelineError,
          );
          const lines = error.message.split("\n");
          assertEquals(lines[1], "  heavy: n must be ≥ 0");
          assert(
            /last 2 line\(s\) of .*\/slurm\/.*\/0\/log\.txt:$/.test(lines[2]!),
            lines[2],
          );
          assertEquals(lines.slice(3).map((l) => l.trim()), [
            "info: finished",
            "RangeError: n must be ≥ 0",
          ]);
        },
      );

      await t.step(
        "two jobs storing the same outputs at once leave one intact object and no temp files",
        async () => {
          const engine = await project([squareStage]);
          const executor = slurm(engine, cluster);
          await engine.prepare([squareStage]); // fingerprints, as reproduce does first
          const job = engine.makeJob(
            {
              id: "square[k=7]",
              stage: squareStage,
              item: { k: 7 },
              params: {},
              inputs: {},
            } as never,
            "k".repeat(64),
            () => ({}) as InstanceResult,
          );
          const hooks = {
            log: () => {},
            progress: () => {},
            signal: new AbortController().signal,
          };
          const [a, b] = await Promise.all([
            executor.execute(squareStage, job, hooks),
            executor.execute(squareStage, { ...job }, hooks),
          ]);
          assertEquals(a, b);
          assertEquals(
            decodeJson(await engine.store.get(a.out!) as Uint8Array),
            { k: 7, square: 49 },
          );
          const files: string[] = [];
          for await (
            const shard of Deno.readDir(`${engine.store.dir}/objects`)
          ) {
            for await (
              const f of Deno.readDir(
                `${engine.store.dir}/objects/${shard.name}`,
              )
            ) files.push(shard.name + f.name);
          }
          assertEquals(files, [a.out]);
        },
      );

      await t.step(
        "an abort cancels the submitted job with scancel",
        async () => {
          const engine = await project([waitStage]);
          const abort = new AbortController();
          const { reporter } = eventRecorder();
          const running = engine.reproduce({
            experiment: "t",
            params: { wait_ms: 120_000 },
            executor: slurm(engine, cluster),
            reporter: {
              ...reporter,
              progress: () => {},
              log: (_id, _l, m) => m.startsWith("waiting") && abort.abort(),
            },
            signal: abort.signal,
          });
          const error = await assertRejects(() => running, PipelineError);
          assert(
            error.message.includes("wait: Instance 'wait' was cancelled"),
            error.message,
          );
          let states: string[] = [];
          for (let i = 0; i < 50; i++) {
            states = (await jobs(cluster)).filter((l) => l.startsWith("wait|"));
            if (states.length === 1 && states[0]!.includes("CANCELLED")) break;
            await new Promise((r) => setTimeout(r, 200));
          }
          assertEquals(states.map((s) => s.split("|")[1]), ["CANCELLED"]);
        },
      );

      await t.step(
        "the smoke experiment through Slurm gives the local run's output hash for every instance",
        async () => {
          const params = await loadExperimentFile(
            `${ROOT}/experiments`,
            "smoke",
            ["train.epochs=2", "train.checkpoint_epochs=0,2"],
          );
          const local = await project(STAGES);
          const viaSlurm = await project(STAGES);
          const localResults = await local.reproduce({
            experiment: "smoke",
            params,
            jobs: 2,
          });
          const slurmResults = await viaSlurm.reproduce({
            experiment: "smoke",
            params,
            jobs: 8,
            executor: slurm(viaSlurm, cluster),
          });
          assertEquals(
            slurmResults.map((r) => [r.id, r.outcome]),
            localResults.map((r) => [r.id, "ran"]),
          );
          const stages = new Set(localResults.map((r) => r.stage));
          for (
            const stage of ["train", "sharpness", "metrics", "charts", "report"]
          ) assert(stages.has(stage), `${stage} is in the run`);
          assertEquals(
            localResults.filter((r) => r.stage === "train").length,
            6,
          );
          // Outputs hold results only: every hash agrees, records and report included.
          for (const [i, expected] of localResults.entries()) {
            assertEquals(
              slurmResults[i]!.outputs,
              expected.outputs,
              `outputs of ${expected.id}`,
            );
          }
          // The wall times went to the run records instead, from the jobs' result files.
          const train = slurmResults.find((r) => r.stage === "train")!;
          const run = await viaSlurm.store.getRun(train.key!);
          assertEquals(run?.timings?.epochs_timed, 2);
        },
      );
    } finally {
      await cluster.stop();
      for (const dir of folders) {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    }
  },
});
