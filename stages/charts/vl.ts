/**
 * The one renderer: the figure table (figures.ts) and the metrics document
 * become Vega-Lite specs. It picks series and fields, chooses scales and
 * formats labels; every number it draws is in the metrics document.
 */
import type {
  GroupInfo,
  MetricsDoc,
  Quantity,
  Series,
} from "../metrics/types.ts";
import { type ColorScale, optimizerColors } from "./colors.ts";
import {
  type BarrierFigure,
  type FigureDef,
  FIGURES,
  type LinesFigure,
  type StackFigure,
  type SweepFigure,
  type TuningFigure,
  type YScale,
} from "./figures.ts";
import {
  baseGroups,
  CLIP_NOTE,
  clipForLog,
  lastFinite,
  needsLog,
  type Row,
  rowsOf,
  unique,
} from "./rows.ts";

/** A Vega-Lite spec as plain JSON (checked by vega-lite's compiler, not by TS). */
export type VlSpec = Record<string, unknown>;

/** One figure before rendering. */
export interface FigureSpec {
  id: string;
  title: string;
  caption: string;
  /** True when the figure wants the page's full width (several panels). */
  wide: boolean;
  spec: VlSpec;
}

/** A figure the document has no data for. */
export interface MissingFigure {
  id: string;
  title: string;
}

/** Plot width of a single-panel figure and of the page's full width (px). */
const WIDTH = 470;
const FULL = 1180;
const HEIGHT = 250;
const PANEL_HEIGHT = 200;
/** Whole epochs only, also on short runs. */
const EPOCH_AXIS = { title: "epoch", tickMinStep: 1, format: "d" };
/** Solid, dashed, dotted: first part solid. */
const DASHES = [[1, 0], [6, 3], [2, 2]];
const LEGEND = { labelLimit: 320, symbolOpacity: 1 };
/** The dash of a stability line. */
const STABILITY_DASH = [5, 3];
/** Stroke legends long enough to show a dash. */
const DASH_LEGEND = {
  ...LEGEND,
  symbolType: "stroke",
  symbolSize: 400,
  symbolStrokeWidth: 2,
  symbolStrokeColor: "#444",
};

/** The legend entry of the stability lines, naming those drawn. */
export function stabilityPart(labels: string[]): string {
  return `edge of stability: ${unique(labels).join("; ")}`;
}
const DATA_ROWS = { filter: "isValid(datum.mean)" };
const REF_ROWS = { filter: "isValid(datum.ref)" };

/** What every builder reads. */
interface Ctx {
  doc: MetricsDoc;
  /** The groups of the over-epoch figures (base groups, else every group). */
  groups: GroupInfo[];
  color: ColorScale;
}

/** A plotted row: a `Row` with its panel and part, or a reference line's `ref`. */
type PlotRow = Row & { panel: string; part: string } | {
  group: string;
  optimizer: string;
  panel: string;
  part: string;
  ref: number;
  refLabel: string;
};

function colorOf(ctx: Ctx): Record<string, unknown> {
  return {
    field: "optimizer",
    type: "nominal",
    title: "optimizer",
    scale: ctx.color,
    legend: LEGEND,
  };
}

function seriesFor(doc: MetricsDoc, group: string, quantity: string) {
  return doc.series.find((s) =>
    s.group === group && s.quantity === quantity &&
    s.mean.some(Number.isFinite)
  );
}

/** The y encoding's scale and title for these values. */
function yScale(
  scale: YScale,
  values: number[],
  title: string,
): { log: boolean; y: Record<string, unknown> } {
  const positive = values.length > 0 && values.every((v) => v > 0);
  const log = scale === "auto"
    ? needsLog(values)
    : scale === "log-if-positive" && positive;
  return {
    log,
    y: {
      type: "quantitative",
      title: log ? `${title}, log scale` : title,
      scale: log ? { type: "log" } : { zero: false },
    },
  };
}

/** Panel layout: columns, panel width, and whether the figure spans the page. */
function layout(
  panels: number,
): { columns: number; width: number; wide: boolean } {
  if (panels <= 1) return { columns: 1, width: WIDTH, wide: false };
  const columns = Math.min(panels, 4);
  return { columns, width: Math.floor(FULL / columns) - 60, wide: true };
}

/** Wraps layers in a facet over `panel` when there are several panels. */
function panelled(
  title: string,
  rows: PlotRow[],
  layers: VlSpec[],
  panels: string[],
  opts: { header: string | null; independentY: boolean },
): { spec: VlSpec; wide: boolean } {
  const { columns, width, wide } = layout(panels.length);
  if (panels.length <= 1) {
    return {
      wide,
      spec: {
        title,
        width,
        height: HEIGHT,
        data: { values: rows },
        layer: layers,
      },
    };
  }
  return {
    wide,
    spec: {
      title,
      data: { values: rows },
      columns,
      facet: {
        field: "panel",
        type: "nominal",
        title: opts.header,
        sort: panels,
        header: { labelFontSize: 12, labelLimit: 0 },
      },
      spec: { width, height: PANEL_HEIGHT, layer: layers },
      ...(opts.independentY
        ? { resolve: { scale: { y: "independent" } } }
        : {}),
    },
  };
}

const tooltip = (extra: Array<Record<string, unknown>> = []) => [
  { field: "group", title: "group" },
  ...extra,
  { field: "epoch", type: "quantitative", title: "epoch" },
  { field: "mean", type: "quantitative", title: "mean", format: ".4g" },
  { field: "std", type: "quantitative", title: "std", format: ".3g" },
  { field: "count", type: "quantitative", title: "seeds" },
];

type DataRow = Row & { panel: string; part: string };

/** Each part's rows for the figure's groups, labelled with their panel and part. */
function partRows(ctx: Ctx, def: LinesFigure): DataRow[][] {
  const panelOf = (g: GroupInfo, part: string) =>
    def.facet !== "part"
      ? g.cellLabel
      : g.cellLabel
      ? `${part} · ${g.cellLabel}`
      : part;
  return def.parts.map((p) =>
    ctx.groups.flatMap((g) => {
      const s = seriesFor(ctx.doc, g.group, p.quantity);
      return s
        ? rowsOf(s).map((r) => ({
          ...r,
          panel: panelOf(g, p.label),
          part: p.label,
        }))
        : [];
    })
  );
}

/**
 * One row per stability line (from the metrics) of each group drawn, those
 * on the figure's quantity: the sharpness or the preconditioned sharpness.
 */
function stabilityRows(
  ctx: Ctx,
  data: DataRow[],
  quantity: Quantity,
): PlotRow[] {
  const on = (g: GroupInfo) =>
    g.stability.filter((l) => l.quantity === quantity);
  const part = stabilityPart(
    ctx.groups.flatMap((h) => on(h).map((l) => l.label)),
  );
  return ctx.groups.flatMap((g) =>
    data.some((r) => r.group === g.group)
      ? on(g).map((line) => ({
        group: g.group,
        optimizer: g.optimizer,
        panel: g.cellLabel,
        part,
        ref: line.value,
        refLabel: `${line.label}, η=${g.lr}`,
      }))
      : []
  );
}

/** The strokeDash channel over `domain` (first solid; `refPart` as the stability dash); none for one entry. */
function dashEncoding(
  domain: string[],
  refPart: string | undefined,
  title: string,
): Record<string, unknown> {
  if (domain.length <= 1) return {};
  return {
    strokeDash: {
      field: "part",
      type: "nominal",
      title,
      scale: {
        domain,
        range: domain.map((d, i) =>
          d === refPart ? STABILITY_DASH : DASHES[i % DASHES.length]
        ),
      },
      legend: DASH_LEGEND,
    },
  };
}

/** Band, line and point layers over the data rows, and a rule layer when there are reference rows. */
function lineLayers(
  y: Record<string, unknown>,
  color: Record<string, unknown>,
  strokeDash: Record<string, unknown>,
  opts: { refs: boolean; partTooltip: boolean },
): VlSpec[] {
  const x = { field: "epoch", type: "quantitative", axis: EPOCH_AXIS };
  // One line per group and part, also where groups share a colour (sweep cells).
  const detail = {
    detail: [
      { field: "group", type: "nominal" },
      { field: "part", type: "nominal" },
    ],
  };
  const mean = { ...y, field: "mean" };
  const layers: VlSpec[] = [
    {
      transform: [DATA_ROWS],
      mark: { type: "errorband", opacity: 0.15 },
      encoding: {
        x,
        y: { ...y, field: "lo" },
        y2: { field: "hi" },
        color,
        ...detail,
      },
    },
    {
      transform: [DATA_ROWS],
      mark: { type: "line", strokeWidth: 1.8 },
      encoding: { x, y: mean, color, ...strokeDash, ...detail },
    },
    {
      // Points carry the tooltips; kept out of the dash legend.
      transform: [DATA_ROWS],
      mark: { type: "point", filled: true, size: 14 },
      encoding: {
        x,
        y: mean,
        color,
        tooltip: tooltip(
          opts.partTooltip ? [{ field: "part", title: "part" }] : [],
        ),
      },
    },
  ];
  return opts.refs
    ? [...layers, stabilityRuleLayer(y, color, strokeDash)]
    : layers;
}

/** A horizontal rule per reference row: each group's edge-of-stability lines. */
function stabilityRuleLayer(
  y: Record<string, unknown>,
  color: Record<string, unknown>,
  strokeDash: Record<string, unknown>,
): VlSpec {
  return {
    transform: [REF_ROWS],
    mark: { type: "rule", strokeWidth: 1.5 },
    encoding: {
      y: { ...y, field: "ref" },
      color,
      ...strokeDash,
      tooltip: [
        { field: "group", title: "group" },
        { field: "refLabel", title: "stability limit" },
        { field: "ref", type: "quantitative", title: "value", format: ".4g" },
      ],
    },
  };
}

/** The table's caption plus the sentences that depend on the data. */
function linesCaption(
  ctx: Ctx,
  def: LinesFigure,
  refs: number,
  drawn: DataRow[],
): string {
  let caption = def.caption;
  if (def.largest) {
    const values = ctx.groups.flatMap((g) =>
      seriesFor(ctx.doc, g.group, def.largest!.quantity)?.mean ?? []
    ).filter(Number.isFinite);
    if (values.length > 0) {
      caption += ` ${
        def.largest.sentence(Math.max(...values).toExponential(1))
      }`;
    }
  }
  if (def.stability && refs === 0) {
    caption +=
      " No stability line is drawn: no run here is plain or heavy-ball GD/SGD.";
  }
  return withClipNote(caption, drawn);
}

/** Curves over epochs with bands, dashes per part and optional stability rules. */
function linesFigure(ctx: Ctx, def: LinesFigure): FigureSpec | MissingFigure {
  const byPart = partRows(ctx, def);
  const missing = def.needs === "all"
    ? byPart.some((r) => r.length === 0)
    : byPart[0]!.length === 0;
  if (missing) return { id: def.id, title: def.title };
  const data = byPart.flat();
  const refs = def.stability
    ? stabilityRows(ctx, data, def.parts[0]!.quantity)
    : [];
  const { log, y } = yScale(
    def.y.scale,
    [
      ...data.map((r) => r.mean),
      ...refs.map((r) => ("ref" in r ? r.ref : NaN)),
    ],
    def.y.title,
  );
  const drawn = log ? clipForLog(data) : data;
  const refPart = refs[0]?.part;
  const dashDomain = [
    ...(def.facet === "part" ? [] : def.parts.map((p) => p.label)),
    ...(refPart ? [refPart] : []),
  ].filter((label) => label === refPart || drawn.some((r) => r.part === label));
  const layers = lineLayers(
    y,
    colorOf(ctx),
    dashEncoding(dashDomain, refPart, def.partTitle ?? "line"),
    { refs: refs.length > 0, partTooltip: def.parts.length > 1 },
  );
  const rows = [...drawn, ...refs];
  const { spec, wide } = panelled(
    def.title,
    rows,
    layers,
    unique(rows.map((r) => r.panel)),
    {
      header: def.facet === "part" ? null : "sweep cell",
      independentY: def.facet === "part",
    },
  );
  return {
    id: def.id,
    title: def.title,
    caption: linesCaption(ctx, def, refs.length, drawn),
    wide,
    spec,
  };
}

/** Stacked parts, one panel per group; the parts told apart by opacity, colour stays the optimizer's. */
function stackFigure(ctx: Ctx, def: StackFigure): FigureSpec | MissingFigure {
  const rows = def.parts.flatMap((p, order) =>
    ctx.groups.flatMap((g) => {
      const s = seriesFor(ctx.doc, g.group, p.quantity);
      return s
        ? rowsOf(s).map((r) => ({ ...r, panel: g.group, part: p.label, order }))
        : [];
    })
  );
  if (rows.length === 0) return { id: def.id, title: def.title };
  const panels = unique(rows.map((r) => r.panel));
  const layer: VlSpec = {
    mark: { type: "area", line: false },
    encoding: {
      x: { field: "epoch", type: "quantitative", axis: EPOCH_AXIS },
      y: {
        field: "mean",
        type: "quantitative",
        stack: "zero",
        title: def.y.title,
      },
      color: colorOf(ctx),
      opacity: {
        field: "part",
        type: "ordinal",
        sort: def.parts.map((p) => p.label),
        title: "part",
        scale: { domain: def.parts.map((p) => p.label), range: [0.9, 0.4] },
        legend: LEGEND,
      },
      order: { field: "order", type: "quantitative" },
      tooltip: tooltip([{ field: "part", title: "part" }]),
    },
  };
  const { spec, wide } = panelled(def.title, rows, [layer], panels, {
    header: "group",
    independentY: true,
  });
  return { id: def.id, title: def.title, caption: def.caption, wide, spec };
}

/** A reader's name for a swept param path. */
export function sweepName(key: string): string {
  const leaf = key.split(".").at(-1) ?? key;
  if (leaf === "lr") return "learning rate η";
  if (leaf === "batch_size") return "batch size B (samples)";
  return leaf.replaceAll("_", " ");
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_|_$/g, "");
}

/** Last-epoch points of one sweep figure for one swept key. */
function sweepRows(ctx: Ctx, def: SweepFigure, key: string) {
  return def.parts.flatMap((p) =>
    ctx.doc.groups.flatMap((g) => {
      const keys = Object.keys(g.cell);
      const s = seriesFor(ctx.doc, g.group, p.quantity);
      if (!s || keys.length !== 1 || keys[0] !== key) return [];
      const i = lastFinite(s.mean);
      return rowsOf(
        {
          ...s,
          epochs: [s.epochs[i]!],
          mean: [s.mean[i]!],
          std: [s.std[i]!],
          count: [s.count[i]!],
        } as Series,
      )
        .map((r) => ({ ...r, part: p.label, value: g.cell[key]! }));
    })
  );
}

/** The x channel of a sweep: log₂ for positive numbers (SCIENCE §7), linear for other numbers, else ordinal. */
function sweepX(
  name: string,
  values: Array<number | string | boolean>,
): Record<string, unknown> {
  const numeric = values.every((v) => typeof v === "number");
  const log2 = numeric && values.every((v) => (v as number) > 0);
  return numeric
    ? {
      field: "value",
      type: "quantitative",
      title: log2 ? `${name}, log₂ scale` : name,
      axis: { format: ".3~g" },
      scale: log2 ? { type: "log", base: 2 } : { zero: false },
    }
    : { field: "value", type: "ordinal", title: name };
}

/** One figure per one-key sweep: last-epoch values against the swept value. */
function sweepFigures(ctx: Ctx, def: SweepFigure): FigureSpec[] {
  const keys = unique(
    ctx.doc.groups.filter((g) => Object.keys(g.cell).length === 1).map((g) =>
      Object.keys(g.cell)[0]!
    ),
  );
  return keys.flatMap((key) => sweepFigure(ctx, def, key) ?? []);
}

/** The sweep figure of one swept key; null when fewer than two values were swept. */
function sweepFigure(
  ctx: Ctx,
  def: SweepFigure,
  key: string,
): FigureSpec | null {
  const rows = sweepRows(ctx, def, key);
  if (unique(rows.map((r) => r.value)).length < 2) return null;
  const name = sweepName(key);
  /** The table's text with `{name}`, `{key}` and `{slug}` filled in. */
  const fill = (text: string) =>
    text.replaceAll("{name}", name).replaceAll("{key}", key).replaceAll(
      "{slug}",
      slug(key),
    );
  const { log, y } = yScale(
    def.y.scale,
    rows.map((r) => r.mean),
    def.y.title,
  );
  const data = log ? clipForLog(rows) : rows;
  const title = fill(def.title);
  return singlePanel(
    { id: fill(def.id), title, caption: withClipNote(fill(def.caption), data) },
    {
      data: { values: data },
      layer: sweepLayers(ctx, def, key, {
        x: sweepX(name, rows.map((r) => r.value)),
        y,
      }),
    },
  );
}

/** Error bars, lines and points of a sweep: one line per optimizer (its colour) and part. */
function sweepLayers(
  ctx: Ctx,
  def: SweepFigure,
  key: string,
  { x, y }: { x: Record<string, unknown>; y: Record<string, unknown> },
): VlSpec[] {
  const color = colorOf(ctx);
  const dashed = def.parts.length > 1;
  const strokeDash = dashEncoding(
    def.parts.map((p) => p.label),
    undefined,
    def.partTitle ?? "part",
  );
  // One line per optimizer (its colour) and part, across the swept values.
  const detail = { detail: { field: "part", type: "nominal" } };
  return [
    {
      mark: { type: "errorbar", ticks: true },
      encoding: {
        x,
        y: { ...y, field: "lo" },
        y2: { field: "hi" },
        color,
        ...detail,
      },
    },
    {
      mark: { type: "line" },
      encoding: {
        x,
        y: { ...y, field: "mean" },
        color,
        ...strokeDash,
        ...detail,
      },
    },
    {
      // Points carry the tooltips; kept out of the dash legend.
      mark: { type: "point", filled: true, size: 40 },
      encoding: {
        x,
        y: { ...y, field: "mean" },
        color,
        tooltip: [
          { field: "group", title: "group" },
          ...(dashed
            ? [{ field: "part", title: def.partTitle ?? "part" }]
            : []),
          { field: "value", title: key },
          ...tooltip().slice(1),
        ],
      },
    },
  ];
}

/** A one-panel figure of the page's half width: its text, and the spec under the common title and size. */
function singlePanel(
  text: { id: string; title: string; caption: string },
  spec: VlSpec,
): FigureSpec {
  return {
    id: text.id,
    title: text.title,
    caption: text.caption,
    wide: false,
    spec: { title: text.title, width: WIDTH, height: HEIGHT, ...spec },
  };
}

/** Validation error per lr candidate on log₂ x, the chosen lr as a large point. */
function tuningFigure(ctx: Ctx, def: TuningFigure): FigureSpec | MissingFigure {
  const tuning = ctx.doc.tuning ?? {};
  const points = tuningPoints(tuning);
  if (points.length === 0) return { id: def.id, title: def.title };
  const diverged = Object.entries(tuning).flatMap(([o, t]) =>
    t.table.filter((r) => r.validation_error === null).map((r) =>
      `${o} at η=${r.lr}`
    )
  );
  const atEdge = Object.entries(tuning).flatMap(([o, t]) =>
    t.edge ? [`${o} (η = ${t.lr}, the ${t.edge} candidate)`] : []
  );
  const notes = [
    ...(diverged.length > 0
      ? [`Diverged, not drawn: ${diverged.join(", ")}.`]
      : []),
    ...(atEdge.length > 0
      ? [
        `Chosen at the edge of the grid, so the best lr may lie outside it: ${
          atEdge.join(", ")
        }.`,
      ]
      : []),
  ];
  return singlePanel({
    id: def.id,
    title: def.title,
    caption: [def.caption, ...notes].join(" "),
  }, {
    data: { values: points },
    layer: tuningLayers(ctx, def),
  });
}

/** One point per optimizer and finite lr candidate, marked "chosen" where it is the tuned lr. */
function tuningPoints(tuning: NonNullable<MetricsDoc["tuning"]>) {
  return Object.entries(tuning).flatMap(([optimizer, t]) =>
    t.table.flatMap((row) =>
      row.validation_error === null || !Number.isFinite(row.validation_error)
        ? []
        : [{
          optimizer,
          lr: row.lr,
          validation_error: row.validation_error,
          chosen: row.lr === t.lr ? "chosen" : "candidate",
        }]
    )
  );
}

/** A line per optimizer over log₂ lr, and its points, the chosen one large. */
function tuningLayers(ctx: Ctx, def: TuningFigure): VlSpec[] {
  const x = {
    field: "lr",
    type: "quantitative",
    title: "learning rate η, log₂ scale",
    axis: { format: ".3~g" },
    scale: { type: "log", base: 2 },
  };
  const y = {
    field: "validation_error",
    type: "quantitative",
    title: def.y.title,
    scale: { zero: false },
  };
  const color = colorOf(ctx);
  return [
    { mark: { type: "line" }, encoding: { x, y, color } },
    {
      mark: { type: "point", filled: true },
      encoding: {
        x,
        y,
        color,
        size: {
          field: "chosen",
          type: "ordinal",
          title: "lr",
          scale: { domain: ["candidate", "chosen"], range: [30, 160] },
        },
        tooltip: [
          { field: "optimizer", title: "optimizer" },
          { field: "lr", type: "quantitative", title: "η" },
          {
            field: "validation_error",
            type: "quantitative",
            title: "validation error",
            format: ".4g",
          },
          { field: "chosen", title: "status" },
        ],
      },
    },
  ];
}

/** Loss along the segment between two runs' weights, one line per pair and seed. */
function barrierFigure(
  ctx: Ctx,
  def: BarrierFigure,
): FigureSpec | MissingFigure {
  const rows = barrierRows(ctx.doc.barriers ?? []);
  if (rows.length === 0) return { id: def.id, title: def.title };
  const { y } = yScale(def.y.scale, rows.map((r) => r.loss), def.y.title);
  return singlePanel({ id: def.id, title: def.title, caption: def.caption }, {
    data: { values: rows },
    mark: { type: "line", point: true },
    encoding: {
      x: {
        field: "t",
        type: "quantitative",
        title: "interpolation t (0 = first run, 1 = second)",
      },
      y: { ...y, field: "loss" },
      color: { field: "pair", type: "nominal", title: "pair", legend: LEGEND },
      detail: { field: "seed", type: "nominal" },
      tooltip: [
        { field: "pair", title: "pair" },
        { field: "seed", type: "quantitative", title: "seed" },
        { field: "t", type: "quantitative", title: "t", format: ".3g" },
        { field: "loss", type: "quantitative", title: "loss", format: ".4g" },
        {
          field: "barrier",
          type: "quantitative",
          title: "barrier",
          format: ".4g",
        },
      ],
    },
  });
}

/** One row per barrier, seed and finite point t, named by its pair (and cell). */
function barrierRows(barriers: NonNullable<MetricsDoc["barriers"]>) {
  return barriers.flatMap((b) => {
    const cell =
      b.cell && typeof b.cell === "object" && Object.keys(b.cell).length > 0
        ? ` · ${JSON.stringify(b.cell)}`
        : "";
    // A seed-against-seed pair (seed_b, the momentum finding's yardstick) is one optimizer across seeds.
    const pair = b.seed_b === undefined
      ? `${b.a} → ${b.b}${cell}`
      : `${b.a}, seed → another seed${cell}`;
    return b.t.flatMap((t, i) => {
      const loss = b.loss[i];
      return loss === undefined || !Number.isFinite(loss)
        ? []
        : [{ pair, seed: b.seed, t, loss, barrier: b.barrier ?? NaN }];
    });
  });
}

/** The caption plus the clip note when some band edge was cut for a log axis. */
function withClipNote(
  caption: string,
  rows: Array<{ clipped?: boolean }>,
): string {
  return rows.some((r) => r.clipped) ? `${caption} ${CLIP_NOTE}` : caption;
}

function isFigure(f: FigureSpec | MissingFigure): f is FigureSpec {
  return "spec" in f;
}

/** Every figure of the table the document supports, in table order, and those it does not. */
export function buildFigures(
  doc: MetricsDoc,
  table: readonly FigureDef[] = FIGURES,
): { figures: FigureSpec[]; missing: MissingFigure[] } {
  const base = new Set(baseGroups(doc));
  const ctx: Ctx = {
    doc,
    groups: doc.groups.filter((g) => base.has(g.group)),
    color: optimizerColors(doc),
  };
  const figures: FigureSpec[] = [];
  const missing: MissingFigure[] = [];
  let sweeps = 0;
  for (const def of table) {
    if (def.kind === "sweep") {
      const made = sweepFigures(ctx, def);
      sweeps += made.length;
      figures.push(...made);
      continue;
    }
    const made = def.kind === "lines"
      ? linesFigure(ctx, def)
      : def.kind === "stack"
      ? stackFigure(ctx, def)
      : def.kind === "tuning"
      ? tuningFigure(ctx, def)
      : barrierFigure(ctx, def);
    if (isFigure(made)) figures.push(made);
    else missing.push(made);
  }
  if (sweeps === 0 && table.some((d) => d.kind === "sweep")) {
    missing.push({
      id: "sweeps",
      title: "Learning-rate and batch-size sweeps",
    });
  }
  return { figures, missing };
}
