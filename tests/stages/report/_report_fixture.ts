/** The report tests' fixture: metrics, its charts rendered once per test file, provenance, report data and HTML probes. */
import { makeMetricsFixture } from "../../fixtures/metrics_fixture.ts";
import { type ChartsDoc, makeCharts } from "../../../stages/charts/stage.ts";
import type { Provenance, ReportData } from "../../../stages/report/html.ts";
import type { MetricsDoc } from "../../../stages/metrics/types.ts";

/** The report's sections by id, in page order. */
export const REPORT_SECTIONS = [
  "summary",
  "figures",
  "settings",
  "known",
  "provenance",
  "reproduce",
];

export const metrics: MetricsDoc = makeMetricsFixture();
export const charts: ChartsDoc = await makeCharts(metrics);

export const provenance: Provenance = {
  versions: { deno: "2.9.6", "@tensorflow/tfjs": "4.22.0", backend: "wasm" },
  stages: [{ instance: "train[optimizer=sgd,seed=0]", key: "9f2c4e1a" }],
};

export function reportData(overrides: Partial<ReportData> = {}): ReportData {
  return {
    experiment: {
      name: "fixture",
      description: "Four optimizers, three seeds, twenty epochs.",
      command: "deno task reproduce --experiment paper",
    },
    settings: { train: { epochs: 20, batch_size: 64 }, seeds: [0, 1, 2] },
    metrics,
    charts,
    provenance,
    ...overrides,
  };
}

/** The HTML with every script element's content removed (tags kept). */
export function withoutScriptBodies(html: string): string {
  return html.replace(/(<script\b[^>]*>)[\s\S]*?(<\/script>)/gi, "$1$2");
}

/** The text of the script element with the given id, or undefined. */
export function scriptBlock(html: string, id: string): string | undefined {
  const re = new RegExp(
    `<script type="application/json" id="${id}">([\\s\\S]*?)</script>`,
  );
  return re.exec(html)?.[1];
}

/** Counts of the SVG elements vega draws marks with (to compare two drawings of one chart). */
export function markCounts(svg: string) {
  const count = (re: RegExp) => (svg.match(re) ?? []).length;
  return {
    symbols: count(/role="graphics-symbol"/g),
    paths: count(/<path\b/g),
    lines: count(/<line\b/g),
    texts: count(/<text\b/g),
  };
}
