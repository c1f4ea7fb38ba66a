/**
 * The metrics as a long CSV for pandas users: one row per group, quantity
 * and epoch (`pd.read_csv("metrics.csv")`).
 */
import type { MetricsDoc } from "../metrics/types.ts";

const HEADER = [
  "group",
  "optimizer",
  "quantity",
  "epoch",
  "mean",
  "std",
  "count",
];

/** A CSV field: quoted when it holds a comma, quote or line break (RFC 4180). */
function field(value: string | number): string {
  if (typeof value === "number") {
    return Number.isFinite(value) ? String(value) : "";
  }
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Long-format CSV of every series (non-finite numbers as empty fields, read as NaN). */
export function metricsCsv(doc: MetricsDoc): string {
  const lines = [HEADER.join(",")];
  for (const s of doc.series) {
    s.epochs.forEach((epoch, i) => {
      const row = [
        s.group,
        s.optimizer,
        s.quantity,
        epoch,
        s.mean[i] ?? NaN,
        s.std[i] ?? NaN,
      ];
      lines.push([...row, s.count[i] ?? 0].map(field).join(","));
    });
  }
  return lines.join("\n") + "\n";
}
