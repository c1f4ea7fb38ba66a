/**
 * Benchmark, not a test: one training epoch of the paper's workload (random
 * inputs, batch 64, the 575,050-parameter MLP, SGD) three ways, side by side
 * in one process, to show what each speed-up buys:
 * - stock: tfjs-backend-wasm's own kernels, gradients by autodiff;
 * - patched: the replacement kernels of wasm_kernels.ts, autodiff;
 * - patched+backprop: the replacement kernels and `mlpBackprop`, as trained.
 * Batches are copied on the host in all three (data.ts explains why).
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
} from "../nn/backend.ts";
import { autodiffGradient, mlpBackprop } from "../nn/batch_gradient.ts";
import { rangeTensors } from "../nn/data.ts";
import { createModel, trainableVariables } from "../nn/model.ts";
import { createOptimizer } from "../nn/optimizers.ts";

/** How an epoch computes its gradients. */
export type EpochVariant = "stock" | "patched" | "patched+backprop";

/**
 * Wall-clock and process CPU seconds for one epoch of mini-batch SGD over `n`
 * random samples. WASM runs on one thread, so CPU seconds are the figure to
 * trust on a shared machine; wall seconds include waiting for a core.
 */
export function timeEpoch(
  n: number,
  variant: EpochVariant,
  seed = 0,
): { wall: number; cpu: number } {
  const batch = 64;
  setKernelPatches(variant !== "stock");
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
  const set = {
    n,
    d: 784,
    images: Float32Array.from({ length: n * 784 }, () => rng.float()),
    labels: Int32Array.from({ length: n }, () => rng.int(10)),
  };
  const gradient = variant === "patched+backprop"
    ? mlpBackprop(vars, "cross_entropy")
    : autodiffGradient(
      vars,
      (x) => model.apply(x, { training: true }) as tf.Tensor2D,
      "cross_entropy",
    );
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let start = 0; start < n; start += batch) {
    const { x, y } = rangeTensors(set, start, Math.min(batch, n - start));
    const pass = gradient(x, y);
    opt.step(pass.grads);
    tf.dispose([x, y, pass.loss, pass.perSample, pass.logits, ...pass.grads]);
  }
  vars[0]!.dataSync(); // wait for the last update
  const c1 = process.cpuUsage(c0);
  const seconds = {
    wall: (performance.now() - t0) / 1000,
    cpu: (c1.user + c1.system) / 1e6,
  };
  opt.dispose();
  model.dispose();
  setKernelPatches(true);
  return seconds;
}

if (import.meta.main) {
  const n = Number(Deno.args[0] ?? 10000);
  await initWasmBackend();
  console.log(JSON.stringify(backendVersions()));
  const variants: EpochVariant[] = ["stock", "patched", "patched+backprop"];
  for (let round = 0; round < 2; round++) {
    for (const variant of variants) {
      const s = timeEpoch(n, variant);
      console.log(
        `${variant}: samples=${n} batch=64 epoch_wall_s=${
          s.wall.toFixed(2)
        } epoch_cpu_s=${s.cpu.toFixed(2)}`,
      );
    }
  }
}
