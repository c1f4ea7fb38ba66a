/**
 * Opens the fixture's report in a real headless Chromium from disk (file://)
 * and checks that every chart is drawn by vega-embed with marks, that the
 * page logs nothing to the console (errors, CSP refusals), and saves a
 * screenshot to reports/out/report_browser.png. Skipped, with the reason
 * printed, when Chromium is not installed (`apt-get install -y chromium`).
 */
import { assert, assertEquals } from "../assert.ts";
import { renderReport } from "../../stages/report/html.ts";
import {
  charts,
  metrics,
  reportData,
  withoutScriptBodies,
} from "../stages/report/_report_fixture.ts";

/**
 * "chromium" if it runs (`deno task test` allows running it by that name
 * only, and reads neither PATH nor /usr/bin), else undefined.
 */
async function findChromium(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("chromium", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success ? "chromium" : undefined;
  } catch (err) {
    if (
      err instanceof Deno.errors.NotFound ||
      err instanceof Deno.errors.NotCapable
    ) {
      return undefined;
    }
    throw err;
  }
}

const chromium = await findChromium();
/** On CI a missing Chromium is a failure, not a skip. */
const onCi =
  Deno.permissions.querySync({ name: "env", variable: "CI" }).state ===
    "granted" &&
  (Deno.env.get("CI") ?? "") !== "";
const skip = chromium === undefined && !onCi;
if (!chromium && onCi) {
  Deno.test("Chromium is installed on CI for the real-browser report test", () => {
    throw new Error(
      "CI is set but 'chromium' does not run: apt-get install -y chromium",
    );
  });
}
if (skip) {
  console.log(
    "SKIPPED report_browser_test: 'chromium' is not installed or not allowed to run " +
      "(apt-get install -y chromium; deno test --allow-run=chromium)",
  );
}

/** Runs headless Chromium on a file with the flags that keep it offline and quiet. */
async function runChromium(
  extra: string[],
  url: string,
): Promise<{ stdout: string; stderr: string }> {
  const profile = await Deno.makeTempDir({ prefix: "chromium_profile_" });
  try {
    const out = await new Deno.Command(chromium!, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        `--user-data-dir=${profile}`,
        "--virtual-time-budget=5000",
        "--enable-logging=stderr",
        "--v=0",
        ...extra,
        url,
      ],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(120_000),
    }).output();
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    assert(
      out.success,
      `chromium exited with ${out.code}: ${decode(out.stderr).slice(-2000)}`,
    );
    return { stdout: decode(out.stdout), stderr: decode(out.stderr) };
  } finally {
    await Deno.remove(profile, { recursive: true });
  }
}

/** The page's console messages as Chromium logs them (any level). */
function consoleLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) =>
    /:CONSOLE[:(]/.test(l) || /Uncaught/.test(l)
  );
}

/** The markup of one chart container: from its opening tag to its figcaption. */
function container(dom: string, id: string): string {
  const start = dom.indexOf(`id="chart-${id}"`);
  assert(start >= 0, `container chart-${id} is in the DOM`);
  const open = dom.lastIndexOf("<div", start);
  const end = dom.indexOf("<figcaption", start);
  return dom.slice(open, end);
}

Deno.test({
  name:
    "report opened from disk in Chromium draws every chart with vega and logs nothing",
  ignore: chromium === undefined,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "report_browser_" });
    try {
      const file = `${dir}/report.html`;
      await Deno.writeTextFile(file, renderReport(reportData()));
      const url = new URL(`file://${file}`).href;
      const { stdout: dom, stderr } = await runChromium(["--dump-dom"], url);
      assertEquals(consoleLines(stderr), [], "no console messages");
      assert(
        !/data-errors=/.test(dom),
        `page recorded errors: ${/data-errors="([^"]*)"/.exec(dom)?.[1]}`,
      );
      assert(
        dom.includes(`data-charts-done="${charts.figures.length}"`),
        "every chart settled",
      );
      for (const f of charts.figures) {
        const html = container(dom, f.id);
        assert(
          html.includes('data-rendered="vega"'),
          `${f.id} drawn by vega-embed, not the fallback`,
        );
        assert(/<svg[\s>]/.test(html), `${f.id} holds an svg`);
        const marks = html.match(/role="graphics-symbol"/g) ?? [];
        assert(marks.length > 0, `${f.id} has marks`);
        assert(
          /class="mark-(line|area|rule|symbol)/.test(html),
          `${f.id} has data marks`,
        );
      }
      // Settings were rendered, the interactive charts replaced the static ones once each.
      assertEquals(
        (dom.match(/class="chart /g) ?? []).length +
          (dom.match(/class="chart"/g) ?? []).length,
        charts.figures.length,
      );
      assert(dom.includes(metrics.claims[0]!.statement));

      await Deno.mkdir("reports/out", { recursive: true });
      const png = `${Deno.cwd()}/reports/out/report_browser.png`;
      await Deno.remove(png).catch(() => {});
      const shot = await runChromium([
        "--hide-scrollbars",
        `--screenshot=${png}`,
        "--window-size=1200,3000",
      ], url);
      assertEquals(consoleLines(shot.stderr), []);
      const bytes = await Deno.readFile(png);
      assertEquals([...bytes.slice(0, 4)], [0x89, 0x50, 0x4e, 0x47]); // PNG signature
      assert(
        bytes.length > 50_000,
        `screenshot has content (${bytes.length} bytes)`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "report with a script-breaking experiment name runs no injected markup in Chromium",
  ignore: chromium === undefined,
  sanitizeResources: false,
  async fn() {
    const payload = "</script><img src=x onerror=alert(1)>";
    const dir = await Deno.makeTempDir({ prefix: "report_browser_" });
    try {
      const file = `${dir}/report.html`;
      const data = reportData({
        experiment: { name: payload, description: payload, command: payload },
        settings: { train: { note: payload } },
      });
      await Deno.writeTextFile(file, renderReport(data));
      const { stdout: dom, stderr } = await runChromium(
        ["--dump-dom"],
        new URL(`file://${file}`).href,
      );
      assertEquals(consoleLines(stderr), []);
      assert(
        !/<img/i.test(withoutScriptBodies(dom)),
        "no img element in the live DOM",
      );
      assert(
        dom.includes(`data-charts-done="${charts.figures.length}"`),
        "the scripts still ran",
      );
      assert(
        dom.includes("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"),
        "payload shown as text",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
