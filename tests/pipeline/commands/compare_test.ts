/**
 * `experiments` and `diff` on a temp project of fake stages, whose "metrics"
 * output is read by a reader that reports its byte length per group.
 */
import { assert, assertEquals } from "../../assert.ts";
import { experimentsCommand } from "../../../pipeline/commands/experiments.ts";
import type { ExperimentRow } from "../../../pipeline/commands/experiments.ts";
import {
  diffCommand,
  type DiffResult,
  diffSides,
  formatDiff,
} from "../../../pipeline/commands/diff.ts";
import { applySets, BASE, cliProject } from "./_cli.ts";

const headline = {
  stage: "metrics",
  output: "out",
  headline: (bytes: Uint8Array) => [`length ${bytes.length}`],
};

const numbers = {
  stage: "metrics",
  output: "out",
  headline: ["length"],
  numbers: (bytes: Uint8Array) => ({
    all: {
      length: { final: bytes.length, best: bytes.length - 1 },
      other: { final: 1 },
    },
  }),
};

const commands = {
  experiments: experimentsCommand(headline),
  diff: diffCommand(numbers),
};

Deno.test("experiments lists each file as never run, fresh with its headline, or stale with the last run's", async () => {
  const { p, experiments, cli } = await cliProject(commands);
  const rows = async () =>
    JSON.parse((await cli(["experiments", "--json"])).out) as ExperimentRow[];
  let list = await rows();
  assertEquals(list.map((r) => [r.name, r.state]), [
    ["other", "never run"],
    ["test", "never run"],
  ]);
  await cli(["reproduce"]);
  list = await rows();
  const test = list.find((r) => r.name === "test")!;
  assertEquals([test.state, test.stale, test.total], ["fresh", 0, 6]);
  assertEquals(test.description, "a test experiment. Second sentence.");
  const metrics = p.runs.length; // the headline reads the cached output
  assert(/^length \d+$/.test(test.headline[0]!), test.headline[0]);
  assertEquals(test.headlineStale, false);
  assertEquals(p.runs.length, metrics, "listing runs nothing");
  // The file changes: stale, and the headline is the last run's, marked.
  experiments["test"] = applySets(BASE, ["b.y=[3]"]);
  list = await rows();
  const stale = list.find((r) => r.name === "test")!;
  assertEquals([stale.state, stale.stale], ["stale", 5]);
  assertEquals(stale.headline, test.headline);
  assertEquals(stale.headlineStale, true);
  const text = (await cli(["experiments"])).out;
  assert(text.includes("stale (5/6)"), text);
  assert(text.includes("last run (older params or code):"), text);
  assert(text.includes("a test experiment."), text);
  assert(!text.includes("Second sentence"), "first sentence only");
});

Deno.test("experiments lists each --set variant that has a results folder, with its state and headline", async () => {
  const { cli } = await cliProject(commands);
  await cli(["reproduce", "--set", "a.x=2"]);
  const rows = JSON.parse(
    (await cli(["experiments", "--json"])).out,
  ) as ExperimentRow[];
  const test = rows.find((r) => r.name === "test")!;
  assertEquals(test.state, "stale", "the plain experiment was not run");
  assertEquals(test.variants.length, 1);
  const v = test.variants[0]!;
  assertEquals([v.variant, v.sets, v.state, v.stale], [
    "a.x=2",
    ["a.x=2"],
    "fresh",
    0,
  ]);
  assert(/^length \d+$/.test(v.headline[0]!), v.headline[0]);
  const text = (await cli(["experiments"])).out;
  assert(text.includes("variant a.x=2: fresh  (--set a.x=2)"), text);
});

Deno.test("diffSides() lists differing params and b − a for final and best", () => {
  const d = diffSides(
    {
      label: "A",
      params: { "a.x": 1, same: 2 },
      numbers: { g: { q: { final: 0.5, best: 0.25 } } },
    },
    {
      label: "B",
      params: { "a.x": 3, same: 2, only: true },
      numbers: {
        g: { q: { final: 0.25, best: 0.125 } },
        h: { q: { final: 1 } },
      },
    },
  );
  assertEquals(d.params, [
    { path: "a.x", a: 1, b: 3 },
    { path: "only", a: undefined, b: true },
  ]);
  assertEquals(d.metrics, [
    {
      group: "g",
      quantity: "q",
      a: { final: 0.5, best: 0.25 },
      b: { final: 0.25, best: 0.125 },
      delta: { final: -0.25, best: -0.125 },
    },
    { group: "h", quantity: "q", b: { final: 1 }, delta: {} },
  ]);
  const text = formatDiff(d);
  assert(text.includes("a.x    1  3"), text);
  assert(/g\s+q\s+0.5\s+0.25\s+-0.25\s+0.25\s+0.125\s+-0.125/.test(text), text);
});

Deno.test("diff compares two experiments and two variants, with numbers once cached", async () => {
  const { cli } = await cliProject(commands);
  const json = async (args: string[]) => {
    const r = await cli(["diff", ...args, "--json"]);
    assertEquals(r.code, 0, r.err);
    return JSON.parse(r.out) as DiffResult;
  };
  let d = await json(["test", "other"]);
  assertEquals(d.params.map((p) => [p.path, p.a, p.b]), [
    ["a.x", 1, 5],
    ["description", "a test experiment. Second sentence.", "another one."],
  ]);
  assertEquals(d.metrics, []);
  assertEquals(d.notes.length, 2);
  assert(d.notes[1]!.includes("deno task reproduce --experiment other"));
  await cli(["reproduce"]);
  await cli(["reproduce", "--set", "a.x=12"]);
  d = await json(["test", "--b-set", "a.x=12"]);
  assertEquals(d.a, "test");
  assertEquals(d.b, "test --set a.x=12");
  assertEquals(d.params.map((p) => [p.path, p.a, p.b]), [["a.x", 1, 12]]);
  assertEquals(d.notes, []);
  // Only the headline quantity by default; the fake metrics grow by one byte per "1" → "12".
  assertEquals(d.metrics.map((m) => m.quantity), ["length"]);
  const row = d.metrics[0]!;
  assert(row.a!.final > 0 && row.delta.final! > 0, JSON.stringify(row));
  assertEquals(row.delta.final, row.b!.final - row.a!.final);
  assertEquals(row.delta.best, row.b!.best! - row.a!.best!);
  const all = await json(["test", "--b-set", "a.x=12", "--all"]);
  assertEquals(all.metrics.map((m) => m.quantity), ["length", "other"]);
  const bad = await cli(["diff"]);
  assertEquals(bad.code, 2);
  assert(bad.err.includes("diff needs one or two experiment names"), bad.err);
  const unknown = await cli(["diff", "test", "nope"]);
  assert(unknown.err.includes("Unknown experiment 'nope'"), unknown.err);
});

Deno.test("diff --rev compares an experiment with the lock file at a git revision", async () => {
  const { p, cli } = await cliProject(commands);
  const git = async (...args: string[]) => {
    const out = await new Deno.Command("git", {
      args: ["-c", "user.name=t", "-c", "user.email=t@t", ...args],
      cwd: p.root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
  };
  await cli(["reproduce", "--set", "a.x=17"]);
  await git("init", "-q");
  await git("add", "test.lock");
  await git("commit", "-qm", "a.x = 17");
  await cli(["reproduce"]);
  const r = await cli(["diff", "test", "--rev", "HEAD", "--json"]);
  assertEquals(r.code, 0, r.err);
  const d = JSON.parse(r.out) as DiffResult;
  assertEquals(d.a, "test at HEAD");
  assertEquals(d.params.map((x) => [x.path, x.a, x.b]), [["a.x", 17, 1]]);
  assertEquals(d.metrics.length, 1);
  assert(d.metrics[0]!.delta.final! < 0, "one byte shorter at a.x = 1");
  const missing = await cli(["diff", "nope", "--rev", "HEAD"]);
  assert(
    missing.err.includes("--rev") || missing.err.includes("no entries"),
    missing.err,
  );
  const hostile = await cli(["diff", "test", "--rev=--output=/tmp/x"]);
  assertEquals(hostile.code, 2);
  assert(hostile.err.includes("--rev must be a git revision"), hostile.err);
});
