/**
 * The tfjs compute backend: WASM with SIMD, checked (tfjs silently falls back
 * to the 13x slower `cpu` backend), and with the matmul kernels patched so that
 * transposed products — which back-propagation asks for — run as an explicit
 * transpose followed by a plain product (the WASM kernel is 10–18x slower with
 * transposeA/transposeB set).
 *
 * Tests and stages get the backend with `await initWasmBackend()`.
 */
import * as tf from "@tensorflow/tfjs";
import { version_wasm } from "@tensorflow/tfjs-backend-wasm";
import { registerConv2DBackpropFilter } from "./conv_kernels.ts";

// Registers the "wasm" backend factory (side effect of the package's index).
import "@tensorflow/tfjs-backend-wasm";

/** The kernels whose transposed forms are slow in WASM and get patched. */
export const PATCHED_KERNELS = ["BatchMatMul", "_FusedMatMul"] as const;

let ready: Promise<void> | null = null;
/** Original kernel functions, kept so `setMatMulPatch(false)` can restore them (benchmarks, tests). */
const originals = new Map<string, tf.KernelConfig>();

/**
 * Selects the WASM backend, waits for it, checks it really is active, and
 * patches the matmul kernels. Idempotent: later calls return the same promise.
 */
export function initWasmBackend(): Promise<void> {
  if (ready === null) {
    ready = (async () => {
      let why = "tf.setBackend('wasm') returned false";
      try {
        const ok = await tf.setBackend("wasm");
        await tf.ready();
        if (ok) why = "";
      } catch (e) {
        why = e instanceof Error ? e.message : String(e);
      }
      assertBackend(tf.getBackend(), why);
      setMatMulPatch(true);
      registerConv2DBackpropFilter();
    })();
    ready.catch(() => {
      ready = null;
    });
  }
  return ready;
}

/**
 * Throws a one-line error unless the active backend is "wasm": a fallback to
 * `cpu` would make training ~13x slower and change the recorded versions.
 */
export function assertBackend(name: string | undefined, why = ""): void {
  if (name === "wasm") return;
  throw new Error(
    `tfjs backend fell back to '${name ?? "none"}' instead of 'wasm'${
      why ? ` (${why})` : ""
    }: training would be ~13x slower and results would not match the recorded backend`,
  );
}

/** Runtime versions that change results; part of a training stage's key. */
export function backendVersions(): Record<string, string> {
  return {
    tfjs: tf.version_core,
    backend: "wasm",
    wasm: version_wasm,
    simd: String(tf.env().getBool("WASM_HAS_SIMD_SUPPORT")),
    matmul_patch: "transpose-then-matmul",
  };
}

/** Whether the transpose-first matmul patch is installed. */
export function matMulPatched(): boolean {
  return originals.size > 0;
}

/**
 * Installs (true) or removes (false) the transpose-first patch of the WASM
 * BatchMatMul and _FusedMatMul kernels. Needs the wasm backend to be ready.
 */
export function setMatMulPatch(on: boolean): void {
  if (on === matMulPatched()) return;
  if (!on) {
    for (const [name, config] of originals) {
      tf.unregisterKernel(name, "wasm");
      tf.registerKernel(config);
    }
    originals.clear();
    return;
  }
  const transpose = tf.getKernel("Transpose", "wasm");
  if (transpose === undefined) {
    throw new Error("wasm backend has no Transpose kernel");
  }
  for (const name of PATCHED_KERNELS) {
    const original = tf.getKernel(name, "wasm");
    if (original === undefined) {
      throw new Error(`wasm backend has no ${name} kernel`);
    }
    originals.set(name, original);
    tf.unregisterKernel(name, "wasm");
    // The original's setupFunc already ran when the backend initialised; its
    // kernelFunc keeps working, so the patch only wraps it.
    tf.registerKernel({
      kernelName: name,
      backendName: "wasm",
      kernelFunc: transposeFirst(original.kernelFunc, transpose.kernelFunc),
    });
  }
}

type KernelFunc = tf.KernelConfig["kernelFunc"];
type Info = tf.TensorInfo;

/**
 * Wraps a matmul kernel so it never runs with transpose flags. C = op(A)·op(B)
 * is computed either as A'·B' with the flagged inputs transposed, or — when
 * cheaper and the kernel has no fused bias/activation — as (op(B)ᵀ·op(A)ᵀ)ᵀ,
 * transposing the unflagged inputs and the output. The cost counted is the
 * number of elements moved by explicit transposes.
 */
function transposeFirst(matmul: KernelFunc, transpose: KernelFunc): KernelFunc {
  return (args) => {
    const attrs = args.attrs as Record<string, unknown> | undefined;
    const transposeA = attrs?.transposeA === true;
    const transposeB = attrs?.transposeB === true;
    if (!transposeA && !transposeB) return matmul(args);
    const backend = args.backend as tf.KernelBackend;
    const inputs = args.inputs as Record<string, Info | undefined>;
    const a = inputs.a!;
    const b = inputs.b!;
    const temps: Info[] = [];
    const swapLast = (x: Info): Info => {
      const r = x.shape.length;
      const perm = [...Array(r).keys()];
      perm[r - 1] = r - 2;
      perm[r - 2] = r - 1;
      const out = transpose({
        inputs: { x },
        backend,
        attrs: { perm },
      }) as Info;
      temps.push(out);
      return out;
    };
    const plain = { ...attrs, transposeA: false, transposeB: false };
    try {
      const size = (x: Info) => x.shape.reduce((p, q) => p * q, 1);
      const rows = a.shape[a.shape.length - (transposeA ? 1 : 2)]!;
      const cols = b.shape[b.shape.length - (transposeB ? 2 : 1)]!;
      const batch = Math.max(
        size(a) / (a.shape.at(-1)! * a.shape.at(-2)!),
        size(b) / (b.shape.at(-1)! * b.shape.at(-2)!),
      );
      const direct = (transposeA ? size(a) : 0) + (transposeB ? size(b) : 0);
      const swapped = (transposeA ? 0 : size(a)) + (transposeB ? 0 : size(b)) +
        batch * rows * cols;
      const fused = inputs.bias != null ||
        inputs.preluActivationWeights != null ||
        (attrs?.activation != null && attrs.activation !== "linear");
      if (fused || direct <= swapped) {
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
  };
}
