/**
 * Progress display: one line per stage instance state change (queued,
 * running, cached, done in Ns, failed, skipped) and, on a terminal, a live bar
 * with ETA for instances that report progress. Plain lines when not a TTY.
 */

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
  progress(id: string, done: number, total: number): void;
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
}

/** A reporter writing to a stream; live bars only when `tty` is true. */
export function createReporter(
  write: (text: string) => void,
  tty: boolean,
  now: () => number = () => performance.now(),
): Reporter {
  const live = new Map<string, Live>();
  let drawn = 0;
  const clear = () => {
    if (tty && drawn > 0) write(`\x1b[${drawn}A\x1b[J`);
    drawn = 0;
  };
  const draw = () => {
    if (!tty) return;
    const lines = [...live.entries()].filter(([, l]) => l.total > 0).map((
      [id, l],
    ) => `  ${id} ${progressBar(l.done, l.total, (now() - l.started) / 1000)}`);
    if (lines.length) write(lines.join("\n") + "\n");
    drawn = lines.length;
  };
  const print = (text: string) => {
    clear();
    write(text + "\n");
    draw();
  };
  return {
    state(id, state, detail) {
      if (state === "running") {
        live.set(id, { started: now(), done: 0, total: 0, lastPlain: 0 });
      } else live.delete(id);
      print(`${state.padEnd(9)} ${id}${detail ? `  ${detail}` : ""}`);
    },
    progress(id, done, total) {
      const l = live.get(id);
      if (!l) return;
      l.done = done;
      l.total = total;
      if (tty) {
        clear();
        draw();
      } else if (
        done === total ||
        done - l.lastPlain >= Math.max(1, Math.ceil(total / 10))
      ) {
        l.lastPlain = done;
        write(
          `progress  ${id}  ${
            progressBar(done, total, (now() - l.started) / 1000, 10)
          }\n`,
        );
      }
    },
    log(id, level, message) {
      print(`${level === "warn" ? "warning " : "        "} ${id}: ${message}`);
    },
    line(text) {
      print(text);
    },
    close() {
      clear();
    },
  };
}
