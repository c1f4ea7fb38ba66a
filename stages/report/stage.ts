/**
 * The report stage: the HTML report, the metrics as a long CSV and as JSON.
 * Templates and static assets are its `sources`, so editing one reruns only
 * this stage.
 */
import {
  defineStage,
  type Json,
  type LineageEntry,
} from "../../pipeline/stage.ts";
import { decodeJson, encodeJson, encodeText } from "../../pipeline/artifact.ts";
import type { MetricsDoc } from "../metrics/types.ts";
import type { ChartsDoc } from "../charts/stage.ts";
import { SOURCE_URLS } from "./assets.ts";
import { metricsCsv } from "./csv.ts";
import { type Provenance, renderReport } from "./html.ts";
import { PUBLISHED_FILES } from "./publish.ts";
import { provenanceFromLineage, runtimeVersions } from "./provenance.ts";
import { stampReport } from "./stamp.ts";

/** Param subtrees shown as the experiment's settings. */
export const SETTINGS_PARAMS = [
  "data",
  "noise",
  "model",
  "train",
  "optimizers",
  "seeds",
  "matrix",
  "metrics",
  "tuning",
];

/**
 * Library versions inlined into the HTML, as the provenance table shows them.
 * The key takes them from deno.lock instead (assets.ts resolves each package
 * by name, which the fingerprint sees).
 */
const REPORT_VERSIONS = {
  "vega": "6.4.0",
  "vega-lite": "6.5.0",
  "vega-embed": "7.3.0",
  "eta": "4.6.0",
};

/**
 * Provenance from the engine's lineage: every instance the report was built
 * from, with its cache key, and the runtime versions in their keys.
 * Undefined without lineage. Wall times and hosts are stamped in when the
 * report is written out (stamp.ts), so the cached report is the same bytes
 * on every rerun.
 */
export function provenanceOf(lineage: LineageEntry[]): Provenance | undefined {
  if (lineage.length === 0) return undefined;
  return provenanceFromLineage(lineage, {
    ...runtimeVersions(),
    ...REPORT_VERSIONS,
  });
}

const str = (v: Json | undefined): string => (typeof v === "string" ? v : "");

export const reportStage = defineStage({
  name: "report",
  module: import.meta.url,
  sources: SOURCE_URLS,
  params: [
    "experiment.name",
    "experiment.description",
    "experiment.command",
    ...SETTINGS_PARAMS,
  ],
  inputs: {
    metrics: { stage: "metrics", output: "metrics" },
    charts: { stage: "charts", output: "charts" },
  },
  outputs: ["html", "metrics_csv", "metrics_json"],
  files: PUBLISHED_FILES,
  stamp: stampReport,
  run(ctx) {
    const metrics = decodeJson<MetricsDoc>(ctx.input("metrics"));
    const charts = decodeJson<ChartsDoc>(ctx.input("charts"));
    // An explicit "provenance" input wins; else the engine's lineage; else none.
    let provenance: Provenance | undefined;
    try {
      provenance = decodeJson<Provenance>(ctx.input("provenance"));
    } catch {
      provenance = provenanceOf(ctx.lineage ?? []);
    }
    if (!provenance) {
      ctx.log.info("no provenance input or lineage; the report says so");
    }
    const settings: Record<string, Json> = {};
    for (const path of SETTINGS_PARAMS) {
      const value = ctx.params[path];
      if (value !== undefined) settings[path] = value;
    }
    const html = renderReport({
      experiment: {
        name: str(ctx.params["experiment.name"]) || metrics.experiment,
        description: str(ctx.params["experiment.description"]),
        command: str(ctx.params["experiment.command"]) ||
          `deno task reproduce --experiment ${metrics.experiment}`,
      },
      settings,
      metrics,
      charts,
      ...(provenance ? { provenance } : {}),
    });
    return {
      html: encodeText(html),
      metrics_csv: encodeText(metricsCsv(metrics)),
      metrics_json: encodeJson(metrics),
    };
  },
});
