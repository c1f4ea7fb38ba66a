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
import {
  chromium,
  chromiumTest,
  consoleLines,
  removeProfile,
  runChromium,
} from "./_chromium.ts";

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

/**
 * A local HTTP server that serves the report and records every request it
 * gets. Chromium sends every other host's traffic to it too (as its proxy),
 * so a page that fetched anything, from anywhere, shows up in `requests`.
 */
function recordingServer(html: string) {
  const requests: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => {
      requests.push(`${req.method} ${req.url}`);
      const path = new URL(req.url).pathname;
      return path === "/report.html"
        ? new Response(html, {
          headers: { "content-type": "text/html; charset=utf-8" },
        })
        : new Response("not here", { status: 404 });
    },
  );
  const origin = `http://127.0.0.1:${server.addr.port}`;
  return {
    requests,
    url: `${origin}/report.html`,
    flags: [`--proxy-server=${origin}`, "--proxy-bypass-list=<-loopback>"],
    close: () => server.shutdown(),
  };
}

/**
 * Requests Chromium makes for itself, whatever the page: its icon, the
 * updater, network time and sign-in. Any other host (a CDN, a font service,
 * fonts.googleapis.com included) counts as the page's.
 */
function browserOwn(request: string): boolean {
  return request.endsWith("/favicon.ico") ||
    /^\w+ http:\/\/(update\.googleapis\.com|clients2\.google\.com|accounts\.google\.com)[:/]/
      .test(request);
}

/** The markup of one section, from its opening tag to the next section. */
function section(dom: string, id: string): string {
  const start = dom.indexOf(`<section id="${id}">`);
  assert(start >= 0, `section ${id} is in the DOM`);
  const end = dom.indexOf("</section>", start);
  return dom.slice(start, end);
}

/** The markup of one chart container: from its opening tag to its figcaption. */
function container(dom: string, id: string): string {
  const start = dom.indexOf(`id="chart-${id}"`);
  assert(start >= 0, `container chart-${id} is in the DOM`);
  const open = dom.lastIndexOf("<div", start);
  const end = dom.indexOf("<figcaption", start);
  return dom.slice(open, end);
}

chromiumTest(
  "report opened from disk in Chromium draws every chart with vega and logs nothing",
  async (dir) => {
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
  },
);

chromiumTest(
  "report with a script-breaking experiment name runs no injected markup in Chromium",
  async (dir) => {
    const payload = "</script><img src=x onerror=alert(1)>";
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
  },
);

Deno.test({
  name:
    "report served over HTTP makes no request but its own, renders every section, and offers SVG/PNG export only",
  ignore: chromium === undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = recordingServer(renderReport(reportData()));
    try {
      const { stdout: dom, stderr } = await runChromium(
        ["--dump-dom", ...server.flags],
        server.url,
      );
      assertEquals(consoleLines(stderr), [], "no console messages");
      assertEquals(
        server.requests.filter((r) => !browserOwn(r)),
        [`GET ${server.url}`],
        "the page requested nothing",
      );
      assert(!/data-errors=/.test(dom), "page recorded no errors");
      const sections = {
        summary: /<table class="claims">/,
        figures: /<svg[\s>]/,
        settings: /<td>/,
        known: /<table/,
        provenance: /<td>/,
        reproduce: /deno task/,
      };
      for (const [id, content] of Object.entries(sections)) {
        assert(content.test(section(dom, id)), `section ${id} has its content`);
      }
      for (const f of charts.figures) {
        const html = container(dom, f.id);
        assert(html.includes('data-rendered="vega"'), `${f.id} drawn by vega`);
        assert(/<svg[\s>]/.test(html), `${f.id} holds an svg`);
        // vega-embed's menu: export only, no link that leaves the page.
        assert(/class="vega-actions"/.test(html), `${f.id} has export actions`);
        assert(html.includes("Save as SVG") && html.includes("Save as PNG"));
        assert(!/View Source|View Compiled|Open in Vega Editor/.test(html));
      }
    } finally {
      await server.close();
    }
  },
});

/** Polls `probe` every 100 ms until it returns a value (or throws after `tries`). */
async function until<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  tries = 300,
): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

/** A page in headless Chromium driven over the DevTools protocol (loopback only). */
async function devtoolsPage(url: string) {
  const profile = await Deno.makeTempDir({ prefix: "chromium_profile_" });
  const child = new Deno.Command(chromium!, {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      `--user-data-dir=${profile}`,
      "--remote-debugging-port=0",
      "about:blank",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const port = await until(async () => {
    const text = await Deno.readTextFile(`${profile}/DevToolsActivePort`);
    return text.split("\n")[0] || undefined;
  }, "DevToolsActivePort");
  const targets = await until(async () => {
    const res = await fetch(`http://127.0.0.1:${port}/json`);
    const list = await res.json() as Array<
      { type: string; webSocketDebuggerUrl: string }
    >;
    return list.find((t) => t.type === "page");
  }, "a page target");
  const ws = new WebSocket(targets.webSocketDebuggerUrl);
  await new Promise((r) => ws.onopen = r);
  let id = 0;
  const pending = new Map<number, (m: Record<string, unknown>) => void>();
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    pending.get(m.id)?.(m);
    pending.delete(m.id);
  };
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<Record<string, unknown>>((resolve) => {
      pending.set(++id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  /** Evaluates an expression in the page and returns its JSON value. */
  const evaluate = async (expression: string): Promise<unknown> => {
    const m = await send("Runtime.evaluate", {
      expression,
      awaitPromise: true,
      returnByValue: true,
    });
    return (m.result as { result?: { value?: unknown } })?.result?.value;
  };
  await send("Page.navigate", { url });
  return {
    evaluate,
    /** Shuts Chromium down over the protocol, with its helper processes (a kill leaves them writing into the profile), then removes the profile. */
    async close() {
      ws.send(JSON.stringify({ id: ++id, method: "Browser.close" }));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const exited = await Promise.race([
        child.status.then(() => true),
        new Promise<false>((r) => timer = setTimeout(() => r(false), 10_000)),
      ]);
      clearTimeout(timer);
      if (!exited) {
        child.kill("SIGKILL");
        await child.status;
      }
      ws.close();
      await removeProfile(profile);
    },
  };
}

Deno.test({
  name:
    "each chart's export menu makes an SVG and a PNG inside the page, named after the figure",
  ignore: chromium === undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "report_browser_" });
    const file = `${dir}/report.html`;
    await Deno.writeTextFile(file, renderReport(reportData()));
    const page = await devtoolsPage(new URL(`file://${file}`).href);
    try {
      await until(
        async () =>
          (await page.evaluate(
            "document.body.getAttribute('data-charts-done')",
          )) ?? undefined,
        "the charts",
      );
      // vega-embed fills in a link's href when it is pressed.
      await page.evaluate(`
        for (const a of document.querySelectorAll('#chart-sharpness .vega-actions a')) {
          a.dispatchEvent(new MouseEvent('mousedown', { bubbles: true }));
        }`);
      const links = await until(async () => {
        const out = await page.evaluate(`JSON.stringify(
          [...document.querySelectorAll('#chart-sharpness .vega-actions a')]
            .map((a) => [a.textContent, a.download, a.href.slice(0, 22)]))`);
        const list = JSON.parse(String(out)) as string[][];
        return list.every((l) => l[2] !== "") ? list : undefined;
      }, "export links");
      assertEquals(links.map((l) => l.slice(0, 2)), [
        ["Save as SVG", "sharpness.svg"],
        ["Save as PNG", "sharpness.png"],
      ]);
      assert(links[0]![2]!.startsWith("blob:"), links[0]![2]);
      assertEquals(links[1]![2], "data:image/png;base64,");
      assertEquals(
        await page.evaluate("document.body.getAttribute('data-errors')"),
        null,
      );
    } finally {
      await page.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
