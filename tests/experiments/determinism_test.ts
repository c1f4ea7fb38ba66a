/**
 * Reproducible by hash: the `smoke` experiment run, then rerun with --force,
 * records the same output hash for every instance in the lock file (only the
 * provenance fields, wall time, end and host, may change); then
 * `reproduce --check` reruns everything and finds every output identical.
 */
import { assert, assertEquals } from "../assert.ts";
import { Engine } from "../../pipeline/engine.ts";
import { readLock } from "../../pipeline/lock.ts";
import { checkReproduction, describeCheck } from "../../pipeline/check.ts";
import { STAGES } from "../../stages/mod.ts";
import { loadExperimentFile } from "../../stages/experiment.ts";

const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

Deno.test("smoke: reproduce --force keeps every output hash in the lock file, and --check passes", async () => {
  const cacheDir = `${root}/.cache/test-determinism-${crypto.randomUUID()}`;
  const lockPath = `${cacheDir}/smoke.lock`;
  const engine = new Engine(
    { root, cacheDir, lockPath, stages: STAGES },
    () => {},
  );
  try {
    const params = await loadExperimentFile(`${root}/experiments`, "smoke", [
      "train.epochs=2",
    ]);
    const first = await engine.reproduce({ experiment: "smoke", params });
    assert(first.every((r) => r.outcome === "ran"), "all ran on a cold cache");
    const before = (await readLock(lockPath)).experiments.smoke!;
    const forced = await engine.reproduce({
      experiment: "smoke",
      params,
      force: true,
    });
    assert(forced.every((r) => r.outcome === "ran"), "--force reran all");
    const after = (await readLock(lockPath)).experiments.smoke!;
    const ids = Object.keys(before).sort();
    assertEquals(Object.keys(after).sort(), ids);
    assert(ids.some((id) => id.startsWith("train[")), "trainings are checked");
    assert(ids.includes("report"), "the report is checked");
    for (const id of ids) {
      assertEquals(after[id]!.outputs, before[id]!.outputs, `outputs of ${id}`);
      assertEquals(after[id]!.key, before[id]!.key, `key of ${id}`);
    }
    // The rerun's provenance was recorded: a new end time for every instance,
    // and the trainings' own timings.
    for (const id of ids) {
      assert(after[id]!.finished! > before[id]!.finished!, `finished of ${id}`);
      assert(after[id]!.host, `host of ${id}`);
    }
    const train = after["train[optimizer=sgd,seed=0]"]!;
    assertEquals(train.timings?.epochs_timed, 2);
    assertEquals(train.timings?.snapshots_timed, 3);

    const results = await checkReproduction(engine, { params, jobs: 2 });
    const { lines, ok } = describeCheck(results);
    assert(ok, lines.join("\n"));
    assertEquals(results.length, ids.length);
    // The check wrote nothing: the lock file is as --force left it.
    assertEquals((await readLock(lockPath)).experiments.smoke, after);
  } finally {
    await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
  }
});
