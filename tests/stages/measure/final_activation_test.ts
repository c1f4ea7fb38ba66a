import * as tf from "@tensorflow/tfjs";
import {
  assert,
  assertEquals,
  assertRejectsMatch,
  assertThrowsMatch,
} from "../../assert.ts";
import {
  checkFinalActivation,
  finalActivation,
  logitsTwin,
} from "../../../stages/measure/final_activation.ts";
import {
  type MeasureInput,
  measureModel,
} from "../../../stages/measure/measure_model.ts";
import { initWasmBackend } from "../../../stages/nn/backend.ts";
import { seededMlp } from "./_keras.ts";

await initWasmBackend();

/** A 5-4-3 MLP whose last layer has `activation`, seeded. */
const mlp = (activation: string, name = "out") =>
  seededMlp([5, 4, 3], activation, { stddev: 1, name });

/** Six samples of 5 features with labels 0..2. */
const X = Float32Array.from({ length: 30 }, (_, i) => Math.sin(1.7 * i));
const Y = Int32Array.from([0, 1, 2, 2, 1, 0]);

function input(
  model: tf.LayersModel,
  loss: MeasureInput["loss"],
): MeasureInput {
  return {
    model,
    images: X,
    labels: Y,
    batch: 4,
    shuffleSeed: null,
    lr: 0.1,
    loss,
    optimizer: { name: "sgd", lr: 0.1 },
    optimizerState: null,
    sharpness: null,
  };
}

Deno.test("measureModel() rejects a final activation cross-entropy cannot use, naming layer, activation and allowed values", async () => {
  for (const activation of ["tanh", "sigmoid", "relu"]) {
    const model = mlp(activation);
    await assertRejectsMatch(
      measureModel(input(model, "cross_entropy")),
      new RegExp(
        `^Error: --model: final layer 'out' has activation '${activation}'; --loss cross_entropy needs one of linear, softmax \\(or use --loss squared\\)$`,
      ),
    );
    // Squared error is of the model's output f(x) whatever it is (SCIENCE §1.3).
    const report = await measureModel(input(model, "squared"));
    assertEquals(report.final_activation, {
      layer: "out",
      activation,
      loss_of: "outputs",
    });
    model.dispose();
  }
  assertThrowsMatch(
    () =>
      checkFinalActivation(
        { layer: "act", activation: "leakyrelu" },
        "cross_entropy",
      ),
    /^Error: --model: final layer 'act' has activation 'leakyrelu'/,
  );
});

Deno.test("measureModel() with squared error on a softmax-ended model takes the loss of the softmax outputs", async () => {
  const model = mlp("softmax");
  const report = await measureModel(input(model, "squared"));
  // Brute force: mean over samples of ||softmax(z) − onehot(y)||², in float64.
  const out = tf.tidy(() =>
    (model.predict(tf.tensor2d(X, [6, 5])) as tf.Tensor).dataSync()
  );
  let want = 0;
  for (let i = 0; i < 6; i++) {
    for (let c = 0; c < 3; c++) {
      want += (out[i * 3 + c]! - (Y[i] === c ? 1 : 0)) ** 2 / 6;
    }
  }
  assert(
    Math.abs(report.loss - want) < 1e-6 * want,
    `${report.loss} vs ${want}`,
  );
  assertEquals(report.final_activation.loss_of, "outputs");
  model.dispose();
});

Deno.test("logitsTwin() drops a Softmax layer behind a Dropout in a functional model, keeping the weights", async () => {
  const x = tf.input({ shape: [5] });
  const h = tf.layers.dense({ units: 4, activation: "relu" }).apply(x);
  const z = tf.layers.dense({ units: 3, name: "logits" }).apply(h);
  const p = tf.layers.softmax({ name: "probs" }).apply(z);
  const out = tf.layers.dropout({ rate: 0.5 }).apply(p) as tf.SymbolicTensor;
  const model = tf.model({ inputs: x, outputs: out });
  const final = finalActivation(model);
  assertEquals(final, { layer: "probs", activation: "softmax" });
  const twin = await logitsTwin(model, final);
  const logitsModel = tf.model({ inputs: x, outputs: z as tf.SymbolicTensor });
  const xs = tf.tensor2d(X, [6, 5]);
  const got = tf.tidy(() =>
    Array.from((twin.predict(xs) as tf.Tensor).dataSync())
  );
  const want = tf.tidy(() =>
    Array.from((logitsModel.predict(xs) as tf.Tensor).dataSync())
  );
  assertEquals(got, want);
  // The original still ends in its softmax: rows sum to 1.
  const sums = tf.tidy(() =>
    Array.from(tf.sum(model.predict(xs) as tf.Tensor, 1).dataSync())
  );
  sums.forEach((s) => assert(Math.abs(s - 1) < 1e-6, `${s}`));
  // A cross-entropy measure goes through the twin: its loss is of the logits.
  const before = tf.memory().numTensors;
  const a = await measureModel(input(model, "cross_entropy"));
  assertEquals(tf.memory().numTensors, before); // the twin is disposed
  const b = await measureModel(input(logitsModel, "cross_entropy"));
  assertEquals(a.loss, b.loss);
  assertEquals(a.sum_g2, b.sum_g2);
  assertEquals(a.final_activation.loss_of, "logits");
  tf.dispose([xs]);
  twin.dispose();
  model.dispose();
});

Deno.test("finalActivation() reads Activation layers and calls a layer without one linear", () => {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [5], units: 3 }),
      tf.layers.activation({ activation: "softmax", name: "act" }),
    ],
  });
  assertEquals(finalActivation(model), { layer: "act", activation: "softmax" });
  const plain = tf.sequential({
    layers: [tf.layers.dense({ inputShape: [5], units: 3, name: "d" })],
  });
  assertEquals(finalActivation(plain), { layer: "d", activation: "linear" });
  // A model used as a layer hides its activation: refused, not guessed.
  const x = tf.input({ shape: [5] });
  const nested = tf.model({
    inputs: x,
    outputs: model.apply(x) as tf.SymbolicTensor,
  });
  assertThrowsMatch(
    () => finalActivation(nested),
    /^Error: --model: the output comes from the nested model '[^']+'; measure needs its layers at the top level$/,
  );
  const two = tf.model({
    inputs: x,
    outputs: [
      plain.layers[0]!.apply(x) as tf.SymbolicTensor,
      tf.layers.dense({ units: 2 }).apply(x) as tf.SymbolicTensor,
    ],
  });
  assertThrowsMatch(
    () => finalActivation(two),
    /^Error: --model: expected a model with one output, got 2$/,
  );
  model.dispose();
  plain.dispose();
});
