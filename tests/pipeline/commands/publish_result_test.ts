/**
 * `publish-result` and `verify` on a tiny project of fake stages: the
 * published folder holds the report, the lock entries and the provenance;
 * verify reruns and passes when the hashes match, fails naming the instance
 * when a published hash differs, and on a fresh clone computes everything
 * first.
 */
import { assert, assertEquals } from "../../assert.ts";
import { cliProject, listFiles } from "./_cli.ts";
import { publishResultCommand } from "../../../pipeline/commands/publish_result.ts";
import type {
  PublishedLock,
  PublishedProvenance,
} from "../../../pipeline/commands/publish_result.ts";
import {
  gitCommit,
  timeSpan,
} from "../../../pipeline/commands/publish_result.ts";
import { verifyCommand } from "../../../pipeline/commands/verify.ts";
import type { LockEntry } from "../../../pipeline/lock.ts";

async function project() {
  let dir = "";
  const commands = {
    "publish-result": {
      help: "",
      run: (
        def: Parameters<ReturnType<typeof publishResultCommand>["run"]>[0],
        args: string[],
      ) =>
        publishResultCommand({
          dir,
          commit: () => Promise.resolve("0123456789abcdef"),
          now: () => new Date("2026-11-27T18:00:00Z"),
        }).run(def, args),
    },
    verify: {
      help: "",
      run: (
        def: Parameters<ReturnType<typeof verifyCommand>["run"]>[0],
        args: string[],
      ) => verifyCommand({ dir }).run(def, args),
    },
  };
  const c = await cliProject(commands);
  dir = `${c.p.root}/published`;
  return { ...c, dir };
}

Deno.test("publish-result writes the report, the lock entries of every instance and the provenance", async () => {
  const { cli, dir, p } = await project();
  const early = await cli(["publish-result", "test"]);
  assertEquals(early.code, 2, "refuses before the report is up to date");
  assert(early.err.includes("not up to date"), early.err);
  assertEquals((await cli(["reproduce"])).code, 0);
  const { code, out } = await cli(["publish-result", "test"]);
  assertEquals(code, 0);
  assert(out.includes("Published with its lock entries"), out);
  assertEquals(listFiles(`${dir}/test`), [
    "index.html",
    "lock.json",
    "provenance.json",
    "runs.csv",
  ]);
  const lock = JSON.parse(
    Deno.readTextFileSync(`${dir}/test/lock.json`),
  ) as PublishedLock;
  assertEquals(Object.keys(lock.entries).sort(), [
    "charts",
    "download",
    "metrics",
    "report",
    "train[seed=0]",
    "train[seed=1]",
  ]);
  const all = JSON.parse(Deno.readTextFileSync(`${p.root}/test.lock`));
  assertEquals(lock.entries["metrics"], all.experiments.test.metrics);
  const prov = JSON.parse(
    Deno.readTextFileSync(`${dir}/test/provenance.json`),
  ) as PublishedProvenance;
  assertEquals(prov.seeds, [0, 1]);
  assertEquals(prov.commit, "0123456789abcdef");
  assertEquals(prov.setting, "a test experiment. Second sentence.");
  assertEquals(prov.published, "2026-11-27T18:00:00.000Z");
  assertEquals(prov.instances, 6);
  assert(prov.wall_seconds !== null && prov.wall_seconds >= 0);
});

Deno.test("verify reruns every cached instance and passes when the hashes match the published ones", async () => {
  const { cli, p } = await project();
  await cli(["reproduce"]);
  await cli(["publish-result", "test"]);
  p.runs.length = 0;
  const { code, out } = await cli(["verify", "test"]);
  assertEquals(code, 0, out);
  assert(
    out.includes("All 6 instance(s) have the published output hashes"),
    out,
  );
  assert(out.includes("Verified: 'test'"), out);
  // --check reran every instance from its cached inputs.
  assertEquals(p.runs.length, 6, p.runs.join(", "));
});

Deno.test("verify fails and names the instance whose published hash differs", async () => {
  const { cli, dir } = await project();
  await cli(["reproduce"]);
  await cli(["publish-result", "test"]);
  const path = `${dir}/test/lock.json`;
  const lock = JSON.parse(Deno.readTextFileSync(path)) as PublishedLock;
  lock.entries["train[seed=1]"]!.outputs["out"] = "f".repeat(64);
  Deno.writeTextFileSync(path, JSON.stringify(lock));
  const { code, out } = await cli(["verify", "test"]);
  assertEquals(code, 1);
  assert(
    out.includes(
      "DIFFERS     train[seed=1]: output 'out' was published as ffffffffffff",
    ),
    out,
  );
  assert(out.includes("Not verified"), out);
});

Deno.test("verify on a fresh clone computes every instance, then compares with the published hashes", async () => {
  const { cli, p } = await project();
  await cli(["reproduce"]);
  await cli(["publish-result", "test"]);
  // A fresh clone: no cache, no lock file; the published folder is committed.
  Deno.removeSync(`${p.root}/.cache`, { recursive: true });
  Deno.removeSync(`${p.root}/test.lock`);
  p.runs.length = 0;
  const { code, out } = await cli(["verify", "test"]);
  assertEquals(code, 0, out);
  assert(out.includes("Computing 6 instance(s) not cached here"), out);
  // Computed once; nothing was cached before, so no second rerun.
  assertEquals(p.runs.length, 6, p.runs.join(", "));
  const missing = await cli(["verify", "other"]);
  assertEquals(missing.code, 2);
  assert(missing.err.includes("deno task publish-result other"), missing.err);
});

Deno.test("timeSpan: sum of instance times, the time some instance ran, and the span from first start to last finish", () => {
  const e = (seconds: number, finished: string) =>
    ({ seconds, finished }) as unknown as LockEntry;
  assertEquals(
    timeSpan([
      e(10, "2026-01-01T00:00:10Z"),
      e(30, "2026-01-01T00:01:00Z"),
    ]),
    {
      compute_seconds: 40,
      wall_seconds: 60,
      busy_seconds: 40,
      first_start: "2026-01-01T00:00:00.000Z",
      last_finish: "2026-01-01T00:01:00.000Z",
    },
  );
  // A run resumed an hour later: [0, 20] and [10, 30] overlap (30 s busy),
  // then [3600, 3660]; the span counts the hour's gap, busy time does not.
  const resumed = timeSpan([
    e(20, "2026-01-01T00:00:20Z"),
    e(20, "2026-01-01T00:00:30Z"),
    e(60, "2026-01-01T01:01:00Z"),
  ]);
  assertEquals(resumed.busy_seconds, 90);
  assertEquals(resumed.wall_seconds, 3660);
  assertEquals(timeSpan([]).busy_seconds, null);
});

Deno.test("gitCommit: HEAD, '-dirty' for an edited source file, not for the lock file it is told to ignore", async () => {
  const root = await Deno.makeTempDir({ prefix: "ir-git-" });
  const git = (...args: string[]) =>
    new Deno.Command("git", {
      args: ["-C", root, "-c", "user.name=t", "-c", "user.email=t@t", ...args],
      stdout: "piped",
      stderr: "null",
    }).output();
  await git("init", "-q");
  Deno.writeTextFileSync(`${root}/code.ts`, "1\n");
  Deno.writeTextFileSync(`${root}/x.lock`, "{}\n");
  await git("add", ".");
  await git("commit", "-qm", "c");
  const head = new TextDecoder().decode((await git("rev-parse", "HEAD")).stdout)
    .trim();
  assertEquals(await gitCommit(root, ["x.lock"]), head);
  Deno.writeTextFileSync(`${root}/x.lock`, '{"a":1}\n');
  assertEquals(await gitCommit(root, ["x.lock"]), head);
  assertEquals(await gitCommit(root), `${head}-dirty`);
  Deno.writeTextFileSync(`${root}/code.ts`, "2\n");
  assertEquals(await gitCommit(root, ["x.lock"]), `${head}-dirty`);
  assertEquals(await gitCommit(`${root}/nope`), "unknown");
});

Deno.test("a --set variant is published as the experiment's result, and verify reruns it with the same overrides", async () => {
  const { cli, dir, p } = await project();
  await cli(["reproduce", "--set", "seeds=[0,1,2]"]);
  const published = await cli([
    "publish-result",
    "test",
    "--set",
    "seeds=[0,1,2]",
  ]);
  assertEquals(published.code, 0, published.err);
  const prov = JSON.parse(
    Deno.readTextFileSync(`${dir}/test/provenance.json`),
  ) as PublishedProvenance;
  assertEquals([prov.seeds, prov.sets], [[0, 1, 2], ["seeds=[0,1,2]"]]);
  const lock = JSON.parse(
    Deno.readTextFileSync(`${dir}/test/lock.json`),
  ) as PublishedLock;
  assert("train[seed=2]" in lock.entries);
  p.runs.length = 0;
  const { code, out } = await cli(["verify", "test"]);
  assertEquals(code, 0, out);
  assert(out.includes("Published with --set seeds=[0,1,2]"), out);
  assertEquals(p.runs.length, 7, "3 trainings and the 4 other stages reran");
});
