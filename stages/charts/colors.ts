/**
 * One colour per optimizer label, the same in every figure: the hue comes
 * from the optimizer kind (SGD blue, Adam red, …), and further labels of the
 * same kind (e.g. "sgd" and "sgd-m0.9") get darker or lighter shades of it.
 */
import type { MetricsDoc } from "../metrics/types.ts";
import { unique } from "./rows.ts";

/** The hue of each optimizer kind. */
export const KIND_COLORS: Readonly<Record<string, string>> = {
  sgd: "#4c78a8",
  gd: "#72b7b2",
  rmsprop: "#54a24b",
  adam: "#e45756",
  swats: "#b279a2",
};
const OTHER = "#9d755d";

/** A Vega-Lite colour scale with an explicit domain and range. */
export interface ColorScale {
  domain: string[];
  range: string[];
}

/** Mixes a #rrggbb colour with white (t > 0) or black (t < 0) by |t|. */
export function shade(hex: string, t: number): string {
  const target = t > 0 ? 255 : 0;
  const channel = (i: number) => {
    const v = parseInt(hex.slice(1 + 2 * i, 3 + 2 * i), 16);
    const mixed = Math.round(v + (target - v) * Math.abs(t));
    return mixed.toString(16).padStart(2, "0");
  };
  return `#${channel(0)}${channel(1)}${channel(2)}`;
}

/** Shade steps for the 2nd, 3rd, … label of one kind. */
const STEPS = [-0.35, 0.4, -0.6, 0.65];

/** The colour scale of every figure that colours by optimizer label. */
export function optimizerColors(doc: MetricsDoc): ColorScale {
  const kindOf = new Map(doc.groups.map((g) => [g.optimizer, g.kind]));
  const domain = unique([
    ...doc.groups.map((g) => g.optimizer),
    ...Object.keys(doc.tuning ?? {}),
  ]);
  const seen = new Map<string, number>();
  const range = domain.map((label) => {
    const kind = kindOf.get(label) ?? label;
    const k = seen.get(kind) ?? 0;
    seen.set(kind, k + 1);
    const base = KIND_COLORS[kind] ?? OTHER;
    return k === 0 ? base : shade(base, STEPS[(k - 1) % STEPS.length]!);
  });
  return { domain, range };
}
