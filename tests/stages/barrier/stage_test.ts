import * as tf from "@tensorflow/tfjs";
import { assert, assertAlmostEquals, assertEquals } from "../../assert.ts";
import { decodeJson, encodeBundle } from "../../../pipeline/artifact.ts";
import { Rng } from "../../../pipeline/rng.ts";
import type {
  InputValue,
  Params,
  StageContext,
} from "../../../pipeline/stage.ts";
import {
  type BarrierResult,
  barrierStage,
} from "../../../stages/barrier/stage.ts";
import { initWasmBackend } from "../../../stages/train/backend.ts";
import {
  captureCheckpoint,
  encodeCheckpoints,
} from "../../../stages/train/checkpoint.ts";
import {
  createModel,
  trainableVariables,
} from "../../../stages/train/model.ts";
import { createOptimizer } from "../../../stages/train/optimizers.ts";

await initWasmBackend();

const N = 30;
const D = 784;

function data(): { bytes: Uint8Array; x: number[][]; labels: number[] } {
  const rng = Rng.fromSeed("barrier-data");
  const images = Uint8Array.from(
    { length: N * D },
    () => (rng.float() < 0.8 ? 0 : rng.int(256)),
  );
  const labels = Uint8Array.from({ length: N }, () => rng.int(10));
  const x = Array.from(
    { length: N },
    (_, i) => Array.from(images.subarray(i * D, (i + 1) * D), (p) => p / 255),
  );
  return { bytes: encodeBundle({ images, labels }), x, labels: [...labels] };
}

/** A linear model's checkpoints at epochs 0 and 3 (init seeded by `seed`, kernel scaled at epoch 3). */
async function run(
  seed: string,
  scale: number,
): Promise<{ bytes: Uint8Array; final: number[][] }> {
  const model = createModel({
    arch: "mlp",
    hidden: [],
    loss: "cross_entropy",
    inputSize: D,
    classes: 10,
  }, Rng.fromSeed(seed));
  const vars = trainableVariables(model);
  const optimizer = createOptimizer({ name: "sgd", lr: 0.1 }, vars);
  let files = await captureCheckpoint(model, optimizer, 0);
  vars[0]!.assign(tf.mul(vars[0]!, scale));
  const final = vars.map((v) => Array.from(v.dataSync()));
  files = { ...files, ...(await captureCheckpoint(model, optimizer, 3)) };
  optimizer.dispose();
  model.dispose();
  return { bytes: encodeCheckpoints(files), final };
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

function context(
  params: Params,
  runs: InputValue[],
  train: Uint8Array,
): StageContext {
  return {
    params,
    item: {},
    rng: Rng.fromSeed("unused"),
    log: { info: () => {}, warn: () => {} },
    progress: () => {},
    input: () => train,
    inputAll: () => runs,
    scratchDir: "/nonexistent",
    signal: new AbortController().signal,
  };
}

const item = (label: string, seed: number) => ({
  optimizer: { name: label === "adam" ? "adam" : "sgd", lr: 0.01, label },
  seed,
  cell: {},
});

Deno.test("barrierStage: the loss along the line between two final checkpoints matches a float64 cross-entropy, pairs by seed and across seeds", async () => {
  const d = data();
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
  const d = data();
  const a = await run("init-a", 2);
  const runs: InputValue[] = [
    { item: item("sgd", 0), data: a.bytes },
    { item: item("adam", 0), data: a.bytes },
  ];
  const params = { "metrics.barrier": false, "model.loss": "cross_entropy" };
  const out = await barrierStage.run(context(params, runs, d.bytes));
  assertEquals(decodeJson(out.barriers!), []);
});
