import { assert } from "../../assert.ts";
import * as tf from "@tensorflow/tfjs";
import { initWasmBackend } from "../../../stages/nn/backend.ts";
import { Rng } from "../../../pipeline/rng.ts";

/** dW[kh,kw,ci,co] = Σ_{b,i,j} x[b, i·s + kh − p, j·s + kw − p, ci] · dy[b,i,j,co], written out. */
function filterGradByHand(
  x: Float32Array,
  xShape: number[],
  dy: Float32Array,
  dyShape: number[],
  k: number,
  s: number,
  p: number,
): Float64Array {
  const [B, H, W, C] = xShape as [number, number, number, number];
  const [, Ho, Wo, O] = dyShape as [number, number, number, number];
  const dw = new Float64Array(k * k * C * O);
  for (let kh = 0; kh < k; kh++) {
    for (let kw = 0; kw < k; kw++) {
      for (let ci = 0; ci < C; ci++) {
        for (let co = 0; co < O; co++) {
          let sum = 0;
          for (let b = 0; b < B; b++) {
            for (let i = 0; i < Ho; i++) {
              for (let j = 0; j < Wo; j++) {
                const r = i * s + kh - p, c = j * s + kw - p;
                if (r < 0 || r >= H || c < 0 || c >= W) continue;
                sum += x[((b * H + r) * W + c) * C + ci]! *
                  dy[((b * Ho + i) * Wo + j) * O + co]!;
              }
            }
          }
          dw[((kh * k + kw) * C + ci) * O + co] = sum;
        }
      }
    }
  }
  return dw;
}

for (
  const [pad, stride] of [["valid", 1], ["same", 1]] as const
) {
  Deno.test(`Conv2DBackpropFilter on wasm equals the hand-written sum (pad ${pad}, stride ${stride})`, async () => {
    await initWasmBackend();
    const rng = Rng.fromSeed(`conv-${pad}-${stride}`);
    const shape = [2, 7, 6, 3];
    const k = 3, outChannels = 4;
    const xData = Float32Array.from(
      { length: 2 * 7 * 6 * 3 },
      () => rng.normal(),
    );
    const x = tf.tensor4d(xData, shape as [number, number, number, number]);
    const w = tf.variable(
      tf.tensor4d(
        Float32Array.from(
          { length: k * k * 3 * outChannels },
          () => rng.normal(),
        ),
        [k, k, 3, outChannels],
      ),
    );
    const y = tf.conv2d(x, w, stride, pad);
    const dyData = Float32Array.from({ length: y.size }, () => rng.normal());
    const dy = tf.tensor(dyData, y.shape);
    // d/dw Σ conv(x, w) ⊙ dy is exactly the filter gradient for upstream gradient dy.
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.mul(tf.conv2d(x, w, stride, pad), dy)) as tf.Scalar,
      [w],
    );
    const got = grads[w.name]!.dataSync();
    const p = pad === "same" ? 1 : 0;
    const want = filterGradByHand(xData, shape, dyData, y.shape, k, stride, p);
    for (let i = 0; i < want.length; i++) {
      assert(
        Math.abs(got[i]! - want[i]!) <= 1e-4 * (1 + Math.abs(want[i]!)),
        `element ${i}: ${got[i]} vs ${want[i]}`,
      );
    }
    tf.dispose([x, w, y, dy, grads[w.name]!]);
  });
}

Deno.test("Conv2DBackpropFilter on wasm refuses strides other than 1", async () => {
  await initWasmBackend();
  const x = tf.ones([1, 5, 5, 1]) as tf.Tensor4D;
  const w = tf.variable(tf.ones([3, 3, 1, 1]));
  let message = "";
  try {
    tf.variableGrads(
      () =>
        tf.sum(
          tf.conv2d(x, w as tf.Variable<tf.Rank.R4>, 2, "valid"),
        ) as tf.Scalar,
      [
        w,
      ],
    );
  } catch (e) {
    message = (e as Error).message;
  }
  assert(message.includes("stride 1 only"), message);
  tf.dispose([x, w]);
});
