import { assert, assertEquals, assertThrowsMatch } from "../../assert.ts";
import * as tf from "@tensorflow/tfjs";
import { initWasmBackend } from "../../../stages/nn/backend.ts";
import type { LossName } from "../../../stages/nn/contracts.ts";
import {
  errors,
  lossAndOutputGradient,
  meanLoss,
  perSampleLoss,
} from "../../../stages/nn/losses.ts";

await initWasmBackend();

const close = (a: number, b: number, tol = 1e-6) =>
  assert(Math.abs(a - b) <= tol * (1 + Math.abs(b)), `${a} vs ${b}`);
const outputs = tf.tensor2d([[1, 2, 3], [0.5, -1, 2], [4, 0, 0]]);
const labels = tf.tensor1d([2, 1, 1], "int32");

Deno.test("perSampleLoss() cross_entropy is −log softmax of the logits at the label", () => {
  const got = perSampleLoss(outputs, labels, "cross_entropy").arraySync();
  const ce = (z: number[], y: number) =>
    Math.log(z.reduce((s, v) => s + Math.exp(v), 0)) - z[y]!;
  close(got[0]!, ce([1, 2, 3], 2)); // 0.40760596
  close(got[1]!, ce([0.5, -1, 2], 1));
  close(got[2]!, ce([4, 0, 0], 1));
  close(got[0]!, 0.40760596444);
});

Deno.test("perSampleLoss() squared is ||f(x) − onehot(y)||² on the raw outputs", () => {
  const got = perSampleLoss(outputs, labels, "squared").arraySync();
  close(got[0]!, 1 + 4 + 4); // (1,2,3) − (0,0,1)
  close(got[1]!, 0.25 + 4 + 4); // (0.5,−1,2) − (0,1,0)
  close(got[2]!, 16 + 1 + 0);
});

Deno.test("meanLoss() is the mean of the per-sample losses (SCIENCE §1.3)", () => {
  close(
    meanLoss(outputs, labels, "squared").dataSync()[0]!,
    (9 + 8.25 + 17) / 3,
  );
  const ce = perSampleLoss(outputs, labels, "cross_entropy").arraySync();
  close(
    meanLoss(outputs, labels, "cross_entropy").dataSync()[0]!,
    (ce[0]! + ce[1]! + ce[2]!) / 3,
  );
});

Deno.test("lossAndOutputGradient() gives the per-sample losses and (softmax − onehot)/b or 2(f − onehot)/b", () => {
  const b = 3;
  const rows = outputs.arraySync();
  const ys = [2, 1, 1];
  for (const loss of ["cross_entropy", "squared"] as const) {
    const { perSample, dOutputs } = lossAndOutputGradient(
      outputs,
      labels,
      loss,
    );
    assertEquals(
      Array.from(perSample.dataSync()),
      Array.from(perSampleLoss(outputs, labels, loss).dataSync()),
    );
    const got = dOutputs.arraySync();
    rows.forEach((z, i) => {
      const total = z.reduce((s, v) => s + Math.exp(v), 0);
      z.forEach((v, j) => {
        const target = j === ys[i] ? 1 : 0;
        const want = loss === "cross_entropy"
          ? (Math.exp(v) / total - target) / b
          : (2 * (v - target)) / b;
        close(got[i]![j]!, want);
      });
    });
    tf.dispose([perSample, dOutputs]);
  }
  assertThrowsMatch(
    () => lossAndOutputGradient(outputs, labels, "hinge" as LossName),
    /model\.loss must be one of cross_entropy, squared, got 'hinge'/,
  );
});

Deno.test("errors() is 1 where the argmax differs from the label", () => {
  assertEquals(Array.from(errors(outputs, labels).dataSync()), [0, 1, 1]);
});

Deno.test("perSampleLoss() rejects an unknown loss name", () => {
  assertThrowsMatch(
    () => perSampleLoss(outputs, labels, "hinge" as LossName),
    /model\.loss must be one of cross_entropy, squared, got 'hinge'/,
  );
});
