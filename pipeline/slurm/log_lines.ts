/**
 * The job's log (its Slurm output file) carries progress and log events as
 * JSON lines marked `"ir":1`, among whatever else the job prints; the
 * executor tails it to drive the same progress display as a local run.
 */

export type JobEvent =
  | {
    type: "progress";
    done: number;
    total: number;
    /** The stage's latest values (e.g. loss, test_error), if it gave any. */
    metrics?: Record<string, number>;
  }
  | { type: "log"; level: "info" | "warn"; message: string };

/** One event as a log line (no newline). */
export function formatEvent(event: JobEvent): string {
  return JSON.stringify({ ir: 1, ...event });
}

/** The event a line carries, or undefined for any other line. */
export function parseEvent(line: string): JobEvent | undefined {
  if (!line.startsWith('{"ir":1,')) return undefined;
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (
    value.type === "progress" && typeof value.done === "number" &&
    typeof value.total === "number"
  ) {
    const metrics = value.metrics;
    const valid = typeof metrics === "object" && metrics !== null &&
      !Array.isArray(metrics) &&
      Object.values(metrics).every((v) => typeof v === "number" || v === null);
    return {
      type: "progress",
      done: value.done,
      total: value.total,
      // JSON writes NaN as null: read back as NaN (shown as nothing).
      ...(valid
        ? {
          metrics: Object.fromEntries(
            Object.entries(metrics as Record<string, number | null>).map((
              [k, v],
            ) => [k, v ?? NaN]),
          ),
        }
        : {}),
    };
  }
  if (
    value.type === "log" &&
    (value.level === "info" || value.level === "warn") &&
    typeof value.message === "string"
  ) {
    return { type: "log", level: value.level, message: value.message };
  }
  return undefined;
}

/**
 * The last `count` lines of a log as a person reads them: log events as
 * `info: …`/`warn: …`, progress events dropped, other lines as printed.
 */
export function readableTail(text: string, count: number): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const event = parseEvent(line);
    if (event?.type === "progress") continue;
    if (event?.type === "log") out.push(`${event.level}: ${event.message}`);
    else if (line.trim() !== "") out.push(line);
  }
  return out.slice(-count);
}
