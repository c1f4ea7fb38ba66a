import { assert, assertEquals } from "../../assert.ts";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../../pipeline/rng.ts";
import { initWasmBackend } from "../../../stages/nn/backend.ts";
import { mlpBackprop } from "../../../stages/nn/batch_gradient.ts";
import {
  groupBatches,
  mlpBlockGradients,
} from "../../../stages/nn/block_gradients.ts";
import type { LossName, Preconditioner } from "../../../stages/nn/contracts.ts";
import { measureSnapshot } from "../../../stages/nn/snapshot.ts";
import { createModel, trainableVariables } from "../../../stages/nn/model.ts";
import { assertSumsClose } from "./_helpers.ts";

await initWasmBackend();

Deno.test("groupBatches() cuts consecutive batches into blocks of at most `rows` rows", () => {
  const sizes = (blocks: Uint32Array[][]) =>
    blocks.map((b) => b.map((x) => x.length));
  const batches = [4, 4, 4, 4, 3].map((n) => new Uint32Array(n));
  assertEquals(sizes(groupBatches(batches, 8)), [[4, 4], [4, 4], [3]]);
  assertEquals(sizes(groupBatches(batches, 11)), [[4, 4], [4, 4, 3]]);
  assertEquals(sizes(groupBatches(batches, 100)), [[4, 4, 4, 4, 3]]);
  // A batch larger than a block (GD: one batch of all N) is a block alone.
  assertEquals(sizes(groupBatches([new Uint32Array(10)], 4)), [[10]]);
});

/**
 * Tolerance: both paths compute every g_k in float32 from the same terms,
 * summed in a different order (one product over a block instead of one per
 * batch; δ rescaled by R/|B_k| instead of divided by |B_k|; bias gradients
 * summed in float64). Each entry then differs by a few float32 roundings
 * (2⁻²⁴ ≈ 6e-8 relative each), and so do the float64 sums of its squares:
 * measured ≤ 1e-7 here. Σ||g_k − ḡ||² is no cancellation here (the batch
 * gradients differ by O(1) of their size).
 */
const TOL = 1e-6;

for (
  const [loss, adaptive, blockRows] of [
    ["cross_entropy", false, 64],
    ["cross_entropy", true, 100],
    ["squared", true, 2048],
  ] as [LossName, boolean, number][]
) {
  Deno.test(
    `measureSnapshot() over row blocks of ${blockRows} equals the per-batch snapshot (${loss}${
      adaptive ? ", preconditioned" : ""
    })`,
    () => {
      const rng = Rng.fromSeed(`blocks:${loss}:${blockRows}`);
      const d = 20;
      const n = 203; // batches of 16 and a last one of 11 (SCIENCE §1.4)
      const model = createModel(
        { arch: "mlp", hidden: [24, 12], loss, inputSize: d, classes: 5 },
        rng,
      );
      const vars = trainableVariables(model);
      const samples = {
        n,
        d,
        images: Float32Array.from({ length: n * d }, () => rng.float()),
        labels: Int32Array.from({ length: n }, () => rng.int(5)),
      };
      const perm = rng.permutation(n);
      const batches: Uint32Array[] = [];
      for (let i = 0; i < n; i += 16) batches.push(perm.slice(i, i + 16));
      const v = adaptive
        ? vars.map((t) =>
          tf.tensor(
            Float32Array.from({ length: t.size }, () => rng.float() * 1e-3),
            t.shape,
          )
        )
        : [];
      const pre: Preconditioner | null = adaptive
        ? { v, eps: 1e-8, scale: 1 }
        : null;
      const forward = (x: tf.Tensor2D) => model.apply(x) as tf.Tensor2D;
      const base = {
        variables: vars,
        forward,
        loss,
        samples,
        batches,
        preconditioner: pre,
      };
      // The reference: today's per-batch snapshot through the hand-written pass.
      const reference = measureSnapshot({
        ...base,
        gradient: mlpBackprop(vars, loss),
      });
      const before = tf.memory().numTensors;
      const blocks = mlpBlockGradients(vars, loss);
      const s = measureSnapshot({ ...base, blocks: blocks.run, blockRows });
      blocks.dispose();
      assertEquals(tf.memory().numTensors, before, "no tensors leak");

      assertEquals(s.m, reference.m);
      assertSumsClose(s, reference, TOL);
      if (!adaptive) assert(Number.isNaN(s.sumPre) && Number.isNaN(s.sumSG2));
      assertEquals(s.correct, reference.correct);
      assertEquals(s.error, reference.error);
      s.losses.forEach((l, i) =>
        assert(
          Math.abs(l - reference.losses[i]!) <= 1e-6 * Math.max(1, Math.abs(l)),
          `loss[${i}]`,
        )
      );
      tf.dispose(v);
      model.dispose();
    },
  );
}
