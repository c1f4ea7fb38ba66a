/**
 * Published reports share the chart libraries and the report's own script
 * and style: in a published folder (reports/published/NAME/index.html) each
 * inlined vega, vega-lite, vega-embed and report-client script is replaced
 * by `<script src="../assets/NAME.js">`, the inlined style sheet by
 * `<link rel="stylesheet" href="../assets/report.css">`, and the files are
 * written once to reports/published/assets/. The page's
 * Content-Security-Policy gains `'self'` in script-src and style-src so the
 * shared files load (from a static host, and from disk in Chromium); no
 * `integrity` attribute, since Chromium blocks subresource integrity on
 * file:// pages. About 0.85 MB saved per published report, and no copy of
 * the report's code in every page.
 */
import { writeFileAtomic } from "../../pipeline/fs.ts";
import { loadAssets } from "./assets.ts";

/** File names of the shared scripts, in the order loadAssets() lists them. */
export const VENDOR_FILES = [
  "vega.js",
  "vega-lite.js",
  "vega-embed.js",
  "report_client.js",
];

/** File name of the shared style sheet. */
export const STYLE_FILE = "report.css";

/** The page with its inlined style sheet loaded from `prefix` (pure); unchanged when `css` is not inlined. */
export function shareStylesheet(
  html: string,
  css: string,
  prefix = "../assets/",
): { html: string; used: boolean } {
  const inline = `<style>${css}</style>`;
  const at = html.indexOf(inline);
  if (at < 0) return { html, used: false };
  const out = html.slice(0, at) +
    `<link rel="stylesheet" href="${prefix}${STYLE_FILE}">` +
    html.slice(at + inline.length);
  return { html: out.replace(/style-src /, "style-src 'self' "), used: true };
}

/** The page with each vendor bundle loaded from `prefix` (pure). Bundles not inlined are left alone. */
export function shareVendorScripts(
  html: string,
  vendor: Array<{ file: string; text: string }>,
  prefix = "../assets/",
): { html: string; used: string[] } {
  let out = html;
  const used: string[] = [];
  for (const { file, text } of vendor) {
    const inline = `<script>${text}</script>`;
    const at = out.indexOf(inline);
    if (at < 0) continue;
    out = out.slice(0, at) + `<script src="${prefix}${file}"></script>` +
      out.slice(at + inline.length);
    used.push(file);
  }
  if (used.length > 0) {
    out = out.replace(/script-src /, "script-src 'self' ");
  }
  return { html: out, used };
}

/** Rewrites `<publishedDir>/<name>/index.html` to use the shared bundles, writing them under `<publishedDir>/assets/`. */
export async function shareVendorInFolder(
  folder: string,
  publishedDir: string,
): Promise<void> {
  const { scripts, css } = loadAssets();
  const vendor = VENDOR_FILES.map((file, i) => ({
    file,
    text: scripts[i]!,
  }));
  const path = `${folder}/index.html`;
  const { html, used } = shareVendorScripts(
    await Deno.readTextFile(path),
    vendor,
  );
  for (const { file, text } of vendor) {
    if (used.includes(file)) {
      await writeFileAtomic(`${publishedDir}/assets/${file}`, text);
    }
  }
  const styled = shareStylesheet(html, css);
  if (styled.used) {
    await writeFileAtomic(`${publishedDir}/assets/${STYLE_FILE}`, css);
  }
  await writeFileAtomic(path, styled.html);
}
