import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertThrows,
} from "../../assert.ts";
import { makeMetricsFixture } from "../../fixtures/metrics_fixture.ts";
import { buildFigures, type VlSpec } from "../../../stages/charts/vl.ts";
import { FIGURES } from "../../../stages/charts/figures.ts";
import { KIND_COLORS, shade } from "../../../stages/charts/colors.ts";
import { compileStrict } from "../../../stages/charts/render.ts";
import {
  CLIP_NOTE,
  clipForLog,
  needsLog,
  type Row,
} from "../../../stages/charts/rows.ts";
import type { MetricsDoc } from "../../../stages/metrics/types.ts";
import { type ChartsDoc, chartsStage } from "../../../stages/charts/stage.ts";
import { decodeJson, encodeJson } from "../../../pipeline/artifact.ts";
import { stageContext } from "../_context.ts";

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

/** Every encoding channel named `name` (with a field) of a spec, at any depth. */
function channels(
  spec: unknown,
  name: string,
  out: Array<Record<string, unknown>> = [],
) {
  if (Array.isArray(spec)) spec.forEach((s) => channels(s, name, out));
  else if (spec && typeof spec === "object") {
    const o = spec as Record<string, unknown>;
    const enc = o.encoding as
      | Record<string, Record<string, unknown>>
      | undefined;
    if (enc?.[name]?.field) out.push(enc[name]!);
    for (const [k, v] of Object.entries(o)) {
      if (k !== "encoding" && k !== "data") channels(v, name, out);
    }
  }
  return out;
}

type DataRow = Record<string, unknown> & { mean?: number; ref?: number };
const rowsOfSpec = (spec: VlSpec) =>
  (spec.data as { values: DataRow[] }).values;
const figure = (id: string, d: MetricsDoc = doc) =>
  buildFigures(d).figures.find((f) => f.id === id)!;

Deno.test("buildFigures() draws the table's figures in order; each compiles, with the table's title and caption and titled axes", () => {
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
    "preconditioned_sharpness",
    "hessian_trace",
    "dist_init",
    "sweep_optimizer_lr",
    "sweep_train_batch_size",
    "sweep_ir_optimizer_lr",
    "sweep_ir_train_batch_size",
    "lr_tuning",
    "loss_barrier",
  ]);
  for (const f of figures) {
    compileStrict(f.spec);
    assertEquals(f.spec.title, f.title);
    const def = FIGURES.find((d) => d.id === f.id);
    if (def) {
      assertEquals(f.title, def.title);
      assert(
        f.caption.startsWith(def.caption),
        `${f.id} caption from the table`,
      );
    }
    const xy = [...channels(f.spec, "x"), ...channels(f.spec, "y")];
    assert(xy.length >= 2, f.id);
    for (const c of xy) {
      const title = c.title ??
        (c.axis as Record<string, unknown> | undefined)?.title;
      assert(
        typeof title === "string" && title.length > 0,
        `${f.id} ${String(c.field)} has an axis title`,
      );
    }
  }
});

Deno.test("every over-epoch figure's data rows are the metrics series, part by part, for the base groups", () => {
  const base = ["sgd", "sgd-m0.9", "adam", "rmsprop"];
  let checked = 0;
  for (const def of FIGURES) {
    if (def.kind !== "lines" && def.kind !== "stack") continue;
    const rows = rowsOfSpec(figure(def.id).spec).filter((r) =>
      r.mean !== undefined
    );
    assertEquals(
      [...new Set(rows.map((r) => r.group))],
      base.filter((g) => rows.some((r) => r.group === g)),
    );
    for (const part of def.parts) {
      for (const group of base) {
        const series = doc.series.find((s) =>
          s.group === group && s.quantity === part.quantity
        );
        const drawn = rows.filter((r) =>
          r.group === group && r.part === part.label
        );
        if (!series) {
          assertEquals(drawn, [], `${def.id} ${group} ${part.quantity}`);
          continue;
        }
        const finite = series.epochs.flatMap((e, i) =>
          Number.isFinite(series.mean[i]) ? [[e, series.mean[i]]] : []
        );
        assertEquals(drawn.map((r) => [r.epoch, r.mean]), finite);
        checked++;
      }
    }
  }
  assert(checked > 40, `${checked} series compared`);
});

Deno.test("every figure that colours by optimizer uses one scale: domain from the groups, hue from the optimizer kind", () => {
  const { figures } = buildFigures(doc);
  const expected = {
    domain: ["sgd", "sgd-m0.9", "adam", "rmsprop"],
    // sgd-m0.9 is a second SGD: SGD's blue, 35 % toward black.
    range: [KIND_COLORS.sgd, "#314e6d", KIND_COLORS.adam, KIND_COLORS.rmsprop],
  };
  assertEquals(shade("#4c78a8", -0.35), "#314e6d");
  let count = 0;
  for (const f of figures) {
    const colors = channels(f.spec, "color");
    assert(colors.length > 0, `${f.id} has a colour`);
    for (const c of colors) {
      if (f.id === "loss_barrier") {
        assertEquals(c.field, "pair");
        continue;
      }
      assertEquals(c.field, "optimizer", f.id);
      assertEquals(c.scale, expected, f.id);
      count++;
    }
  }
  assert(count > 40, `${count} colour channels`);
});

Deno.test("an lr matrix without a base group gets one panel per cell, each optimizer in its own colour", () => {
  const cells = doc.groups.filter((g) =>
    g.cell["train.batch_size"] !== undefined
  );
  const matrix: MetricsDoc = {
    ...doc,
    groups: cells,
    series: doc.series.filter((s) => cells.some((g) => g.group === s.group)),
    tuning: {},
  };
  const f = figure("test_error", matrix);
  assertEquals(f.wide, true);
  const facet = f.spec.facet as { field: string; sort: string[] };
  assertEquals(facet.field, "panel");
  assertEquals(facet.sort, [
    "batch_size=16",
    "batch_size=64",
    "batch_size=256",
  ]);
  assertEquals(f.spec.columns, 3);
  const rows = rowsOfSpec(f.spec);
  for (const panel of facet.sort) {
    assertEquals(
      [
        ...new Set(
          rows.filter((r) => r.panel === panel).map((r) => r.optimizer),
        ),
      ],
      ["sgd", "adam"],
    );
  }
  assertEquals(channels(f.spec, "color")[0]!.scale, {
    domain: ["sgd", "adam"],
    range: [KIND_COLORS.sgd, KIND_COLORS.adam],
  });
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

Deno.test("sharpness figure draws the metrics' stability lines as rules with their own dash entry, on a log axis", () => {
  const f = figure("sharpness");
  const refs = rowsOfSpec(f.spec).filter((r) => r.ref !== undefined);
  // From the fixture's groups: 2/0.05 = 40 (sgd), (2 + 2·0.9)/0.01 = 380 (sgd-m0.9); none for adam, rmsprop.
  assertEquals(refs.map((r) => [r.group, r.ref]), [["sgd", 40], [
    "sgd-m0.9",
    (2 + 2 * 0.9) / 0.01,
  ]]);
  const layers = f.spec.layer as Array<
    {
      mark: { type: string };
      encoding: Record<string, Record<string, unknown>>;
    }
  >;
  const rule = layers.find((l) => l.mark.type === "rule")!;
  assertEquals(rule.encoding.y!.field, "ref");
  assertEquals(rule.encoding.y!.scale, { type: "log" });
  assertEquals(layers[1]!.encoding.y!.scale, { type: "log" });
  const dash = rule.encoding.strokeDash!.scale as {
    domain: string[];
    range: number[][];
  };
  assertEquals(dash.domain, [
    "top eigenvalue (mean ± std)",
    "edge of stability: 2/η; (2+2β)/η, β=0.9",
  ]);
  assertEquals(dash.range, [[1, 0], [5, 3]]);
  // The chart reads the lines; it does not derive them from η and β.
  const moved = structuredClone(doc);
  moved.groups[0]!.stability = [{
    label: "2/η",
    value: 7,
    quantity: "sharpness",
  }];
  moved.groups[1]!.stability = [];
  assertEquals(
    rowsOfSpec(figure("sharpness", moved).spec).filter((r) =>
      r.ref !== undefined
    ).map((r) => [r.group, r.ref]),
    [["sgd", 7]],
  );
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
  const without = figure("sharpness", {
    ...doc,
    series: doc.series.filter((s) => s.quantity !== "sharpness_residual"),
  });
  assert(!without.caption.includes("residual"), without.caption);
});

Deno.test("preconditioned sharpness figure draws Adam's 38/η and RMSprop's 2/η on P⁻¹H, and no SGD line (SCIENCE §4.2.1)", () => {
  const f = figure("preconditioned_sharpness");
  const rows = rowsOfSpec(f.spec);
  // Only the adaptive groups measured it (tests/fixtures/metrics_fixture.ts).
  assertEquals(
    [...new Set(rows.filter((r) => r.ref === undefined).map((r) => r.group))],
    ["adam", "rmsprop"],
  );
  const refs = rows.filter((r) => r.ref !== undefined);
  // (2 + 2·0.9)/((1 − 0.9)·0.001) = 38,000 (adam); 2/0.001 = 2,000 (rmsprop).
  assertEquals(refs.map((r) => r.group), ["adam", "rmsprop"]);
  assertAlmostEquals(refs[0]!.ref as number, 38000, 1e-6);
  assertAlmostEquals(refs[1]!.ref as number, 2000, 1e-9);
  const rule = (f.spec.layer as Array<
    {
      mark: { type: string };
      encoding: Record<string, Record<string, unknown>>;
    }
  >).find((l) => l.mark.type === "rule")!;
  assertEquals(
    (rule.encoding.strokeDash!.scale as { domain: string[] }).domain,
    [
      "top eigenvalue of P⁻¹H (mean ± std)",
      "edge of stability: 38/η (P⁻¹H); 2/η (P⁻¹H)",
    ],
  );
  assert(f.caption.includes("of an eigenvalue of P⁻¹H"), f.caption);
  // Without the quantity the figure is listed as not measured.
  const plain = {
    ...doc,
    series: doc.series.filter((s) => s.quantity !== "preconditioned_sharpness"),
  };
  assert(
    buildFigures(plain).missing.some((m) =>
      m.id === "preconditioned_sharpness"
    ),
  );
});

Deno.test("sharpness falls back to a linear axis when a value is not positive", () => {
  const neg = structuredClone(doc);
  neg.series.find((s) => s.group === "adam" && s.quantity === "sharpness")!
    .mean[0] = -0.5;
  const layers = figure("sharpness", neg).spec.layer as Array<
    { encoding: Record<string, Record<string, unknown>> }
  >;
  assertEquals(layers[1]!.encoding.y!.scale, { zero: false });
});

Deno.test("sweep figure plots the last-epoch test error against lr on a log₂ axis", () => {
  const f = figure("sweep_optimizer_lr");
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
  const ctx = stageContext({ inputs: { metrics: encodeJson(doc) } });
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
  const f = figure("ir_term");
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
  const f = figure("sweep_ir_train_batch_size");
  const values = (f.spec.data as {
    values: Array<{ group: string; part: string; mean: number }>;
  })
    .values.filter((v) =>
      v.part.includes("variance") && v.group.startsWith("sgd ")
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
  const f = figure("lr_tuning");
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
  assert(!f.caption.includes("edge of the grid"), f.caption);
  // A choice at the grid's edge is named in the caption.
  const edged = structuredClone(doc);
  edged.tuning!["adam"]!.edge = "smallest";
  const g = buildFigures(edged).figures.find((x) => x.id === "lr_tuning")!;
  assert(
    g.caption.endsWith(
      "Chosen at the edge of the grid, so the best lr may lie outside it: adam (η = 0.001, the smallest candidate).",
    ),
    g.caption,
  );
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
