import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertThrows,
} from "../../assert.ts";
import { makeMetricsFixture } from "../../fixtures/metrics_fixture.ts";
import { buildFigures, type VlSpec } from "../../../stages/charts/specs.ts";
import { compileStrict } from "../../../stages/charts/render.ts";
import {
  CLIP_NOTE,
  clipForLog,
  heavyBallBeta,
  needsLog,
  type Row,
} from "../../../stages/charts/rows.ts";
import { type ChartsDoc, chartsStage } from "../../../stages/charts/stage.ts";
import { decodeJson, encodeJson } from "../../../pipeline/artifact.ts";
import type { StageContext } from "../../../pipeline/stage.ts";
import { Rng } from "../../../pipeline/rng.ts";

const doc = makeMetricsFixture();

/** Every x/y channel (with a field) of a spec, wherever it is nested. */
function positionChannels(
  spec: unknown,
  out: Array<Record<string, unknown>> = [],
) {
  if (Array.isArray(spec)) spec.forEach((s) => positionChannels(s, out));
  else if (spec && typeof spec === "object") {
    const o = spec as Record<string, unknown>;
    const enc = o.encoding as
      | Record<string, Record<string, unknown>>
      | undefined;
    for (const ch of ["x", "y"]) if (enc?.[ch]?.field) out.push(enc[ch]!);
    for (const [k, v] of Object.entries(o)) {
      if (k !== "encoding" && k !== "data") positionChannels(v, out);
    }
  }
  return out;
}

Deno.test("buildFigures() specs compile without warnings and carry titles, captions, axis titles", () => {
  const { figures, missing } = buildFigures(doc);
  assertEquals(missing, []);
  assertEquals(figures.map((f) => f.id), [
    "train_error",
    "test_error",
    "ir_term",
    "norm",
    "loss",
    "ir_decomposition",
    "gd_vs_mean_part",
    "trajectory_estimate",
    "rms_terms",
    "one_norm",
    "memorisation",
    "sharpness",
    "edge_of_stability",
    "hessian_trace",
    "dist_init",
    "sweep_optimizer_lr",
    "sweep_ir_optimizer_lr",
    "sweep_train_batch_size",
    "sweep_ir_train_batch_size",
    "lr_tuning",
    "loss_barrier",
  ]);
  for (const f of figures) {
    compileStrict(f.spec);
    assert(f.title.length > 0 && f.spec.title === f.title, f.id);
    assert(f.caption.endsWith("."), `${f.id} caption is one sentence`);
    const channels = positionChannels(f.spec);
    assert(channels.length >= 2, f.id);
    for (const c of channels) {
      const title = c.title ??
        (c.axis as Record<string, unknown> | undefined)?.title;
      if (c.field === "hi" || c.field === "threshold") continue;
      assert(
        typeof title === "string" && title.length > 0,
        `${f.id} ${String(c.field)} has an axis title`,
      );
    }
    assert(
      JSON.stringify(f.spec).includes('"tooltip"'),
      `${f.id} has tooltips`,
    );
    assert(JSON.stringify(f.spec).includes('"color"'), `${f.id} has a legend`);
  }
});

Deno.test("compileStrict() rejects a spec that vega-lite warns about", () => {
  const bad: VlSpec = {
    title: "bad",
    data: { values: [{ a: 1, b: "x" }] },
    mark: "bar",
    encoding: {
      x: { field: "a", type: "quantitative" },
      shape: { field: "b", type: "nominal" },
    },
  };
  assertThrows(() => compileStrict(bad), Error, "bad");
});

Deno.test("needsLog() is true only for positive data spanning more than two decades", () => {
  assertEquals(needsLog([1, 100]), false);
  assertEquals(needsLog([1, 100.5]), true);
  assertEquals(needsLog([0, 1, 1e6]), false);
  assertEquals(needsLog([-1, 1e6]), false);
  assertEquals(needsLog([]), false);
});

Deno.test("clipForLog() cuts non-positive band edges one decade below the mean and marks them", () => {
  const row = (mean: number, std: number): Row => ({
    group: "g",
    optimizer: "g",
    term: "",
    epoch: 1,
    mean,
    std,
    lo: mean - std,
    hi: mean + std,
    count: 3,
  });
  const out = clipForLog([row(1, 2), row(0.5, 0.25)]);
  assertEquals(out.map((r) => r.lo), [0.1, 0.25]);
  assertEquals(out.map((r) => r.clipped), [true, undefined]);
  assertEquals(out.map((r) => r.hi), [3, 0.75]);
});

Deno.test("heavyBallBeta() reads β from the recorded config, else from ir_momentum / ir_sgd", () => {
  assertEquals(heavyBallBeta(doc, "sgd-m0.9"), 0.9);
  assertEquals(heavyBallBeta(doc, "sgd"), 0);
  assert(Number.isNaN(heavyBallBeta(doc, "adam")));
  // Without configs: r = (1+β)/(1−β)² = 190 at β = 0.9 gives β = (381 − √1521)/380 = 0.9.
  const { optimizers: _, ...bare } = doc;
  assertAlmostEquals(heavyBallBeta(bare, "sgd-m0.9"), 0.9, 1e-9);
  assertEquals(heavyBallBeta(bare, "sgd"), 0);
  assert(Number.isNaN(heavyBallBeta(bare, "adam")));
});

Deno.test("sharpness figure draws 2/η for sgd and (2+2β)/η for heavy ball, none for adam", () => {
  const f = buildFigures(doc).figures.find((x) => x.id === "sharpness")!;
  const layers = f.spec.layer as Array<
    { data?: { values: Array<{ group: string; threshold: number }> } }
  >;
  const rules = layers[3]!.data!.values;
  assertEquals(rules.map((r) => r.group), ["sgd", "sgd-m0.9"]);
  assertAlmostEquals(rules[0]!.threshold!, 2 / 0.05, 1e-9); // 40
  assertAlmostEquals(rules[1]!.threshold!, (2 + 2 * 0.9) / 0.01, 1e-6); // 380
  // The caption carries the residual bound when the doc has one (SCIENCE §4.2).
  const bound = Math.max(
    ...doc.series.filter((s) => s.quantity === "sharpness_residual")
      .flatMap((s) => s.mean),
  );
  assert(
    f.caption.includes(
      `largest mean over seeds here ${bound.toExponential(1)}`,
    ),
    f.caption,
  );
  const without = buildFigures({
    ...doc,
    series: doc.series.filter((s) => s.quantity !== "sharpness_residual"),
  }).figures.find((x) => x.id === "sharpness")!;
  assert(!without.caption.includes("residual"), without.caption);
});

Deno.test("sweep figure plots the last-epoch test error against lr on a log₂ axis", () => {
  const f = buildFigures(doc).figures.find((x) =>
    x.id === "sweep_optimizer_lr"
  )!;
  const values = (f.spec.data as {
    values: Array<{ value: number; mean: number; group: string }>;
  })
    .values;
  assertEquals(values.map((v) => v.value), [0.0125, 0.025, 0.05, 0.1, 0.2]);
  const series = doc.series.find((s) =>
    s.group === "sgd · lr=0.2" && s.quantity === "test_error"
  )!;
  assertEquals(values[4]!.mean, series.mean[19]);
  const layers = f.spec.layer as Array<{ encoding: { x: { scale: unknown } } }>;
  assertEquals(layers[1]!.encoding.x.scale, { type: "log", base: 2 });
});

Deno.test("buildFigures() omits figures without data and lists them as not measured", () => {
  const drop = new Set([
    "sharpness",
    "hessian_trace",
    "train_clean_error",
    "ir_rms_paper",
  ]);
  const partial = {
    ...doc,
    series: doc.series.filter((s) => !drop.has(s.quantity)),
  };
  const { figures, missing } = buildFigures(partial);
  assertEquals(missing.map((m) => m.id), [
    "rms_terms",
    "memorisation",
    "sharpness",
    "hessian_trace",
  ]);
  const bare = { ...doc, tuning: {}, barriers: [] };
  assertEquals(buildFigures(bare).missing.map((m) => m.id), [
    "lr_tuning",
    "loss_barrier",
  ]);
  assert(
    !figures.some((f) =>
      ["rms_terms", "memorisation", "sharpness"].includes(f.id)
    ),
  );
  const noSweeps = {
    ...doc,
    series: doc.series.filter((s) => Object.keys(s.cell).length === 0),
  };
  assertEquals(buildFigures(noSweeps).missing.map((m) => m.id), ["sweeps"]);
});

Deno.test("IR figure picks a log axis for terms spanning decades, linear error axes", () => {
  const { figures } = buildFigures(doc);
  const yScale = (id: string) => {
    const f = figures.find((x) => x.id === id)!;
    return (f.spec.layer as Array<{ encoding: { y: { scale: unknown } } }>)[1]!
      .encoding.y.scale;
  };
  assertEquals(yScale("ir_term"), { type: "log" });
  assertEquals(yScale("test_error"), { zero: false });
});

Deno.test("chartsStage.run() returns every figure with a static SVG holding marks", async () => {
  const ctx = {
    params: {},
    item: {},
    rng: Rng.fromSeed(0),
    log: { info() {}, warn() {} },
    progress() {},
    input: (name: string) => {
      if (name !== "metrics") throw new Error(name);
      return encodeJson(doc);
    },
    inputAll: () => [],
    scratchDir: "",
    signal: new AbortController().signal,
  } as StageContext;
  const out = decodeJson<ChartsDoc>((await chartsStage.run(ctx)).charts!);
  assertEquals(out.figures.length, 21);
  for (const f of out.figures) {
    assert(f.svg.startsWith("<svg"), f.id);
    assert(
      /class="mark-line/.test(f.svg) || /class="mark-area/.test(f.svg),
      f.id,
    );
  }
});

Deno.test("IR figure draws each optimizer's own term solid and the SGD-form term dashed", () => {
  const f = buildFigures(doc).figures.find((x) => x.id === "ir_term")!;
  const line = (f.spec.layer as Array<
    { encoding: Record<string, Record<string, unknown>> }
  >)[1]!;
  const scale = line.encoding.strokeDash!.scale as {
    domain: string[];
    range: number[][];
  };
  assertEquals(scale.domain, ["own term", "SGD-form term η/(4m) Σ‖g_k‖²"]);
  assertEquals(scale.range.slice(0, 2), [[1, 0], [6, 3]]);
});

Deno.test("batch-size sweep shows the variance part falling like 1/B on log₂ x", () => {
  const f = buildFigures(doc).figures.find((x) =>
    x.id === "sweep_ir_train_batch_size"
  )!;
  const values = (f.spec.data as {
    values: Array<{ group: string; term: string; mean: number }>;
  })
    .values.filter((v) =>
      v.term.includes("variance") && v.group.startsWith("sgd ")
    );
  assertEquals(values.map((v) => v.group), [
    "sgd · batch_size=16",
    "sgd · batch_size=64",
    "sgd · batch_size=256",
  ]);
  const last = (g: string) =>
    doc.series.find((s) => s.group === g && s.quantity === "ir_sgd_var")!.mean
      .at(-1);
  assertEquals(values.map((v) => v.mean), values.map((v) => last(v.group)));
});

Deno.test("tuning figure marks the chosen lr and leaves diverged candidates out", () => {
  const f = buildFigures(doc).figures.find((x) => x.id === "lr_tuning")!;
  const pts = (f.spec.data as {
    values: Array<{ optimizer: string; lr: number; chosen: string }>;
  })
    .values;
  assertEquals(pts.filter((p) => p.optimizer === "sgd").map((p) => p.lr), [
    0.0125,
    0.025,
    0.05,
    0.1,
  ]);
  assertEquals(
    pts.filter((p) => p.chosen === "chosen").map((p) => [p.optimizer, p.lr]),
    [
      ["sgd", 0.05],
      ["adam", 0.001],
    ],
  );
  assert(f.caption.includes("sgd at η=0.2"), f.caption);
});

Deno.test("a log-axis figure whose band reaches zero says so in its caption", () => {
  const wide = structuredClone(doc);
  const own = wide.series.find((s) =>
    s.group === "sgd" && s.quantity === "ir_own"
  )!;
  own.std[3] = 2 * own.mean[3]!;
  const figures = buildFigures(wide).figures;
  assert(figures.find((f) => f.id === "ir_term")!.caption.endsWith(CLIP_NOTE));
  assert(
    !figures.find((f) => f.id === "test_error")!.caption.includes(CLIP_NOTE),
  );
  assert(
    !buildFigures(doc).figures.find((f) => f.id === "ir_term")!.caption
      .includes(CLIP_NOTE),
  );
});
