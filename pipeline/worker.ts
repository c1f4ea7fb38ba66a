/**
 * Worker entry: runs one job in its own thread so CPU-heavy instances use
 * separate cores. Messages: in `{ job }`; out `log`, `progress`, `facts`, then `done`
 * with the outputs (buffers transferred) or `error`.
 */
/// <reference lib="deno.worker" />
import { checkJobCode, findStage, type Job, runJob } from "./job.ts";

const abort = new AbortController();

self.onmessage = async (
  event: MessageEvent<{ job: Job } | { abort: true }>,
) => {
  if ("abort" in event.data) {
    abort.abort();
    return;
  }
  const { job } = event.data;
  try {
    await checkJobCode(job);
    const module = await import(job.module);
    const stage = findStage(module, job.stageName, job.module);
    const outputs = await runJob(stage, job, {
      log: (level, message) =>
        self.postMessage({ type: "log", level, message }),
      progress: (done, total) =>
        self.postMessage({ type: "progress", done, total }),
      facts: (facts) => self.postMessage({ type: "facts", facts }),
      signal: abort.signal,
    });
    const buffers = Object.values(outputs).map((o) => o.buffer as ArrayBuffer);
    self.postMessage({ type: "done", outputs }, {
      transfer: [...new Set(buffers)],
    });
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    self.postMessage({
      type: "error",
      message: e.message,
      name: e.name,
      stack: e.stack ?? "",
    });
  }
};
