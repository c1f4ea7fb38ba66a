import { assert, assertEquals, assertThrowsMatch } from "../../assert.ts";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../../pipeline/rng.ts";
import { initWasmBackend } from "../../../stages/nn/backend.ts";
import {
  autodiffGradient,
  type BatchPass,
  mlpBackprop,
} from "../../../stages/nn/batch_gradient.ts";
import type { LossName } from "../../../stages/nn/contracts.ts";
import { measureSnapshot } from "../../../stages/nn/snapshot.ts";
import { createModel, trainableVariables } from "../../../stages/nn/model.ts";
import { assertSumsClose } from "./_helpers.ts";

await initWasmBackend();

/** Max |a − b| / max |b| (b not all zero). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  assert(scale > 0, "reference is all zeros");
  return err / scale;
}

/** A model.ts MLP with 12 inputs and 4 classes, a batch of 9 samples, both passes. */
function bothPasses(hidden: number[], loss: LossName, seed: number) {
  const rng = Rng.fromSeed(`batch-gradient:${seed}`);
  const model = createModel(
    { arch: "mlp", hidden, loss, inputSize: 12, classes: 4 },
    rng,
  );
  const vars = trainableVariables(model);
  const x = tf.tensor2d(
    Float32Array.from({ length: 9 * 12 }, () => rng.normal()),
    [9, 12],
  );
  const y = tf.tensor1d(
    Int32Array.from({ length: 9 }, () => rng.int(4)),
    "int32",
  );
  const byHand = mlpBackprop(vars, loss)(x, y);
  const auto = autodiffGradient(
    vars,
    (t) => model.apply(t, { training: true }) as tf.Tensor2D,
    loss,
  )(x, y);
  return { model, vars, x, y, byHand, auto };
}

const tensorsOf = (p: BatchPass) => [p.loss, p.perSample, p.logits, ...p.grads];

for (
  const [hidden, loss] of [
    [[7, 5], "cross_entropy"],
    [[7, 5], "squared"],
    [[], "cross_entropy"],
    [[6], "squared"],
  ] as const
) {
  Deno.test(`mlpBackprop() equals autodiff: hidden [${hidden}], ${loss}`, () => {
    const before = tf.memory().numTensors;
    const { model, x, y, byHand, auto } = bothPasses([...hidden], loss, 1);
    assert(relErr(byHand.loss.dataSync(), auto.loss.dataSync()) < 1e-6, "loss");
    assert(
      relErr(byHand.perSample.dataSync(), auto.perSample.dataSync()) < 1e-6,
    );
    assert(relErr(byHand.logits.dataSync(), auto.logits.dataSync()) < 1e-6);
    assertEquals(byHand.grads.length, auto.grads.length);
    byHand.grads.forEach((g, i) => {
      assertEquals(g.shape, auto.grads[i]!.shape);
      const e = relErr(g.dataSync(), auto.grads[i]!.dataSync());
      assert(e < 1e-5, `gradient ${i}: relative error ${e}`);
    });
    tf.dispose([...tensorsOf(byHand), ...tensorsOf(auto), x, y]);
    model.dispose();
    assertEquals(tf.memory().numTensors, before, "no tensors leak");
  });
}

Deno.test("mlpBackprop() matches a central difference of the loss along a random direction", () => {
  const { model, vars, x, y, byHand, auto } = bothPasses([5], "squared", 2);
  const rng = Rng.fromSeed("direction");
  const raw = vars.map((v) =>
    Float32Array.from({ length: v.size }, () => rng.normal())
  );
  const norm = Math.sqrt(
    raw.reduce((s, d) => s + d.reduce((a, x) => a + x * x, 0), 0),
  );
  const dirs = raw.map((d) => d.map((x) => x / norm)); // a unit direction v
  // ⟨∇Ĉ, v⟩ against (Ĉ(w + hv) − Ĉ(w − hv)) / 2h; h small enough that no
  // ReLU gate of this seeded batch flips, large against float32 rounding.
  let analytic = 0;
  byHand.grads.forEach((g, i) => {
    const gv = g.dataSync();
    for (let j = 0; j < gv.length; j++) analytic += gv[j]! * dirs[i]![j]!;
  });
  const saved = vars.map((v) => v.dataSync().slice() as Float32Array);
  const lossAt = (h: number) => {
    vars.forEach((v, i) =>
      v.assign(
        tf.tensor(saved[i]!.map((w, j) => w + h * dirs[i]![j]!), v.shape),
      )
    );
    const p = mlpBackprop(vars, "squared")(x, y);
    const value = p.loss.dataSync()[0]!;
    tf.dispose(tensorsOf(p));
    return value;
  };
  const h = 1e-3;
  const numeric = (lossAt(h) - lossAt(-h)) / (2 * h);
  assert(
    Math.abs(numeric - analytic) < 1e-3 * Math.abs(analytic),
    `${numeric} vs ${analytic}`,
  );
  tf.dispose([...tensorsOf(byHand), ...tensorsOf(auto), x, y]);
  model.dispose();
});

Deno.test("mlpBackprop() rejects variables that are not [kernel, bias] pairs", () => {
  const w = tf.variable(tf.zeros([3, 2]));
  const b = tf.variable(tf.zeros([3]));
  assertThrowsMatch(
    () => mlpBackprop([w], "squared"),
    /expected \[kernel, bias\] per layer, got 1/,
  );
  assertThrowsMatch(
    () => mlpBackprop([w, b], "squared"),
    /layer 0 needs a kernel \[in, out\] and a bias \[out\], got \[3,2\] and \[3\]/,
  );
  tf.dispose([w, b]);
});

Deno.test("a snapshot measured with mlpBackprop equals one measured by autodiff", () => {
  const rng = Rng.fromSeed("snapshot-backprop");
  const model = createModel(
    {
      arch: "mlp",
      hidden: [9, 7],
      loss: "cross_entropy",
      inputSize: 12,
      classes: 4,
    },
    rng,
  );
  const vars = trainableVariables(model);
  const n = 30;
  const samples = {
    n,
    d: 12,
    images: Float32Array.from({ length: n * 12 }, () => rng.normal()),
    labels: Int32Array.from({ length: n }, () => rng.int(4)),
  };
  const perm = rng.permutation(n);
  const batches = [
    perm.slice(0, 8),
    perm.slice(8, 16),
    perm.slice(16, 24),
    perm.slice(24),
  ];
  const args = {
    variables: vars,
    forward: (x: tf.Tensor2D) => model.apply(x) as tf.Tensor2D,
    loss: "cross_entropy" as const,
    samples,
    batches,
    preconditioner: null,
  };
  const auto = measureSnapshot(args);
  const byHand = measureSnapshot({
    ...args,
    gradient: mlpBackprop(vars, "cross_entropy"),
  });
  assertSumsClose(byHand, auto, 1e-5);
  assertEquals(byHand.error, auto.error);
  assertEquals(Array.from(byHand.correct), Array.from(auto.correct));
  model.dispose();
});
