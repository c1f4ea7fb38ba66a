import { createHash } from "node:crypto";
import { assert, assertEquals, assertThrows } from "../../assert.ts";
import { renderReport } from "../../../stages/report/html.ts";
import {
  assertInlineSafe,
  jsonForScript,
  safeSvg,
} from "../../../stages/report/escape.ts";
import { reportStage } from "../../../stages/report/stage.ts";
import { compactSpec } from "../../../stages/report/compact_spec.ts";
import {
  decodeJson,
  decodeText,
  encodeJson,
} from "../../../pipeline/artifact.ts";
import {
  charts,
  metrics,
  REPORT_SECTIONS,
  reportData,
  scriptBlock,
  withoutScriptBodies,
} from "./_report_fixture.ts";
import { stageContext } from "../_context.ts";

const html = renderReport(reportData());
const markup = withoutScriptBodies(html);

Deno.test("renderReport() has every section and one chart container per figure", () => {
  for (const id of REPORT_SECTIONS) {
    assert(markup.includes(`<section id="${id}">`), id);
  }
  const containers =
    markup.match(/<div class="chart" id="chart-[a-z0-9_-]+"/g) ?? [];
  assertEquals(containers.length, charts.figures.length);
  assertEquals(charts.figures.length, 21);
  for (const f of charts.figures) {
    assert(
      markup.includes(
        `<div class="chart" id="chart-${f.id}" data-spec="spec-${f.id}">`,
      ),
      f.id,
    );
    // The page holds the spec compacted for it (compact_spec_test.ts).
    assertEquals(
      JSON.parse(scriptBlock(html, `spec-${f.id}`)!),
      compactSpec(f.spec),
    );
  }
  // The claims table: one row per claim with its verdict.
  assertEquals(
    (markup.match(/<tr id="claim-/g) ?? []).length,
    metrics.claims.length,
  );
  // Each claim shows its verdict, and each paired comparison its n, per-seed
  // values, mean and interval (SCIENCE §7.1); the fixture's term claim has
  // log-ratios 8.7, 9.1, 8.9: mean 8.9, sd 0.2, half-width t_{0.975,2}·0.2/√3.
  assert(
    markup.includes(
      '<span class="verdict verdict-inconclusive">inconclusive</span>',
    ),
  );
  const terms = markup.slice(
    markup.indexOf('<tr id="claim-ir_sgd_exceeds_rmsprop_paper">'),
  );
  const row = terms.slice(0, terms.indexOf("</tr>"));
  assert(
    row.includes("<span>seed 0: 8.7</span> <span>seed 1: 9.1</span>"),
    row,
  );
  assert(
    row.includes(
      "mean <strong>8.9</strong>, 95% interval [8.403, 9.397], n = 3",
    ),
    row,
  );
  assert(row.includes('<span class="verdict verdict-holds">holds</span>'));
  assert(row.includes("(claimed &gt; 0)"), row);
  assert(markup.includes("97.5% interval ["), "Bonferroni level shown");
  const norm = markup.slice(markup.indexOf('<tr id="claim-sgd_smaller_norm">'));
  assert(
    norm.slice(0, norm.indexOf("</tr>")).includes(
      "descriptive: n &lt; 3 seeds",
    ),
  );
  assert(norm.includes("n = 2 (1 left out)"));
  assert(
    markup.includes("<code>deno task reproduce --experiment paper</code>"),
  );
  assert(
    markup.includes("<code>train.batch_size</code></td><td><code>64</code>"),
  );
  assert(markup.includes("<tr><td>train[optimizer=sgd,seed=0]</td></tr>"));
  assert(!markup.includes("9f2c4e1a"), "keys are stamped, not cached");
  assert(markup.includes("Wilson et al. construction"));
});

Deno.test("renderReport() metrics JSON block parses back to the same document", () => {
  assertEquals(JSON.parse(scriptBlock(html, "metrics-data")!), metrics);
});

Deno.test("renderReport() points nowhere outside the file", () => {
  // No element that loads anything: scripts, links, frames, images are all inline or absent.
  assertEquals(markup.match(/<script[^>]*\ssrc\s*=/gi), null);
  assertEquals(
    markup.match(
      /<(link|iframe|object|embed|img|image|audio|video|source)\b/gi,
    ),
    null,
  );
  const attrs = [
    ...markup.matchAll(
      /\s(src|href|xlink:href|action|poster|srcset)\s*=\s*"([^"]*)"/gi,
    ),
  ];
  const targets = attrs.map((m) => m[2]!);
  assert(targets.length > 0, "the nav links are checked");
  for (const t of targets) {
    assert(t.startsWith("#"), `attribute target '${t}' is not in-page`);
  }
  const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) =>
    m[1]!
  ).join("");
  assertEquals(styles.match(/url\(|@import/gi), null);
  assert(
    !/<[^>]+\sstyle\s*=\s*"[^"]*url\(/i.test(markup),
    "no url() in style attributes",
  );
  // The CSP forbids fetching anything even if a library tried.
  assert(html.includes("default-src &#39;none&#39;"));
});

Deno.test("renderReport() CSP lists the hash of every inline script", () => {
  const attr = /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(
    html,
  )![1]!;
  const csp = attr.replaceAll("&#39;", "'");
  assert(csp.startsWith("default-src 'none'; script-src 'sha256-"));
  const bodies = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) =>
    m[1]!
  );
  assertEquals(bodies.length, 4); // vega, vega-lite, vega-embed, the page's own
  for (const b of bodies) {
    const hash = createHash("sha256").update(b).digest("base64");
    assert(csp.includes(`'sha256-${hash}'`), "script hash in CSP");
  }
});

Deno.test("renderReport() escapes a script-breaking payload in every user-controlled field", () => {
  const payload = "</script><img src=x onerror=alert(1)>";
  const evil = structuredClone(metrics);
  evil.claims[0]!.statement = payload;
  evil.known[0]!.rows[0]!.optimizer = payload;
  evil.series[0]!.group = payload;
  const out = renderReport(
    reportData({
      experiment: { name: payload, description: payload, command: payload },
      settings: { "train": { note: payload } },
      metrics: evil,
      charts: {
        figures: charts.figures.map((f) => ({
          ...f,
          caption: payload,
          spec: { ...f.spec, title: payload },
        })),
        missing: [{ id: "x", title: payload }],
      },
    }),
  );
  const outMarkup = withoutScriptBodies(out);
  assert(!/<img/i.test(outMarkup), "no img element");
  for (
    const m of out.matchAll(
      /<script type="application\/json"[^>]*>([\s\S]*?)<\/script>/g,
    )
  ) {
    assert(!m[1]!.includes("<"), "no < inside a JSON block");
  }
  assert(!out.includes("onerror=alert(1)>"), "no live handler");
  assert(
    out.includes("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"),
    "shown as text",
  );
  // Script blocks are intact: one per spec + metrics + 4 scripts, each closed once.
  const blocks = charts.figures.length + 1 + 4;
  assertEquals((out.match(/<script\b/g) ?? []).length, blocks);
  assertEquals((out.match(/<\/script>/g) ?? []).length, blocks);
  assertEquals(
    JSON.parse(scriptBlock(out, "metrics-data")!).claims[0].statement,
    payload,
  );
  assertEquals(JSON.parse(scriptBlock(out, "spec-ir_term")!).title, payload);
});

Deno.test("jsonForScript() hides < > & and round-trips through JSON.parse", () => {
  const value = { a: "</script><!-- & \u2028", b: [1, 2.5e-7] };
  const text = jsonForScript(value);
  assert(!/[<>&\u2028]/.test(text));
  assertEquals(JSON.parse(text), value);
});

Deno.test("safeSvg() keeps vega's drawings and rejects scripts, handlers and outside links", () => {
  assertEquals(safeSvg(charts.figures[0]!.svg), charts.figures[0]!.svg);
  assertEquals(safeSvg("<svg><script>alert(1)</script></svg>"), null);
  assertEquals(safeSvg('<svg><rect onclick="x()"/></svg>'), null);
  assertEquals(safeSvg('<svg><a href="https://example.org">x</a></svg>'), null);
  assertEquals(
    safeSvg('<svg><use xlink:href="#m"/></svg>'),
    '<svg><use xlink:href="#m"/></svg>',
  );
  assertEquals(safeSvg("<div></div>"), null);
});

Deno.test("assertInlineSafe() refuses text that would end a script element", () => {
  assertThrows(
    () => assertInlineSafe("var a = '</script>';", "script"),
    Error,
    "script",
  );
  assertEquals(assertInlineSafe("var a = 1;", "script"), "var a = 1;");
});

Deno.test("reportStage.run() renders without provenance and says so", async () => {
  const ctx = stageContext({
    params: {
      "experiment.name": "paper",
      "experiment.description": "The seed paper exactly.",
      "experiment.command": "deno task reproduce --experiment paper",
      "train": { epochs: 300 },
    },
    inputs: { metrics: encodeJson(metrics), charts: encodeJson(charts) },
  });
  const out = await reportStage.run(ctx);
  assertEquals(Object.keys(out).sort(), reportStage.outputs.slice().sort());
  const page = decodeText(out.html!);
  assert(page.includes("Provenance was not supplied"));
  assert(page.includes("<code>train.epochs</code></td><td><code>300</code>"));
  assertEquals(
    decodeJson(out.metrics_json!),
    JSON.parse(JSON.stringify(metrics)),
  );
  assert(
    decodeText(out.metrics_csv!).startsWith(
      "group,optimizer,quantity,epoch,mean,std,count\n",
    ),
  );
});

Deno.test("every template and asset the report reads is a source (so editing it reruns the report), and every source exists", () => {
  const root = new URL("../../../reports/", import.meta.url);
  const sources = new Set(
    (reportStage.sources ?? []).map((u) => u.split("/reports/")[1]!),
  );
  for (const name of sources) {
    assert(Deno.statSync(new URL(name, root)).isFile, `${name} exists`);
  }
  // What the page reads: report.eta, each partial it includes ("@name"), the
  // partials those include, and the static files.
  const read = new Set<string>(["report.eta"]);
  const queue = ["report.eta"];
  while (queue.length > 0) {
    const text = Deno.readTextFileSync(new URL(queue.pop()!, root));
    for (const [, name] of text.matchAll(/include\("@(\w+)"/g)) {
      const file = `partials/${name}.eta`;
      if (!read.has(file)) queue.push(file);
      read.add(file);
    }
  }
  for (const entry of Deno.readDirSync(new URL("static/", root))) {
    read.add(`static/${entry.name}`);
  }
  const missing = [...read].filter((f) => !sources.has(f));
  assertEquals(missing, [], "read by the report but not a source");
  assert(read.size >= 8, `found ${[...read].join(", ")}`);
});

Deno.test("the versions in the charts and report keys are the installed packages' versions, read from deno.lock", async () => {
  const { chartsStage } = await import("../../../stages/charts/stage.ts");
  const { Engine } = await import("../../../pipeline/engine.ts");
  const installed = (name: string) => {
    const pkg = new URL("../package.json", import.meta.resolve(name));
    return JSON.parse(Deno.readTextFileSync(pkg)).version as string;
  };
  const cacheDir = await Deno.makeTempDir({ prefix: "ir-versions-" });
  const engine = new Engine({
    root: new URL("../../..", import.meta.url).pathname.replace(/\/$/, ""),
    cacheDir,
    lockPath: `${cacheDir}/lock`,
    stages: [chartsStage, reportStage],
  });
  await engine.prepare([chartsStage, reportStage]);
  const inKey = (stage: typeof reportStage, name: string) =>
    engine.versions(stage)[`npm:${name}`]?.split(" ")[0];
  for (const name of ["vega", "vega-lite", "vega-embed", "eta"]) {
    assertEquals(inKey(reportStage, name), installed(name), name);
  }
  for (const name of ["vega", "vega-lite"]) {
    assertEquals(inKey(chartsStage, name), installed(name), name);
  }
  await Deno.remove(cacheDir, { recursive: true });
});

Deno.test("renderReport() puts each figure's static SVG in its container as the no-JS fallback", () => {
  for (const f of charts.figures) {
    const start = markup.indexOf(`id="chart-${f.id}"`);
    const end = markup.indexOf("</div>", start);
    const inner = markup.slice(start, end);
    assert(inner.includes('<svg xmlns="http://www.w3.org/2000/svg"'), f.id);
    assert(
      /class="mark-(line|area|rule|symbol)/.test(inner),
      `${f.id} fallback has marks`,
    );
  }
});

Deno.test("renderReport() lists figures without data under 'Not measured in this experiment'", () => {
  const out = renderReport(reportData({
    charts: {
      figures: charts.figures.slice(0, 1),
      missing: [{
        id: "sharpness",
        title: "Sharpness: top Hessian eigenvalue",
      }],
    },
  }));
  const body = withoutScriptBodies(out);
  assert(body.includes("<h3>Not measured in this experiment</h3>"));
  assert(
    body.includes(
      '<li id="missing-sharpness">Sharpness: top Hessian eigenvalue</li>',
    ),
  );
  assertEquals((body.match(/<div class="chart"/g) ?? []).length, 1);
  assert(
    !markup.includes("Not measured in this experiment"),
    "the full fixture misses nothing",
  );
});

Deno.test("renderReport() turns the per-group table when there are more numbers than groups", () => {
  const summaries = metrics.summaries.slice(0, 2).map((s) => ({
    ...s,
    numbers: {
      a: { mean: 0.5, std: 0.25, count: 3 },
      b: { mean: 1, std: 0, count: 3 },
      c: s.numbers.final_test_error!,
    },
  }));
  const out = withoutScriptBodies(
    renderReport(reportData({ metrics: { ...metrics, summaries } })),
  );
  assert(out.includes('<table class="summaries transposed">'));
  assert(
    out.includes(
      "<tr><th>a</th><td>0.5 ± 0.25 (n = 3)</td><td>0.5 ± 0.25 (n = 3)</td></tr>",
    ),
  );
  assert(
    markup.includes('<table class="summaries">'),
    "14 groups × 2 numbers keep groups as rows",
  );
});

Deno.test("renderReport() shows the too-small banner with the metrics' reasons, and none when the experiment is big enough", () => {
  assertEquals(metrics.scope.enough, true);
  assert(!markup.includes('id="scope-banner"'), "3 seeds × 20 epochs: none");
  const small = renderReport(reportData({
    metrics: {
      ...metrics,
      scope: {
        ...metrics.scope,
        enough: false,
        reasons: ["2 seeds per group (x)", "4 epochs (y)"],
      },
    },
  }));
  const banner = /<aside class="banner" id="scope-banner"[^]*?<\/aside>/
    .exec(small)?.[0] ?? "";
  assert(banner.includes("Too small to test the paper's claims"), banner);
  assert(
    banner.replace(/\s+/g, " ").includes(
      "This experiment has 2 seeds per group (x) and 4 epochs (y).",
    ),
    banner,
  );
});

Deno.test("renderReport() lists each group's η, β and stability line as the metrics give them", () => {
  const row = (group: string) =>
    new RegExp(`<tr><td>${group}</td>.*?</tr>`).exec(markup)?.[0] ?? "";
  assertEquals(
    row("sgd-m0\\.9"),
    "<tr><td>sgd-m0.9</td><td>sgd</td><td>0.01</td><td>0.9</td><td>(2+2β)/η, β=0.9 = 380</td><td>0, 1, 2</td><td>20</td></tr>",
  );
  // Adam: no β; its line bounds the preconditioned sharpness (SCIENCE §4.2.1).
  assertEquals(
    row("adam"),
    "<tr><td>adam</td><td>adam</td><td>0.001</td><td>—</td><td>38/η (P⁻¹H) = 38000</td><td>0, 1, 2</td><td>20</td></tr>",
  );
});

Deno.test("renderReport() shows the experiment's findings first, each linking its figure, and leaves unmeasured claims out of the table", () => {
  const finding = {
    id: "momentum_basins",
    module: "momentum_basins",
    question: "Does momentum steer toward different basins?",
    statement: "Momentum ends nearer plain SGD's solution.",
    verdict: "holds" as const,
    answer: "Holds: momentum ends nearer (−0.15 [−0.18, −0.12]).",
    evidence: "Per seed, the same-seed barrier minus the seed barrier.",
    numbers: {},
    comparisons: [],
    descriptive: false,
    figure: charts.figures[0]!.id,
  };
  const absent = metrics.claims.map((c) => ({
    ...c,
    verdict: "not measured" as const,
    comparisons: [],
  }));
  const body = withoutScriptBodies(renderReport(reportData({
    metrics: { ...metrics, findings: [finding], claims: absent },
  })));
  const row = body.slice(body.indexOf('<tr id="finding-momentum_basins">'));
  assert(row.length < body.length, "the finding has a row");
  assert(row.includes(finding.question) && row.includes(finding.answer));
  assert(row.includes(`<a href="#chart-${finding.figure}">figure</a>`));
  assert(
    body.indexOf("finding-momentum_basins") <
      body.indexOf("The paper's claims"),
  );
  // Every claim unmeasured: one sentence instead of a table of "not measured".
  assert(body.includes('id="claims-not-measured"'));
  assertEquals(body.match(/<tr id="claim-/g), null);
  // One claim unmeasured among measured ones: counted, and left out.
  const mixed = withoutScriptBodies(renderReport(reportData({
    metrics: {
      ...metrics,
      claims: [...metrics.claims, { ...absent[0]!, id: "extra" }],
    },
  })));
  assert(
    mixed.includes(
      `1 of the ${
        metrics.claims.length + 1
      } claim checks are not measured here`,
    ),
  );
  assertEquals(
    (mixed.match(/<tr id="claim-/g) ?? []).length,
    metrics.claims.filter((c) => c.verdict !== "not measured").length,
  );
  // The fixture without findings has no findings table.
  assert(!withoutScriptBodies(html).includes('id="findings"'));
});
