import { assertEquals, assertThrows } from "../assert.ts";
import {
  decodeBundle,
  decodeJson,
  encodeBundle,
  encodeJson,
} from "../../pipeline/artifact.ts";

Deno.test("encodeBundle() round-trips typed columns of every type and the meta", () => {
  const columns = {
    f64: Float64Array.from([1.5, NaN, -Infinity]),
    f32: Float32Array.from([0.25]),
    i32: Int32Array.from([-3, 4]),
    u32: Uint32Array.from([4294967295]),
    u8: Uint8Array.from([1, 2, 3, 4, 5]),
  };
  const { meta, columns: back } = decodeBundle(
    encodeBundle(columns, { status: "ok" }),
  );
  assertEquals(meta, { status: "ok" });
  assertEquals(back, columns);
});

Deno.test("decodeBundle() rejects a wrong magic and a truncated body", () => {
  assertThrows(() => decodeBundle(encodeJson({ a: 1 })), Error, "magic");
  const bytes = encodeBundle({ x: new Float64Array(10) });
  assertThrows(
    () => decodeBundle(bytes.subarray(0, bytes.length - 8)),
    Error,
    "entry 'x' ends past the data",
  );
});

Deno.test("encodeJson() round-trips", () => {
  assertEquals(decodeJson(encodeJson({ a: [1, "b", null] })), {
    a: [1, "b", null],
  });
});
