import { assertEquals } from "../assert.ts";
import { canonicalJson, hashJson, sha256 } from "../../pipeline/hash.ts";

Deno.test("canonicalJson() sorts keys at every depth", () => {
  assertEquals(
    canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null } }),
    '{"a":{"c":null,"d":[2,{"e":0,"f":1}]},"b":1}',
  );
});

Deno.test("sha256() matches the published digest of 'abc'", () => {
  assertEquals(
    sha256("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assertEquals(hashJson({ b: 1, a: 2 }), hashJson({ a: 2, b: 1 }));
});
