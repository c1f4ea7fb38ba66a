/**
 * The code fingerprint hashes token streams: comments and layout do not
 * count, everything the compiler sees does; imports come from real tokens.
 */
import {
  assert,
  assertEquals,
  assertNotEquals,
  assertRejects,
} from "../assert.ts";
import { codeFingerprint, localImports } from "../../pipeline/fingerprint.ts";
import { scanModule, typescript } from "../../pipeline/tokens.ts";
import { sha256 } from "../../pipeline/hash.ts";
import { STAGES } from "../../stages/mod.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

Deno.test("localImports() finds relative static, re-export and dynamic imports, not ones in comments or strings", async () => {
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
    const text = 'import "./in-string.ts"';
    const tpl = \`import { t } from "./in-template.ts"\`;
    const from = "./not-an-import.ts";
  `;
  assertEquals(await localImports(source), [
    "../b.ts",
    "./a.ts",
    "./c/mod.ts",
    "./d.ts",
    "./side.ts",
  ]);
});

Deno.test("scanModule() keeps the packages code runs from and drops type-only ones", async () => {
  const m = await scanModule(`
    import type { Tensor } from "@tensorflow/tfjs-core";
    import type * as TS from "typescript";
    export type { Z } from "zod";
    import * as tf from "@tensorflow/tfjs";
    import { type A, b } from "eta";
    const url = import.meta.resolve("vega-embed");
  `);
  assertEquals(m.typeOnly, ["@tensorflow/tfjs-core", "typescript", "zod"]);
  assertEquals(m.resolved, ["vega-embed"]);
  assertEquals(
    m.imports.filter((s) => !m.typeOnly.includes(s)),
    ["@tensorflow/tfjs", "eta"],
  );
});

/** Fingerprint of one module written to a temp file. */
async function fingerprintOf(source: string): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "ir-fp-" });
  await Deno.writeTextFile(`${root}/m.ts`, source);
  await Deno.writeTextFile(`${root}/x.ts`, "export const x = 1;\n");
  const fp = await codeFingerprint([`file://${root}/m.ts`], root);
  await Deno.remove(root, { recursive: true });
  return fp.hash;
}

const MODULE = `import { x } from "./x.ts";

/** The step size. */
export const LR = 0.001;
const pattern = /a b/g;

export function f(values: number[], name = "adam"): string {
  const total = values.reduce((a, b) => a + b, 0);
  if (total > 1) {
    return \`\${name}: \${total / values.length}\`;
  }
  return String(x + LR);
}
`;

// Semicolons count (a missing one can change the meaning through ASI); deno fmt adds them.
Deno.test("a comment, re-indentation, quote style and trailing commas keep the fingerprint", async () => {
  const before = await fingerprintOf(MODULE);
  const messy = `// a new comment line
import {x} from './x.ts';
/* block */ export const LR = 0.001; // trailing comment
const pattern = /a b/g;
export function f(
      values: number[],
      name = 'adam',
) : string {
const total = values.reduce((a, b,) => a + b, 0,);
if (total > 1) { return \`\${name}: \${total / values.length}\`; }
  return String(x + LR);
}
`;
  assertEquals(await fingerprintOf(messy), before);
});

Deno.test("deno fmt of an unformatted module keeps the fingerprint", async () => {
  const root = await Deno.makeTempDir({ prefix: "ir-fp-fmt-" });
  const messy = MODULE.replaceAll("  ", "        ").replaceAll('"', "'")
    .replace("(a, b) => a + b, 0)", "(a, b) => a + b, 0,)");
  await Deno.writeTextFile(`${root}/m.ts`, messy);
  await Deno.writeTextFile(`${root}/x.ts`, "export const x = 1;\n");
  const url = `file://${root}/m.ts`;
  const before = (await codeFingerprint([url], root)).hash;
  const out = await new Deno.Command("deno", {
    args: ["fmt", "--quiet", `${root}/m.ts`],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const formatted = await Deno.readTextFile(`${root}/m.ts`);
  assertNotEquals(formatted, messy, "deno fmt changed the file");
  assertEquals((await codeFingerprint([url], root)).hash, before);
  assertEquals(before, await fingerprintOf(MODULE));
  await Deno.remove(root, { recursive: true });
});

Deno.test("any change the compiler sees changes the fingerprint", async () => {
  const before = await fingerprintOf(MODULE);
  const edits: Array<[string, string]> = [
    ["0.001", "0.002"], // a constant
    ['"adam"', '"sgd"'], // a string
    ["/a b/g", "/ab/g"], // whitespace inside a regular expression
    ["${name}: ", "${name}:  "], // whitespace inside a template
    ["a + b", "a - b"], // an operator
    ["return String", "return\nString"], // a line break ASI gives meaning
  ];
  for (const [from, to] of edits) {
    assert(MODULE.includes(from), from);
    assertNotEquals(
      await fingerprintOf(MODULE.replace(from, to)),
      before,
      `${from} → ${JSON.stringify(to)}`,
    );
  }
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
  await Deno.writeTextFile(`${root}/s/page.css`, "p { color: red }\n");
  const url = `file://${root}/s/stage.ts`;
  const css = `file://${root}/s/page.css`;
  const before = await codeFingerprint([url, css], root);
  assertEquals(Object.keys(before.files).sort(), [
    "s/lib/f.ts",
    "s/lib/g.ts",
    "s/page.css",
    "s/stage.ts",
  ]);
  // Non-code sources keep byte hashing.
  assertEquals(before.files["s/page.css"], sha256("p { color: red }\n"));
  await Deno.writeTextFile(`${root}/s/other.ts`, "export const o = 2;\n");
  assertEquals((await codeFingerprint([url, css], root)).hash, before.hash);
  await Deno.writeTextFile(`${root}/s/lib/g.ts`, "export const g = 2;\n");
  assertNotEquals((await codeFingerprint([url, css], root)).hash, before.hash);
  await Deno.writeTextFile(`${root}/s/page.css`, "p {  color: red }\n");
  const css2 = await codeFingerprint([url, css], root);
  assertNotEquals(css2.files["s/page.css"], before.files["s/page.css"]);
  await Deno.remove(root, { recursive: true });
});

Deno.test("codeFingerprint() names a missing imported file", async () => {
  const root = await Deno.makeTempDir();
  await Deno.writeTextFile(`${root}/a.ts`, 'import "./gone.ts";\n');
  await assertRejects(
    () => codeFingerprint([`file://${root}/a.ts`], root),
    Error,
    "gone.ts' (imported by the stage) does not exist",
  );
  await Deno.remove(root, { recursive: true });
});

/** Every TypeScript file of the project, relative to the root. */
function projectFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(`${ROOT}/${dir}`)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) walk(path);
      else if (path.endsWith(".ts")) files.push(path);
    }
  };
  for (const dir of ["pipeline", "stages", "tests"]) walk(dir);
  return files.sort();
}

Deno.test("scanModule() reads every regular expression and template part of the project as the TypeScript parser does", async () => {
  const ts = await typescript();
  const literal = new Set([
    ts.SyntaxKind.RegularExpressionLiteral,
    ts.SyntaxKind.NoSubstitutionTemplateLiteral,
    ts.SyntaxKind.TemplateHead,
    ts.SyntaxKind.TemplateMiddle,
    ts.SyntaxKind.TemplateTail,
  ]);
  let checked = 0;
  for (const file of projectFiles()) {
    const text = await Deno.readTextFile(`${ROOT}/${file}`);
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest);
    const expected: string[] = [];
    const visit = (node: import("typescript").Node) => {
      if (literal.has(node.kind)) expected.push(node.getText(source));
      node.getChildren(source).forEach(visit);
    };
    visit(source);
    const scanned = (await scanModule(text)).tokens.filter((t) =>
      t.startsWith("t:")
    ).map((t) => t.slice(2));
    assertEquals(scanned, expected, file);
    checked += expected.length;
  }
  assert(checked > 100, `only ${checked} literals checked`);
});

/** A copy of the project's code in a temp folder, to edit without touching the repo. */
async function projectCopy(): Promise<string> {
  const copy = await Deno.makeTempDir({ prefix: "ir-fp-project-" });
  for (const dir of ["pipeline", "stages", "reports"]) {
    await copyTree(`${ROOT}/${dir}`, `${copy}/${dir}`);
  }
  return copy;
}

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) {
      await copyTree(`${from}/${entry.name}`, `${to}/${entry.name}`);
    } else if (entry.isFile && !entry.name.startsWith(".")) {
      await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
    }
  }
}

/** Each real stage's fingerprint, computed on the copy at `root`. */
async function stageHashes(
  root: string,
): Promise<Record<string, { hash: string; files: string[] }>> {
  const out: Record<string, { hash: string; files: string[] }> = {};
  const moved = (url: string) =>
    url.replace(`file://${ROOT}/`, `file://${root}/`);
  for (const stage of STAGES) {
    const fp = await codeFingerprint(
      [stage.module, ...(stage.sources ?? [])].map(moved),
      root,
    );
    out[stage.name] = { hash: fp.hash, files: Object.keys(fp.files) };
  }
  return out;
}

Deno.test("a comment edit in stages/train/ or stages/metrics/claims.ts changes no stage's fingerprint; a constant changes exactly the stages importing it", async () => {
  const root = await projectCopy();
  const before = await stageHashes(root);
  for (
    const file of ["stages/nn/contracts.ts", "stages/metrics/claims.ts"]
  ) {
    const path = `${root}/${file}`;
    const text = await Deno.readTextFile(path);
    await Deno.writeTextFile(
      path,
      `// An added comment.\n${
        text.replace("\nexport ", "\n/* and another */ export ")
      }`,
    );
  }
  assertEquals(await stageHashes(root), before, "comments change no key");

  // The verdicts' seed minimum (SCIENCE §7.1), which claims.ts imports.
  const paired = `${root}/stages/metrics/paired.ts`;
  const text = await Deno.readTextFile(paired);
  const constant = text.match(/^export const MIN_SEEDS = (\d+);/m);
  assert(constant, "paired.ts has the MIN_SEEDS constant to change");
  await Deno.writeTextFile(
    paired,
    text.replace(
      constant[0],
      constant[0].replace(constant[1]!, String(Number(constant[1]) + 1)),
    ),
  );
  const after = await stageHashes(root);
  const importing = STAGES.map((s) => s.name).filter((name) =>
    before[name]!.files.includes("stages/metrics/paired.ts")
  );
  const changed = STAGES.map((s) => s.name).filter((name) =>
    after[name]!.hash !== before[name]!.hash
  );
  assert(importing.length > 0 && importing.length < STAGES.length);
  assertEquals(changed, importing);
  await Deno.remove(root, { recursive: true });
});

Deno.test("codeFingerprint() memoizes scans on disk by content: it reads them back, and a changed file is scanned anew", async () => {
  const root = await Deno.makeTempDir({ prefix: "ir-fp-memo-" });
  await Deno.writeTextFile(`${root}/m.ts`, "export const memoized = 1;\n");
  const url = `file://${root}/m.ts`;
  const memoDir = `${root}/memo`;
  // First (this process has not scanned this content yet), then without the memo.
  const written = await codeFingerprint([url], root, { memoDir, write: true });
  const plain = await codeFingerprint([url], root);
  assertEquals(written.hash, plain.hash);
  const memos: string[] = [];
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(dir)) {
      if (e.isDirectory) walk(`${dir}/${e.name}`);
      else memos.push(`${dir}/${e.name}`);
    }
  };
  walk(memoDir);
  assertEquals(memos.length, 1);
  assert(memos[0]!.includes(sha256("export const memoized = 1;\n").slice(2)));
  // The memo is what a later process reads (shown by planting another token hash).
  const planted = JSON.parse(Deno.readTextFileSync(memos[0]!));
  planted.tokens = "ab".repeat(32);
  Deno.writeTextFileSync(memos[0]!, JSON.stringify(planted));
  const child = await new Deno.Command("deno", {
    args: [
      "eval",
      `import { codeFingerprint } from "${
        new URL("../../pipeline/fingerprint.ts", import.meta.url).href
      }";
      const fp = await codeFingerprint(["${url}"], "${root}", { memoDir: "${memoDir}" });
      console.log(fp.files["m.ts"]);`,
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(
    new TextDecoder().decode(child.stdout).trim(),
    "ab".repeat(32),
    new TextDecoder().decode(child.stderr),
  );
  // A damaged memo is ignored; a changed file has another name.
  Deno.writeTextFileSync(memos[0]!, "{not json");
  await Deno.writeTextFile(`${root}/m.ts`, "export const memoized = 2;\n");
  const changed = await codeFingerprint([url], root, { memoDir });
  assertNotEquals(changed.hash, plain.hash);
  await Deno.remove(root, { recursive: true });
});
