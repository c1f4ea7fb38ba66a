/**
 * `gc` on a temp project: what neither the lock nor a current experiment
 * names goes, what either names stays (a second run finds it cached), and
 * `--dry-run` only counts. Objects are counted on disk before and after.
 */
import { assert, assertEquals } from "../../assert.ts";
import { gcCommand, sizeOf } from "../../../pipeline/commands/gc.ts";
import { acquireRunLock } from "../../../pipeline/run_lock.ts";
import { applySets, BASE, cliProject, listFiles } from "./_cli.ts";

function count(dir: string): number {
  return listFiles(dir).length;
}

Deno.test("gc removes what no lock entry and no current experiment names, and --dry-run only says how much", async () => {
  const { p, def, experiments, cli } = await cliProject({ gc: gcCommand });
  const cache = def.project.cacheDir;
  await cli(["reproduce"]); // a.x = 1: six instances
  await cli(["reproduce", "--set", "a.x=2"]); // the lock now names these six
  assertEquals(count(`${cache}/objects`), 12);
  assertEquals(count(`${cache}/runs`), 12);
  // The experiment file changes (a.x = 3, never run): the a.x = 1 results are orphans.
  experiments["test"] = applySets(BASE, ["a.x=3"]);
  const current = await p.engine.status(
    "test",
    await def.loadExperiment("test", []),
  );
  const liveKey = current[0]!.key!; // download at a.x = 3: its scratch is a resumable run
  Deno.mkdirSync(`${cache}/scratch/${liveKey}`, { recursive: true });
  Deno.writeTextFileSync(`${cache}/scratch/${liveKey}/resume.bin`, "12345");
  Deno.mkdirSync(`${cache}/scratch/${"e".repeat(64)}`, { recursive: true });
  Deno.writeTextFileSync(
    `${cache}/scratch/${"e".repeat(64)}/resume.bin`,
    "x".repeat(1000),
  );
  Deno.writeTextFileSync(`${cache}/tmp/left.tmp`, "yy");
  // Live-view partials: the current key's stay, an orphan's go (as scratch),
  // and a killed `report --live`'s render store goes (as a temp file).
  for (const dir of [liveKey, "f".repeat(64), ".render-abc"]) {
    Deno.mkdirSync(`${cache}/live/${dir}`, { recursive: true });
    Deno.writeTextFileSync(`${cache}/live/${dir}/record`, "zzz");
  }
  const before = await sizeOf(cache);

  const dry = await cli(["gc", "--dry-run"]);
  assertEquals(dry.code, 0, dry.err);
  assertEquals(count(`${cache}/objects`), 12, "dry run removes nothing");
  assertEquals(count(`${cache}/runs`), 12);
  const wouldFree = Number(/\((\d+) bytes\)/.exec(dry.out)?.[1]);
  assert(
    dry.out.includes(
      "6 object(s), 6 run entries, 2 scratch folder(s), 2 temp file(s)",
    ),
    dry.out,
  );

  const real = await cli(["gc"]);
  assertEquals(real.code, 0, real.err);
  assertEquals(count(`${cache}/objects`), 6);
  assertEquals(count(`${cache}/runs`), 6);
  assertEquals(listFiles(`${cache}/scratch`), [`${liveKey}/resume.bin`]);
  assertEquals(listFiles(`${cache}/tmp`), []);
  assertEquals(listFiles(`${cache}/live`), [`${liveKey}/record`]);
  // The dry run's byte count is what gc freed (the run lock came and went).
  assertEquals(before - (await sizeOf(cache)), wouldFree);
  assert(wouldFree > 1000, `freed ${wouldFree} bytes`);

  // What the lock names is still cached: the a.x = 2 run executes nothing.
  p.runs.length = 0;
  await cli(["reproduce", "--set", "a.x=2"]);
  assertEquals(p.runs, []);
  // And a second gc finds nothing.
  const again = await cli(["gc"]);
  assert(again.out.startsWith("Freed 0 B"), again.out);
});

Deno.test("gc keeps a --set variant's results while its results folder exists", async () => {
  const { p, def, cli } = await cliProject({ gc: gcCommand });
  const cache = def.project.cacheDir;
  await cli(["reproduce", "--set", "a.x=2"]);
  await cli(["reproduce"]); // the lock names the plain run now
  assertEquals(count(`${cache}/objects`), 12);
  const record = JSON.parse(
    Deno.readTextFileSync(`${p.root}/out/test/a.x=2/variant.json`),
  );
  assertEquals(record, {
    experiment: "test",
    variant: "a.x=2",
    sets: ["a.x=2"],
  });
  await cli(["gc"]);
  assertEquals(
    count(`${cache}/objects`),
    12,
    "the variant's folder keeps them",
  );
  p.runs.length = 0;
  await cli(["reproduce", "--set", "a.x=2"]);
  assertEquals(p.runs, []);
  await cli(["reproduce"]);
  // The user deletes the variant's folder: gc takes its results.
  Deno.removeSync(`${p.root}/out/test/a.x=2`, { recursive: true });
  await cli(["gc"]);
  assertEquals(count(`${cache}/objects`), 6);
});

Deno.test("gc refuses while a run holds the run lock, and removes nothing", async () => {
  const { def, cli } = await cliProject({ gc: gcCommand });
  await cli(["reproduce"]);
  Deno.mkdirSync(`${def.project.cacheDir}/scratch/${"a".repeat(64)}`);
  const release = await acquireRunLock(`${def.project.cacheDir}/run.lock`);
  try {
    const { code, err } = await cli(["gc"]);
    assertEquals(code, 2);
    assert(err.includes("A run is going on"), err);
    assertEquals(count(`${def.project.cacheDir}/scratch`), 0);
    assertEquals(
      [...Deno.readDirSync(`${def.project.cacheDir}/scratch`)].length,
      1,
    );
  } finally {
    await release();
  }
});

Deno.test("gc stops when an experiment file does not load, since it cannot tell what that one needs", async () => {
  const { def, cli } = await cliProject({ gc: gcCommand });
  await cli(["reproduce"]);
  const load = def.loadExperiment;
  def.loadExperiment = (name, sets) =>
    name === "other"
      ? Promise.reject(new Error("Experiment 'other': a.x: expected a number"))
      : load(name, sets);
  const { code, err } = await cli(["gc"]);
  assertEquals(code, 2);
  assert(err.includes("Experiment 'other' does not load"), err);
  assertEquals(count(`${def.project.cacheDir}/objects`), 6);
});
