/**
 * The command line's researcher-facing behaviour on a project of fake
 * stages: `report` never trains, `--force-stage` reruns one stage or one
 * instance only, and `--set` variants keep their own results folder.
 */
import { assert, assertEquals } from "../../assert.ts";
import { cliProject, listFiles } from "./_cli.ts";

Deno.test("report on an experiment never run trains nothing and names what is missing", async () => {
  const { p, cli } = await cliProject();
  const { code, err } = await cli(["report"]);
  assertEquals(code, 2);
  assertEquals(p.runs, [], "nothing ran");
  assert(err.includes("not cached (download, train[seed=0]"), err);
  assert(err.includes("deno task reproduce --experiment test"), err);
  // With a variant, the hint repeats its --set.
  const variant = await cli(["report", "--set", "a.x=2"]);
  assert(
    variant.err.includes("--experiment test --set a.x=2' first"),
    variant.err,
  );
});

Deno.test("report after a run reruns only charts and report when their code changed", async () => {
  const { p, cli } = await cliProject();
  assertEquals((await cli(["reproduce"])).code, 0);
  assertEquals(p.runs.length, 6, "download, 2 train, metrics, charts, report");
  p.runs.length = 0;
  p.writeModule("charts.ts", "export const charts = 2;\n");
  p.writeModule("report.ts", "export const report = 2;\n");
  p.writeModule("metrics.ts", "export const metrics = 3;\n");
  // metrics changed too: report refuses rather than rerun it.
  const refused = await cli(["report"]);
  assertEquals(refused.code, 2);
  assert(refused.err.includes("(metrics)"), refused.err);
  assertEquals(p.runs, []);
  p.writeModule("metrics.ts", "export const metrics = 1;\n");
  const { code } = await cli(["report"]);
  assertEquals(code, 0);
  assertEquals(p.runs, ["charts", "report"]);
});

Deno.test("--force-stage reruns that stage or that instance only, not its upstream", async () => {
  const { p, cli } = await cliProject();
  await cli(["reproduce"]);
  p.runs.length = 0;
  assertEquals((await cli(["reproduce", "--force-stage", "train"])).code, 0);
  // The fake stages are deterministic: same outputs, so downstream stays cached.
  assertEquals(p.runs.sort(), ['train{"seed":0}', 'train{"seed":1}']);
  p.runs.length = 0;
  await cli(["reproduce", "--force-stage", "train[seed=1]"]);
  assertEquals(p.runs, ['train{"seed":1}']);
  p.runs.length = 0;
  await cli([
    "reproduce",
    "--force-stage",
    "metrics",
    "--force-stage",
    "download",
  ]);
  assertEquals(p.runs.sort(), ["download", "metrics"]);
  p.runs.length = 0;
  const bad = await cli(["reproduce", "--force-stage", "trian"]);
  assertEquals(bad.code, 2);
  assert(bad.err.includes("--force-stage 'trian' is neither a stage"), bad.err);
  assertEquals(p.runs, []);
});

Deno.test("a --set variant writes its own results folder; the plain run and a restated default keep the experiment's", async () => {
  const { p, cli } = await cliProject();
  await cli(["reproduce"]);
  await cli(["reproduce", "--set", "a.x=2"]);
  await cli(["reproduce", "--set", "a.x=1"]);
  const out = `${p.root}/out/test`;
  assertEquals(listFiles(out), [
    "a.x=2/index.html",
    "a.x=2/runs.csv",
    "a.x=2/variant.json",
    "index.html",
    "runs.csv",
  ]);
  const plain = Deno.readTextFileSync(`${out}/runs.csv`);
  const variant = Deno.readTextFileSync(`${out}/a.x=2/runs.csv`);
  assert(plain.includes('{"a.x":1}'), plain);
  assert(variant.includes('{"a.x":2}'), variant);
  // report and publish take the same flags and find the variant's results.
  assertEquals((await cli(["report", "--set", "a.x=2"])).code, 0);
  const dir = `${p.root}/published`;
  const published = await cli(["publish", dir, "--set", "a.x=2"]);
  assertEquals(published.code, 0, published.err);
  assertEquals(listFiles(dir), ["index.html", "runs.csv"]);
  assertEquals(Deno.readTextFileSync(`${dir}/runs.csv`), variant);
});
