/**
 * A figure's Vega-Lite spec made small for the page, drawing the same chart:
 * each inline data set is packed by series (one object per run of rows that
 * share their labels, its numbers as parallel arrays, unpacked in the browser
 * by a Vega-Lite `flatten` transform), and plotted numbers are rounded to
 * what a chart can show. The tidy data files (runs.csv, metrics.json) keep
 * full precision; only the spec on the page is thinned.
 */
import type { VlSpec } from "../charts/vl.ts";

type Row = Record<string, unknown>;

/** Significant digits kept at least (the tooltips show `.4g`). */
export const PLOT_DIGITS = 4;

/**
 * `x` rounded for plotting: at least PLOT_DIGITS significant digits, and
 * enough that the error stays below 1/2000 of `span` (the field's range, so
 * a curve with a large offset keeps its shape on a linear axis). Integers
 * (epochs, counts) and non-finite values are returned as they are.
 * @example
 * ```ts
 * import { roundForPlot } from "./compact_spec.ts";
 * roundForPlot(0.0369716240172, 1); // 0.03697
 * roundForPlot(6.8207084222, 0.01); // 6.820708 (seven digits: the span is small)
 * ```
 */
export function roundForPlot(x: number, span: number): number {
  if (!Number.isFinite(x) || Number.isInteger(x)) return x;
  const offset = span > 0 ? Math.ceil(Math.log10(Math.abs(x) / span)) : 0;
  const digits = Math.min(17, PLOT_DIGITS + Math.max(0, offset));
  return Number(x.toPrecision(digits));
}

/** A field whose every present value is a number or null (JSON's NaN). */
function isNumeric(rows: Row[], field: string): boolean {
  return rows.every((r) =>
    !(field in r) || r[field] === null || typeof r[field] === "number"
  );
}

/** The identity of a row: its field names and every value that is not a number. */
function labelsOf(row: Row, numeric: Set<string>): string {
  const keys = Object.keys(row).sort();
  return JSON.stringify(keys.map((k) => numeric.has(k) ? k : [k, row[k]]));
}

/** Maximal runs of consecutive rows with the same labels (order kept). */
function runsOf(rows: Row[], numeric: Set<string>): Row[][] {
  const runs: Row[][] = [];
  let last = "";
  for (const row of rows) {
    const id = labelsOf(row, numeric);
    if (runs.length > 0 && id === last) runs.at(-1)!.push(row);
    else runs.push([row]);
    last = id;
  }
  return runs;
}

/** Each numeric field's range over the rows (0 when it has fewer than two finite values). */
function spans(rows: Row[], fields: string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of fields) {
    const xs = rows.map((r) => r[f]).filter((v): v is number =>
      typeof v === "number" && Number.isFinite(v)
    );
    out.set(f, xs.length > 1 ? Math.max(...xs) - Math.min(...xs) : 0);
  }
  return out;
}

/**
 * Rows packed by series: `packed` holds one object per run of rows sharing
 * their labels, where each field in `flatten` (a number that varies within
 * some run) is an array with one rounded entry per row; numbers constant in
 * every run stay single values. Vega's flatten transform over `flatten`
 * gives back the rows in their order (a field a run lacks comes back null,
 * which every chart filters like a missing value). With no such field the
 * rows are returned as they are.
 */
export function packRows(
  rows: Row[],
  round = true,
): { packed: Row[]; flatten: string[] } {
  const fields = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const numeric = new Set(fields.filter((f) => isNumeric(rows, f)));
  const runs = runsOf(rows, numeric);
  const flatten = [...numeric].filter((f) =>
    runs.some((run) => new Set(run.map((r) => r[f])).size > 1)
  );
  // Nothing varies within a run: packing would merge rows, so keep them.
  if (flatten.length === 0) return { packed: rows, flatten };
  const span = spans(rows, flatten);
  const value = (v: unknown, f: string) =>
    round && typeof v === "number" ? roundForPlot(v, span.get(f)!) : v;
  const packed = runs.map((run) => {
    const first = run[0]!;
    const out: Row = {};
    for (const [k, v] of Object.entries(first)) {
      if (!flatten.includes(k)) out[k] = v;
    }
    for (const f of flatten) out[f] = run.map((r) => value(r[f] ?? null, f));
    return out;
  });
  return { packed, flatten };
}

/**
 * The spec with every inline `data.values` packed (packRows) and a flatten
 * transform put first in the same view's transforms; the input is left
 * unchanged. `round: false` packs only (used to show the drawing is the same).
 */
export function compactSpec(spec: VlSpec, round = true): VlSpec {
  const visit = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(visit);
    if (node === null || typeof node !== "object") return node;
    const out: Row = {};
    for (const [k, v] of Object.entries(node)) {
      out[k] = k === "data" ? v : visit(v);
    }
    const data = (node as Row).data as Row | undefined;
    const values = data?.values;
    if (!Array.isArray(values) || values.length === 0) return out;
    const { packed, flatten } = packRows(values as Row[], round);
    if (flatten.length === 0) return out;
    const transform = Array.isArray(out.transform) ? out.transform : [];
    return {
      ...out,
      data: { ...data, values: packed },
      transform: [{ flatten }, ...transform],
    };
  };
  return visit(spec) as VlSpec;
}
