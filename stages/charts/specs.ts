/**
 * Vega-Lite specs built from the metrics document (SCIENCE §7): the paper's
 * four figures, then the decomposition, the two RMSprop terms (§2.7),
 * memorisation, sharpness with its stability rule, distance from init, and
 * sweeps. A figure whose data are missing is listed, never drawn empty.
 */
import type { MetricsDoc, Quantity } from "../metrics/types.ts";
import {
  baseGroups,
  CLIP_NOTE,
  clipForLog,
  groupLr,
  heavyBallBeta,
  needsLog,
  type Row,
  rowsOf,
  seriesOf,
  unique,
} from "./rows.ts";
import { edgeOfStabilityFigure } from "./eos_figure.ts";

/** A Vega-Lite spec as plain JSON (checked by vega-lite's compiler, not by TS). */
export type VlSpec = Record<string, unknown>;

/** One figure before rendering. */
export interface FigureSpec {
  id: string;
  title: string;
  /** One sentence saying what to look at. */
  caption: string;
  spec: VlSpec;
}

/** A figure the document has no data for. */
export interface MissingFigure {
  id: string;
  title: string;
}

const WIDTH = 560;
const HEIGHT = 280;
/** Whole epochs only, also on short runs. */
const EPOCH_AXIS = { title: "epoch", tickMinStep: 1, format: "d" };

/** Everything a figure builder needs besides the doc. */
interface Ctx {
  doc: MetricsDoc;
  groups: string[];
  /** A fixed colour per group, shared by every figure. */
  color: { domain: string[]; scheme: string };
  /** A fixed colour per optimizer label, for sweep and tuning figures. */
  optimizerColor: { domain: string[]; scheme: string };
}

const tooltip = (extra: Array<Record<string, unknown>> = []) => [
  { field: "group", title: "group" },
  ...extra,
  { field: "epoch", type: "quantitative", title: "epoch" },
  { field: "mean", type: "quantitative", title: "mean", format: ".4g" },
  { field: "std", type: "quantitative", title: "std", format: ".3g" },
  { field: "count", type: "quantitative", title: "seeds" },
];

/**
 * A band (mean ± std) and a line with points per group, optionally split by
 * `term` drawn as stroke dash. Log y when the means span decades.
 */
function lineBand(
  ctx: Ctx,
  rows: Row[],
  yTitle: string,
  opts: { dashTitle?: string; width?: number; title?: string } = {},
): VlSpec {
  const log = needsLog(rows.map((r) => r.mean));
  const data = log ? clipForLog(rows) : rows;
  const y = {
    field: "mean",
    type: "quantitative",
    title: log ? `${yTitle}, log scale` : yTitle,
    scale: log ? { type: "log" } : { zero: false },
  };
  const x = { field: "epoch", type: "quantitative", axis: EPOCH_AXIS };
  const color = {
    field: "group",
    type: "nominal",
    title: "optimizer",
    scale: ctx.color,
    legend: { symbolOpacity: 1, labelLimit: 360 },
  };
  const dashed = opts.dashTitle !== undefined;
  const dash = dashed
    ? {
      strokeDash: {
        field: "term",
        type: "nominal",
        title: opts.dashTitle,
        // First term solid, second dashed, in the order the rows list them.
        scale: {
          domain: unique(rows.map((r) => r.term)),
          range: [[1, 0], [6, 3], [2, 2]],
        },
        legend: {
          labelLimit: 360,
          symbolType: "stroke",
          symbolStrokeWidth: 2,
          symbolStrokeColor: "#444",
        },
      },
    }
    : {};
  const detail = dashed ? { detail: { field: "term", type: "nominal" } } : {};
  return {
    ...(opts.title ? { title: opts.title } : {}),
    width: opts.width ?? WIDTH,
    height: HEIGHT,
    data: { values: data },
    layer: [
      {
        mark: { type: "errorband", opacity: 0.2 },
        encoding: {
          x,
          y: { ...y, field: "lo" },
          y2: { field: "hi" },
          color,
          ...detail,
        },
      },
      {
        mark: { type: "line", strokeWidth: 1.6 },
        encoding: { x, y, color, ...dash, ...detail },
      },
      {
        // Points in their own layer carry the tooltips; kept out of the
        // dash legend so its symbols stay visible strokes.
        mark: { type: "point", filled: true, size: 18 },
        encoding: {
          x,
          y,
          color,
          tooltip: tooltip(dashed ? [{ field: "term", title: "term" }] : []),
        },
      },
    ],
  };
}

/** A figure of one quantity, one line per group. */
function quantityFigure(
  ctx: Ctx,
  id: string,
  title: string,
  quantity: Quantity,
  yTitle: string,
  caption: string,
): FigureSpec | MissingFigure {
  const rows = seriesOf(ctx.doc, quantity, ctx.groups).flatMap((s) =>
    rowsOf(s)
  );
  if (rows.length === 0) return { id, title };
  return {
    id,
    title,
    caption,
    spec: { title, ...lineBand(ctx, rows, yTitle) },
  };
}

/**
 * Several quantities per group, told apart by dash (first solid). The first
 * part must have data; with `requireAll` every part must.
 */
function partsFigure(
  ctx: Ctx,
  fig: { id: string; title: string; caption: string },
  parts: Array<[Quantity, string]>,
  yTitle: string,
  dashTitle: string,
  requireAll = false,
): FigureSpec | MissingFigure {
  const byPart = parts.map(([q, label]) =>
    seriesOf(ctx.doc, q, ctx.groups).flatMap((s) => rowsOf(s, label))
  );
  if (
    byPart[0]!.length === 0 ||
    (requireAll && byPart.some((r) => r.length === 0))
  ) {
    return { id: fig.id, title: fig.title };
  }
  return {
    ...fig,
    spec: {
      title: fig.title,
      ...lineBand(ctx, byPart.flat(), yTitle, { dashTitle }),
    },
  };
}

/** IR terms: each optimizer's own term (solid) and the SGD-form term for all (dashed). */
function irFigure(ctx: Ctx): FigureSpec | MissingFigure {
  const id = "ir_term";
  const title = "Implicit-regularization term per epoch";
  const own = seriesOf(ctx.doc, "ir_own", ctx.groups).flatMap((s) =>
    rowsOf(s, "own term")
  );
  const sgd = seriesOf(ctx.doc, "ir_sgd", ctx.groups).flatMap((s) =>
    rowsOf(s, "SGD-form term η/(4m) Σ‖g_k‖²")
  );
  const rows = [...own, ...sgd];
  if (rows.length === 0) return { id, title };
  return {
    id,
    title,
    caption:
      "Solid lines are each optimizer's own term (SGD: SCIENCE §2.1, heavy ball: §2.4, " +
      "RMSprop/Adam: preconditioned §2.6) and dashed lines the SGD-form term computed for every " +
      "run; look at how fast each term shrinks as training proceeds.",
    spec: {
      title,
      ...lineBand(ctx, rows, "IR term (loss units)", { dashTitle: "term" }),
    },
  };
}

/** SCIENCE §2.2: ir_sgd = mean part + variance part, stacked, one panel per group. */
function decompositionFigure(ctx: Ctx): FigureSpec | MissingFigure {
  const id = "ir_decomposition";
  const title =
    "Decomposition of the SGD term: full-gradient part + mini-batch variance part";
  const parts: Array<[Quantity, string, number]> = [
    ["ir_sgd_mean", "η/4 ‖ḡ‖² (mean part)", 0],
    ["ir_sgd_var", "η/(4m) Σ‖g_k − ḡ‖² (variance part)", 1],
  ];
  const rows = parts.flatMap(([q, part, order]) =>
    seriesOf(ctx.doc, q, ctx.groups).flatMap((s) =>
      rowsOf(s, part).map((r) => ({ ...r, order }))
    )
  );
  const groups = unique(rows.map((r) => r.group));
  if (rows.length === 0) return { id, title };
  return {
    id,
    title,
    caption:
      "The two stacked areas add up to the SGD term exactly (SCIENCE §2.2); look at which " +
      "part dominates: a large variance part means the regularization comes from mini-batch noise.",
    spec: {
      title,
      data: { values: rows },
      columns: Math.min(2, groups.length),
      facet: {
        field: "group",
        type: "nominal",
        title: "optimizer",
        sort: groups,
      },
      resolve: { scale: { y: "independent" } },
      spec: {
        width: 260,
        height: 180,
        mark: { type: "area", opacity: 0.85 },
        encoding: {
          x: { field: "epoch", type: "quantitative", axis: EPOCH_AXIS },
          y: {
            field: "mean",
            type: "quantitative",
            stack: "zero",
            title: "IR term (loss units)",
          },
          color: {
            field: "term",
            type: "nominal",
            title: "part",
            legend: { labelLimit: 360 },
            scale: {
              domain: parts.map((p) => p[1]),
              range: ["#4c78a8", "#f58518"],
            },
          },
          order: { field: "order", type: "quantitative" },
          tooltip: tooltip([{ field: "term", title: "part" }]),
        },
      },
    },
  };
}

/** SCIENCE §2.5 vs §2.6 side by side, with §2.7's explanation as caption. */
function rmsFigure(ctx: Ctx): FigureSpec | MissingFigure {
  const id = "rms_terms";
  const title = "RMSprop term: the paper's formula vs the preconditioned term";
  const paper = seriesOf(ctx.doc, "ir_rms_paper", ctx.groups).flatMap((s) =>
    rowsOf(s)
  );
  const pre = seriesOf(ctx.doc, "ir_preconditioned", ctx.groups).flatMap((s) =>
    rowsOf(s)
  );
  if (paper.length === 0 || pre.length === 0) return { id, title };
  const yTitle = "IR term (loss units)";
  return {
    id,
    title,
    caption:
      "The paper's formula η/(4m) Σ‖s ⊙ g_k‖² multiplies by s ≈ g² instead of dividing " +
      "by √s, so it scales like |g|⁶ per coordinate and vanishes as gradients shrink; that alone " +
      "can make adaptive methods look as if they had no implicit term (SCIENCE §2.7). The " +
      "preconditioned term η/(4m) Σ_k Σ_j g²/(√v+ε) is what backward error analysis gives; " +
      "compare how the two panels evolve.",
    spec: {
      title,
      hconcat: [
        lineBand(ctx, paper, yTitle, {
          width: 300,
          title: "paper's formula (SCIENCE §2.5)",
        }),
        lineBand(ctx, pre, yTitle, {
          width: 300,
          title: "preconditioned (SCIENCE §2.6)",
        }),
      ],
      resolve: { scale: { y: "independent" } },
    },
  };
}

/** Clean vs corrupted train error: memorisation of noisy labels (SCIENCE §4.3). */
function memorisationFigure(ctx: Ctx): FigureSpec | MissingFigure {
  const id = "memorisation";
  const title = "Train error on clean vs corrupted labels (memorisation)";
  const clean = seriesOf(ctx.doc, "train_clean_error", ctx.groups).flatMap((
    s,
  ) => rowsOf(s, "clean part"));
  const corrupt = seriesOf(ctx.doc, "train_corrupt_error", ctx.groups).flatMap((
    s,
  ) => rowsOf(s, "corrupted part"));
  if (clean.length === 0 || corrupt.length === 0) return { id, title };
  return {
    id,
    title,
    caption:
      "Error against the (possibly wrong) training labels: when the dashed corrupted-part " +
      "curve falls toward zero the network is memorising noise; compare when each optimizer " +
      "starts to do so.",
    spec: {
      title,
      ...lineBand(ctx, [...clean, ...corrupt], "train error (fraction)", {
        dashTitle: "training subset",
      }),
    },
  };
}

/** Sharpness with the dashed edge-of-stability rule 2/η or (2+2β)/η (SCIENCE §4.2). */
function sharpnessFigure(ctx: Ctx): FigureSpec | MissingFigure {
  const id = "sharpness";
  const title = "Sharpness: top Hessian eigenvalue";
  const rows = seriesOf(ctx.doc, "sharpness", ctx.groups).flatMap((s) =>
    rowsOf(s)
  );
  if (rows.length === 0) return { id, title };
  const rules = unique(rows.map((r) => r.group)).flatMap((group) => {
    const optimizer = rows.find((r) => r.group === group)!.optimizer;
    const lr = groupLr(ctx.doc, group, optimizer);
    const beta = heavyBallBeta(ctx.doc, group);
    if (lr === undefined || !(lr > 0) || Number.isNaN(beta)) return [];
    const label = beta > 0
      ? `(2+2β)/η, β=${round(beta)}, η=${lr}`
      : `2/η, η=${lr}`;
    return [{ group, threshold: (2 + 2 * beta) / lr, rule: label }];
  });
  const base = lineBand(ctx, rows, "top Hessian eigenvalue (loss / weight²)");
  const layers = base.layer as Array<
    { encoding: { y: Record<string, unknown> } }
  >;
  const yDef = layers[1]!.encoding.y;
  const withRules = rules.length === 0 ? layers : [
    ...layers,
    {
      data: { values: rules },
      mark: { type: "rule", strokeDash: [6, 4], strokeWidth: 1.5 },
      encoding: {
        y: { ...yDef, field: "threshold" },
        color: {
          field: "group",
          type: "nominal",
          scale: ctx.color,
          title: "optimizer",
        },
        tooltip: [
          { field: "group", title: "group" },
          { field: "rule", title: "stability limit" },
          {
            field: "threshold",
            type: "quantitative",
            title: "value",
            format: ".4g",
          },
        ],
      },
    },
  ];
  const ruleText = rules.length === 0
    ? "no stability line is drawn because no run is plain or heavy-ball SGD/GD"
    : "dashed lines are the edge-of-stability limits 2/η (GD/SGD) and (2+2β)/η (heavy ball), " +
      "drawn only for SGD/GD-type runs since adaptive methods are stable against a preconditioned limit";
  // The residual bound of each value (SCIENCE §4.2), when the sharpness stage reported it.
  const bounds = seriesOf(ctx.doc, "sharpness_residual", ctx.groups)
    .flatMap((s) => s.mean)
    .filter(Number.isFinite);
  const boundText = bounds.length === 0
    ? ""
    : ` Each value lies within its residual bound (sharpness_residual, relative; largest mean over seeds here ${
      Math.max(...bounds).toExponential(1)
    }) of an eigenvalue of the Hessian.`;
  return {
    id,
    title,
    caption:
      `Look at whether sharpness rises to its optimizer's limit and stays there; ${ruleText}.${boundText}`,
    spec: { title, ...base, layer: withRules },
  };
}

/** A last-epoch point of one sweep cell (mean ± 1 std over seeds). */
interface SweepPoint {
  group: string;
  optimizer: string;
  term: string;
  value: number | string | boolean;
  epoch: number;
  mean: number;
  std: number;
  lo: number;
  hi: number;
  count: number;
}

/** Last-epoch points of `quantity` for every one-key cell sweeping `key`. */
function sweepPoints(
  ctx: Ctx,
  key: string,
  quantity: Quantity,
  term: string,
): SweepPoint[] {
  return ctx.doc.series.flatMap((s) => {
    const keys = Object.keys(s.cell);
    const value = s.cell[key];
    const i = lastFinite(s.mean);
    if (
      s.quantity !== quantity || keys.length !== 1 || value === undefined ||
      i < 0
    ) return [];
    const mean = s.mean[i]!;
    const std = Number.isFinite(s.std[i]) ? s.std[i]! : 0;
    return [{
      group: s.group,
      optimizer: s.optimizer,
      term,
      value,
      epoch: s.epochs[i]!,
      mean,
      std,
      lo: mean - std,
      hi: mean + std,
      count: s.count[i] ?? 0,
    }];
  });
}

/**
 * One sweep figure: last-epoch values against the swept value, log₂ axis for
 * positive numbers (SCIENCE §7), ordinal axis for categorical values.
 */
function sweepFigure(
  ctx: Ctx,
  fig: { id: string; title: string; caption: string },
  key: string,
  points: SweepPoint[],
  yTitle: string,
  dashTitle?: string,
): FigureSpec {
  const name = sweepName(key);
  const numeric = points.every((p) => typeof p.value === "number");
  const log2 = numeric && points.every((p) => (p.value as number) > 0);
  const x = numeric
    ? {
      field: "value",
      type: "quantitative",
      title: log2 ? `${name}, log₂ scale` : name,
      axis: { format: ".3~g" },
      scale: log2 ? { type: "log", base: 2 } : { zero: false },
    }
    : { field: "value", type: "ordinal", title: name };
  const logY = needsLog(points.map((p) => p.mean));
  const data = logY
    ? points.map((
      p,
    ) => (p.lo > 0 ? p : { ...p, lo: p.mean / 10, clipped: true }))
    : points;
  const y = {
    field: "mean",
    type: "quantitative",
    title: logY ? `${yTitle}, log scale` : yTitle,
    scale: logY ? { type: "log" } : { zero: false },
  };
  const color = {
    field: "optimizer",
    type: "nominal",
    title: "optimizer",
    scale: ctx.optimizerColor,
  };
  const dash = dashTitle
    ? {
      strokeDash: {
        field: "term",
        type: "nominal",
        title: dashTitle,
        scale: {
          domain: unique(points.map((p) => p.term)),
          range: [[1, 0], [6, 3], [2, 2]],
        },
        legend: {
          labelLimit: 360,
          symbolType: "stroke",
          symbolStrokeWidth: 2,
          symbolStrokeColor: "#444",
        },
      },
    }
    : {};
  const detail = dashTitle
    ? { detail: { field: "term", type: "nominal" } }
    : {};
  return {
    ...fig,
    spec: {
      title: fig.title,
      width: WIDTH,
      height: HEIGHT,
      data: { values: data },
      layer: [
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
          mark: { type: "line", point: true },
          encoding: {
            x,
            y,
            color,
            ...dash,
            tooltip: [
              { field: "group", title: "group" },
              ...(dashTitle ? [{ field: "term", title: dashTitle }] : []),
              { field: "value", title: key },
              { field: "epoch", type: "quantitative", title: "epoch" },
              {
                field: "mean",
                type: "quantitative",
                title: "mean",
                format: ".4g",
              },
              {
                field: "std",
                type: "quantitative",
                title: "std",
                format: ".3g",
              },
              { field: "count", type: "quantitative", title: "seeds" },
            ],
          },
        },
      ],
    },
  };
}

/**
 * For each swept key: the last-epoch test error, and the two parts of the
 * SGD term (SCIENCE §2.2; the variance part should fall like 1/B at fixed η).
 */
function sweepFigures(ctx: Ctx): FigureSpec[] {
  const keys = unique(
    ctx.doc.series.filter((s) => Object.keys(s.cell).length === 1).map((s) =>
      Object.keys(s.cell)[0]!
    ),
  );
  const figures: FigureSpec[] = [];
  for (const key of keys) {
    const name = sweepName(key);
    const errors = sweepPoints(ctx, key, "test_error", "");
    if (unique(errors.map((p) => p.value)).length >= 2) {
      figures.push(sweepFigure(
        ctx,
        {
          id: `sweep_${slug(key)}`,
          title: `Final test error vs ${name}`,
          caption:
            `Each point is the test error at the last epoch (mean ± 1 std over seeds) ` +
            `for one value of ${key}; look for the value each optimizer prefers and how flat ` +
            `its curve is.`,
        },
        key,
        errors,
        "test error (fraction)",
      ));
    }
    const parts = [
      ...sweepPoints(ctx, key, "ir_sgd_mean", "η/4 ‖ḡ‖² (mean part)"),
      ...sweepPoints(
        ctx,
        key,
        "ir_sgd_var",
        "η/(4m) Σ‖g_k − ḡ‖² (variance part)",
      ),
    ];
    if (unique(parts.map((p) => p.value)).length >= 2) {
      figures.push(sweepFigure(
        ctx,
        {
          id: `sweep_ir_${slug(key)}`,
          title: `SGD term parts at the last epoch vs ${name}`,
          caption:
            `The two parts of the SGD term (SCIENCE §2.2) at the last epoch for each ` +
            `value of ${key}; at fixed η the variance part should fall roughly like 1/B as the ` +
            `batch grows, but the runs ended at different weights, so read the trend, not ` +
            `single points.`,
        },
        key,
        parts,
        "IR term (loss units)",
        "part",
      ));
    }
  }
  return figures;
}

/** Validation error of each tuning candidate vs lr, log₂ axis, chosen lr marked (SCIENCE §7). */
function tuningFigure(ctx: Ctx): FigureSpec | MissingFigure {
  const id = "lr_tuning";
  const title = "Learning-rate tuning on the held-out split";
  const tuning = ctx.doc.tuning ?? {};
  const points = Object.entries(tuning).flatMap(([optimizer, t]) =>
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
  if (points.length === 0) return { id, title };
  const diverged = Object.entries(tuning).flatMap(([o, t]) =>
    t.table.filter((r) => r.validation_error === null).map((r) =>
      `${o} at η=${r.lr}`
    )
  );
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
    title: "validation error (fraction)",
    scale: { zero: false },
  };
  const color = {
    field: "optimizer",
    type: "nominal",
    title: "optimizer",
    scale: ctx.optimizerColor,
  };
  return {
    id,
    title,
    caption:
      "Each optimizer's candidate learning rates against the error on a held-out part " +
      "of the training set; the large point is the lr the final runs used" +
      (diverged.length > 0
        ? ` (diverged, not drawn: ${diverged.join(", ")}).`
        : "."),
    spec: {
      title,
      width: WIDTH,
      height: HEIGHT,
      data: { values: points },
      layer: [
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
      ],
    },
  };
}

/** Loss along the straight line between two optimizers' final weights (same seed). */
function barrierFigure(ctx: Ctx): FigureSpec | MissingFigure {
  const id = "loss_barrier";
  const title = "Loss along the line between two optimizers' solutions";
  const rows = (ctx.doc.barriers ?? []).flatMap((b) => {
    const cell =
      b.cell && typeof b.cell === "object" && Object.keys(b.cell).length > 0
        ? ` · ${JSON.stringify(b.cell)}`
        : "";
    const pair = `${b.a} → ${b.b}${cell}`;
    return b.t.flatMap((t, i) => {
      const loss = b.loss[i];
      return loss === undefined || !Number.isFinite(loss)
        ? []
        : [{ pair, seed: b.seed, t, loss, barrier: b.barrier ?? NaN }];
    });
  });
  if (rows.length === 0) return { id, title };
  const logY = needsLog(rows.map((r) => r.loss));
  return {
    id,
    title,
    caption:
      "Mean training loss at (1−t)·w_a + t·w_b for runs of the same seed; a bump above " +
      "the straight line between the end points is a barrier, meaning the two optimizers " +
      "found solutions in different basins.",
    spec: {
      title,
      width: WIDTH,
      height: HEIGHT,
      data: { values: rows },
      mark: { type: "line", point: true },
      encoding: {
        x: {
          field: "t",
          type: "quantitative",
          title: "interpolation t (0 = first run, 1 = second)",
        },
        y: {
          field: "loss",
          type: "quantitative",
          title: logY
            ? "train loss (loss units), log scale"
            : "train loss (loss units)",
          scale: logY ? { type: "log" } : { zero: false },
        },
        color: {
          field: "pair",
          type: "nominal",
          title: "pair",
          legend: { labelLimit: 360 },
        },
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
    },
  };
}

/** True when any data row of a spec (at any depth) was cut for a log axis. */
function hasClippedRow(spec: unknown): boolean {
  if (Array.isArray(spec)) return spec.some(hasClippedRow);
  if (spec === null || typeof spec !== "object") return false;
  const o = spec as Record<string, unknown>;
  if (o.clipped === true) return true;
  return Object.values(o).some(hasClippedRow);
}

function lastFinite(values: number[]): number {
  for (let i = values.length - 1; i >= 0; i--) {
    if (Number.isFinite(values[i])) return i;
  }
  return -1;
}

/** A reader's name for a swept param path. */
function sweepName(key: string): string {
  const leaf = key.split(".").at(-1) ?? key;
  if (leaf === "lr") return "learning rate η";
  if (leaf === "batch_size") return "batch size B (samples)";
  return leaf.replaceAll("_", " ");
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_|_$/g, "");
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Every figure the document supports, in report order, and those it does not. */
export function buildFigures(doc: MetricsDoc): {
  figures: FigureSpec[];
  missing: MissingFigure[];
} {
  const groups = baseGroups(doc);
  const optimizerLabels = unique([
    ...doc.series.map((s) => s.optimizer),
    ...Object.keys(doc.tuning ?? {}),
  ]);
  const ctx: Ctx = {
    doc,
    groups,
    color: {
      domain: groups,
      scheme: groups.length > 10 ? "category20" : "tableau10",
    },
    optimizerColor: { domain: optimizerLabels, scheme: "tableau10" },
  };
  const candidates: Array<FigureSpec | MissingFigure> = [
    quantityFigure(
      ctx,
      "train_error",
      "Train error (noisy labels)",
      "train_error",
      "train error (fraction)",
      "Error on the training set with its noisy labels, mean ± 1 std over seeds; look at how " +
        "fast each optimizer fits the data, noise included.",
    ),
    quantityFigure(
      ctx,
      "test_error",
      "Test error",
      "test_error",
      "test error (fraction)",
      "Error on the clean test set, mean ± 1 std over seeds; look at the final level and at " +
        "any rise after the minimum (overfitting to the noisy labels).",
    ),
    irFigure(ctx),
    partsFigure(
      ctx,
      {
        id: "norm",
        title: "Parameter L2 norm",
        caption:
          "The L2 norm of all weights and biases (solid) and of the weights alone " +
          "(dashed, biases excluded; SCIENCE §4.1); look at which optimizer's weights grow " +
          "fastest.",
      },
      [["norm", "all weights and biases"], [
        "norm_no_bias",
        "weights only (biases excluded)",
      ]],
      "‖w‖₂ (weight units)",
      "parameters",
    ),
    partsFigure(
      ctx,
      {
        id: "loss",
        title: "Train and test loss",
        caption:
          "The training objective on the noisy training labels (solid) and on the clean " +
          "test set (dashed); a widening gap is overfitting to the noise.",
      },
      [["train_loss", "train (noisy labels)"], ["test_loss", "test"]],
      "loss (loss units)",
      "set",
    ),
    decompositionFigure(ctx),
    partsFigure(
      ctx,
      {
        id: "gd_vs_mean_part",
        title: "Full-batch term vs the mean part of the SGD term",
        caption:
          "η/4 ‖∇C‖² (dashed, SCIENCE §2.3) and η/4 ‖ḡ‖² (solid, SCIENCE §2.2) " +
          "coincide when all batches have the same size; look for a gap, which comes from " +
          "the smaller last batch.",
      },
      [["ir_sgd_mean", "η/4 ‖ḡ‖² (mean of batch gradients)"], [
        "ir_gd",
        "η/4 ‖∇C‖² (full-batch gradient)",
      ]],
      "IR term (loss units)",
      "term",
      true,
    ),
    partsFigure(
      ctx,
      {
        id: "trajectory_estimate",
        title: "SGD term at a snapshot vs the trajectory estimate",
        caption:
          "Solid: η/(4m) Σ‖g_k‖² with every batch gradient at the end-of-epoch weights " +
          "(SCIENCE §2.1); dashed: η/4 times the mean of ‖∇Ĉ_k(w_k)‖² along the epoch's steps, " +
          "a cheap estimate (SCIENCE §2.8); look at how closely the estimate tracks the term.",
      },
      [["ir_sgd", "snapshot term (SCIENCE §2.1)"], [
        "ir_trajectory",
        "trajectory estimate (SCIENCE §2.8)",
      ]],
      "IR term (loss units)",
      "measurement",
      true,
    ),
    rmsFigure(ctx),
    quantityFigure(
      ctx,
      "one_norm",
      "Perturbed one-norm of the mean gradient",
      "one_norm",
      "Σ_j √(ḡ_j² + ε) (gradient units)",
      "The perturbed one-norm Σ_j √(ḡ_j² + ε) that Adam's dynamics (anti-)penalize " +
        "(Cattaneo, Klusowski & Shigida 2024; SCIENCE §2.6); compare how it evolves across optimizers.",
    ),
    memorisationFigure(ctx),
    sharpnessFigure(ctx),
    edgeOfStabilityFigure(ctx.doc, ctx.groups, ctx.color),
    quantityFigure(
      ctx,
      "hessian_trace",
      "Hessian trace (Hutchinson)",
      "hessian_trace",
      "tr(H) estimate (loss per weight²)",
      "Hutchinson's estimate of the trace of the Hessian on the sharpness subset (SCIENCE §4.2); " +
        "look at whether the total curvature follows the top eigenvalue or moves on its own.",
    ),
    quantityFigure(
      ctx,
      "dist_init",
      "Distance from initialization",
      "dist_init",
      "‖w − w₀‖₂ (weight units)",
      "How far the weights travel from their initial values; look at whether an optimizer " +
        "keeps moving after its train error has flattened.",
    ),
  ];
  const figures: FigureSpec[] = [];
  const missing: MissingFigure[] = [];
  for (const c of candidates) {
    if ("spec" in c) {
      figures.push(
        hasClippedRow(c.spec)
          ? { ...c, caption: `${c.caption} ${CLIP_NOTE}` }
          : c,
      );
    } else missing.push(c);
  }
  const sweeps = sweepFigures(ctx);
  figures.push(
    ...sweeps.map((f) =>
      hasClippedRow(f.spec) ? { ...f, caption: `${f.caption} ${CLIP_NOTE}` } : f
    ),
  );
  if (sweeps.length === 0) {
    missing.push({
      id: "sweeps",
      title: "Learning-rate and batch-size sweeps",
    });
  }
  const extra: Array<FigureSpec | MissingFigure> = [
    tuningFigure(ctx),
    barrierFigure(ctx),
  ];
  for (const c of extra) {
    if ("spec" in c) figures.push(c);
    else missing.push(c);
  }
  return { figures, missing };
}
