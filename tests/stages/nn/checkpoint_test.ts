import * as tf from "@tensorflow/tfjs";
import { assertEquals, assertThrows } from "../../assert.ts";
import { Rng } from "../../../pipeline/rng.ts";
import { initWasmBackend } from "../../../stages/nn/backend.ts";
import {
  captureCheckpoint,
  checkpointFolder,
  checkpointSchedule,
  decodeOptimizerState,
  encodeCheckpoints,
  encodeOptimizerState,
  readCheckpoints,
} from "../../../stages/nn/checkpoint.ts";
import { createModel, trainableVariables } from "../../../stages/nn/model.ts";
import { createOptimizer } from "../../../stages/nn/optimizers.ts";
import { trainStage } from "../../../stages/train/stage.ts";
import { sgdItem, tinyBundles, tinyContext, tinyParams } from "./_helpers.ts";
import { mnistMlp } from "../_models.ts";

Deno.test("checkpointSchedule() keeps requested epochs within the run and always adds the last", () => {
  assertEquals(
    checkpointSchedule([0, 1, 2, 5, 10, 20, 50, 100, 200, 300], 300),
    [0, 1, 2, 5, 10, 20, 50, 100, 200, 300],
  );
  assertEquals(checkpointSchedule([0, 1, 2, 5, 10, 20], 7), [0, 1, 2, 5, 7]);
  assertEquals(checkpointSchedule([5, 0, 5, -1, 2.5], 5), [0, 5]);
  assertEquals(checkpointSchedule([], 0), [0]);
  assertEquals(checkpointFolder(5), "epoch-0005");
});

Deno.test("captureCheckpoint() round-trips through tf.loadLayersModel with identical predictions and optimizer state", async () => {
  await initWasmBackend();
  const model = createModel(mnistMlp([8, 4]), Rng.fromSeed(7));
  const vars = trainableVariables(model);
  const optimizer = createOptimizer({ name: "adam", lr: 0.01 }, vars);
  // Two steps so that Adam's moments are non-zero.
  for (let k = 0; k < 2; k++) {
    const grads = vars.map((v) => tf.fill(v.shape, k + 1));
    optimizer.step(grads);
    tf.dispose(grads);
  }
  const files = await captureCheckpoint(model, optimizer, 5);
  assertEquals(Object.keys(files).sort(), [
    "epoch-0005/model.json",
    "epoch-0005/optimizer.bin",
    "epoch-0005/weights.bin",
  ]);
  // 784·8 + 8 + 8·4 + 4 + 4·10 + 10 float32 values.
  assertEquals(
    files["epoch-0005/weights.bin"]!.length,
    4 * (784 * 8 + 8 + 32 + 4 + 40 + 10),
  );

  const [checkpoint] = readCheckpoints(encodeCheckpoints(files));
  assertEquals(checkpoint!.epoch, 5);
  assertEquals(checkpoint!.modelJson.weightsManifest[0]!.paths, [
    "weights.bin",
  ]);
  const loaded = await checkpoint!.load();
  const x = tf.tensor2d(
    Float32Array.from({ length: 3 * 784 }, (_, i) => (i % 17) / 17),
    [3, 784],
  );
  const before = model.predict(x) as tf.Tensor;
  const after = loaded.predict(x) as tf.Tensor;
  assertEquals(Array.from(after.dataSync()), Array.from(before.dataSync()));
  assertEquals(checkpoint!.optimizerState(), optimizer.saveState());
  assertEquals(optimizer.saveState().scalars.steps, 2);
  tf.dispose([x, before, after]);
  loaded.dispose();
  optimizer.dispose();
  model.dispose();
});

Deno.test("encodeOptimizerState() round-trips arrays and scalars; readCheckpoints() rejects foreign folders", () => {
  const state = {
    arrays: { "exp_avg.0": Float32Array.from([1, -2.5]) },
    scalars: { steps: 3, switched: 0 },
  };
  assertEquals(decodeOptimizerState(encodeOptimizerState(state)), state);
  const bytes = encodeCheckpoints({ "weights/model.json": new Uint8Array(2) });
  assertThrows(
    () => readCheckpoints(bytes),
    Error,
    "unexpected folder 'weights'",
  );
});

Deno.test("trainStage.run() saves checkpoints at the scheduled epochs plus the last, epoch 0 holding w₀", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const params = tinyParams({
      "train.epochs": 3,
      "train.checkpoint_epochs": [0, 2, 10],
    });
    const out = await trainStage.run(
      tinyContext(params, sgdItem(), tinyBundles(), dir),
    );
    const checkpoints = readCheckpoints(out.checkpoints!);
    assertEquals(checkpoints.map((c) => c.epoch), [0, 2, 3]);
    // Epoch 0 is the seeded initialisation: the same model createModel builds from the seed's "init" fork.
    const init = createModel(
      {
        arch: "mlp",
        hidden: [8],
        loss: "cross_entropy",
        inputSize: 784,
        classes: 10,
      },
      Rng.fromSeed(0).fork("init"),
    );
    const w0 = await checkpoints[0]!.load();
    const a = trainableVariables(init).map((v) => Array.from(v.dataSync()));
    const b = trainableVariables(w0).map((v) => Array.from(v.dataSync()));
    assertEquals(b, a);
    init.dispose();
    w0.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
