/**
 * Benchmark, not a test: one training epoch of the paper's workload (10,000
 * random inputs, batch 64, the 575,050-parameter MLP, SGD) with the WASM
 * matmul kernels patched vs unpatched, side by side in one process.
 *
 *   deno run -A stages/train/bench_epoch.ts [samples]
 */
import process from "node:process";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../pipeline/rng.ts";
import {
  backendVersions,
  initWasmBackend,
  setKernelPatches,
} from "./backend.ts";
import { meanLoss } from "./losses.ts";
import { createModel, trainableVariables } from "./model.ts";
import { createOptimizer } from "./optimizers.ts";

/**
 * Wall-clock and process CPU seconds for one epoch of mini-batch SGD over `n`
 * random samples. WASM runs on one thread, so CPU seconds are the figure to
 * trust on a shared machine; wall seconds include waiting for a core.
 */
export function timeEpoch(
  n: number,
  batch: number,
  seed: number,
): { wall: number; cpu: number } {
  const rng = Rng.fromSeed(seed);
  const model = createModel(
    {
      arch: "mlp",
      hidden: [512, 256, 128, 64],
      loss: "cross_entropy",
      inputSize: 784,
      classes: 10,
    },
    rng,
  );
  const vars = trainableVariables(model);
  const opt = createOptimizer({ name: "sgd", lr: 0.001 }, vars);
  const xs = new Float32Array(n * 784).map(() => rng.float()); // [n, 784]
  const ys = Int32Array.from({ length: n }, () => rng.int(10)); // [n]
  const x = tf.tensor2d(xs, [n, 784]);
  const y = tf.tensor1d(ys, "int32");
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let start = 0; start < n; start += batch) {
    const size = Math.min(batch, n - start);
    tf.tidy(() => {
      const xb = x.slice([start, 0], [size, 784]) as tf.Tensor2D; // [batch, 784]
      const yb = y.slice([start], [size]) as tf.Tensor1D; // [batch]
      const { grads } = tf.variableGrads(
        () =>
          meanLoss(
            model.apply(xb, { training: true }) as tf.Tensor2D,
            yb,
            "cross_entropy",
          ),
        vars,
      );
      opt.step(vars.map((v) => grads[v.name]!));
    });
  }
  vars[0]!.dataSync(); // wait for the last update
  const c1 = process.cpuUsage(c0);
  const seconds = {
    wall: (performance.now() - t0) / 1000,
    cpu: (c1.user + c1.system) / 1e6,
  };
  opt.dispose();
  model.dispose();
  x.dispose();
  y.dispose();
  return seconds;
}

if (import.meta.main) {
  const n = Number(Deno.args[0] ?? 10000);
  await initWasmBackend();
  console.log(JSON.stringify(backendVersions()));
  for (const on of [true, false, true, false]) {
    setKernelPatches(on);
    const s = timeEpoch(n, 64, 0);
    console.log(
      `patched=${on} samples=${n} batch=64 epoch_wall_s=${
        s.wall.toFixed(2)
      } epoch_cpu_s=${s.cpu.toFixed(2)}`,
    );
  }
}
