/**
 * Replacements for three tfjs-backend-wasm 4.22 kernels, each giving the same
 * bits as the stock kernel, faster (measured in `deno task bench`):
 * - BatchMatMul and _FusedMatMul (`orientByCost`): the stock kernel runs a
 *   scalar loop 10–18× slower whenever a transpose flag is set, and packs
 *   its right operand at ~8 ns per element whenever that tensor is new, which
 *   in training is every weight matrix at every step (matmul_plan.ts).
 * - Identity (`sharedIdentity`): tfjs clones every tensor it saves for the
 *   backward pass; the stock kernel copies the buffer, while tensors are
 *   immutable, so sharing it (as Reshape does) is enough.
 * Installed by backend.ts.
 */
import * as tf from "@tensorflow/tfjs";
import {
  chooseOrientation,
  type MatMulCase,
  type Orientation,
} from "./matmul_plan.ts";

/** The stock kernels that get replaced. */
export const PATCHED_KERNELS = [
  "BatchMatMul",
  "_FusedMatMul",
  "Identity",
] as const;
export type PatchedKernel = typeof PATCHED_KERNELS[number];

type KernelFunc = tf.KernelConfig["kernelFunc"];
type Info = tf.TensorInfo;

/** Stock kernels the replacements are built from. */
export interface Ops {
  transpose: KernelFunc;
  pad: KernelFunc;
  slice: KernelFunc;
}

/** Identity without a copy: the output shares the input's (immutable) buffer. */
export function sharedIdentity(original: KernelFunc): KernelFunc {
  return (args) => {
    const x = (args.inputs as { x: Info }).x;
    if (x.dtype === "string") return original(args);
    (args.backend as tf.KernelBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

/**
 * Rows of padding that take a transpose's write stride off a power of two.
 * The stock Transpose writes the output column by column, with a stride of
 * the input's row count: at 256 or 512 rows the writes collide in the cache
 * and cost 4–5 ns per element instead of ~1. Transposing the matrix padded
 * with 8 zero rows and slicing them off again costs half as much.
 */
const PAD_ROWS = 8;

/** Swaps the last two axes of x (a new tensor the caller disposes). */
export function transposeLastTwo(
  x: Info,
  backend: tf.KernelBackend,
  ops: Ops,
): Info {
  const r = x.shape.length;
  const rows = x.shape[r - 2]!;
  const cols = x.shape[r - 1]!;
  const perm = [...Array(r).keys()];
  perm[r - 1] = r - 2;
  perm[r - 2] = r - 1;
  const size = x.shape.reduce((p, q) => p * q, 1);
  if (rows % 128 !== 0 || cols === 1 || size < 65536) {
    return ops.transpose({ inputs: { x }, backend, attrs: { perm } }) as Info;
  }
  const paddings = x.shape.map((_, i) => [0, i === r - 2 ? PAD_ROWS : 0]);
  const padded = ops.pad({
    inputs: { x },
    backend,
    attrs: { paddings, constantValue: 0 },
  }) as Info;
  const wide = ops.transpose({
    inputs: { x: padded },
    backend,
    attrs: { perm },
  }) as Info;
  backend.disposeData(padded.dataId);
  const out = ops.slice({
    inputs: { x: wide },
    backend,
    attrs: {
      begin: x.shape.map(() => 0),
      size: [...x.shape.slice(0, r - 2), cols, rows],
    },
  }) as Info;
  backend.disposeData(wide.dataId);
  return out;
}

/**
 * How often each tensor (by its dataId) has stood where the fast path would
 * pack it as is: as an unflagged B, or as a flagged A (the right operand of
 * the swapped product). A second appearance means it is being reused (the
 * weights across the batches of a snapshot) and packing it once pays off.
 */
const packableUses = new WeakMap<object, number>();

/**
 * Wraps a matmul kernel so it never runs with transpose flags and puts the
 * cheaper operand on the right (matmul_plan.ts): C = op(A)·op(B) runs either
 * as A'·B' with the flagged inputs transposed, or as (op(B)ᵀ·op(A)ᵀ)ᵀ.
 */
export function orientByCost(matmul: KernelFunc, ops: Ops): KernelFunc {
  return (args) => {
    const attrs = args.attrs as Record<string, unknown> | undefined;
    const flags = {
      transposeA: attrs?.transposeA === true,
      transposeB: attrs?.transposeB === true,
    };
    const inputs = args.inputs as Record<string, Info | undefined>;
    const a = inputs.a!;
    const b = inputs.b!;
    const fused = inputs.bias != null ||
      inputs.preluActivationWeights != null ||
      (attrs?.activation != null && attrs.activation !== "linear");
    const orientation = chooseOrientation(productShape(a, b, flags, fused));
    if (!fused) countPackable(a, b, flags);
    if (!flags.transposeA && !flags.transposeB && orientation === "direct") {
      return matmul(args);
    }
    return runUnflagged(matmul, ops, args, flags, orientation);
  };
}

/** A matmul's transpose flags. */
interface Flags {
  transposeA: boolean;
  transposeB: boolean;
}

/** How often `x` has stood where the fast path would pack it (`packableUses`). */
function uses(x: Info): number {
  return packableUses.get(x.dataId) ?? 0;
}

/** What `chooseOrientation` weighs: C = op(A)·op(B) as m × k × n (× batch), flags, fusion, reuse. */
function productShape(
  a: Info,
  b: Info,
  flags: Flags,
  fused: boolean,
): MatMulCase {
  const { transposeA, transposeB } = flags;
  const size = (x: Info) => x.shape.reduce((p, q) => p * q, 1);
  const rows = (x: Info) => x.shape.at(-2)!;
  const cols = (x: Info) => x.shape.at(-1)!;
  return {
    m: transposeA ? cols(a) : rows(a),
    k: transposeA ? rows(a) : cols(a),
    n: transposeB ? rows(b) : cols(b),
    batch: Math.max(
      size(a) / (rows(a) * cols(a)),
      size(b) / (rows(b) * cols(b)),
    ),
    transposeA,
    transposeB,
    fused,
    bReused: uses(b) > 0,
    aReused: uses(a) > 0,
  };
}

/** Counts the operands the fast path would pack as they are: an unflagged B, a flagged A. */
function countPackable(a: Info, b: Info, flags: Flags): void {
  if (!flags.transposeB) packableUses.set(b.dataId, uses(b) + 1);
  if (flags.transposeA) packableUses.set(a.dataId, uses(a) + 1);
}

/**
 * Runs the product with no transpose flag: A'·B' with the flagged inputs
 * transposed ("direct"), or (op(B)ᵀ·op(A)ᵀ)ᵀ. Temporaries are freed.
 */
function runUnflagged(
  matmul: KernelFunc,
  ops: Ops,
  args: Parameters<KernelFunc>[0],
  flags: Flags,
  orientation: Orientation,
): ReturnType<KernelFunc> {
  const { transposeA, transposeB } = flags;
  const backend = args.backend as tf.KernelBackend;
  const inputs = args.inputs as Record<string, Info | undefined>;
  const a = inputs.a!;
  const b = inputs.b!;
  const temps: Info[] = [];
  const swapLast = (x: Info): Info => {
    const out = transposeLastTwo(x, backend, ops);
    temps.push(out);
    return out;
  };
  const plain = { ...args.attrs, transposeA: false, transposeB: false };
  try {
    if (orientation === "direct") {
      const a2 = transposeA ? swapLast(a) : a;
      const b2 = transposeB ? swapLast(b) : b;
      return matmul({
        ...args,
        inputs: { ...inputs, a: a2, b: b2 },
        attrs: plain,
      });
    }
    // (op(A)·op(B))ᵀ = op(B)ᵀ·op(A)ᵀ, where op(B)ᵀ is B itself when B was flagged.
    const bt = transposeB ? b : swapLast(b);
    const at = transposeA ? a : swapLast(a);
    const ct = matmul({
      ...args,
      inputs: { ...inputs, a: bt, b: at },
      attrs: plain,
    }) as Info;
    temps.push(ct);
    const c = swapLast(ct);
    temps.pop(); // c is the result, not a temporary
    return c;
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}
