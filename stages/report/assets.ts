/**
 * The files the report is made from: Eta templates and static assets under
 * reports/, and the built browser bundles of vega, vega-lite and vega-embed
 * found through node_modules (inlined so the report opens offline).
 */

const REPORTS = new URL("../../reports/", import.meta.url);

/** Template name (as `include("@name")` sees it) → file URL. */
export const TEMPLATE_FILES: Record<string, URL> = {
  "@report": new URL("report.eta", REPORTS),
  "@summary": new URL("partials/summary.eta", REPORTS),
  "@figures": new URL("partials/figures.eta", REPORTS),
  "@settings": new URL("partials/settings.eta", REPORTS),
  "@known": new URL("partials/known.eta", REPORTS),
  "@provenance": new URL("partials/provenance.eta", REPORTS),
  "@reproduce": new URL("partials/reproduce.eta", REPORTS),
  /** Rendered when the report is written out (`stampReport`), not into the cached HTML. */
  "@run_provenance": new URL("partials/run_provenance.eta", REPORTS),
};

export const CSS_FILE = new URL("static/report.css", REPORTS);
export const CLIENT_FILE = new URL("static/report_client.js", REPORTS);

/** Every file whose edit changes the report: the report stage's `sources`. */
export const SOURCE_URLS: string[] = [
  ...Object.values(TEMPLATE_FILES),
  CSS_FILE,
  CLIENT_FILE,
].map((u) => u.href);

/** Text the renderer needs besides the data. */
export interface Assets {
  templates: Record<string, string>;
  css: string;
  /** Scripts in load order: vega, vega-lite, vega-embed, then the page's own. */
  scripts: string[];
}

/**
 * The minified UMD bundle beside a package's resolved entry: vega-embed's
 * bundle reads the globals `vega` and `vegaLite`, so order matters. Callers
 * resolve with a literal `import.meta.resolve("name")`, so the fingerprint
 * sees the package and its deno.lock version enters the report's key.
 */
function bundle(resolved: string, file: string): string {
  const entry = new URL(resolved);
  if (entry.protocol !== "file:") {
    throw new Error(
      `A report library resolves to ${entry.href}, not a file in node_modules`,
    );
  }
  return Deno.readTextFileSync(new URL(file, entry));
}

let cached: Assets | undefined;

/** Reads templates, styles and library bundles once per process. */
export function loadAssets(): Assets {
  cached ??= {
    templates: Object.fromEntries(
      Object.entries(TEMPLATE_FILES).map((
        [name, url],
      ) => [name, Deno.readTextFileSync(url)]),
    ),
    css: Deno.readTextFileSync(CSS_FILE),
    scripts: [
      bundle(import.meta.resolve("vega"), "./vega.min.js"),
      bundle(import.meta.resolve("vega-lite"), "./vega-lite.min.js"),
      bundle(import.meta.resolve("vega-embed"), "./vega-embed.min.js"),
      Deno.readTextFileSync(CLIENT_FILE),
    ],
  };
  return cached;
}
