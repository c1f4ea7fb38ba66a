import { assertEquals, assertNotEquals, assertThrows } from "../assert.ts";
import {
  canonicalJson,
  codeFingerprint,
  hashJson,
  localImports,
  sha256,
} from "../../pipeline/hash.ts";

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

Deno.test("localImports() finds relative static, re-export and dynamic imports only", () => {
  const source = `
    import { a } from "./a.ts";
    import type { B } from '../b.ts';
    export { c } from "./c/mod.ts";
    import "./side.ts";
    const d = await import("./d.ts");
    import * as tf from "@tensorflow/tfjs";
    import x from "npm:zod@4";
    // import { gone } from "./commented.ts";
    /** e.g. \`import("./in-doc.ts")\` */
  `;
  assertEquals(localImports(source), [
    "../b.ts",
    "./a.ts",
    "./c/mod.ts",
    "./d.ts",
    "./side.ts",
  ]);
});

Deno.test("codeFingerprint() covers the transitive local imports and names them relative to the root", async () => {
  const root = await Deno.makeTempDir();
  await Deno.mkdir(`${root}/s/lib`, { recursive: true });
  await Deno.writeTextFile(
    `${root}/s/stage.ts`,
    'import { f } from "./lib/f.ts";\n',
  );
  await Deno.writeTextFile(
    `${root}/s/lib/f.ts`,
    'export { g } from "./g.ts";\nexport const f = 1;\n',
  );
  await Deno.writeTextFile(`${root}/s/lib/g.ts`, "export const g = 1;\n");
  await Deno.writeTextFile(`${root}/s/other.ts`, "export const o = 1;\n");
  const url = `file://${root}/s/stage.ts`;
  const before = codeFingerprint([url], root);
  assertEquals(Object.keys(before.files).sort(), [
    "s/lib/f.ts",
    "s/lib/g.ts",
    "s/stage.ts",
  ]);
  assertEquals(before.files["s/lib/g.ts"], sha256("export const g = 1;\n"));
  await Deno.writeTextFile(`${root}/s/other.ts`, "export const o = 2;\n");
  assertEquals(codeFingerprint([url], root).hash, before.hash);
  await Deno.writeTextFile(`${root}/s/lib/g.ts`, "export const g = 2;\n");
  assertNotEquals(codeFingerprint([url], root).hash, before.hash);
});

Deno.test("codeFingerprint() names a missing imported file", async () => {
  const root = await Deno.makeTempDir();
  await Deno.writeTextFile(`${root}/a.ts`, 'import "./gone.ts";\n');
  assertThrows(
    () => codeFingerprint([`file://${root}/a.ts`], root),
    Error,
    "gone.ts' (imported by the stage) does not exist",
  );
});
