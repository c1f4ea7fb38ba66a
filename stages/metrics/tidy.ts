/**
 * Tidy exports beside the report: `runs.csv` (and the same table as
 * `runs.parquet`), one row per run × epoch (each
 * seed its own row, nothing averaged), with a column for every swept param,
 * the optimizer, its lr and the seed, and one for every recorded quantity;
 * and `metrics.schema.json`, the data dictionary of `runs.csv` and
 * `metrics.csv`: each column's description and unit, and the conventions
 * (epoch 0, empty fields, the std's n − 1).
 */
import { type ColumnSource, parquetWriteBuffer } from "hyparquet-writer";
import type { Run } from "./runs.ts";
import type { Quantity } from "./types.ts";
import {
  QUANTITIES,
  QUANTITY_INFO,
  type QuantityInfo,
  quantityInfo,
  type QuantitySpec,
} from "../quantities.ts";

/** The data dictionary's entries of the quantities come from the registry. */
export { QUANTITY_INFO, type QuantityInfo };

/** Identity columns of runs.csv, before the swept params and the quantities. */
const ID_COLUMNS: Record<string, QuantityInfo> = {
  group: {
    description: "optimizer label plus the sweep cell, as in metrics.csv",
    unit: "",
  },
  optimizer: { description: "optimizer label (its name unless set)", unit: "" },
  optimizer_name: {
    description: "optimizer algorithm: gd, sgd, rmsprop, adam or swats",
    unit: "",
    science: "§3",
  },
  lr: { description: "learning rate η the run trained with", unit: "1" },
  seed: {
    description:
      "training seed (initial weights and batch order); same seed = same start across optimizers",
    unit: "",
  },
};

const TAIL_COLUMNS: Record<string, QuantityInfo> = {
  status: {
    description:
      "ok or diverged (a diverged run's quantities past divergence are empty)",
    unit: "",
  },
  epoch: {
    description:
      "epochs trained; 0 = the initial weights, e = measured at the end of epoch e",
    unit: "epochs",
  },
};

/** A CSV field (RFC 4180); non-finite numbers as empty fields (read as NaN). */
function field(value: string | number | boolean | undefined): string {
  if (value === undefined) return "";
  if (typeof value === "number") {
    return Number.isFinite(value) ? String(value) : "";
  }
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Swept param paths (every run's cell keys), sorted. */
export function sweptParams(runs: Run[]): string[] {
  return [...new Set(runs.flatMap((r) => Object.keys(r.cell)))].sort();
}

/** Quantities some run measured, in `order`. */
export function measuredQuantities(
  runs: Run[],
  order: readonly Quantity[],
): Quantity[] {
  return order.filter((q) => runs.some((r) => r.series[q] !== undefined));
}

/** A cell of runs.csv: undefined (or NaN) when not measured. */
export type TidyValue = string | number | boolean | undefined;

/**
 * The rows of runs.csv: one per run and epoch (the union of the epochs its
 * series cover); columns = identity, swept params, status, epoch, quantities.
 */
export function runsTable(
  runs: Run[],
  order: readonly Quantity[],
): { columns: string[]; rows: TidyValue[][] } {
  const swept = sweptParams(runs);
  const quantities = measuredQuantities(runs, order);
  const columns = [
    ...Object.keys(ID_COLUMNS),
    ...swept,
    ...Object.keys(TAIL_COLUMNS),
    ...quantities,
  ];
  const rows: TidyValue[][] = [];
  for (const run of runs) {
    const byEpoch = new Map<number, Map<Quantity, number>>();
    for (const q of quantities) {
      const s = run.series[q];
      if (!s) continue;
      for (let i = 0; i < s.epochs.length; i++) {
        const epoch = s.epochs[i]!;
        if (!byEpoch.has(epoch)) byEpoch.set(epoch, new Map());
        byEpoch.get(epoch)!.set(q, s.values[i]!);
      }
    }
    const id = [
      run.group,
      run.label,
      run.optimizer.name,
      run.optimizer.lr,
      run.seed,
      ...swept.map((p) => run.cell[p]),
      run.status,
    ];
    for (const epoch of [...byEpoch.keys()].sort((a, b) => a - b)) {
      const values = byEpoch.get(epoch)!;
      rows.push([...id, epoch, ...quantities.map((q) => values.get(q))]);
    }
  }
  return { columns, rows };
}

/** runs.csv (RFC 4180; non-finite numbers as empty fields). */
export function runsCsv(runs: Run[], order: readonly Quantity[]): string {
  const { columns, rows } = runsTable(runs, order);
  return [columns, ...rows].map((r) => r.map(field).join(",")).join("\n") +
    "\n";
}

/**
 * runs.parquet: the same table, one typed column each (DOUBLE for numbers,
 * BOOLEAN, else STRING; a value not measured is null), written by the
 * pure-JS hyparquet-writer.
 */
export function runsParquet(
  runs: Run[],
  order: readonly Quantity[],
): Uint8Array {
  const { columns, rows } = runsTable(runs, order);
  const columnData: ColumnSource[] = columns.map((name, j) => {
    const values = rows.map((r) => r[j]);
    const present = values.filter((v) =>
      v !== undefined && !(typeof v === "number" && !Number.isFinite(v))
    );
    const type = present.length > 0 && present.every((v) =>
        typeof v === "number"
      )
      ? "DOUBLE"
      : present.length > 0 && present.every((v) => typeof v === "boolean")
      ? "BOOLEAN"
      : "STRING";
    const data = values.map((v) =>
      v === undefined || (typeof v === "number" && !Number.isFinite(v))
        ? null
        : type === "STRING"
        ? String(v)
        : v
    );
    return { name, data, type, nullable: true };
  });
  return new Uint8Array(parquetWriteBuffer({ columnData }));
}

/** The data dictionary of runs.csv and metrics.csv. */
export function metricsSchema(
  runs: Run[],
  order: readonly Quantity[],
  registry: readonly QuantitySpec[] = QUANTITIES,
): Record<string, unknown> {
  const quantities = measuredQuantities(runs, order);
  const info: Record<string, QuantityInfo> = quantityInfo(registry);
  const swept = Object.fromEntries(
    sweptParams(runs).map((p) => [p, {
      description: `swept param '${p}' (the experiment's matrix)`,
      unit: "as in the experiment file",
    }]),
  );
  const qs = Object.fromEntries(quantities.map((q) => [q, info[q]]));
  return {
    conventions: {
      missing:
        "an empty field is a value not measured at that epoch or not finite (NaN: not applicable, or past divergence)",
      epoch: TAIL_COLUMNS["epoch"]!.description,
      std:
        "sample standard deviation over seeds, n − 1 denominator; 0 when count = 1 (no spread observed); SCIENCE §7",
      snapshot:
        "the IR terms are measured at one snapshot per epoch: every mini-batch gradient of the epoch's partition at the same weights (SCIENCE §2)",
    },
    "runs.csv": {
      description:
        "one row per training run × epoch; each seed is its own row, nothing averaged; runs.parquet holds the same table (typed columns, null where the CSV field is empty)",
      columns: { ...ID_COLUMNS, ...swept, ...TAIL_COLUMNS, ...qs },
    },
    "metrics.csv": {
      description:
        "one row per group × quantity × epoch, aggregated over the group's seeds",
      columns: {
        group: ID_COLUMNS["group"],
        optimizer: ID_COLUMNS["optimizer"],
        quantity: {
          description: "the quantity's name; see 'quantities'",
          unit: "",
        },
        epoch: TAIL_COLUMNS["epoch"],
        mean: { description: "mean over seeds", unit: "the quantity's unit" },
        std: {
          description:
            "sample standard deviation over seeds (n − 1 denominator); 0 when count = 1",
          unit: "the quantity's unit",
        },
        count: {
          description: "seeds with a finite value at that epoch",
          unit: "runs",
        },
      },
    },
    quantities: qs,
  };
}
