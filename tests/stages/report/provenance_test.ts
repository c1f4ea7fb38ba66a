import { assert, assertEquals } from "../../assert.ts";
import { provenanceFromLineage } from "../../../stages/report/provenance.ts";
import { reportStage } from "../../../stages/report/stage.ts";
import type { LineageEntry } from "../../../pipeline/stage.ts";
import { decodeText, encodeJson } from "../../../pipeline/artifact.ts";
import { charts, fakeContext, metrics } from "./_report_fixture.ts";

const lineage: LineageEntry[] = [
  {
    id: "train[optimizer=sgd,seed=0]",
    key: "aa11",
    seconds: 30.5,
    params: { "train.epochs": 20 },
    versions: { "@tensorflow/tfjs": "4.22.0", backend: "wasm", deno: "2.9.6" },
  },
  {
    id: "train[optimizer=adam,seed=0]",
    key: "bb22",
    seconds: 41,
    params: { "train.epochs": 20 },
    versions: { "@tensorflow/tfjs": "4.22.0", backend: "cpu", deno: "2.9.6" },
  },
];

Deno.test("provenanceFromLineage() merges versions, lists disagreements, keeps one row per instance", () => {
  const p = provenanceFromLineage(lineage, { cores: 2 }, {
    deno: "2.9.6",
    v8: "13",
  });
  assertEquals(p.versions, {
    "@tensorflow/tfjs": "4.22.0",
    backend: "cpu, wasm",
    deno: "2.9.6",
    v8: "13",
  });
  assertEquals(p.stages, [
    { instance: "train[optimizer=sgd,seed=0]", key: "aa11", seconds: 30.5 },
    { instance: "train[optimizer=adam,seed=0]", key: "bb22", seconds: 41 },
  ]);
  assertEquals(p.machine, { cores: 2 });
});

Deno.test("reportStage.run() renders the engine's lineage as provenance", async () => {
  const ctx = {
    ...fakeContext({ "experiment.name": "paper" }, {
      metrics: encodeJson(metrics),
      charts: encodeJson(charts),
    }),
    lineage,
  };
  const page = decodeText((await reportStage.run(ctx)).html!);
  assert(page.includes("<td><code>bb22</code></td><td>41</td>"));
  assert(page.includes("<th>backend</th><td><code>cpu, wasm</code></td>"));
  assert(!page.includes("Provenance was not supplied"));
  assertEquals(reportStage.files, {
    html: "index.html",
    metrics_csv: "metrics.csv",
    metrics_json: "metrics.json",
  });
});
