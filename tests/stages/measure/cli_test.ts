import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertThrowsMatch } from "../../assert.ts";
import { Rng } from "../../../pipeline/rng.ts";
import { HELP, parseMeasureArgs } from "../../../stages/measure/args.ts";
import {
  loadMeasureData,
  loadModelFile,
  runMeasure,
} from "../../../stages/measure/cli.ts";
import { measureBatches } from "../../../stages/measure/measure_model.ts";
import { initWasmBackend } from "../../../stages/nn/backend.ts";
import { encodeOptimizerState } from "../../../stages/nn/checkpoint.ts";
import type { OptimizerConfig } from "../../../stages/nn/contracts.ts";
import { meanLoss } from "../../../stages/nn/losses.ts";
import { createModel, trainableVariables } from "../../../stages/nn/model.ts";
import { createOptimizer } from "../../../stages/nn/optimizers.ts";
import { seededMlp } from "./_keras.ts";

await initWasmBackend();

/** Saves a tiny 784-3-10 ReLU MLP as model.json + weights.bin in a temp folder. */
async function savedModel(): Promise<{ dir: string; model: tf.LayersModel }> {
  const model = createModel(
    {
      arch: "mlp",
      hidden: [3],
      loss: "cross_entropy",
      inputSize: 784,
      classes: 10,
    },
    Rng.fromSeed("cli"),
  );
  const dir = await Deno.makeTempDir();
  await saveModel(model, dir);
  return { dir, model };
}

/** Writes model.json + weights.bin into `dir`, as tfjs's file handler lays them out. */
async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(tf.io.withSaveHandler(async (a) => {
    const json = {
      modelTopology: a.modelTopology,
      format: "layers-model",
      weightsManifest: [{ paths: ["weights.bin"], weights: a.weightSpecs }],
    };
    await Deno.writeTextFile(`${dir}/model.json`, JSON.stringify(json));
    await Deno.writeFile(
      `${dir}/weights.bin`,
      new Uint8Array(a.weightData as ArrayBuffer),
    );
    return {
      modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: "JSON" },
    };
  }));
}

/** Plain per-batch gradients of the model, flattened to float64. */
function batchGradients(
  model: tf.LayersModel,
  images: Float32Array,
  labels: Int32Array,
  batches: Uint32Array[],
): Float64Array[] {
  const vars = trainableVariables(model);
  return batches.map((b) => {
    const x = tf.tensor2d(
      Array.from(b).flatMap((i) =>
        Array.from(images.subarray(i * 784, (i + 1) * 784))
      ),
      [
        b.length,
        784,
      ],
    );
    const y = tf.tensor1d(Array.from(b).map((i) => labels[i]!), "int32");
    const { value, grads } = tf.variableGrads(
      () => meanLoss(model.apply(x) as tf.Tensor2D, y, "cross_entropy"),
      vars,
    );
    const g = Float64Array.from(
      vars.flatMap((v) => Array.from(grads[v.name]!.dataSync())),
    );
    tf.dispose([x, y, value, ...Object.values(grads)]);
    return g;
  });
}

/**
 * Takes two steps of `optimizer` on `model` with fixed gradients
 * (0.01·(i+1)·(step+1) for variable i) and saves its state in `dir` like a
 * checkpoint's optimizer.bin.
 */
async function saveTwoSteps(
  optimizer: OptimizerConfig,
  model: tf.LayersModel,
  dir: string,
): Promise<void> {
  const vars = trainableVariables(model);
  const opt = createOptimizer(optimizer, vars);
  for (let s = 0; s < 2; s++) {
    opt.step(vars.map((v, i) => tf.fill(v.shape, 0.01 * (i + 1) * (s + 1))));
  }
  await Deno.writeFile(
    `${dir}/optimizer.bin`,
    encodeOptimizerState(opt.saveState()),
  );
  opt.dispose();
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

Deno.test("runMeasure() on a saved MLP and 100 noisy MNIST samples matches a brute-force loop", async () => {
  const { dir, model } = await savedModel();
  // An Adam state after two steps, saved like a checkpoint's optimizer.bin.
  await saveTwoSteps({ name: "adam", lr: 0.01 }, model, dir);
  const vars = trainableVariables(model);

  const options = parseMeasureArgs([
    "--model",
    `${dir}/model.json`,
    "--count",
    "100",
    "--noise",
    "0.3",
    "--seed",
    "0",
    "--batch",
    "32",
    "--lr",
    "0.5",
    "--optimizer",
    "adam",
    "--optimizer-state",
    `${dir}/optimizer.bin`,
  ])!;
  const report = await runMeasure(options);
  const data = await loadMeasureData(options);
  // 30 of 100 labels differ from the clean file.
  const clean = await loadMeasureData({ ...options, noise: 0 });
  assertEquals(data.labels.filter((y, i) => y !== clean.labels[i]).length, 30);

  const batches = measureBatches(100, 32, null);
  assertEquals(batches.map((b) => b.length), [32, 32, 32, 4]);
  assertEquals(Array.from(batches[1]!.slice(0, 2)), [32, 33]);
  // The saved weights (the Adam steps above moved the in-memory ones).
  const saved = await loadModelFile(`${dir}/model.json`);
  const gs = batchGradients(saved, data.images, data.labels, batches);
  const m = gs.length;
  const sumG2 = gs.reduce((a, g) => a + g.reduce((s, x) => s + x * x, 0), 0);
  // Adam's v̂ after steps with g = 0.01·(i+1)·s: v = 0.001·Σ_s β₂^{2−s}·g_s², v̂ = v/(1−β₂²).
  const vhat = vars.flatMap((v, i) => {
    const g1 = 0.01 * (i + 1);
    const g2 = 0.02 * (i + 1);
    const vv = (0.001 * 0.999 * g1 * g1 + 0.001 * g2 * g2) / (1 - 0.999 ** 2);
    return new Array<number>(v.size).fill(vv);
  });
  const sumPre = gs.reduce(
    (a, g) =>
      a + g.reduce((s, x, j) => s + (x * x) / (Math.sqrt(vhat[j]!) + 1e-8), 0),
    0,
  );
  assertEquals(report.m, 4);
  assert(rel(report.sum_g2, sumG2) < 1e-6, `${report.sum_g2} vs ${sumG2}`);
  assert(rel(report.terms.ir_sgd, (0.5 / (4 * m)) * sumG2) < 1e-6);
  assert(
    rel(
      report.terms.ir_sgd_mean + report.terms.ir_sgd_var,
      report.terms.ir_sgd,
    ) < 1e-12,
  );
  assert(rel(report.sum_pre, sumPre) < 1e-4, `${report.sum_pre} vs ${sumPre}`);
  assert(rel(report.pre_scale, 19) < 1e-12); // (1+β₁)/(1−β₁)
  assert(
    rel(report.terms.ir_preconditioned, (19 * 0.5 / (4 * m)) * sumPre) < 1e-4,
  );
  const norm = Math.sqrt(
    trainableVariables(saved).reduce(
      (a, v) => a + Array.from(v.dataSync()).reduce((s, x) => s + x * x, 0),
      0,
    ),
  );
  assert(rel(report.norm, norm) < 1e-12, `${report.norm} vs ${norm}`);
  assertEquals(report.sharpness, null);
  model.dispose();
  saved.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadModelFile() reads model.json and its weights back unchanged", async () => {
  const { dir, model } = await savedModel();
  const loaded = await loadModelFile(`${dir}/model.json`);
  const a = trainableVariables(model).map((v) => Array.from(v.dataSync()));
  const b = trainableVariables(loaded).map((v) => Array.from(v.dataSync()));
  assertEquals(b, a);
  model.dispose();
  loaded.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("parseMeasureArgs() documents every flag in --help and rejects bad values by flag", () => {
  assertEquals(parseMeasureArgs(["--help"]), null);
  for (
    const flag of [
      "model",
      "dataset",
      "split",
      "count",
      "noise",
      "seed",
      "batch",
      "lr",
      "loss",
      "optimizer",
      "optimizer-state",
      "sharpness",
      "sharpness-subset",
      "sharpness-tol",
      "sharpness-max-iter",
      "shuffle-seed",
      "help",
    ]
  ) assert(HELP.includes(`--${flag} `), `--${flag} is documented`);
  assertThrowsMatch(() => parseMeasureArgs([]), /--model: required/);
  assertThrowsMatch(
    () => parseMeasureArgs(["--model", "m.json", "--noise", "1"]),
    /--noise: expected a rate in \[0, 1\)/,
  );
  assertThrowsMatch(
    () => parseMeasureArgs(["--model", "m.json", "--batch", "0"]),
    /--batch: expected an integer ≥ 1/,
  );
  assertThrowsMatch(
    () => parseMeasureArgs(["--model", "m.json", "--optimizer", "lamb"]),
    /--optimizer: expected one of/,
  );
  const o = parseMeasureArgs([
    "--model",
    "m.json",
    "--optimizer",
    '{"name":"sgd","momentum":0.9}',
    "--lr",
    "0.1",
  ])!;
  assertEquals(o.optimizer, { name: "sgd", momentum: 0.9, lr: 0.1 });
  assertEquals(o.shuffleSeed, null);
  const shuffled = measureBatches(10, 4, 3);
  assertEquals(
    Array.from(shuffled.flatMap((b) => Array.from(b))).sort((p, q) => p - q),
    [...Array(10).keys()],
  );
  assertEquals(
    Array.from(shuffled[0]!),
    Array.from(Rng.fromSeed(3).permutation(10).slice(0, 4)),
  );
});

Deno.test("parseMeasureArgs() applies the FLAGS defaults and checks positive and optional flags by name", () => {
  const d = parseMeasureArgs(["--model", "m.json"])!;
  assertEquals(
    [d.dataset, d.split, d.count, d.noise, d.seed, d.batch, d.lr, d.loss],
    ["mnist", "train", null, 0, 0, 64, 0.001, "cross_entropy"],
  );
  assertEquals(
    [d.sharpness, d.sharpnessSubset, d.sharpnessTol, d.sharpnessMaxIter],
    [false, 1000, 0.001, 100],
  );
  assertEquals([d.optimizerState, d.shuffleSeed], [null, null]);
  const o = parseMeasureArgs([
    "--model",
    "m.json",
    "--count",
    "7",
    "--shuffle-seed",
    "0",
  ])!;
  assertEquals([o.count, o.shuffleSeed], [7, 0]);
  assertThrowsMatch(
    () => parseMeasureArgs(["--model", "m.json", "--lr", "0"]),
    /: --lr: expected a positive number, got 0$/,
  );
  assertThrowsMatch(
    () => parseMeasureArgs(["--model", "m.json", "--sharpness-tol=-1e-3"]),
    /: --sharpness-tol: expected a positive number, got -1e-3$/,
  );
  assertThrowsMatch(
    () => parseMeasureArgs(["--model", "m.json", "--lr", "fast"]),
    /: --lr: expected a number, got 'fast'$/,
  );
  assertThrowsMatch(
    () => parseMeasureArgs(["--model", "m.json", "--count", "0"]),
    /: --count: expected an integer ≥ 1, got '0'$/,
  );
  assertThrowsMatch(
    () => parseMeasureArgs(["--model", "m.json", "--shuffle-seed=-1"]),
    /: --shuffle-seed: expected an integer ≥ 0, got '-1'$/,
  );
});

/** A Keras-convention classifier, 784-16-10 with a softmax on its last layer, seeded. */
const kerasClassifier = (last: "softmax" | "linear") =>
  seededMlp([784, 16, 10], last, { stddev: 0.3 });

Deno.test("runMeasure() of a saved softmax-ended model equals its linear twin: sums, terms, sharpness", async () => {
  const softmax = kerasClassifier("softmax");
  // The twin the test builds itself: same layers, linear last, same weights.
  const linear = kerasClassifier("linear");
  linear.setWeights(softmax.getWeights());
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/softmax`);
  await Deno.mkdir(`${dir}/linear`);
  await saveModel(softmax, `${dir}/softmax`);
  await saveModel(linear, `${dir}/linear`);
  // RMSprop with momentum 0.5 after two steps, for the §2.6 sum and its scale 6.
  await saveTwoSteps(
    { name: "rmsprop", lr: 0.01, momentum: 0.5 },
    linear,
    dir,
  );
  linear.setWeights(softmax.getWeights()); // undo the steps

  const measure = (which: string) =>
    runMeasure(
      parseMeasureArgs([
        "--model",
        `${dir}/${which}/model.json`,
        "--count",
        "100",
        "--batch",
        "32",
        "--lr",
        "0.1",
        "--optimizer",
        '{"name":"rmsprop","momentum":0.5}',
        "--optimizer-state",
        `${dir}/optimizer.bin`,
        "--sharpness",
        "--sharpness-subset",
        "60",
      ])!,
    );
  const a = await measure("softmax");
  const b = await measure("linear");
  const layer = softmax.layers[1]!.name;
  assertEquals(a.final_activation, {
    layer,
    activation: "softmax",
    loss_of: "logits",
  });
  assertEquals(b.final_activation.activation, "linear");
  const close = (x: number, y: number, what: string) =>
    assert(
      Object.is(x, y) || Math.abs(x - y) <= 1e-6 * Math.abs(y),
      `${what}: ${x} vs ${y}`,
    );
  // Every number of the report: the raw sums, norm, loss and error.
  for (const [key, value] of Object.entries(b)) {
    if (typeof value === "number") {
      close(a[key as keyof typeof a] as number, value, key);
    }
  }
  for (const [key, value] of Object.entries(b.terms)) {
    close(a.terms[key as keyof typeof a.terms], value, key);
  }
  assert(a.sharpness !== null && b.sharpness !== null);
  close(a.sharpness.value, b.sharpness.value, "sharpness");
  assertEquals(a.sharpness.method, b.sharpness.method);
  // The reported residual is the bound the tolerance promises (SCIENCE §4.2).
  assert(
    a.sharpness.converged && a.sharpness.residual <= 1e-3,
    `residual ${a.sharpness.residual}`,
  );
  assert(rel(a.pre_scale, 6) < 1e-12, `pre_scale ${a.pre_scale}`); // 1.5/0.5²

  // The loss is cross-entropy of the logits, and far from softmax applied twice.
  const data = await loadMeasureData({
    dataset: "mnist",
    split: "train",
    count: 100,
    noise: 0,
    seed: 0,
  });
  const [logitsLoss, twiceLoss] = tf.tidy(() => {
    const x = tf.tensor2d(data.images, [100, 784]);
    const y = tf.tensor1d(data.labels, "int32");
    return [
      meanLoss(linear.apply(x) as tf.Tensor2D, y, "cross_entropy"),
      meanLoss(softmax.apply(x) as tf.Tensor2D, y, "cross_entropy"),
    ].map((t) => t.dataSync()[0]!);
  });
  assert(rel(a.loss, logitsLoss!) < 1e-6, `${a.loss} vs ${logitsLoss}`);
  assert(rel(a.loss, twiceLoss!) > 0.05, `${a.loss} vs ${twiceLoss}`);
  softmax.dispose();
  linear.dispose();
  await Deno.remove(dir, { recursive: true });
});
