import * as tf from "@tensorflow/tfjs";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertNotEquals,
  assertThrows,
} from "../../assert.ts";
import { initWasmBackend } from "../../../stages/nn/backend.ts";
import {
  decodeTestSet,
  decodeTrainSet,
  rowTensors,
} from "../../../stages/nn/data.ts";
import {
  cutBatches,
  splitByCorruption,
  weightNorms,
} from "../../../stages/nn/loop.ts";
import { decodeRecord } from "../../../stages/nn/record.ts";
import { encodeBundle } from "../../../pipeline/artifact.ts";
import { readCheckpoints } from "../../../stages/nn/checkpoint.ts";
import { meanLoss } from "../../../stages/nn/losses.ts";
import { mlpBackprop } from "../../../stages/nn/batch_gradient.ts";
import { mlpHvp } from "../../../stages/nn/hvp.ts";
import { trainConfig } from "../../../stages/train/config.ts";
import { trainCost, trainStage } from "../../../stages/train/stage.ts";
import { trainRun } from "../../../stages/nn/loop.ts";
import { createModel, trainableVariables } from "../../../stages/nn/model.ts";
import { createOptimizer } from "../../../stages/nn/optimizers.ts";
import { Rng } from "../../../pipeline/rng.ts";
import type { Json, Params } from "../../../pipeline/stage.ts";
import {
  gdItem,
  sgdItem,
  tinyBundles,
  tinyContext,
  tinyParams,
} from "./_helpers.ts";

const bundles = tinyBundles();

/** Params of one epoch with the explicit penalty λ (SCIENCE §5.2), checkpoints at epochs 0 and 1. */
const penalized = (lambda: number, overrides: Params) =>
  tinyParams({
    "train.epochs": 1,
    "train.checkpoint_epochs": [0],
    "train.explicit_penalty": lambda,
    ...overrides,
  });

async function runStage(params = tinyParams(), item = sgdItem()) {
  const dir = await Deno.makeTempDir();
  try {
    const ctx = tinyContext(params, item, bundles, dir);
    const out = await trainStage.run(ctx);
    return {
      record: decodeRecord(out.record!),
      out,
      progress: ctx.progressCalls,
      timings: ctx.timingCalls,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** All record columns except wall times, which legitimately differ between runs. */
function numbers(
  columns: Record<string, Float64Array>,
): Record<string, number[]> {
  return Object.fromEntries(
    Object.entries(columns).filter(([k]) => !k.endsWith("_seconds")).map((
      [k, v],
    ) => [k, Array.from(v)]),
  );
}

Deno.test("cutBatches() cuts N = 10,000 at B = 64 into 156 batches of 64 and one of 16 (SCIENCE §1.4)", () => {
  const perm = Uint32Array.from({ length: 10000 }, (_, i) => 9999 - i);
  const batches = cutBatches(perm, 64);
  assertEquals(batches.length, 157);
  assertEquals(batches.slice(0, 156).every((b) => b.length === 64), true);
  assertEquals(batches[156]!.length, 16);
  assertEquals(Array.from(batches[0]!.slice(0, 3)), [9999, 9998, 9997]);
  assertEquals(Array.from(batches[156]!.slice(-1)), [0]);
});

Deno.test("weightNorms() and splitByCorruption() match hand-computed values", () => {
  const w = [
    Float32Array.from([3, 4]),
    Float32Array.from([12]),
    Float32Array.from([1, 0, 0]),
  ];
  const w0 = [
    Float32Array.from([0, 0]),
    Float32Array.from([12]),
    Float32Array.from([1, 2, 2]),
  ];
  const norms = weightNorms(w, w0, [0, 0, 1], [false, true, false]);
  assertEquals(norms, {
    norm: Math.sqrt(9 + 16 + 144 + 1),
    norm_no_bias: Math.sqrt(26),
    dist_init: Math.sqrt(25 + 8),
    norm_layer_0: 13,
    norm_layer_1: 1,
  });
  const split = splitByCorruption(
    Float32Array.from([1, 2, 3, 4]),
    Uint8Array.from([1, 0, 1, 1]),
    Uint8Array.from([0, 1, 1, 0]),
  );
  assertEquals(split, {
    cleanLoss: 2.5,
    cleanError: 0,
    corruptLoss: 2.5,
    corruptError: 0.5,
  });
  assertEquals(
    Number.isNaN(
      splitByCorruption(
        Float32Array.from([1]),
        Uint8Array.from([1]),
        Uint8Array.from([0]),
      ).corruptLoss,
    ),
    true,
  );
});

Deno.test("trainStage.run() with the same seed gives bitwise-identical records; another seed differs", async () => {
  const a = await runStage();
  const b = await runStage();
  const c = await runStage(tinyParams(), sgdItem(0.1, 1));
  // Results only: the record holds no wall time, so its bytes (and hash) repeat.
  assertEquals(a.out.record, b.out.record);
  assertEquals(a.out.checkpoints, b.out.checkpoints);
  assertEquals(
    Object.keys(a.record.columns).filter((k) => k.includes("seconds")),
    [],
  );
  assertNotEquals(
    numbers(a.record.columns).train_loss,
    numbers(c.record.columns).train_loss,
  );
  assertEquals(a.record.columns.epoch, Float64Array.from([0, 1, 2, 3]));
  assertEquals(a.record.meta.status, "ok");
  assertEquals(a.record.meta.params, 784 * 8 + 8 + 8 * 10 + 10);
  assertEquals(a.record.meta.corrupted_count, 16);
  assertEquals(a.progress, [[0, 3], [1, 3], [2, 3], [3, 3]]);
  // The tiny task is learnable: SGD at lr 0.1 lowers the training loss.
  const loss = a.record.columns.train_loss!;
  assert(loss[3]! < loss[0]!, `train loss should fall: ${loss}`);
});

Deno.test("trainRun() row columns: m = ⌈N/B⌉, ḡ = ∇C for equal batches, GD's trajectory term equals ||∇C(w₀)||²", async () => {
  // N = 64, B = 16: four equal batches, so ḡ is exactly the full gradient (SCIENCE §2.2).
  const sgd = (await runStage()).record.columns;
  assertEquals(Array.from(sgd.m!), [4, 4, 4, 4]);
  for (let e = 0; e <= 3; e++) {
    assertAlmostEquals(
      sgd.gbar2![e]!,
      sgd.full_grad2![e]!,
      1e-5 * sgd.full_grad2![e]!,
    );
  }
  // SCIENCE §2.2: Σ||g_k||² = m ||ḡ||² + Σ||g_k − ḡ||².
  for (let e = 0; e <= 3; e++) {
    assertAlmostEquals(
      sgd.sum_g2![e]!,
      4 * sgd.gbar2![e]! + sgd.sum_dev2![e]!,
      1e-5 * sgd.sum_g2![e]!,
    );
  }
  assertEquals(
    Number.isNaN(sgd.traj_g2![0]!) && Number.isNaN(sgd.sum_pre![1]!) &&
      Number.isNaN(sgd.pre_scale![1]!),
    true,
  );
  assertEquals(sgd.dist_init![0], 0);
  // N = 64, B = 24: ⌈64/24⌉ = 3 batches (24, 24, 16).
  const uneven =
    (await runStage(tinyParams({ "train.batch_size": 24, "train.epochs": 1 })))
      .record.columns;
  assertEquals(Array.from(uneven.m!), [3, 3]);
  // GD: one batch of all N; its one step per epoch is taken at the snapshot weights of the previous row.
  const gd = await runStage(tinyParams({ "train.epochs": 2 }), gdItem(0.1));
  const g = gd.record.columns;
  assertEquals(gd.record.meta.batch_size, 64);
  assertEquals(Array.from(g.m!), [1, 1, 1]);
  for (let e = 1; e <= 2; e++) {
    assertAlmostEquals(
      g.traj_g2![e]!,
      g.full_grad2![e - 1]!,
      1e-5 * g.full_grad2![e - 1]!,
    );
    assertAlmostEquals(
      g.sum_g2![e]!,
      g.full_grad2![e]!,
      1e-6 * g.full_grad2![e]!,
    );
    assertEquals(g.sum_dev2![e], 0);
  }
  // Adam: the preconditioned sums and Adam's scale (1+β₁)/(1−β₁) = 19 are recorded (SCIENCE §2.6).
  const adam = (await runStage(tinyParams({ "train.epochs": 1 }), {
    optimizer: { name: "adam", lr: 0.01, label: "adam" },
    seed: 0,
    cell: {},
  })).record.columns;
  assertAlmostEquals(adam.pre_scale![1]!, 19, 1e-9);
  assert(
    adam.sum_pre![1]! > 0 && adam.sum_s_g2![1]! > 0,
    "Adam's preconditioned sums are positive",
  );
  // Row 0: v is still PyTorch's zero init, so the preconditioned sums are not defined.
  assertEquals([
    Number.isNaN(adam.sum_pre![0]!),
    Number.isNaN(adam.sum_s_g2![0]!),
  ], [true, true]);
  assertAlmostEquals(adam.pre_scale![0]!, 19, 1e-9);
});

Deno.test("trainRun() ends a run whose loss blows up with status 'diverged', keeping its rows", async () => {
  const { record } = await runStage(
    tinyParams({ "model.loss": "squared", "train.epochs": 5 }),
    sgdItem(1e4),
  );
  assertEquals(record.meta.status, "diverged");
  const e = record.meta.diverged_epoch!;
  assert(e >= 1 && e <= 5, `diverged epoch ${e}`);
  assertEquals(record.columns.epoch!.length, e + 1);
  assertEquals(
    Array.from(record.columns.epoch!),
    Array.from({ length: e + 1 }, (_, i) => i),
  );
  assert(Number.isFinite(record.columns.train_loss![0]!), "row 0 is finite");
});

/**
 * Tensors that createOptimizer() + dispose() alone leave behind (the
 * optimizers module, not the loop, owns these; 0 once it frees its zero
 * initial values), so the test below pins the loop's own leaks at zero.
 */
function optimizerLeak(config: ReturnType<typeof trainConfig>): number {
  const model = createModel(config.model, Rng.fromSeed(0));
  const before = tf.memory().numTensors;
  createOptimizer(config.optimizer, trainableVariables(model)).dispose();
  const leak = tf.memory().numTensors - before;
  model.dispose();
  return leak;
}

Deno.test("trainRun() keeps tf.memory().numTensors constant across epochs and frees everything at the end", async () => {
  await initWasmBackend();
  const cases: Array<[Record<string, Json>, Params]> = [
    [{ name: "sgd", lr: 0.1 }, tinyParams()],
    [{ name: "adam", lr: 0.01 }, tinyParams()],
    [{ name: "rmsprop", lr: 0.01, centered: true }, tinyParams()],
    [
      { name: "sgd", lr: 0.1, momentum: 0.9 },
      tinyParams({ "train.explicit_penalty": 0.01 }),
    ],
  ];
  for (const [optimizer, params] of cases) {
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    const config = trainConfig(params, { optimizer, seed: 0, cell: {} });
    const result = await trainRun(config, {
      train: decodeTrainSet(bundles.train),
      test: decodeTestSet(bundles.test),
    }, {
      progress: () => counts.push(tf.memory().numTensors),
    });
    assertEquals(result.status, "ok");
    assertEquals(counts.length, 4);
    assertEquals(
      new Set(counts).size,
      1,
      `${optimizer.name}: tensors per epoch ${counts}`,
    );
    assertEquals(
      tf.memory().numTensors - before,
      optimizerLeak(config),
      `${optimizer.name}: tensors left after the run`,
    );
  }
});

/** The batches trainRun draws in epoch 1 of seed 0 (SCIENCE §1.4): GD's penalty batches. */
const epochOneBatches = (n: number, batchSize: number) =>
  cutBatches(Rng.fromSeed(0).fork("shuffle:1").permutation(n), batchSize);

for (const batchSize of [16, 64]) {
  Deno.test(`trainRun() with the explicit penalty takes GD steps along −∇(C + λ_e (1/m) Σ_k ||∇Ĉ_k||²) over the epoch's batches of ${batchSize} of 64 (SCIENCE §5.2)`, async () => {
    // One GD step w₁ = w₀ − η∇φ with φ = C + λ_e (1/m) Σ_k ||∇Ĉ_k||², so the
    // directional derivative of φ along d = w₁ − w₀ is ∇φ·d = −||d||²/η;
    // check it by central differences of φ itself (gradients only, no
    // Hessian). The model is linear (softmax regression): with ReLU units
    // ||∇Ĉ_k||² jumps at every activation kink and no finite difference of it
    // converges. At B = N, m = 1 and φ = C + λ_e ||∇C||². λ_e is large so
    // that the two penalties' steps differ well beyond the tolerance.
    const lambda = 2;
    const lr = 0.05;
    const { record: { columns }, out } = await runStage(
      penalized(lambda, {
        "model.hidden": [],
        "train.batch_size": batchSize,
      }),
      gdItem(lr),
    );
    const [c0, c1] = readCheckpoints(out.checkpoints!);
    const model = await c0!.load();
    const end = await c1!.load();
    const vars = trainableVariables(model);
    const w0 = vars.map((v) => v.clone());
    const d = trainableVariables(end).map((v, i) => tf.sub(v, w0[i]!));
    const set = decodeTrainSet(bundles.train);
    const batches = epochOneBatches(set.n, batchSize).map((rows) =>
      rowTensors(set, rows)
    );
    const all = rowTensors(set, Array.from({ length: set.n }, (_, i) => i));
    const lossAndG2 = (x: tf.Tensor2D, y: tf.Tensor1D) => {
      const { value, grads } = tf.variableGrads(
        () => meanLoss(model.apply(x) as tf.Tensor2D, y, "cross_entropy"),
        vars,
      );
      const g2 = vars.reduce(
        (s, v) => s + tf.sum(tf.square(grads[v.name]!)).dataSync()[0]!,
        0,
      );
      return { loss: value.dataSync()[0]!, g2 };
    };
    /** φ at w₀ + t·d with the penalty over `parts` (m = parts.length). */
    const phi = (t: number, parts: typeof batches): number => {
      vars.forEach((v, i) =>
        v.assign(tf.tidy(() => tf.add(w0[i]!, tf.mul(t, d[i]!))))
      );
      return tf.tidy(() => {
        const penalty = parts.reduce((s, b) => s + lossAndG2(b.x, b.y).g2, 0);
        return lossAndG2(all.x, all.y).loss + lambda * penalty / parts.length;
      });
    };
    const eps = 0.002;
    const slope = (parts: typeof batches) =>
      (phi(eps, parts) - phi(-eps, parts)) / (2 * eps);
    const dist = columns.dist_init![1]!;
    const want = -(dist * dist) / lr;
    const tol = 5e-4 * Math.abs(want);
    assertAlmostEquals(slope(batches), want, tol);
    if (batches.length > 1) {
      // The step is not that of φ with the penalty on all N at once (m = 1).
      const whole = slope([all]);
      assert(
        Math.abs(whole - want) > 5 * tol,
        `m = 1 slope ${whole} vs ${want}`,
      );
    }
    // The trajectory term logs the unpenalized ||∇C(w₀)||².
    assertAlmostEquals(
      columns.traj_g2![1]!,
      columns.full_grad2![0]!,
      1e-5 * columns.full_grad2![0]!,
    );
    // And the penalty changed the step: plain GD moves by η||∇C(w₀)||.
    const plain = lr * Math.sqrt(columns.full_grad2![0]!);
    assert(
      Math.abs(dist - plain) > 1e-3 * plain,
      `penalized step ${dist} vs plain ${plain}`,
    );
    tf.dispose([
      ...w0,
      ...d,
      ...batches.flatMap((b) => [b.x, b.y]),
      all.x,
      all.y,
    ]);
    model.dispose();
    end.dispose();
  });
}

Deno.test("trainRun() with the explicit penalty on a ReLU MLP steps GD by η(g + (2λ/m) Σ_k H_k g_k) with the exact product; the CNN trains with finite differences", async () => {
  const lambda = 0.01;
  const lr = 0.05;
  const step = async (overrides: Params) =>
    readCheckpoints(
      (await runStage(penalized(lambda, overrides), gdItem(lr))).out
        .checkpoints!,
    );
  const [c0, c1] = await step({ "model.hidden": [8] });
  const model = await c0!.load();
  const end = await c1!.load();
  const vars = trainableVariables(model);
  const set = decodeTrainSet(bundles.train);
  const x = tf.tensor2d(set.images, [set.n, set.d]);
  const y = tf.tensor1d(set.labels, "int32");
  const pass = mlpBackprop(vars, "cross_entropy")(x, y);
  // GD's penalty over the epoch's 4 batches of 16: (2λ/m) Σ_k H_k ∇Ĉ_k.
  const batches = epochOneBatches(set.n, 16);
  const hgs = batches.map((rows) => {
    const b = rowTensors(set, rows);
    const bp = mlpBackprop(vars, "cross_entropy")(b.x, b.y);
    const hk = mlpHvp(vars, b.x, b.y, bp.grads, "cross_entropy");
    const data = hk.map((t) => t.dataSync().slice());
    tf.dispose([
      bp.loss,
      bp.perSample,
      bp.logits,
      ...bp.grads,
      ...hk,
      b.x,
      b.y,
    ]);
    return data;
  });
  const hg = pass.grads.map((_, i) =>
    hgs[0]![i]!.map((_, j) => hgs.reduce((s, h) => s + h[i]![j]!, 0))
  );
  const want = pass.grads.flatMap((g, i) => {
    const gv = g.dataSync();
    const hv = hg[i]!;
    const w = vars[i]!.dataSync();
    return Array.from(
      gv,
      (gj, j) => w[j]! - lr * (gj + (2 * lambda / batches.length) * hv[j]!),
    );
  });
  const got = trainableVariables(end).flatMap((v) => Array.from(v.dataSync()));
  const moved = got.map((g, j) => g - want[j]!);
  const scale = Math.max(...want.map(Math.abs));
  assert(
    Math.max(...moved.map(Math.abs)) < 1e-6 * scale,
    `largest difference ${Math.max(...moved.map(Math.abs))}`,
  );
  tf.dispose([
    pass.loss,
    pass.perSample,
    pass.logits,
    ...pass.grads,
    x,
    y,
  ]);
  model.dispose();
  end.dispose();
  // The CNN has no exact product: its penalized run still trains.
  const [k0, k1] = await step({ "model.arch": "cnn" });
  const a = await k0!.load();
  const b = await k1!.load();
  const diff = trainableVariables(a).some((v, i) =>
    tf.tidy(() =>
      tf.any(tf.notEqual(v, trainableVariables(b)[i]!)).dataSync()[0] === 1
    )
  );
  assert(diff, "the CNN's weights moved");
  a.dispose();
  b.dispose();
});

Deno.test("trainRun() with snapshot_every = 2 measures IR sums on even epochs only, losses on every epoch", async () => {
  const { record, timings } = await runStage(
    tinyParams({ "train.epochs": 3, "train.snapshot_every": 2 }),
  );
  const c = record.columns;
  assertEquals(Array.from(c.sum_g2!).map(Number.isNaN), [
    false,
    true,
    false,
    true,
  ]);
  // Wall times go to ctx.timings, not the record: 3 training epochs, snapshots at rows 0 and 2.
  assertEquals(timings.length, 1);
  assertEquals([timings[0]!.epochs_timed, timings[0]!.snapshots_timed], [3, 2]);
  assert(timings[0]!.epoch_seconds_min! <= timings[0]!.epoch_seconds_max!);
  assertEquals(Array.from(c.train_loss!).some(Number.isNaN), false);
  assertEquals(Array.from(c.test_error!).some(Number.isNaN), false);
  assertEquals(Array.from(c.m!), [4, 4, 4, 4]);
  // Training is unaffected: snapshot rows 0 and 2 equal an every-epoch run's
  // bitwise; row 1's cheap evaluation (one forward pass over all 64 samples
  // instead of four batches) agrees to float32 rounding.
  const every = (await runStage()).record.columns;
  assertEquals([c.train_loss![0], c.train_loss![2], c.sum_g2![2]], [
    every.train_loss![0],
    every.train_loss![2],
    every.sum_g2![2],
  ]);
  assertAlmostEquals(c.train_loss![1]!, every.train_loss![1]!, 1e-6);
  assertEquals(c.train_error![1], every.train_error![1]);
  // 0 = never: no IR sums at all, losses still on every row.
  const never = (await runStage(
    tinyParams({ "train.epochs": 1, "train.snapshot_every": 0 }),
  )).record.columns;
  assertEquals(Array.from(never.sum_g2!).map(Number.isNaN), [true, true]);
  assertEquals(Array.from(never.train_loss!).some(Number.isNaN), false);
});

Deno.test("decodeTrainSet() scales u8 pixels by 1/255, keeps f32 pixels, marks corrupted indices", () => {
  const images = new Uint8Array(2 * 784);
  images[0] = 255;
  images[784] = 51;
  const set = decodeTrainSet(encodeBundle({
    images,
    labels: Uint8Array.from([3, 7]),
    original_labels: Uint8Array.from([3, 2]),
    corrupted: Uint32Array.from([1]),
  }));
  assertEquals([set.n, set.d, set.images[0], set.images[784], set.images[1]], [
    2,
    784,
    1,
    Math.fround(51 / 255),
    0,
  ]);
  assertEquals(Array.from(set.labels), [3, 7]);
  assertEquals(Array.from(set.corrupted), [0, 1]);
  const f32 = new Float32Array(784).fill(0.25);
  const noisy = decodeTestSet(
    encodeBundle({ images: f32, labels: Uint8Array.from([9]) }),
  );
  assertEquals(noisy.images[5], 0.25);
  assertThrows(
    () =>
      decodeTestSet(
        encodeBundle({ images: f32, labels: Uint8Array.from([10]) }),
      ),
    Error,
    "test.labels",
  );
  assertThrows(
    () =>
      decodeTestSet(
        encodeBundle({ images: f32, labels: Uint8Array.from([1, 2]) }),
      ),
    Error,
    "test.images",
  );
});

Deno.test("trainRun() measuring rows in a second Worker (overlap) gives the record and checkpoints of measuring them in the training thread", async () => {
  await initWasmBackend();
  const data = {
    train: decodeTrainSet(bundles.train),
    test: decodeTestSet(bundles.test),
  };
  // Counts the Workers made, so the test fails if overlap silently measures in this thread.
  const Original = globalThis.Worker;
  let workers = 0;
  globalThis.Worker = class extends Original {
    constructor(url: string | URL, options?: WorkerOptions) {
      super(url, options);
      workers++;
    }
  };
  try {
    const cases: Array<[Record<string, Json>, Params]> = [
      [{ name: "adam", lr: 0.01 }, tinyParams({ "train.snapshot_every": 2 })],
      [{ name: "rmsprop", lr: 0.01 }, tinyParams()],
      // Diverges: the run ends at the first row whose loss is not finite.
      [
        { name: "sgd", lr: 1e4 },
        tinyParams({ "model.loss": "squared", "train.epochs": 5 }),
      ],
    ];
    for (const [optimizer, params] of cases) {
      const config = trainConfig(params, { optimizer, seed: 3, cell: {} });
      const runs = [];
      for (const overlap of [false, true]) {
        const before = workers;
        const result = await trainRun(config, data, { overlap });
        assertEquals(workers - before, overlap ? 1 : 0, "measuring Workers");
        runs.push(result);
      }
      const [inThread, beside] = runs as [
        Awaited<ReturnType<typeof trainRun>>,
        Awaited<ReturnType<typeof trainRun>>,
      ];
      assertEquals(beside.status, optimizer.name === "sgd" ? "diverged" : "ok");
      assertEquals(beside.divergedEpoch, inThread.divergedEpoch);
      assertEquals(numbers(beside.columns), numbers(inThread.columns));
      assertEquals(
        beside.finalWeights.map((w) => Array.from(w)),
        inThread.finalWeights.map((w) => Array.from(w)),
      );
      if (optimizer.name !== "sgd") {
        assert(Number.isFinite(beside.columns.sum_pre![2]!), "sums measured");
      }
      assertEquals(
        Object.keys(beside.checkpoints).sort(),
        Object.keys(inThread.checkpoints).sort(),
      );
      for (const [name, bytes] of Object.entries(beside.checkpoints)) {
        if (name.endsWith("model.json")) continue; // layer names differ per process
        assertEquals(
          Array.from(bytes),
          Array.from(inThread.checkpoints[name]!),
        );
      }
    }
  } finally {
    globalThis.Worker = Original;
  }
});

Deno.test("trainCost() counts epochs, the snapshot's share and the optimizer's step cost", () => {
  const params = tinyParams({ "train.epochs": 10, "train.snapshot_every": 1 });
  const cost = (optimizer: Record<string, Json>, p = params) =>
    trainCost(p, { optimizer, seed: 0, cell: {} });
  assertAlmostEquals(cost({ name: "sgd", lr: 0.1 }), 10 * 2, 1e-12);
  assertAlmostEquals(cost({ name: "adam", lr: 0.1 }), 10 * 2 * 1.25, 1e-12);
  assertAlmostEquals(
    cost({ name: "sgd", lr: 0.1 }, { ...params, "train.snapshot_every": 0 }),
    10,
    1e-12,
  );
  // A sweep cell's epochs count.
  assertAlmostEquals(
    trainCost(params, {
      optimizer: { name: "sgd", lr: 0.1 },
      seed: 0,
      cell: { "train.epochs": 20 },
    }),
    20 * 2,
    1e-12,
  );
});
