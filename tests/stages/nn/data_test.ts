import { assertEquals, assertThrowsMatch } from "../../assert.ts";
import * as tf from "@tensorflow/tfjs";
import { initWasmBackend } from "../../../stages/nn/backend.ts";
import { rangeTensors, rowTensors } from "../../../stages/nn/data.ts";

await initWasmBackend();

/** Five samples of three pixels: pixel j of sample i is i + j/10; label i. */
const set = {
  n: 5,
  d: 3,
  images: Float32Array.from(
    { length: 15 },
    (_, k) => Math.floor(k / 3) + (k % 3) / 10,
  ),
  labels: Int32Array.from([0, 1, 2, 3, 4]),
};

Deno.test("rowTensors() copies the chosen rows, in the given order, with their labels", () => {
  const { x, y } = rowTensors(set, Uint32Array.from([4, 0, 2]));
  assertEquals(x.shape, [3, 3]);
  assertEquals(
    Array.from(x.dataSync()),
    Array.from(Float32Array.from([4, 4.1, 4.2, 0, 0.1, 0.2, 2, 2.1, 2.2])),
  );
  assertEquals(y.dtype, "int32");
  assertEquals(Array.from(y.dataSync()), [4, 0, 2]);
  tf.dispose([x, y]);
});

Deno.test("rangeTensors() takes consecutive samples", () => {
  const { x, y } = rangeTensors(set, 3, 2);
  assertEquals(x.shape, [2, 3]);
  assertEquals(
    Array.from(x.dataSync()),
    Array.from(Float32Array.from([3, 3.1, 3.2, 4, 4.1, 4.2])),
  );
  assertEquals(Array.from(y.dataSync()), [3, 4]);
  tf.dispose([x, y]);
});

Deno.test("rowTensors() and rangeTensors() reject indices outside the set in one line", () => {
  assertThrowsMatch(
    () => rowTensors(set, [1, 5]),
    /^Error: rows: index 5 is outside 0\.\.4$/,
  );
  assertThrowsMatch(
    () => rowTensors(set, [-1]),
    /rows: index -1 is outside 0\.\.4/,
  );
  assertThrowsMatch(
    () => rangeTensors(set, 4, 2),
    /range: 4\.\.5 is outside 0\.\.4/,
  );
});
