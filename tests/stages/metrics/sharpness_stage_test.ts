import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertThrowsMatch } from "../../assert.ts";
import { decodeJson } from "../../../pipeline/artifact.ts";
import { Rng } from "../../../pipeline/rng.ts";
import {
  type Item,
  type Params,
  parseParams,
  type StageContext,
} from "../../../pipeline/stage.ts";
import {
  type Hvp,
  lanczosTopEigenvalue,
  scaledHvp,
} from "../../../stages/metrics/sharpness.ts";
import {
  disabledOutput,
  type SharpnessOutput,
  sharpnessSettings,
  sharpnessStage,
  sharpnessSubset,
} from "../../../stages/metrics/sharpness_stage.ts";
import { initWasmBackend } from "../../../stages/nn/backend.ts";
import type { LossName } from "../../../stages/nn/contracts.ts";
import { stageContext } from "../_context.ts";
import {
  linearCheckpoints,
  mnistMlp,
  PIXELS,
  sparseImages,
  steppedCheckpoints,
} from "../_models.ts";

await initWasmBackend();

const N = 30;
const D = PIXELS;
const SUBSET = 8;

/** The noise-stage "train" bundle the sharpness runs read. */
const trainBundle = () => sparseImages("sharpness-data", N);

/**
 * Checkpoints of a linear model (hidden []: logits = xW + b) at epochs 0 and
 * 4; epoch 4's kernel is epoch 0's times 40, so softmax probabilities differ.
 */
const checkpoints = (loss: LossName) =>
  linearCheckpoints("w", { loss, last: 4, scale: 40 });

/**
 * The exact Hessian-vector product of the linear model in float64 (blocks:
 * kernel [784, 10], bias [10]), x̃ = [x; 1]:
 * cross-entropy H V = (1/n) Σ x̃ ⊗ (diag(p) − ppᵀ)(Vᵀx̃); squared H V = (2/n) Σ x̃ (Vᵀx̃)ᵀ.
 */
function closedFormHvp(
  xs: number[][],
  kernel: number[],
  bias: number[],
  loss: LossName,
): Hvp {
  return ([vk, vb]) => {
    const hk = new Float64Array(D * 10);
    const hb = new Float64Array(10);
    for (const x of xs) {
      const z = bias.slice();
      const u = Array.from(vb!);
      x.forEach((xa, a) => {
        if (xa === 0) return;
        for (let i = 0; i < 10; i++) {
          z[i]! += xa * kernel[a * 10 + i]!;
          u[i]! += xa * vk![a * 10 + i]!;
        }
      });
      let r: number[];
      if (loss === "squared") {
        r = u.map((ui) => 2 * ui);
      } else {
        const zmax = Math.max(...z);
        const e = z.map((zi) => Math.exp(zi - zmax));
        const sum = e.reduce((s, q) => s + q, 0);
        const p = e.map((q) => q / sum);
        const pu = p.reduce((s, pi, i) => s + pi * u[i]!, 0);
        r = p.map((pi, i) => pi * u[i]! - pi * pu);
      }
      x.forEach((xa, a) => {
        if (xa !== 0) {
          for (let i = 0; i < 10; i++) {
            hk[a * 10 + i]! += (xa * r[i]!) / xs.length;
          }
        }
      });
      for (let i = 0; i < 10; i++) hb[i]! += r[i]! / xs.length;
    }
    return [Float32Array.from(hk), Float32Array.from(hb)];
  };
}

/** The stage's params parsed by its schema (trace_samples defaults to 0). */
function parsed(params: Params): Params {
  return parseParams(
    sharpnessStage.schema!,
    params,
    "Stage 'sharpness' params",
  );
}

function context(
  params: Params,
  item: Item,
  inputs: Record<string, Uint8Array>,
): StageContext {
  // Parsed by the stage's schema, as the engine hands them over.
  return stageContext({ params: parsed(params), item, inputs });
}

const baseParams = (loss: LossName, enabled = true): Params => ({
  "metrics.sharpness.enabled": enabled,
  "metrics.sharpness.subset": SUBSET,
  "metrics.sharpness.tol": 1e-5,
  "metrics.sharpness.max_iter": 300,
  "metrics.sharpness.seed": 7,
  "model.loss": loss,
});

for (const loss of ["cross_entropy", "squared"] as const) {
  Deno.test(`sharpnessStage ${loss}: λ_max per checkpoint matches the linear model's closed-form Hessian`, async () => {
    const data = trainBundle();
    const ckpt = await checkpoints(loss);
    const item: Item = {
      optimizer: { name: "sgd", lr: 0.1, momentum: 0.9, label: "sgd" },
      seed: 0,
      cell: {},
    };
    const before = tf.memory().numTensors;
    const bytes = await sharpnessStage.run(
      context(baseParams(loss), item, {
        train: data.bytes,
        checkpoints: ckpt.bytes,
      }),
    );
    assertEquals(tf.memory().numTensors, before, "no tensors leak");
    const out = decodeJson<SharpnessOutput>(bytes["sharpness"]!);
    assertEquals(out.epochs, [0, 4]);
    assertEquals(out.subset, SUBSET);
    assertEquals(out.method, "exact-relu-mlp");
    assert(
      !("eos" in out),
      "the stability line is the metrics stage's, from the lr as used",
    );
    const idx = Array.from(sharpnessSubset(N, SUBSET, 7));
    const xs = idx.map((i) => data.x[i]!);
    out.epochs.forEach((epoch, k) => {
      const [kernel, bias] = ckpt.weights.get(epoch)!;
      const hvp = closedFormHvp(xs, kernel!, bias!, loss);
      const shapes = [[D, 10], [10]];
      // The same Lanczos run (start vector, tol) on the closed-form Hessian:
      // exact products differ only by float32 rounding.
      const same = lanczosTopEigenvalue(hvp, shapes, {
        rng: Rng.fromSeed(`sharpness-start:7:${epoch}`),
        tol: 1e-5,
        maxIter: 300,
      });
      assert(out.converged[k] && out.residual[k]! <= 1e-5);
      assert(
        Math.abs(out.sharpness[k]! - same.value) < 1e-5 * same.value,
        `epoch ${epoch}: ${
          out.sharpness[k]
        } vs closed-form products ${same.value}`,
      );
      // The reported bound holds against λ_max of the closed form (itself
      // known to its own bound, ≤ 1e-7 relative).
      const exact = lanczosTopEigenvalue(hvp, shapes, {
        rng: Rng.fromSeed(1),
        tol: 1e-7,
        maxIter: 300,
      });
      assert(exact.converged);
      assert(
        Math.abs(out.sharpness[k]! - exact.value) <=
          out.residual[k]! * out.sharpness[k]! + 2e-7 * exact.value,
        `epoch ${epoch}: ${out.sharpness[k]} ± ${
          out.residual[k]
        } vs λ_max ${exact.value}`,
      );
    });
    if (loss === "cross_entropy") {
      // The cross-entropy Hessian depends on w: scaling the kernel changes it.
      assert(
        Math.abs(out.sharpness[1]! - out.sharpness[0]!) >
          0.1 * out.sharpness[0]!,
        `${out.sharpness}`,
      );
    } else {
      // Squared loss on a linear model: H = (2/n) Σ x̃x̃ᵀ ⊗ I, the same at every w.
      assert(
        Math.abs(out.sharpness[1]! - out.sharpness[0]!) <
          2e-3 * out.sharpness[0]!,
      );
    }
  });
}

Deno.test("sharpnessStage returns an empty series when disabled: every per-checkpoint field empty, no subset, method none", async () => {
  const item: Item = {
    optimizer: { name: "adam", lr: 0.001 },
    seed: 0,
    cell: {},
  };
  const bytes = await sharpnessStage.run(
    context(baseParams("cross_entropy", false), item, {}),
  );
  const out = decodeJson<SharpnessOutput>(bytes["sharpness"]!);
  assertEquals(out, disabledOutput());
  const { subset, method, ...series } = out;
  assertEquals([subset, method], [0, "none"]);
  for (const [field, values] of Object.entries(series)) {
    assertEquals(values, [], field);
  }
});

/**
 * Checkpoints of the linear model trained by Adam (lr 0.01) on random
 * gradients: epoch 0 before any step, epoch 3 after three; with the weights
 * and the saved second moment v of epoch 3.
 */
async function adamCheckpoints(): Promise<{
  bytes: Uint8Array;
  weights: number[][];
  v: number[][];
}> {
  const rng = Rng.fromSeed("g");
  const { bytes, model, vars, optimizer } = await steppedCheckpoints(
    mnistMlp([], "squared"),
    "w",
    {
      optimizer: { name: "adam", lr: 0.01 },
      steps: 3,
      epoch: 3,
      gradients: (vars) =>
        vars.map((v) =>
          tf.tensor(
            Float32Array.from({ length: v.size }, () => rng.normal() * 0.1),
            v.shape,
          )
        ),
    },
  );
  const weights = vars.map((v) => Array.from(v.dataSync()));
  const state = optimizer.saveState();
  const v = [0, 1].map((i) => Array.from(state.arrays[`exp_avg_sq.${i}`]!));
  optimizer.dispose();
  model.dispose();
  return { bytes, weights, v };
}

Deno.test("sharpnessStage for Adam: λ₁(P⁻¹H) from the checkpoint's saved v and step count matches the closed form (SCIENCE §4.2.1)", async () => {
  const data = trainBundle();
  const ckpt = await adamCheckpoints();
  const item: Item = {
    optimizer: { name: "adam", lr: 0.01 },
    seed: 0,
    cell: {},
  };
  const bytes = await sharpnessStage.run(
    context(baseParams("squared"), item, {
      train: data.bytes,
      checkpoints: ckpt.bytes,
    }),
  );
  const out = decodeJson<SharpnessOutput>(bytes["sharpness"]!);
  // A measured output has exactly the fields of the disabled one.
  assertEquals(Object.keys(out).sort(), Object.keys(disabledOutput()).sort());
  assertEquals(out.epochs, [0, 3]);
  // Step 0: P is not defined (v is PyTorch's zero init).
  assertEquals(out.preconditioned_sharpness[0], null);
  assertEquals(out.preconditioned_converged, [false, true]);
  // Step 3: P = (1 − β₁³)(√(v/(1 − β₂³)) + ε), in float64 here.
  const t = 3;
  const d = ckpt.v.map((block) =>
    Float32Array.from(
      block,
      (v) =>
        1 /
        Math.sqrt((1 - 0.9 ** t) * (Math.sqrt(v / (1 - 0.999 ** t)) + 1e-8)),
    )
  );
  const idx = Array.from(sharpnessSubset(N, SUBSET, 7));
  const xs = idx.map((i) => data.x[i]!);
  const [kernel, bias] = ckpt.weights;
  const exact = lanczosTopEigenvalue(
    scaledHvp(closedFormHvp(xs, kernel!, bias!, "squared"), d),
    [[D, 10], [10]],
    { rng: Rng.fromSeed(1), tol: 1e-7, maxIter: 300 },
  );
  assert(exact.converged);
  const value = out.preconditioned_sharpness[1]!;
  const residual = out.preconditioned_residual[1]!;
  assert(residual <= 1e-5, `residual ${residual}`);
  assert(
    Math.abs(value - exact.value) <= residual * value + 1e-5 * exact.value,
    `${value} ± ${residual} vs closed form ${exact.value}`,
  );
  // Preconditioning matters here: P⁻¹H is far from H.
  assert(value > 10 * out.sharpness[1]!, `${value} vs ${out.sharpness[1]}`);
});

Deno.test("sharpnessSubset() is seeded, sorted, distinct and capped at n; settings reject bad values", () => {
  const a = sharpnessSubset(100, 10, 3);
  assertEquals(a, sharpnessSubset(100, 10, 3));
  assert(a.some((v, i) => v !== sharpnessSubset(100, 10, 4)[i]));
  assertEquals(new Set(a).size, 10);
  assert(a.every((v, i) => i === 0 || v > a[i - 1]!));
  assertEquals(sharpnessSubset(5, 10, 0), Uint32Array.from([0, 1, 2, 3, 4]));
  const base = baseParams("cross_entropy");
  assertThrowsMatch(
    () => parsed({ ...base, "metrics.sharpness.tol": 0 }),
    /metrics\.sharpness\.tol: above 0$/,
  );
  assertThrowsMatch(
    () => parsed({ ...base, "metrics.sharpness.subset": 2.5 }),
    /metrics\.sharpness\.subset: expected an integer$/,
  );
  const settings = (cell: Params) =>
    sharpnessSettings(
      parsed(base) as Parameters<typeof sharpnessSettings>[0],
      { cell },
    );
  assertEquals(settings({ "model.loss": "squared" }).loss, "squared");
  assertEquals(settings({}).loss, "cross_entropy");
  assertEquals(settings({}).traceSamples, 0, "trace_samples defaults to 0");
});

Deno.test("sharpnessStage with trace_samples: Hutchinson's trace matches the closed-form tr(H) of the squared-loss linear model", async () => {
  const data = trainBundle();
  const ckpt = await checkpoints("squared");
  const item: Item = {
    optimizer: { name: "sgd", lr: 0.1, label: "sgd" },
    seed: 0,
    cell: {},
  };
  const params = {
    ...baseParams("squared"),
    "metrics.sharpness.trace_samples": 200,
  };
  const bytes = await sharpnessStage.run(
    context(params, item, { train: data.bytes, checkpoints: ckpt.bytes }),
  );
  const out = decodeJson<SharpnessOutput>(bytes["sharpness"]!);
  // H = (2/n) Σ_a x̃_a x̃_aᵀ ⊗ I_10 with x̃ = [x, 1]: tr(H) = 10 · (2/n) Σ_a (‖x_a‖² + 1).
  const idx = Array.from(sharpnessSubset(N, SUBSET, 7));
  const xs = idx.map((i) => data.x[i]!);
  const exact = (10 * 2 / xs.length) *
    xs.reduce((s, x) => s + x.reduce((t, v) => t + v * v, 0) + 1, 0);
  assertEquals(out.trace.length, out.epochs.length);
  out.trace.forEach((value, k) => {
    const stderr = out.trace_stderr[k]!;
    assert(stderr > 0 && stderr < 0.2 * exact, `stderr ${stderr}`);
    assert(
      Math.abs(value - exact) < 5 * stderr + 1e-3 * exact,
      `epoch ${out.epochs[k]}: ${value} ± ${stderr} vs tr(H) ${exact}`,
    );
  });
});
