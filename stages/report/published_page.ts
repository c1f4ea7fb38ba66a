/**
 * The published copy of a report (reports/published/NAME/index.html), made
 * small enough that every published result fits the project (#20: < 40 MB
 * in all). Beside the page lie metrics.json and runs.csv, and the chart
 * libraries lie in ../assets/ (shared_vendor.ts), so the page drops what
 * only a single offline file needs: each chart's pre-rendered SVG (vega-embed
 * draws the chart in the browser; without JavaScript a note says where the
 * numbers are) and the inlined copy of metrics.json. The local report
 * (reports/out/) keeps both and still opens offline from one file.
 */
import { writeFileAtomic } from "../../pipeline/fs.ts";
import { shareVendorInFolder } from "./shared_vendor.ts";

/** What a published page shows where a chart is drawn when JavaScript is off. */
export const NO_SCRIPT_NOTE =
  '<p class="empty">This chart is drawn by JavaScript (vega-embed, from ../assets/). Its numbers are in metrics.json and runs.csv beside this page.</p>';

/**
 * The page with each chart container's static drawing replaced by
 * NO_SCRIPT_NOTE (pure). A container holds vega's SVG or a `<p>`, never a
 * `<div>`, so its first `</div>` closes it.
 */
export function withoutStaticDrawings(html: string): string {
  return html.replace(
    /(<div class="chart" id="chart-[^"]*" data-spec="[^"]*">)[\s\S]*?(<\/div>)/g,
    `$1${NO_SCRIPT_NOTE}$2`,
  );
}

/** The page without its inlined metrics document (the `metrics-data` block), which metrics.json holds (pure). */
export function withoutMetricsBlock(html: string): string {
  return html.replace(
    /<script type="application\/json" id="metrics-data">[^<]*<\/script>\n?/,
    "",
  );
}

/** The published page of a rendered report: no static drawings, no inlined metrics (pure). */
export function thinPublishedPage(html: string): string {
  return withoutMetricsBlock(withoutStaticDrawings(html));
}

/**
 * Rewrites `<folder>/index.html` for publishing: the chart libraries from
 * `<publishedDir>/assets/` (shareVendorInFolder), then thinPublishedPage.
 */
export async function thinPublishedFolder(
  folder: string,
  publishedDir: string,
): Promise<void> {
  await shareVendorInFolder(folder, publishedDir);
  const path = `${folder}/index.html`;
  await writeFileAtomic(
    path,
    thinPublishedPage(await Deno.readTextFile(path)),
  );
}
