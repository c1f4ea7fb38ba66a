/** Test helpers: hand-made IDX bytes and a minimal stage context. */
import { Rng } from "../../../pipeline/rng.ts";
import type { Params, StageContext } from "../../../pipeline/stage.ts";
import { stageContext } from "../_context.ts";

/** An IDX file: big-endian magic (0x0000 08 ndims), dims, then `data`. */
export function makeIdx(
  dims: number[],
  data: Uint8Array,
  magic?: number,
): Uint8Array {
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, magic ?? (0x00000800 | dims.length), false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, header);
  return out;
}

/** Gzips bytes with the web-standard CompressionStream. */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A context like the engine's: declared params, collected log lines, input stubs. */
export function makeCtx(
  params: Params,
  inputs: Record<string, Uint8Array> = {},
): StageContext & { lines: string[] } {
  const lines: string[] = [];
  const ctx = stageContext({
    params,
    inputs,
    all: {},
    rng: Rng.fromSeed("test"),
    log: {
      info: (m) => lines.push(`info: ${m}`),
      warn: (m) => lines.push(`warn: ${m}`),
    },
    scratchDir: Deno.makeTempDirSync(),
  });
  return { ...ctx, lines };
}

/** Asserts that `fn` throws an Error whose message contains `part`. */
export function assertThrowsWith(fn: () => unknown, part: string): void {
  try {
    fn();
  } catch (error) {
    assertMessage(error, part);
    return;
  }
  throw new Error(`Expected an error containing "${part}", nothing was thrown`);
}

/** Asserts that `fn` rejects with an Error whose message contains `part`. */
export async function assertRejectsWith(
  fn: () => unknown,
  part: string,
): Promise<void> {
  try {
    await fn();
  } catch (error) {
    assertMessage(error, part);
    return;
  }
  throw new Error(`Expected a rejection containing "${part}", none happened`);
}

function assertMessage(error: unknown, part: string): void {
  if (!(error instanceof Error)) {
    throw new Error(`Expected an Error, got ${String(error)}`);
  }
  if (!error.message.includes(part)) {
    throw new Error(
      `Expected an error containing "${part}", got "${error.message}"`,
    );
  }
  if (error.message.includes("\n")) {
    throw new Error(`Expected a one-line error, got "${error.message}"`);
  }
}
