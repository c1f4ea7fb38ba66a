/**
 * Entry of the measuring Worker (measure_stream.ts): builds a row measurer
 * from the first message, then answers each request with its row's fields.
 */
/// <reference lib="deno.worker" />
import { initWasmBackend } from "./backend.ts";
import type { FromWorker, ToWorker } from "./measure_stream.ts";
import { createRowMeasurer, type RowMeasurer } from "./row.ts";

let measurer: Promise<RowMeasurer> | null = null;

self.onmessage = async (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  if (message.type === "init") {
    measurer = initWasmBackend().then(() =>
      createRowMeasurer(message.model, message.data)
    );
    return;
  }
  let reply: FromWorker;
  try {
    if (measurer === null) throw new Error("No init message before a request");
    const fields = (await measurer).measure(message.request);
    reply = { type: "row", id: message.id, fields };
  } catch (error) {
    reply = {
      type: "error",
      id: message.id,
      message: error instanceof Error ? error.message : String(error),
    };
  }
  self.postMessage(reply);
};
