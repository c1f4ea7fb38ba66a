/**
 * tfjs-backend-wasm 4.22 has no `Conv2DBackpropFilter` kernel, so a CNN
 * cannot train on it. A 2-D convolution is a 3-D one of depth 1, and the
 * backend does have `Conv3DBackpropFilterV2`: this registers the 2-D kernel
 * as that one on reshaped (shared-buffer) views. Stride 1 only: with stride
 * 2 the wasm Conv3DBackpropFilterV2 disagrees with the hand-written sum
 * (tests/stages/nn/conv_kernels_test.ts), so larger strides are refused.
 */
import * as tf from "@tensorflow/tfjs-core";

type Info = tf.TensorInfo;

/** Registers `Conv2DBackpropFilter` for wasm (idempotent). */
export function registerConv2DBackpropFilter(): void {
  if (tf.getKernel("Conv2DBackpropFilter", "wasm")) return;
  const conv3d = tf.getKernel("Conv3DBackpropFilterV2", "wasm");
  const reshape = tf.getKernel("Reshape", "wasm");
  if (!conv3d || !reshape) {
    throw new Error(
      "The wasm backend lacks Conv3DBackpropFilterV2 or Reshape: cannot train convolutions",
    );
  }
  tf.registerKernel({
    kernelName: "Conv2DBackpropFilter",
    backendName: "wasm",
    kernelFunc: filterGradientAsConv3d(conv3d, reshape),
  });
}

/** The attributes tfjs passes to Conv2DBackpropFilter. */
interface FilterAttrs {
  strides: number | [number, number];
  pad: "valid" | "same" | number | unknown;
  dataFormat: "NHWC" | "NCHW";
  filterShape: [number, number, number, number];
}

/** The strides and pad of a supported call (NHWC, pad 'valid' or 'same', stride 1); throws otherwise. */
function supportedCall(
  a: FilterAttrs,
): { sh: number; sw: number; pad: "valid" | "same" } {
  if (a.dataFormat === "NCHW") {
    throw new Error("Conv2DBackpropFilter on wasm supports NHWC only");
  }
  if (a.pad !== "valid" && a.pad !== "same") {
    throw new Error(
      `Conv2DBackpropFilter on wasm supports pad 'valid' or 'same', got ${
        JSON.stringify(a.pad)
      }`,
    );
  }
  const [sh, sw] = typeof a.strides === "number"
    ? [a.strides, a.strides]
    : a.strides;
  if (sh !== 1 || sw !== 1) {
    throw new Error(
      `Conv2DBackpropFilter on wasm supports stride 1 only, got [${sh}, ${sw}]`,
    );
  }
  return { sh, sw, pad: a.pad };
}

/** The 2-D filter gradient as the 3-D one of depth 1, on reshaped views of x, dy and the result. */
function filterGradientAsConv3d(
  conv3d: tf.KernelConfig,
  reshape: tf.KernelConfig,
): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: Info; dy: Info };
    const a = attrs as unknown as FilterAttrs;
    const { sh, sw, pad } = supportedCall(a);
    const view = (t: Info, shape: number[]) =>
      reshape.kernelFunc({
        inputs: { x: t },
        backend,
        attrs: { shape },
      }) as Info;
    // [B, H, W, C] → [B, 1, H, W, C]; dy likewise; filter [kh, kw, cin, cout] → [1, kh, kw, cin, cout].
    const x5 = view(x, [x.shape[0]!, 1, ...x.shape.slice(1)]);
    const dy5 = view(dy, [dy.shape[0]!, 1, ...dy.shape.slice(1)]);
    const dw5 = conv3d.kernelFunc({
      inputs: { x: x5, dy: dy5 },
      backend,
      attrs: {
        strides: [1, sh, sw],
        pad,
        filterShape: [1, ...a.filterShape],
      },
    }) as Info;
    const dw = view(dw5, a.filterShape);
    for (const t of [x5, dy5, dw5]) {
      (backend as tf.KernelBackend).disposeData(t.dataId);
    }
    return dw;
  };
}
