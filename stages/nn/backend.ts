/**
 * The tfjs compute backend: WASM with SIMD, checked (tfjs silently falls back
 * to the 13x slower `cpu` backend), with three stock kernels replaced by
 * faster ones that give bit-identical results (wasm_kernels.ts): the two
 * matmuls (no transpose flags, cheaper operand packed) and Identity (no copy).
 *
 * Tests and stages get the backend with `await initWasmBackend()`.
 */
import * as tf from "@tensorflow/tfjs";
import { version_wasm } from "@tensorflow/tfjs-backend-wasm";
import { registerConv2DBackpropFilter } from "./conv_kernels.ts";
import {
  orientByCost,
  PATCHED_KERNELS,
  type PatchedKernel,
  sharedIdentity,
} from "./wasm_kernels.ts";

// Registers the "wasm" backend factory (side effect of the package's index).
import "@tensorflow/tfjs-backend-wasm";

let ready: Promise<void> | null = null;
/** Original kernel functions, kept so `setKernelPatches(false)` can restore them (benchmarks, tests). */
const originals = new Map<string, tf.KernelConfig>();

/**
 * Selects the WASM backend, waits for it, checks it really is active, and
 * installs the kernel patches. Idempotent: later calls return the same promise.
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
      setKernelPatches(true);
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
    kernel_patches:
      "matmul: explicit transposes, operand order by packing cost; identity: shared buffer",
  };
}

/** Whether the kernel patches are installed. */
export function kernelsPatched(): boolean {
  return originals.size > 0;
}

/**
 * Installs (true) or removes (false) the patched WASM kernels: BatchMatMul and
 * _FusedMatMul (`orientByCost`), Identity (`sharedIdentity`). Needs the wasm
 * backend to be ready. Stock and patched kernels give the same bits; only
 * their speed differs, which `deno task bench` compares side by side.
 */
export function setKernelPatches(on: boolean): void {
  if (on === kernelsPatched()) return;
  if (!on) {
    for (const [name, config] of originals) {
      tf.unregisterKernel(name, "wasm");
      tf.registerKernel(config);
    }
    originals.clear();
    return;
  }
  const kernel = (name: string) => {
    const k = tf.getKernel(name, "wasm");
    if (k === undefined) {
      throw new Error(`The WASM backend has no ${name} kernel`);
    }
    return k.kernelFunc;
  };
  const ops = {
    transpose: kernel("Transpose"),
    pad: kernel("PadV2"),
    slice: kernel("Slice"),
  };
  const replacement = (name: PatchedKernel, original: tf.KernelFunc) =>
    name === "Identity"
      ? sharedIdentity(original)
      : orientByCost(original, ops);
  for (const name of PATCHED_KERNELS) {
    const original = tf.getKernel(name, "wasm");
    if (original === undefined) {
      throw new Error(`The WASM backend has no ${name} kernel`);
    }
    originals.set(name, original);
    tf.unregisterKernel(name, "wasm");
    // The original's setupFunc already ran when the backend initialised; its
    // kernelFunc keeps working, so the patch only wraps it.
    tf.registerKernel({
      kernelName: name,
      backendName: "wasm",
      kernelFunc: replacement(name, original.kernelFunc),
    });
  }
}
