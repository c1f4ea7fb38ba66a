/**
 * A published report that loads the chart libraries from the shared
 * reports/published/assets/ (stages/report/shared_vendor.ts) and holds no
 * static drawings (published_page.ts): the rewrite replaces exactly the
 * inlined bundles, and the page opened from disk in headless Chromium still
 * draws every chart, with as many marks as the full render, and logs nothing
 * (no CSP refusal). The browser part is skipped when Chromium does not run.
 */
import { assert, assertEquals } from "../assert.ts";
import { renderReport } from "../../stages/report/html.ts";
import { loadAssets } from "../../stages/report/assets.ts";
import {
  shareStylesheet,
  shareVendorScripts,
  STYLE_FILE,
  VENDOR_FILES,
} from "../../stages/report/shared_vendor.ts";
import {
  thinPublishedFolder,
  thinPublishedPage,
} from "../../stages/report/published_page.ts";
import {
  charts,
  markCounts,
  reportData,
} from "../stages/report/_report_fixture.ts";
import { chromiumTest, consoleLines, runChromium } from "./_chromium.ts";

Deno.test("shareVendorScripts replaces each inlined bundle by a relative script and allows 'self'", () => {
  const html =
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'sha256-x' 'unsafe-eval'">` +
    `<script>AAA</script><script>BBB</script><script>own()</script>`;
  const out = shareVendorScripts(html, [
    { file: "a.js", text: "AAA" },
    { file: "b.js", text: "BBB" },
    { file: "c.js", text: "not inlined" },
  ]);
  assertEquals(out.used, ["a.js", "b.js"]);
  assertEquals(
    out.html,
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'self' 'sha256-x' 'unsafe-eval'">` +
      `<script src="../assets/a.js"></script><script src="../assets/b.js"></script><script>own()</script>`,
  );
  // Nothing inlined: unchanged, CSP included.
  assertEquals(shareVendorScripts(html, []).html, html);
});

Deno.test("shareStylesheet links the inlined style sheet and allows 'self' styles; a page without it is unchanged", () => {
  const html =
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">` +
    `<style>p{}</style><p>x</p>`;
  const out = shareStylesheet(html, "p{}");
  assertEquals(out.used, true);
  assertEquals(
    out.html,
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'self' 'unsafe-inline'">` +
      `<link rel="stylesheet" href="../assets/report.css"><p>x</p>`,
  );
  assertEquals(shareStylesheet(html, "q{}"), { html, used: false });
});

chromiumTest(
  "a published report (shared chart libraries, no static drawings) draws every chart from disk in Chromium with the marks of the full render",
  async (dir) => {
    await Deno.mkdir(`${dir}/exp`);
    const full = renderReport(reportData());
    await Deno.writeTextFile(`${dir}/exp/index.html`, full);
    // What publish-result does: shared libraries, then the thinned page.
    await thinPublishedFolder(`${dir}/exp`, dir);
    const page = await Deno.readTextFile(`${dir}/exp/index.html`);
    const scripts = loadAssets().scripts;
    const vendor = VENDOR_FILES.map((file, i) => ({
      file,
      text: scripts[i]!,
    }));
    const shared = shareVendorScripts(full, vendor).html;
    assertEquals(
      shared.length,
      full.length -
        VENDOR_FILES.reduce(
          (n, f, i) =>
            n + `<script>${scripts[i]}</script>`.length -
            `<script src="../assets/${f}"></script>`.length,
          0,
        ) + "'self' ".length,
    );
    const { css } = loadAssets();
    assertEquals(
      page,
      thinPublishedPage(shareStylesheet(shared, css).html),
    );
    assert(!page.includes("<style>"), "the style sheet is shared");
    assertEquals(await Deno.readTextFile(`${dir}/assets/${STYLE_FILE}`), css);
    assert(!page.includes("<svg"), "no static drawing is published");
    for (const [i, f] of VENDOR_FILES.entries()) {
      assertEquals(await Deno.readTextFile(`${dir}/assets/${f}`), scripts[i]);
    }
    const { stdout: dom, stderr } = await runChromium(
      ["--dump-dom"],
      new URL(`file://${dir}/exp/index.html`).href,
    );
    assertEquals(consoleLines(stderr), [], "no console messages");
    assertEquals(
      (dom.match(/data-rendered="vega"/g) ?? []).length,
      charts.figures.length,
      "every chart drawn by vega-embed",
    );
    assert(!/data-errors=/.test(dom), "no chart errors");
    // Drawn from the compact spec, each chart has the marks of the charts
    // stage's drawing of the full spec (the unthinned render).
    for (const f of charts.figures) {
      const at = dom.indexOf(`id="chart-${f.id}"`);
      assert(at >= 0, `chart-${f.id} is in the DOM`);
      const drawn = /<svg[^>]*class="marks"[\s\S]*?<\/svg>/.exec(
        dom.slice(at, dom.indexOf("<figcaption", at)),
      )?.[0];
      assert(drawn !== undefined, `${f.id} is drawn as SVG`);
      assert(markCounts(drawn).symbols > 0, `${f.id} has marks`);
      assertEquals(markCounts(drawn), markCounts(f.svg), f.id);
    }
  },
);
