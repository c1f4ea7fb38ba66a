import { assert, assertAlmostEquals, assertEquals } from "../../assert.ts";
import { decodeJson } from "../../../pipeline/artifact.ts";
import type {
  InputValue,
  Params,
  StageContext,
} from "../../../pipeline/stage.ts";
import {
  type BarrierResult,
  barrierStage,
} from "../../../stages/barrier/stage.ts";
import { initWasmBackend } from "../../../stages/nn/backend.ts";
import { stageContext } from "../_context.ts";
import { linearCheckpoints, PIXELS, sparseImages } from "../_models.ts";

await initWasmBackend();

const N = 30;
const D = PIXELS;

/** A linear model's checkpoints at epochs 0 and 3 (init seeded by `seed`, kernel scaled at epoch 3), and its final weights. */
async function run(
  seed: string,
  scale: number,
): Promise<{ bytes: Uint8Array; final: number[][] }> {
  const { bytes, weights } = await linearCheckpoints(seed, { last: 3, scale });
  return { bytes, final: weights.get(3)! };
}

/** Mean cross-entropy of logits xW + b in float64. */
function crossEntropy(
  x: number[][],
  labels: number[],
  kernel: number[],
  bias: number[],
): number {
  let sum = 0;
  x.forEach((xi, n) => {
    const z = bias.map((b, k) => {
      let s = b;
      for (let j = 0; j < D; j++) s += xi[j]! * kernel[j * 10 + k]!;
      return s;
    });
    const m = Math.max(...z);
    const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
    sum += lse - z[labels[n]!]!;
  });
  return sum / x.length;
}

/** The barrier stage's context: its params, the runs' checkpoints and the train set. */
function context(
  params: Params,
  runs: InputValue[],
  train: Uint8Array,
): StageContext {
  return stageContext({
    params,
    inputs: { train },
    all: { checkpoints: runs },
  });
}

const item = (label: string, seed: number) => ({
  optimizer: { name: label === "adam" ? "adam" : "sgd", lr: 0.01, label },
  seed,
  cell: {},
});

Deno.test("barrierStage: the loss along the line between two final checkpoints matches a float64 cross-entropy, pairs by seed and across seeds", async () => {
  const d = sparseImages("barrier-data", N);
  const a = await run("init-a", 30);
  const b = await run("init-b", -20);
  const other = await run("init-c", 1);
  const params = { "metrics.barrier": true, "model.loss": "cross_entropy" };
  const runs: InputValue[] = [
    { item: item("sgd", 0), data: a.bytes },
    { item: item("adam", 0), data: b.bytes },
    { item: item("sgd", 1), data: other.bytes },
  ];
  const out = decodeJson<BarrierResult[]>(
    (await barrierStage.run(context(params, runs, d.bytes))).barriers!,
  );
  // sgd ↔ adam at seed 0, then the yardstick: sgd at seed 0 ↔ sgd at seed 1.
  assertEquals(out.length, 2);
  assertEquals(
    [out[1]!.a, out[1]!.b, out[1]!.seed, out[1]!.seed_b],
    ["sgd", "sgd", 0, 1],
  );
  assertEquals(out[0]!.seed_b, undefined);
  const r = out[0]!;
  assertEquals([r.a, r.b, r.seed], ["sgd", "adam", 0]);
  assertEquals(r.t.length, 11);
  r.t.forEach((t, i) => {
    const kernel = a.final[0]!.map((v, j) => (1 - t) * v + t * b.final[0]![j]!);
    const bias = a.final[1]!.map((v, j) => (1 - t) * v + t * b.final[1]![j]!);
    const expected = crossEntropy(d.x, d.labels, kernel, bias);
    assertAlmostEquals(r.loss[i]!, expected, 1e-4 * Math.max(1, expected));
  });
  let gap = -Infinity;
  r.t.forEach((t, i) => {
    gap = Math.max(gap, r.loss[i]! - ((1 - t) * r.loss[0]! + t * r.loss[10]!));
  });
  assertAlmostEquals(r.barrier, gap, 1e-9);
  assert(r.barrier >= 0);
});

Deno.test("barrierStage returns [] when metrics.barrier is false", async () => {
  const d = sparseImages("barrier-data", N);
  const a = await run("init-a", 2);
  const runs: InputValue[] = [
    { item: item("sgd", 0), data: a.bytes },
    { item: item("adam", 0), data: a.bytes },
  ];
  const params = { "metrics.barrier": false, "model.loss": "cross_entropy" };
  const out = await barrierStage.run(context(params, runs, d.bytes));
  assertEquals(decodeJson(out.barriers!), []);
});
