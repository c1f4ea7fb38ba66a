/**
 * Progress display: one line per stage instance state change (queued,
 * running, cached, done in Ns, failed, skipped) and, on a terminal, a live bar
 * with ETA for instances that report progress, their latest metrics (e.g.
 * loss, test error) and the whole run's ETA. Plain lines when not a TTY.
 */
import type { ProgressMetrics } from "./stage.ts";

export type InstanceState =
  | "queued"
  | "running"
  | "cached"
  | "done"
  | "failed"
  | "skipped"
  | "would run"
  | "may run";

export interface Reporter {
  state(id: string, state: InstanceState, detail?: string): void;
  progress(
    id: string,
    done: number,
    total: number,
    metrics?: ProgressMetrics,
  ): void;
  /**
   * An instance's expected work (Stage.cost, in any unit the stages share),
   * told before it runs: the run's ETA is the work left over the work done
   * per second so far (`overallEta`).
   */
  expect?(id: string, cost: number): void;
  log(id: string, level: "info" | "warn", message: string): void;
  /** A line not tied to an instance. */
  line(text: string): void;
  close(): void;
}

/** Formats seconds as `42s`, `3m05s` or `1h02m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${seconds < 10 ? seconds.toFixed(1) : s}s`;
  if (s < 3600) {
    return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  }
  return `${Math.floor(s / 3600)}h${
    String(Math.floor((s % 3600) / 60)).padStart(2, "0")
  }m`;
}

/** A text bar like `[#####.....] 50% 5/10 ETA 12s`. */
export function progressBar(
  done: number,
  total: number,
  elapsed: number,
  width = 20,
): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(fraction * width);
  const eta = done > 0 ? (elapsed / done) * (total - done) : NaN;
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${
    Math.round(fraction * 100)
  }% ${done}/${total} ETA ${formatDuration(eta)}`;
}

interface Live {
  started: number;
  done: number;
  total: number;
  lastPlain: number;
  metrics?: ProgressMetrics;
}

/** Metrics as the progress line shows them: `loss 0.2310 test error 12.5%`. */
export function formatMetrics(metrics: ProgressMetrics | undefined): string {
  if (!metrics) return "";
  return Object.entries(metrics).filter(([, v]) => Number.isFinite(v)).map((
    [name, v],
  ) =>
    /error|accuracy/.test(name)
      ? `${name.replaceAll("_", " ")} ${(v * 100).toFixed(1)}%`
      : `${name.replaceAll("_", " ")} ${v.toPrecision(4)}`
  ).join(" ");
}

/** One instance's share of the run's work: its cost and the fraction done. */
export interface WorkShare {
  cost: number;
  fraction: number;
}

/**
 * Seconds until the run ends: the work left (cost × fraction not done,
 * summed) over the rate at which work got done so far (work done ÷ seconds
 * since the first instance started). Parallel instances count once each, so
 * the rate already holds the parallelism. NaN until some work is done.
 */
export function overallEta(shares: WorkShare[], elapsed: number): number {
  let done = 0;
  let left = 0;
  for (const { cost, fraction } of shares) {
    const f = Math.min(1, Math.max(0, fraction));
    done += cost * f;
    left += cost * (1 - f);
  }
  if (done <= 0 || elapsed <= 0) return NaN;
  return left / (done / elapsed);
}

/** A reporter writing to a stream; live bars only when `tty` is true. */
export function createReporter(
  write: (text: string) => void,
  tty: boolean,
  now: () => number = () => performance.now(),
): Reporter {
  const r = new StreamReporter(write, tty, now);
  // A plain object, as before: its methods may be detached or spread.
  return {
    state: (id, state, detail) => r.state(id, state, detail),
    expect: (id, cost) => r.expect(id, cost),
    progress: (id, done, total, metrics) =>
      r.progress(id, done, total, metrics),
    log: (id, level, message) => r.log(id, level, message),
    line: (text) => r.line(text),
    close: () => r.close(),
  };
}

/** The live bars of running instances (redrawn in place on a tty), and lines printed above them. */
class StreamReporter implements Reporter {
  readonly #live = new Map<string, Live>();
  /** Expected work of every instance told by `expect`, and the fraction of it done. */
  readonly #work = new Map<string, WorkShare>();
  #firstStart: number | undefined;
  /** Lines of bars on screen, to erase before the next print. */
  #drawn = 0;

  constructor(
    readonly write: (text: string) => void,
    readonly tty: boolean,
    readonly now: () => number,
  ) {}

  state(id: string, state: InstanceState, detail?: string): void {
    if (state === "running") {
      this.#firstStart ??= this.now();
      this.#live.set(id, {
        started: this.now(),
        done: 0,
        total: 0,
        lastPlain: 0,
      });
    } else this.#live.delete(id);
    const share = this.#work.get(id);
    if (share && (state === "cached" || state === "skipped")) {
      this.#work.delete(id); // no work of this run's
    } else if (share && (state === "done" || state === "failed")) {
      share.fraction = 1;
    }
    this.#print(`${state.padEnd(9)} ${id}${detail ? `  ${detail}` : ""}`);
  }

  expect(id: string, cost: number): void {
    this.#work.set(id, {
      cost: Number.isFinite(cost) ? cost : 0,
      fraction: 0,
    });
  }

  progress(
    id: string,
    done: number,
    total: number,
    metrics?: ProgressMetrics,
  ): void {
    const l = this.#live.get(id);
    if (!l) return;
    l.done = done;
    l.total = total;
    if (metrics) l.metrics = metrics;
    const share = this.#work.get(id);
    if (share && total > 0) share.fraction = Math.min(1, done / total);
    if (this.tty) {
      this.#clear();
      this.#draw();
    } else if (
      done === total ||
      done - l.lastPlain >= Math.max(1, Math.ceil(total / 10))
    ) {
      l.lastPlain = done;
      const all = this.#overall();
      this.write(
        `progress  ${this.#lineOf(id, l, 10)}${all ? `  · ${all}` : ""}\n`,
      );
    }
  }

  log(id: string, level: "info" | "warn", message: string): void {
    this.#print(
      `${level === "warn" ? "warning " : "        "} ${id}: ${message}`,
    );
  }

  line(text: string): void {
    this.#print(text);
  }

  close(): void {
    this.#clear();
  }

  /** "overall k/n done, ETA …" once work is expected and started; "" before. */
  #overall(): string {
    const shares = [...this.#work.values()];
    if (this.#firstStart === undefined || !shares.some((s) => s.cost > 0)) {
      return "";
    }
    const finished = shares.filter((s) => s.fraction >= 1).length;
    return `overall ${finished}/${shares.length} done, ETA ${
      formatDuration(
        overallEta(shares, (this.now() - this.#firstStart) / 1000),
      )
    }`;
  }

  #lineOf(id: string, l: Live, width: number): string {
    return `${id} ${
      progressBar(l.done, l.total, (this.now() - l.started) / 1000, width)
    }${l.metrics ? `  ${formatMetrics(l.metrics)}` : ""}`;
  }

  #clear(): void {
    if (this.tty && this.#drawn > 0) this.write(`\x1b[${this.#drawn}A\x1b[J`);
    this.#drawn = 0;
  }

  #draw(): void {
    if (!this.tty) return;
    const lines = [...this.#live.entries()].filter(([, l]) => l.total > 0)
      .map(([id, l]) => `  ${this.#lineOf(id, l, 20)}`);
    const all = this.#overall();
    if (lines.length && all) lines.push(`  ${all}`);
    if (lines.length) this.write(lines.join("\n") + "\n");
    this.#drawn = lines.length;
  }

  #print(text: string): void {
    this.#clear();
    this.write(text + "\n");
    this.#draw();
  }
}
