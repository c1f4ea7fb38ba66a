import { assert, assertEquals } from "../../assert.ts";
import {
  benchWorkerScaling,
  scalingRatio,
} from "../../../stages/train/bench_scaling.ts";

Deno.test("scalingRatio: two Workers each as fast as one alone is 2, each twice as slow is 1", () => {
  assertEquals(scalingRatio(1, [1, 1]), 2);
  assertEquals(scalingRatio(1, [2, 2]), 1);
  assertEquals(scalingRatio(3, [4, 6]), 0.75 + 0.5);
});

Deno.test("benchWorkerScaling runs the probe in Workers on the WASM backend and reports their times", async () => {
  const b = await benchWorkerScaling(2, 2);
  assertEquals(b.together.length, 2);
  assert(b.single > 0 && b.together.every((t) => t > 0), JSON.stringify(b));
  assertEquals(b.ratio, scalingRatio(b.single, b.together));
});
