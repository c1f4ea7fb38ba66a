/**
 * The edge-of-stability figure (SCIENCE §4.2, §4.2.1): each group's
 * sharpness against its own stability line, dashed: GD/SGD their plain
 * sharpness λ₁(H) against 2/η (or (2+2β)/η), RMSprop and Adam their
 * preconditioned sharpness λ₁(P⁻¹H) against 2/η and (2+2β₁)/((1−β₁)η)
 * (38/η at β₁ = 0.9). Drawn when some run measured the preconditioned
 * sharpness; the plain-only case is the sharpness figure's.
 */
import { stabilityThresholds } from "../metrics/preconditioned.ts";
import type { MetricsDoc, Quantity } from "../metrics/types.ts";
import type { OptimizerConfig } from "../train/contracts.ts";
import { clipForLog, groupLr, needsLog, type Row, rowsOf } from "./rows.ts";

const PLAIN = "sharpness λ₁(H)";
const PRECONDITIONED = "preconditioned λ₁(P⁻¹H)";

/** A group's plotted quantity, its line and the line's label; null when none applies. */
export function groupLine(
  doc: MetricsDoc,
  group: string,
  optimizer: string,
): { quantity: Quantity; threshold: number; rule: string } | null {
  const config = doc.optimizers?.[group];
  const lr = groupLr(doc, group, optimizer);
  if (
    !config || typeof config.name !== "string" || !(lr !== undefined && lr > 0)
  ) {
    return null;
  }
  const num = (k: string) =>
    typeof config[k] === "number" ? config[k] : undefined;
  const momentum = num("momentum") ?? 0;
  const beta1 = num("beta1") ?? 0.9;
  const t = stabilityThresholds({
    name: config.name as OptimizerConfig["name"],
    lr,
    momentum,
    beta1,
  });
  if (Number.isFinite(t.plain)) {
    return {
      quantity: "sharpness",
      threshold: t.plain,
      rule: momentum > 0 ? `(2+2β)/η, β=${momentum}, η=${lr}` : `2/η, η=${lr}`,
    };
  }
  if (Number.isFinite(t.preconditioned)) {
    const k = Number(((2 + 2 * beta1) / (1 - beta1)).toPrecision(4));
    return {
      quantity: "preconditioned_sharpness",
      threshold: t.preconditioned,
      rule: config.name === "adam"
        ? `(2+2β₁)/((1−β₁)η) = ${k}/η, η=${lr}`
        : momentum > 0
        ? `(2+2μ)/η, μ=${momentum}, η=${lr}`
        : `2/η, η=${lr}`,
    };
  }
  return null;
}

/**
 * The figure as a Vega-Lite spec, or only its id and title when no group
 * measured the preconditioned sharpness. `color` is the report's fixed
 * colour per group.
 */
export function edgeOfStabilityFigure(
  doc: MetricsDoc,
  groups: string[],
  color: { domain: string[]; scheme: string },
):
  | {
    id: string;
    title: string;
    caption: string;
    spec: Record<string, unknown>;
  }
  | { id: string; title: string } {
  const id = "edge_of_stability";
  const title =
    "Edge of stability: each optimizer's sharpness against its line";
  const hasPre = doc.series.some((s) =>
    groups.includes(s.group) && s.quantity === "preconditioned_sharpness" &&
    s.mean.some(Number.isFinite)
  );
  if (!hasPre) return { id, title };
  const rows: Row[] = [];
  const rules: Array<{ group: string; threshold: number; rule: string }> = [];
  for (const group of groups) {
    const optimizer = doc.series.find((s) => s.group === group)?.optimizer ??
      group;
    const line = groupLine(doc, group, optimizer);
    if (!line) continue;
    const series = doc.series.find((s) =>
      s.group === group && s.quantity === line.quantity
    );
    if (!series) continue;
    const term = line.quantity === "sharpness" ? PLAIN : PRECONDITIONED;
    const own = rowsOf(series, term);
    if (own.length === 0) continue;
    rows.push(...own);
    rules.push({ group, threshold: line.threshold, rule: line.rule });
  }
  if (rows.length === 0) return { id, title };
  const log = needsLog([
    ...rows.map((r) => r.mean),
    ...rules.map((r) => r.threshold),
  ]);
  const data = log ? clipForLog(rows) : rows;
  const y = {
    field: "mean",
    type: "quantitative",
    title: log ? "top eigenvalue, log scale" : "top eigenvalue",
    scale: log ? { type: "log" } : { zero: false },
  };
  const colorEnc = {
    field: "group",
    type: "nominal",
    title: "optimizer",
    scale: color,
    legend: { symbolOpacity: 1, labelLimit: 360 },
  };
  const x = {
    field: "epoch",
    type: "quantitative",
    axis: { title: "epoch", tickMinStep: 1, format: "d" },
  };
  const spec = {
    title,
    width: 560,
    height: 280,
    layer: [
      {
        data: { values: data },
        mark: { type: "errorband", opacity: 0.2 },
        encoding: {
          x,
          y: { ...y, field: "lo" },
          y2: { field: "hi" },
          color: colorEnc,
        },
      },
      {
        data: { values: data },
        mark: { type: "line", point: true },
        encoding: {
          x,
          y,
          color: colorEnc,
          strokeDash: {
            field: "term",
            type: "nominal",
            title: "quantity",
            scale: { domain: [PLAIN, PRECONDITIONED], range: [[1, 0], [2, 2]] },
            legend: {
              labelLimit: 360,
              symbolType: "stroke",
              symbolStrokeWidth: 2,
              symbolStrokeColor: "#444",
            },
          },
          tooltip: [
            { field: "group", title: "group" },
            { field: "term", title: "quantity" },
            { field: "epoch", type: "quantitative", title: "epoch" },
            {
              field: "mean",
              type: "quantitative",
              title: "mean",
              format: ".4g",
            },
            { field: "count", type: "quantitative", title: "seeds" },
          ],
        },
      },
      {
        data: { values: rules },
        mark: { type: "rule", strokeDash: [6, 4], strokeWidth: 1.5 },
        encoding: {
          y: { ...y, field: "threshold" },
          color: colorEnc,
          tooltip: [
            { field: "group", title: "group" },
            { field: "rule", title: "stability line" },
            {
              field: "threshold",
              type: "quantitative",
              title: "value",
              format: ".4g",
            },
          ],
        },
      },
    ],
  };
  return {
    id,
    title,
    caption:
      "Look at whether each optimizer's sharpness rises to its dashed line and hovers there " +
      "(the edge of stability, SCIENCE §4.2, §4.2.1): GD/SGD the top Hessian eigenvalue against 2/η, " +
      "RMSprop and Adam the top eigenvalue of P⁻¹H with the preconditioner P frozen at each checkpoint, " +
      "against 2/η and (2+2β₁)/((1−β₁)η) (38/η at β₁ = 0.9). Full-batch runs should reach their line; " +
      "mini-batch runs settle below it.",
    spec,
  };
}
