import { assert, assertEquals } from "../../assert.ts";
import { provenanceFromLineage } from "../../../stages/report/provenance.ts";
import { reportStage } from "../../../stages/report/stage.ts";
import {
  RUN_PROVENANCE_END,
  RUN_PROVENANCE_START,
  stampReport,
} from "../../../stages/report/stamp.ts";
import type { LineageEntry, RunProvenance } from "../../../pipeline/stage.ts";
import {
  decodeText,
  encodeJson,
  encodeText,
} from "../../../pipeline/artifact.ts";
import { charts, metrics } from "./_report_fixture.ts";
import { stageContext } from "../_context.ts";

const lineage: LineageEntry[] = [
  {
    id: "train[optimizer=sgd,seed=0]",
    key: "aa11",
    params: { "train.epochs": 20 },
    versions: { "@tensorflow/tfjs": "4.22.0", backend: "wasm", deno: "2.9.6" },
  },
  {
    id: "train[optimizer=adam,seed=0]",
    key: "bb22",
    params: { "train.epochs": 20 },
    versions: { "@tensorflow/tfjs": "4.22.0", backend: "cpu", deno: "2.9.6" },
  },
];

const runs: RunProvenance = {
  lineage: [
    {
      id: "train[optimizer=sgd,seed=0]",
      key: "aa11",
      seconds: 30.5,
      finished: "2026-11-27T18:00:00.000Z",
      host: "node7 (linux x86_64, 2 cores)",
      timings: { epoch_seconds_mean: 3.05, epochs_timed: 300 },
    },
    { id: "train[optimizer=adam,seed=0]", key: "bb22", seconds: 41 },
  ],
  instance: { id: "report", key: "cc33", seconds: 1.25, host: "login1" },
};

Deno.test("provenanceFromLineage() merges versions, lists disagreements, keeps one row per instance", () => {
  const p = provenanceFromLineage(lineage, { deno: "2.9.6", v8: "13" });
  assertEquals(p.versions, {
    "@tensorflow/tfjs": "4.22.0",
    backend: "cpu, wasm",
    deno: "2.9.6",
    v8: "13",
  });
  assertEquals(p.stages, [
    { instance: "train[optimizer=sgd,seed=0]", key: "aa11" },
    { instance: "train[optimizer=adam,seed=0]", key: "bb22" },
  ]);
});

/** The report's HTML for `lineage`, as the engine caches it. */
async function cachedHtml(): Promise<Uint8Array> {
  const ctx = stageContext({
    params: { "experiment.name": "paper" },
    inputs: { metrics: encodeJson(metrics), charts: encodeJson(charts) },
    lineage,
  });
  return (await reportStage.run(ctx)).html!;
}

Deno.test("reportStage.run() renders the engine's lineage as provenance, without wall times or hosts", async () => {
  const page = decodeText(await cachedHtml());
  assert(page.includes("<tr><td>train[optimizer=adam,seed=0]</td></tr>"));
  assert(!page.includes("bb22"), "no upstream cache key in the cached HTML");
  assert(page.includes("<th>backend</th><td><code>cpu, wasm</code></td>"));
  assert(!page.includes("Provenance was not supplied"));
  assert(
    !page.includes("Wall time (s)"),
    "no wall-time column in the cached HTML",
  );
  assert(!page.includes("rendered on"), "no machine description");
  assertEquals(page.split(RUN_PROVENANCE_START).length, 2);
  assertEquals(page.split(RUN_PROVENANCE_END).length, 2);
  // Rendering again gives the same bytes: nothing in it depends on the moment or machine.
  assertEquals(await cachedHtml(), encodeText(page));
  assertEquals(reportStage.files, {
    html: "index.html",
    metrics_csv: "metrics.csv",
    metrics_json: "metrics.json",
  });
  assertEquals(reportStage.stamp, stampReport);
});

Deno.test("stampReport() puts wall times, ends, hosts and timings of the lineage and the report into the written HTML only", async () => {
  const cached = await cachedHtml();
  const page = decodeText(cached);
  const stamped = decodeText(stampReport("html", cached, runs));
  assert(
    stamped.includes(
      "<tr><td>train[optimizer=sgd,seed=0]</td><td><code>aa11</code></td><td>30.5</td><td>2026-11-27T18:00:00.000Z</td><td>node7 (linux x86_64, 2 cores)</td><td>epoch_seconds_mean 3.05, epochs_timed 300</td></tr>",
    ),
    "the sgd row",
  );
  assert(
    stamped.includes(
      "<tr><td>train[optimizer=adam,seed=0]</td><td><code>bb22</code></td><td>41</td><td>—</td><td>—</td><td>—</td></tr>",
    ),
    "the adam row, with what is unknown shown as —",
  );
  assert(stamped.includes("<td>report</td><td><code>cc33</code></td><td>1.25"));
  // Only the marked region changed: what precedes and follows it is the cached bytes.
  const [before] = page.split(RUN_PROVENANCE_START);
  const after = page.split(RUN_PROVENANCE_END)[1]!;
  assert(stamped.startsWith(before! + RUN_PROVENANCE_START));
  assert(stamped.endsWith(RUN_PROVENANCE_END + after));
  assert(!stamped.includes("they are added when the report is written"));
  // Other outputs, and HTML without the region, are written as cached.
  const csv = encodeText("group,optimizer\n");
  assertEquals(stampReport("metrics_csv", csv, runs), csv);
  const plain = encodeText("<p>no markers</p>");
  assertEquals(stampReport("html", plain, runs), plain);
});

Deno.test("stampReport() escapes what the run records hold", async () => {
  const stamped = decodeText(
    stampReport("html", await cachedHtml(), {
      ...runs,
      instance: { id: "report", key: "k", seconds: 1, host: "<b>x</b>" },
    }),
  );
  assert(stamped.includes("&lt;b&gt;x&lt;/b&gt;"));
  assert(!stamped.includes("<b>x</b>"));
});
