/**
 * Renders the report: one self-contained HTML file (SCIENCE §7, §2.7) from
 * the metrics document, the charts and the run's settings and provenance.
 * Every value goes through Eta's auto-escaping; the raw exceptions (library
 * code, JSON blocks, vega's SVG) are made safe in escape.ts.
 */
import { createHash } from "node:crypto";
import { Eta } from "eta";
import type { Json } from "../../pipeline/stage.ts";
import type { MetricsDoc } from "../metrics/types.ts";
import type { ChartsDoc } from "../charts/stage.ts";
import { type Assets, loadAssets } from "./assets.ts";
import { assertInlineSafe, jsonForScript, safeSvg } from "./escape.ts";
import { compactSpec } from "./compact_spec.ts";

/**
 * What the engine knows about the run that is the same on every rerun:
 * versions and the cache key of every instance the report was built from.
 * Wall times and hosts are not here (they would change the report's hash on
 * every run); `stampReport` adds them to the written file.
 */
export interface Provenance {
  versions: Record<string, string>;
  stages: Array<{ instance: string; key: string }>;
}

/** Everything the report shows. */
export interface ReportData {
  experiment: { name: string; description: string; command: string };
  /** Experiment settings as dotted path → value (shown as JSON). */
  settings: Record<string, Json>;
  metrics: MetricsDoc;
  charts: ChartsDoc;
  provenance?: Provenance;
}

/** A number for reading: 4 significant digits, "—" when not finite. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return "—";
  if (Number.isInteger(x) && Math.abs(x) < 1e6) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e6)
    ? x.toExponential(3)
    : String(Number(x.toPrecision(4)));
}

/** A confidence level as a percentage: 0.975 → "97.5%". */
export function pct(level: number): string {
  return `${Number((100 * level).toFixed(2))}%`;
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9_]+/g, "-").replace(/^-|-$/g, "");
}

/** Flattens nested objects to dotted paths (arrays stay whole, as JSON). */
function flatten(
  prefix: string,
  value: Json,
  out: Array<{ path: string; value: string }>,
) {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0) out.push({ path: prefix, value: "{}" });
    for (const [k, v] of entries) {
      flatten(prefix ? `${prefix}.${k}` : k, v, out);
    }
  } else {
    out.push({ path: prefix, value: JSON.stringify(value) });
  }
  return out;
}

/** The Content-Security-Policy: only the report's own inline scripts run; nothing is fetched. */
function csp(scripts: string[]): string {
  const hashes = scripts.map((s) =>
    `'sha256-${createHash("sha256").update(s).digest("base64")}'`
  );
  return [
    "default-src 'none'",
    // vega compiles expressions with Function(): 'unsafe-eval' is needed.
    `script-src ${hashes.join(" ")} 'unsafe-eval'`,
    "style-src 'unsafe-inline'",
    "img-src data:",
    "font-src data:",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
}

/** The known-answer tables: each row's cells in the order of the union of its columns. */
function knownTables(metrics: MetricsDoc) {
  return metrics.known.map((k) => {
    const columns = [...new Set(k.rows.flatMap((r) => Object.keys(r)))];
    const rows = k.rows.map((r) =>
      columns.map((c) => {
        const v = r[c];
        return v === undefined ? "" : typeof v === "number" ? fmt(v) : v;
      })
    );
    return {
      id: k.id,
      title: k.title,
      expected: k.expected,
      verdict: k.verdict,
      columns,
      rows,
    };
  });
}

/**
 * Each figure as the page holds it: its static drawing (the no-JavaScript
 * fallback) and its spec, compacted for the page (compact_spec.ts).
 */
function figureViews(charts: ChartsDoc) {
  return charts.figures.map((f) => ({
    id: slug(f.id),
    title: f.title,
    caption: f.caption,
    wide: f.wide,
    rawSvg: safeSvg(f.svg) ??
      '<p class="empty">Static drawing unavailable.</p>',
    rawSpecJson: jsonForScript(compactSpec(f.spec)),
  }));
}

/** Every seed any summary was computed over, ascending. */
function seedsOf(metrics: MetricsDoc): number[] {
  return [...new Set(metrics.summaries.flatMap((s) => s.seeds))]
    .sort((a, b) => a - b);
}

/** An Eta instance with every template loaded, escaping by default. */
function templateEngine(templates: Record<string, string>): Eta {
  const eta = new Eta({ autoEscape: true, cache: false, useWith: false });
  for (const [name, text] of Object.entries(templates)) {
    eta.loadTemplate(name, text);
  }
  return eta;
}

/** Builds the HTML; pure given `assets` (templates, styles, scripts). */
export function renderReport(
  data: ReportData,
  assets: Assets = loadAssets(),
): string {
  const scripts = assets.scripts.map((s) => assertInlineSafe(s, "script"));
  const view = {
    experiment: data.experiment,
    metrics: data.metrics,
    charts: data.charts,
    provenance: data.provenance ?? null,
    settings: Object.entries(data.settings).flatMap(([k, v]) =>
      flatten(k, v, [])
    ),
    summaryKeys: [
      ...new Set(data.metrics.summaries.flatMap((s) => Object.keys(s.numbers))),
    ],
    known: knownTables(data.metrics),
    seeds: seedsOf(data.metrics),
    figures: figureViews(data.charts),
    csp: csp(scripts),
    fmt,
    pct,
    slug,
    raw: {
      css: assertInlineSafe(assets.css, "style"),
      metricsJson: jsonForScript(data.metrics),
      scripts,
    },
  };
  return templateEngine(assets.templates).render("@report", view);
}
