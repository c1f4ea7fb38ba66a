/**
 * Entry of a scaling-probe Worker (bench_scaling.ts): times `reps` 512³
 * float32 matmuls on the WASM backend, the kind of work an epoch and a
 * snapshot spend their time on, and posts the seconds they took.
 */
import * as tf from "@tensorflow/tfjs";
import { initWasmBackend } from "../nn/backend.ts";

self.onmessage = async (event: MessageEvent<{ reps: number }>) => {
  await initWasmBackend();
  const a = tf.randomUniform([512, 512], -1, 1, "float32", 1);
  const b = tf.randomUniform([512, 512], -1, 1, "float32", 2);
  tf.matMul(a, b).dataSync(); // warm-up
  const t0 = performance.now();
  for (let r = 0; r < event.data.reps; r++) {
    tf.tidy(() => tf.matMul(a, b).dataSync());
  }
  const seconds = (performance.now() - t0) / 1000;
  tf.dispose([a, b]);
  self.postMessage({ seconds });
};
