/**
 * The charts stage: Vega-Lite specs of every figure the metrics document
 * supports, each with a static SVG, plus the list of figures not measured.
 */
import { defineStage } from "../../pipeline/stage.ts";
import { decodeJson, encodeJson } from "../../pipeline/artifact.ts";
import type { MetricsDoc } from "../metrics/types.ts";
import { buildFigures, type FigureSpec, type MissingFigure } from "./vl.ts";
import { renderSvg } from "./render.ts";

/** A rendered figure: its spec and static SVG. */
export interface Figure extends FigureSpec {
  svg: string;
}

/** The charts stage's output document. */
export interface ChartsDoc {
  figures: Figure[];
  /** Figures whose data the experiment did not measure. */
  missing: MissingFigure[];
}

/** Builds, compiles (warnings are errors) and renders every figure. */
export async function makeCharts(doc: MetricsDoc): Promise<ChartsDoc> {
  const { figures, missing } = buildFigures(doc);
  const rendered: Figure[] = [];
  for (const f of figures) {
    rendered.push({ ...f, svg: await renderSvg(f.spec) });
  }
  return { figures: rendered, missing };
}

export const chartsStage = defineStage({
  name: "charts",
  module: import.meta.url,
  params: [],
  inputs: { metrics: { stage: "metrics", output: "metrics" } },
  outputs: ["charts"],
  async run(ctx) {
    const doc = decodeJson<MetricsDoc>(ctx.input("metrics"));
    const charts = await makeCharts(doc);
    ctx.log.info(
      `${charts.figures.length} figures; not measured: ${
        charts.missing.map((m) => m.id).join(", ") || "none"
      }`,
    );
    return { charts: encodeJson(charts) };
  },
});
