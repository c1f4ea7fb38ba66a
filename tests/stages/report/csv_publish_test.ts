import { assert, assertEquals } from "../../assert.ts";
import { metricsCsv } from "../../../stages/report/csv.ts";
import { publish } from "../../../stages/report/publish.ts";
import type { MetricsDoc } from "../../../stages/metrics/types.ts";
import { scopeOf } from "../../../stages/metrics/groups.ts";
import { encodeText } from "../../../pipeline/artifact.ts";

const doc: MetricsDoc = {
  experiment: "tiny",
  groups: [],
  scope: scopeOf([]),
  lr: { sgd: 0.1 },
  series: [
    {
      group: 'sgd, "fast"',
      optimizer: "sgd",
      cell: {},
      quantity: "test_error",
      epochs: [1, 2],
      mean: [0.5, 0.25],
      std: [0.1, NaN],
      count: [3, 2],
    },
  ],
  summaries: [],
  claims: [],
  known: [],
};

Deno.test("metricsCsv() writes one long row per epoch, quoting per RFC 4180, NaN as empty", () => {
  assertEquals(
    metricsCsv(doc),
    "group,optimizer,quantity,epoch,mean,std,count\n" +
      '"sgd, ""fast""",sgd,test_error,1,0.5,0.1,3\n' +
      '"sgd, ""fast""",sgd,test_error,2,0.25,,2\n',
  );
});

Deno.test("publish() writes index.html, metrics.csv, metrics.json and leaves no temp file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const paths = await publish(`${dir}/site/`, {
      html: encodeText("<!DOCTYPE html>"),
      metrics_csv: encodeText("a,b\n"),
      metrics_json: encodeText("{}"),
    });
    assertEquals(paths.map((p) => p.split("/").pop()), [
      "index.html",
      "metrics.csv",
      "metrics.json",
    ]);
    assertEquals(
      await Deno.readTextFile(`${dir}/site/index.html`),
      "<!DOCTYPE html>",
    );
    assertEquals(await Deno.readTextFile(`${dir}/site/metrics.csv`), "a,b\n");
    const names = [];
    for await (const e of Deno.readDir(`${dir}/site`)) names.push(e.name);
    assertEquals(names.sort(), ["index.html", "metrics.csv", "metrics.json"]);
    let threw = false;
    try {
      await publish(dir, { html: encodeText("x") });
    } catch (err) {
      threw = true;
      assert(String(err).includes("metrics_csv"));
    }
    assert(threw, "missing output is an error");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
