import { assert, assertEquals } from "../../assert.ts";
import {
  chooseOrientation,
  type MatMulCase,
  orientationCosts,
  PACK_COST,
} from "../../../stages/nn/matmul_plan.ts";

/** A product of the paper's first layer at batch 64, fresh operands, no flags. */
const base: MatMulCase = {
  m: 64,
  k: 784,
  n: 512,
  batch: 1,
  transposeA: false,
  transposeB: false,
  fused: false,
  bReused: false,
  aReused: false,
};

Deno.test("orientationCosts() counts transposes once and packing PACK_COST times per element", () => {
  // Forward x·W, W fresh: direct packs W (k·n); swapped transposes W and x,
  // packs xᵀ (k·m) and transposes the m×n output back.
  assertEquals(orientationCosts(base), {
    direct: PACK_COST * 784 * 512,
    swapped: 784 * 512 + 64 * 784 + 64 * 512 + PACK_COST * 784 * 64,
  });
  // Weight gradient xᵀ·dy (transposeA): direct transposes x and packs dy.
  assertEquals(
    orientationCosts({ ...base, m: 784, k: 64, n: 512, transposeA: true }),
    {
      direct: 784 * 64 + PACK_COST * 64 * 512,
      swapped: 64 * 512 + 784 * 512 + PACK_COST * 64 * 784,
    },
  );
});

Deno.test("chooseOrientation() puts the small fresh operand on the right in training", () => {
  // Forward with fresh weights: pack the 64-row activations, not the kernel.
  assertEquals(chooseOrientation(base), "swapped");
  // Input gradient dy·Wᵀ (transposeB): W·dyᵀ needs no copy of W at all.
  assertEquals(
    chooseOrientation({ ...base, k: 512, n: 784, transposeB: true }),
    "swapped",
  );
  // Weight gradient xᵀ·dy: the swapped form would transpose a 784×512 output.
  assertEquals(
    chooseOrientation({ ...base, m: 784, k: 64, transposeA: true }),
    "direct",
  );
});

Deno.test("chooseOrientation() keeps reused weights packed and respects fused and batched products", () => {
  // The same weights over the batches of a snapshot: their cached packing is free.
  assertEquals(chooseOrientation({ ...base, bReused: true }), "direct");
  // A large evaluation chunk: packing 2000 rows would cost more than the kernel.
  assertEquals(chooseOrientation({ ...base, m: 2000 }), "direct");
  // Bias and activation are only applied right in the direct orientation.
  assertEquals(chooseOrientation({ ...base, fused: true }), "direct");
  // Batched products never reach the packing fast path: only copies count.
  const batched = orientationCosts({ ...base, batch: 3 });
  assertEquals(batched.direct, 0);
  assert(batched.swapped > 0);
  assertEquals(chooseOrientation({ ...base, batch: 3 }), "direct");
});
