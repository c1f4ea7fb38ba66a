/**
 * Two reproduce processes started together on one cache: the run lock makes
 * the second wait, so it finds everything cached and runs nothing, and the
 * cache and lock file stay intact.
 */
import { assert, assertEquals } from "../assert.ts";
import { sha256 } from "../../pipeline/hash.ts";
import {
  denoRun,
  exists,
  ROOT,
  taskFlags,
  withScratchCache,
} from "./_tasks.ts";
import { listFiles } from "../pipeline/commands/_cli.ts";

/** Asserts that every object in the cache `dir` hashes to its path (xx/yyyy… without the slash); returns those paths. */
function assertObjectsIntact(dir: string): string[] {
  const objects = listFiles(`${dir}/objects`);
  for (const name of objects) {
    assertEquals(
      sha256(Deno.readFileSync(`${dir}/objects/${name}`)),
      name.replace("/", ""),
      `object ${name} hashes to its name`,
    );
  }
  return objects;
}

Deno.test("two reproduce processes at once: one runs every instance, the other waits and runs none", async () => {
  await withScratchCache(async (cache, dir) => {
    const flags = taskFlags("reproduce");
    const script = "tests/hardening/fixtures/slow_pipeline.ts";
    const [a, b] = await Promise.all([
      denoRun(flags, script, [cache]),
      denoRun(flags, script, [cache]),
    ]);
    assertEquals(
      [a!.code, b!.code],
      [0, 0],
      `exit codes (stderr: ${a!.stderr} / ${b!.stderr})`,
    );

    const summaries = [a!, b!].map((r) =>
      r.stdout.split("\n").find((l) => l.includes("instance(s) ran"))!
    );
    const counts = summaries.map((s) =>
      Number(/^(\d+) instance\(s\) ran, (\d+) cached/.exec(s)?.[1])
    ).sort();
    assertEquals(
      counts,
      [0, 4],
      `one process ran all four instances: ${summaries.join(" / ")}`,
    );
    const waited = [a!, b!].find((r) =>
      r.stdout.includes("0 instance(s) ran")
    )!;
    assert(
      waited.stdout.includes("Waiting for another run of this project"),
      `the second says it waits: ${waited.stdout}`,
    );

    const log = Deno.readTextFileSync(`${dir}/runs.log`).trim().split("\n");
    assertEquals(log.map((l) => l.split(" ")[0]).sort(), [
      "source",
      "summary",
      "work0",
      "work1",
    ]);
    assertEquals(
      new Set(log.map((l) => l.split(" ")[1])).size,
      1,
      "all runs in one process",
    );

    assertEquals(
      assertObjectsIntact(dir).length,
      4,
      "one object per instance output",
    );
    const runs = listFiles(`${dir}/runs`);
    assertEquals(runs.length, 4);
    for (const name of runs) {
      const entry = JSON.parse(Deno.readTextFileSync(`${dir}/runs/${name}`));
      assertEquals(Object.keys(entry.outputs), ["out"]);
    }
    const lock = JSON.parse(Deno.readTextFileSync(`${dir}/test.lock`));
    assertEquals(Object.keys(lock.experiments.t).sort(), [
      "source",
      "summary",
      "work[seed=0]",
      "work[seed=1]",
    ]);
    assertEquals(
      listFiles(dir).filter((f) => f.endsWith(".tmp") || f === "run.lock"),
      [],
      "no temp files or run lock left",
    );
  });
});

/** Starts the slow pipeline and resolves once its stdout shows a stage running (it then holds the run lock). */
async function startAndWaitForRunning(
  cache: string,
): Promise<Deno.ChildProcess> {
  const child = new Deno.Command("deno", {
    args: [
      "run",
      "--quiet",
      ...taskFlags("reproduce"),
      "tests/hardening/fixtures/slow_pipeline.ts",
      cache,
      "2000",
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "null",
    env: { NO_COLOR: "1" },
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!/running\s+source/.test(seen)) {
    const { value, done } = await reader.read();
    if (done) {
      throw new Error(`the first run ended before running a stage: ${seen}`);
    }
    seen += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return child;
}

Deno.test("a run killed with SIGKILL leaves a run lock that the next run clears with a message, then finishes", async () => {
  await withScratchCache(async (cache, dir) => {
    const first = await startAndWaitForRunning(cache);
    assert(exists(`${dir}/run.lock`), "the first run holds the lock");
    const pid = JSON.parse(Deno.readTextFileSync(`${dir}/run.lock`)).pid;
    first.kill("SIGKILL");
    const status = await first.status;
    assertEquals(status.signal, "SIGKILL");
    assert(exists(`${dir}/run.lock`), "a killed run cannot remove its lock");

    const second = await denoRun(
      taskFlags("reproduce"),
      "tests/hardening/fixtures/slow_pipeline.ts",
      [cache, "10"],
    );
    assertEquals(second.code, 0, second.stderr);
    assert(
      second.stdout.includes(
        `Cleared a stale run lock ${cache}/run.lock (process ${pid} no longer holds it)`,
      ),
      second.stdout,
    );
    assert(
      second.stdout.includes("4 instance(s) ran, 0 cached"),
      second.stdout,
    );
    assertEquals(
      exists(`${dir}/run.lock`),
      false,
      "the second run released its lock",
    );
    assert(
      assertObjectsIntact(dir).length > 0,
      "the second run stored its outputs",
    );
  });
});

Deno.test("status in another process, with the status task's permissions, shows what a reproduce is running as running", async () => {
  await withScratchCache(async (cache, dir) => {
    const first = await startAndWaitForRunning(cache);
    const status = await denoRun(
      taskFlags("status"),
      "tests/hardening/fixtures/slow_pipeline.ts",
      [cache, "2000", "status"],
    );
    assertEquals(status.code, 0, status.stderr);
    const lines = status.stdout.split("\n");
    assert(lines.includes("running  source"), status.stdout);
    // Never run, so stale whatever source produces.
    assert(lines.includes("stale    work[seed=0]"), status.stdout);
    assert(
      lines.some((l) =>
        l.trim() ===
          "reads 'source', which is running: reruns if its outputs change"
      ),
      status.stdout,
    );
    assert(status.stdout.includes("1 running"), status.stdout);
    first.kill("SIGINT");
    await first.status;
    // The run is gone: nothing shows as running any more.
    const after = await denoRun(
      taskFlags("status"),
      "tests/hardening/fixtures/slow_pipeline.ts",
      [cache, "2000", "status"],
    );
    assert(!after.stdout.includes("running  "), after.stdout);
    assertEquals(exists(`${dir}/running.json`), false, "removed by the run");
  });
});

Deno.test("status, which may not write, reports a damaged cache object truthfully and leaves it", async () => {
  await withScratchCache(async (cache, dir) => {
    const script = "tests/hardening/fixtures/slow_pipeline.ts";
    const run = await denoRun(taskFlags("reproduce"), script, [cache, "10"]);
    assertEquals(run.code, 0, run.stderr);
    const lock = JSON.parse(Deno.readTextFileSync(`${dir}/test.lock`));
    const hash = lock.experiments.t.source.outputs.out as string;
    const object = `${dir}/objects/${hash.slice(0, 2)}/${hash.slice(2)}`;
    Deno.writeTextFileSync(object, "damaged");
    const status = await denoRun(taskFlags("status"), script, [
      cache,
      "10",
      "status",
    ]);
    assertEquals(status.code, 0, status.stderr);
    assert(
      status.stderr.includes(
        `Cache object ${hash.slice(0, 12)} is damaged`,
      ) && status.stderr.includes("left in place"),
      status.stderr,
    );
    assert(!status.stderr.includes("deleted"), status.stderr);
    assertEquals(Deno.readTextFileSync(object), "damaged");
    assert(status.stdout.includes("stale    source"), status.stdout);
  });
});
