/**
 * The published page drops the static drawings and the inlined metrics
 * (stages/report/published_page.ts) and keeps everything the browser draws
 * from; with the compact specs it is a fraction of the page the same data
 * made before. That the thinned page still draws every chart is checked in
 * Chromium (tests/browser/shared_vendor_browser_test.ts).
 */
import { assert, assertEquals } from "../../assert.ts";
import { renderReport } from "../../../stages/report/html.ts";
import { loadAssets } from "../../../stages/report/assets.ts";
import { jsonForScript } from "../../../stages/report/escape.ts";
import {
  NO_SCRIPT_NOTE,
  thinPublishedPage,
  withoutMetricsBlock,
  withoutStaticDrawings,
} from "../../../stages/report/published_page.ts";
import {
  shareVendorScripts,
  VENDOR_FILES,
} from "../../../stages/report/shared_vendor.ts";
import {
  charts,
  reportData,
  scriptBlock,
  withoutScriptBodies,
} from "./_report_fixture.ts";

const html = renderReport(reportData());

Deno.test("withoutStaticDrawings() puts the note in every chart container in place of its SVG and leaves the rest", () => {
  const out = withoutStaticDrawings(html);
  assert(/<svg[\s>]/.test(withoutScriptBodies(html)), "the report has SVG");
  assert(!/<svg[\s>]/.test(withoutScriptBodies(out)), "the page has none");
  for (const f of charts.figures) {
    assert(
      out.includes(
        `<div class="chart" id="chart-${f.id}" data-spec="spec-${f.id}">${NO_SCRIPT_NOTE}</div>`,
      ),
      f.id,
    );
    assertEquals(
      scriptBlock(out, `spec-${f.id}`),
      scriptBlock(html, `spec-${f.id}`),
    );
  }
  const svgs = charts.figures.reduce((n, f) => n + f.svg.length, 0);
  assertEquals(
    out.length,
    html.length - svgs + charts.figures.length * NO_SCRIPT_NOTE.length,
  );
});

Deno.test("withoutMetricsBlock() removes the inlined metrics document only", () => {
  const block = scriptBlock(html, "metrics-data")!;
  const out = withoutMetricsBlock(html);
  assertEquals(scriptBlock(out, "metrics-data"), undefined);
  assertEquals(
    out.length,
    html.length -
      `<script type="application/json" id="metrics-data">${block}</script>\n`
        .length,
  );
});

Deno.test("the published page of the fixture is under a tenth of what publishing the same data made before", () => {
  const scripts = loadAssets().scripts;
  const vendor = VENDOR_FILES.map((file, i) => ({ file, text: scripts[i]! }));
  // Before: each figure's full spec and its SVG, the metrics inlined.
  let unthinned = html;
  for (const f of charts.figures) {
    const id = `spec-${f.id}`;
    unthinned = unthinned.replace(
      `id="${id}">${scriptBlock(html, id)}</script>`,
      `id="${id}">${jsonForScript(f.spec)}</script>`,
    );
  }
  const before = shareVendorScripts(unthinned, vendor).html.length;
  const after = thinPublishedPage(shareVendorScripts(html, vendor).html).length;
  // Measured 0.086 on the fixture's 20 epochs (adaptive-eos: 7.6 MB -> 0.48 MB).
  assert(after / before < 0.1, `published page is ${after / before} of before`);
});
