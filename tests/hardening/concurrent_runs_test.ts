/**
 * Two reproduce processes started together on one cache: the run lock makes
 * the second wait, so it finds everything cached and runs nothing, and the
 * cache and lock file stay intact.
 */
import { assert, assertEquals } from "../assert.ts";
import { sha256 } from "../../pipeline/hash.ts";
import {
  denoRun,
  removeScratch,
  ROOT,
  scratchCacheDir,
  taskFlags,
} from "./_tasks.ts";

/** Every file under `dir`, as paths relative to it. */
function walk(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const name = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory) out.push(...walk(`${dir}/${entry.name}`, name));
    else out.push(name);
  }
  return out.sort();
}

Deno.test("two reproduce processes at once: one runs every instance, the other waits and runs none", async () => {
  const cache = scratchCacheDir();
  const dir = `${ROOT}/${cache}`;
  try {
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

    const objects = walk(`${dir}/objects`);
    assertEquals(objects.length, 4, "one object per instance output");
    for (const name of objects) {
      assertEquals(
        sha256(Deno.readFileSync(`${dir}/objects/${name}`)),
        name.replace("/", ""),
        `object ${name} hashes to its name`,
      );
    }
    const runs = walk(`${dir}/runs`);
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
      walk(dir).filter((f) => f.endsWith(".tmp") || f === "run.lock"),
      [],
      "no temp files or run lock left",
    );
  } finally {
    await removeScratch(cache);
  }
});
