import {
  assert,
  assertEquals,
  assertStrictEquals,
  assertThrowsMatch,
} from "../../assert.ts";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../../pipeline/rng.ts";
import { initWasmBackend } from "../../../stages/nn/backend.ts";
import type { ModelConfig } from "../../../stages/nn/contracts.ts";
import {
  countParams,
  createModel,
  layerIndexOfVariable,
  trainableVariables,
  variableInfo,
} from "../../../stages/nn/model.ts";

await initWasmBackend();

const PAPER: ModelConfig = {
  arch: "mlp",
  hidden: [512, 256, 128, 64],
  loss: "cross_entropy",
  inputSize: 784,
  classes: 10,
};
const TINY: ModelConfig = {
  ...PAPER,
  hidden: [6, 5],
  inputSize: 4,
  classes: 3,
};

const values = (m: tf.LayersModel) =>
  trainableVariables(m).map((v) => Array.from(v.dataSync()));

Deno.test("createModel() paper MLP has 575,050 parameters in 5 layers", () => {
  const m = createModel(PAPER, Rng.fromSeed(0));
  // 784·512+512 + 512·256+256 + 256·128+128 + 128·64+64 + 64·10+10
  assertStrictEquals(countParams(m), 401920 + 131328 + 32896 + 8256 + 650);
  assertStrictEquals(countParams(m), 575050);
  assertEquals(layerIndexOfVariable(m), [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
  assertEquals(
    variableInfo(m).map((v) => v.kind),
    Array(5).fill(["kernel", "bias"]).flat(),
  );
  m.dispose();
});

Deno.test("createModel() draws PyTorch's uniform ±1/sqrt(fan_in) for weights and biases", () => {
  const m = createModel(PAPER, Rng.fromSeed(3));
  const fanIns = [784, 784, 512, 512, 256, 256, 128, 128, 64, 64];
  trainableVariables(m).forEach((v, i) => {
    const bound = 1 / Math.sqrt(fanIns[i]!);
    const x = v.dataSync();
    let max = 0, sum = 0, sq = 0;
    for (const a of x) {
      max = Math.max(max, Math.abs(a));
      sum += a;
      sq += a * a;
    }
    assert(max <= bound * (1 + 1e-6), `variable ${i} exceeds the bound`);
    // Uniform on ±b: max |x| near b; variance b²/3 (checked on the large kernels).
    assert(
      max > bound * 0.8,
      `variable ${i} max ${max} far below bound ${bound}`,
    );
    if (x.length > 1000) {
      const variance = sq / x.length - (sum / x.length) ** 2;
      assert(
        Math.abs(variance / (bound * bound / 3) - 1) < 0.05,
        `variable ${i} variance ${variance}`,
      );
    }
  });
  m.dispose();
});

Deno.test("createModel() is deterministic in the seed", () => {
  const a = createModel(TINY, Rng.fromSeed(7));
  const b = createModel(TINY, Rng.fromSeed(7));
  const c = createModel(TINY, Rng.fromSeed(8));
  assertEquals(values(a), values(b));
  assert(JSON.stringify(values(a)) !== JSON.stringify(values(c)));
  // The first kernel value is the Rng's first uniform draw scaled to ±1/sqrt(4) = ±0.5.
  const r = Rng.fromSeed(7);
  assertStrictEquals(values(a)[0]![0], Math.fround(r.uniform(-0.5, 0.5)));
  for (const m of [a, b, c]) m.dispose();
});

Deno.test("createModel() outputs linear logits: the last layer is affine in its input", () => {
  const m = createModel(TINY, Rng.fromSeed(1));
  const x = tf.tensor2d([[0.1, -0.2, 0.3, 0.4], [1, 2, -3, 0]]);
  const y = m.predict(x) as tf.Tensor;
  assertEquals(y.shape, [2, 3]);
  // Reproduce in float64: relu(relu(x W1 + b1) W2 + b2) W3 + b3.
  const [w1, b1, w2, b2, w3, b3] = trainableVariables(m).map((v) =>
    v.arraySync()
  );
  const layer = (h: number[], w: unknown, b: unknown, relu: boolean) =>
    (b as number[]).map((bj, j) => {
      let s = bj;
      h.forEach((hi, i) => s += hi * (w as number[][])[i]![j]!);
      return relu ? Math.max(0, s) : s;
    });
  const xs = x.arraySync();
  const got = y.arraySync() as number[][];
  xs.forEach((row, r) => {
    const out = layer(
      layer(layer(row, w1, b1, true), w2, b2, true),
      w3,
      b3,
      false,
    );
    out.forEach((o, j) =>
      assert(Math.abs(o - got[r]![j]!) < 1e-5, `${o} vs ${got[r]![j]}`)
    );
  });
  m.dispose();
});

Deno.test("createModel() cnn has the documented shape and 12,810 parameters", () => {
  const m = createModel({ ...PAPER, arch: "cnn", hidden: [] }, Rng.fromSeed(0));
  // conv 3·3·1·16+16, conv 3·3·16·32+32, dense (5·5·32)·10+10
  assertStrictEquals(countParams(m), 160 + 4640 + 8010);
  assertEquals(layerIndexOfVariable(m), [0, 0, 1, 1, 2, 2]);
  const y = m.predict(tf.zeros([2, 784])) as tf.Tensor;
  assertEquals(y.shape, [2, 10]);
  // Conv fan_in = 3·3·1 = 9: bound 1/3.
  const k = trainableVariables(m)[0]!.dataSync();
  assert(Math.max(...Array.from(k, Math.abs)) <= 1 / 3 + 1e-7);
  m.dispose();
});

Deno.test("createModel() round-trips through the tfjs layers format", async () => {
  const m = createModel(TINY, Rng.fromSeed(2));
  let saved: tf.io.ModelArtifacts | null = null;
  await m.save(tf.io.withSaveHandler((artifacts) => {
    saved = artifacts;
    return Promise.resolve({
      modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" },
    });
  }));
  assert(saved !== null);
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved));
  assertEquals(values(loaded), values(m));
  m.dispose();
  loaded.dispose();
});

Deno.test("createModel() rejects bad configs with one-line errors naming the field", () => {
  assertThrowsMatch(
    () => createModel({ ...TINY, arch: "rnn" as "mlp" }, Rng.fromSeed(0)),
    /^Error: model\.arch must be one of mlp, cnn, got 'rnn'$/,
  );
  assertThrowsMatch(
    () => createModel({ ...TINY, hidden: [4, 0] }, Rng.fromSeed(0)),
    /model\.hidden\[1\] must be a positive integer, got 0/,
  );
  assertThrowsMatch(
    () => createModel({ ...TINY, hidden: [2.5] }, Rng.fromSeed(0)),
    /model\.hidden\[0\]/,
  );
  assertThrowsMatch(
    () => createModel({ ...TINY, classes: 0 }, Rng.fromSeed(0)),
    /model\.classes/,
  );
  assertThrowsMatch(
    () => createModel({ ...TINY, arch: "cnn", inputSize: 10 }, Rng.fromSeed(0)),
    /model\.inputSize must be a square/,
  );
});
