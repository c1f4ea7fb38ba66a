/**
 * Where a run's rows are measured (row.ts): in the training thread, or in a
 * second Worker owned by the run, so that training goes on with epoch t+1
 * while the row of epoch t is measured and a single run keeps two cores
 * busy. Both give the same bits: the Worker runs the same pure function on
 * the same inputs, with the same WASM kernels.
 */
import type { ModelConfig } from "./contracts.ts";
import type { TrainData } from "./data.ts";
import {
  createRowMeasurer,
  type RowFields,
  type RowMeasurer,
  type RowRequest,
} from "./row.ts";

/** Measures rows one request at a time, in order; `close` ends it (pending requests reject). */
export interface MeasureStream {
  measure(request: RowRequest): Promise<RowFields>;
  close(): void;
}

/** Measures each row when asked, in this thread. */
export function localStream(
  model: ModelConfig,
  data: TrainData,
): MeasureStream {
  let measurer: RowMeasurer | null = null;
  return {
    measure(request) {
      try {
        measurer ??= createRowMeasurer(model, data);
        return Promise.resolve(measurer.measure(request));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    close() {
      measurer?.dispose();
      measurer = null;
    },
  };
}

/** The entry module of the measuring Worker (declared as a source of the train stage). */
export const MEASURE_WORKER = new URL("./measure_worker.ts", import.meta.url)
  .href;

/** Messages to the measuring Worker. */
export type ToWorker =
  | { type: "init"; model: ModelConfig; data: TrainData }
  | { type: "measure"; id: number; request: RowRequest };

/** Messages from it. */
export type FromWorker =
  | { type: "row"; id: number; fields: RowFields }
  | { type: "error"; id: number; message: string };

/** Measures rows in a second Worker, which gets the data once (copied, ~60 MB for the paper's sets). */
export function workerStream(
  model: ModelConfig,
  data: TrainData,
): MeasureStream {
  const worker = new Worker(MEASURE_WORKER, { type: "module" });
  const waiting = new Map<
    number,
    { resolve: (f: RowFields) => void; reject: (e: Error) => void }
  >();
  let next = 0;
  let failure: Error | null = null;
  const failAll = (error: Error) => {
    failure ??= error;
    for (const w of waiting.values()) w.reject(error);
    waiting.clear();
  };
  worker.onmessage = (event: MessageEvent<FromWorker>) => {
    const message = event.data;
    const w = waiting.get(message.id);
    if (w === undefined) return;
    waiting.delete(message.id);
    if (message.type === "row") w.resolve(message.fields);
    else w.reject(new Error(`measuring worker: ${message.message}`));
  };
  worker.onerror = (event) => {
    event.preventDefault();
    failAll(new Error(`measuring worker: ${event.message}`));
  };
  worker.postMessage({ type: "init", model, data } satisfies ToWorker);
  return {
    measure(request) {
      if (failure) return Promise.reject(failure);
      const id = next++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker.postMessage(
          { type: "measure", id, request } satisfies ToWorker,
        );
      });
    },
    close() {
      worker.terminate();
      failAll(new Error("measuring worker: closed"));
    },
  };
}
