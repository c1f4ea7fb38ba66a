/**
 * `deno task export`: real checkpoints of a tiny MLP, stored as a train
 * instance's output in a temp project, exported through the engine; the
 * files load with tf.loadLayersModel and give the project model's logits
 * through a softmax, and `deno task measure` reads them.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertThrows } from "../../assert.ts";
import type { Stage } from "../../../pipeline/stage.ts";
import { initWasmBackend } from "../../../stages/nn/backend.ts";
import {
  exportCommand,
  runFolder,
  withSoftmaxOutput,
} from "../../../stages/commands/export.ts";
import { parseMeasureArgs } from "../../../stages/measure/args.ts";
import { runMeasure } from "../../../stages/measure/cli.ts";
import { cliProject, listFiles } from "../../pipeline/commands/_cli.ts";
import {
  fakeStage,
  SEED_FOREACH,
  stubModule,
} from "../../pipeline/_project.ts";
import { mnistMlp, steppedCheckpoints } from "../_models.ts";

const CONFIG = mnistMlp([8, 4]);

/** A model moved off its initialisation by two SGD steps, and its checkpoints at epochs 0 and 3. */
async function trainedCheckpoints(seed: number) {
  const { bytes, model, optimizer } = await steppedCheckpoints(
    CONFIG,
    `export-${seed}`,
    {
      optimizer: { name: "sgd", lr: 0.05 },
      steps: 2,
      epoch: 3,
      gradients: (vars, k) =>
        vars.map((v) =>
          tf.randomNormal(v.shape, 0, 1, "float32", seed * 10 + k)
        ),
    },
  );
  optimizer.dispose();
  return { model, bytes };
}

/** Loads model.json + weights.bin from disk through a custom IOHandler. */
function loadFromFiles(dir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel({
    load() {
      const json = JSON.parse(Deno.readTextFileSync(`${dir}/model.json`));
      const group = json.weightsManifest[0];
      assertEquals(group.paths, ["weights.bin"]);
      const weights = Deno.readFileSync(`${dir}/${group.paths[0]}`);
      return Promise.resolve({
        modelTopology: json.modelTopology,
        weightSpecs: group.weights,
        weightData: weights.buffer.slice(
          weights.byteOffset,
          weights.byteOffset + weights.byteLength,
        ),
        format: json.format,
      });
    },
  });
}

Deno.test("withSoftmaxOutput() turns the linear output Dense into softmax, and only for cross-entropy", () => {
  const topology = {
    modelTopology: {
      class_name: "Sequential",
      config: {
        layers: [
          { class_name: "Dense", config: { activation: "relu" } },
          { class_name: "Dense", config: { activation: "linear" } },
        ],
      },
    },
    weightsManifest: [],
  } as unknown as tf.io.ModelJSON;
  const layers = (m: tf.io.ModelJSON) =>
    (m.modelTopology as { config: { layers: { config: unknown }[] } }).config
      .layers.map((l) => l.config);
  assertEquals(layers(withSoftmaxOutput(topology, "cross_entropy")), [
    { activation: "relu" },
    { activation: "softmax" },
  ]);
  assertEquals(
    layers(topology)[1],
    { activation: "linear" },
    "input untouched",
  );
  assertEquals(layers(withSoftmaxOutput(topology, "squared"))[1], {
    activation: "linear",
  });
  const conv = structuredClone(topology) as unknown as {
    modelTopology: { config: { layers: { class_name: string }[] } };
  };
  conv.modelTopology.config.layers[1]!.class_name = "Conv2D";
  assertThrows(
    () =>
      withSoftmaxOutput(
        conv as unknown as tf.io.ModelJSON,
        "cross_entropy",
      ),
    Error,
    "last layer is 'Conv2D'",
  );
  assertEquals(
    runFolder("train[optimizer=sgd,seed=0]"),
    "optimizer=sgd,seed=0",
  );
  assertEquals(
    runFolder("train[cell=lr=0.1 x,seed=0]"),
    "cell=lr=0.1_x,seed=0",
  );
});

Deno.test("export writes each cached run's checkpoints; tf.loadLayersModel gives softmax of the model's logits, and measure reads them", async () => {
  await initWasmBackend();
  const runs = [await trainedCheckpoints(0), await trainedCheckpoints(1)];
  const { p, cli } = await cliProject({ export: exportCommand }, (q) => {
    const download = fakeStage(q, "download", {
      module: stubModule(q, "download"),
      params: ["a.x"],
    });
    const train: Stage = {
      name: "train",
      module: stubModule(q, "train"),
      params: [],
      inputs: { data: { stage: "download", output: "out" } },
      foreach: SEED_FOREACH,
      outputs: ["checkpoints"],
      run: (ctx) => {
        q.runs.push(`train${ctx.item.seed}`);
        return { checkpoints: runs[ctx.item.seed as number]!.bytes };
      },
    };
    return [download, train];
  });
  const out = `${p.root}/exported`;
  // Nothing cached yet: export trains nothing and says what to run.
  const refused = await cli(["export", "--out", out]);
  assertEquals(refused.code, 2);
  assert(
    refused.err.includes("No trained run of 'test' is cached"),
    refused.err,
  );
  assertEquals(p.runs, []);
  await cli(["reproduce"]);
  p.runs.length = 0;
  const done = await cli(["export", "--out", out]);
  assertEquals(done.code, 0, done.err);
  assertEquals(p.runs, [], "export reads the cache, it does not run stages");
  assertEquals(listFiles(out), [
    "export.json",
    "seed=0/epoch-0/model.json",
    "seed=0/epoch-0/weights.bin",
    "seed=0/epoch-3/model.json",
    "seed=0/epoch-3/weights.bin",
    "seed=1/epoch-0/model.json",
    "seed=1/epoch-0/weights.bin",
    "seed=1/epoch-3/model.json",
    "seed=1/epoch-3/weights.bin",
  ]);
  const index = JSON.parse(Deno.readTextFileSync(`${out}/export.json`));
  assertEquals(index.runs.map((r: { epochs: number[] }) => r.epochs), [
    [0, 3],
    [0, 3],
  ]);

  const x = tf.randomUniform([5, 784], 0, 1, "float32", 42);
  for (const [seed, run] of runs.entries()) {
    const loaded = await loadFromFiles(`${out}/seed=${seed}/epoch-3`);
    const last = loaded.layers.at(-1)!.getConfig();
    assertEquals(last["activation"], "softmax");
    const expected = tf.softmax(run.model.predict(x) as tf.Tensor2D);
    const got = loaded.predict(x) as tf.Tensor2D;
    const e = expected.dataSync();
    const g = got.dataSync();
    assertEquals(g.length, 50);
    let maxDiff = 0;
    for (let i = 0; i < e.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(e[i]! - g[i]!));
    }
    assert(maxDiff < 1e-6, `softmax(logits) vs export: max diff ${maxDiff}`);
    // Rows are probabilities.
    const sums = got.sum(1).dataSync();
    for (const s of sums) assert(Math.abs(s - 1) < 1e-5, `row sum ${s}`);
    tf.dispose([expected, got]);
    loaded.dispose();
  }
  x.dispose();

  // Only some epochs.
  const only = `${p.root}/only`;
  await cli(["export", "--out", only, "--epochs", "3"]);
  assertEquals(listFiles(only).filter((f) => f.includes("epoch-0")), []);

  // deno task measure reads an exported model (its numbers are measure's concern).
  const options = parseMeasureArgs([
    "--model",
    `${out}/seed=0/epoch-3/model.json`,
    "--count",
    "64",
    "--lr",
    "0.05",
  ])!;
  const report = await runMeasure(options);
  assertEquals(report.n, 64);
  assertEquals(report.m, 1);
  for (const v of [report.sum_g2, report.norm, report.loss, report.error]) {
    assert(Number.isFinite(v), `finite: ${v}`);
  }
});
