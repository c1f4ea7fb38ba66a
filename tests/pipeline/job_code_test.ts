/**
 * A Worker or cluster job imports its stage from disk after the run started:
 * `checkJobCode` refuses to run code that is not what the instance is keyed by.
 */
import { assertEquals, assertRejects } from "../assert.ts";
import { encodeJson } from "../../pipeline/artifact.ts";
import { Engine, PipelineError } from "../../pipeline/engine.ts";
import { codeFingerprint } from "../../pipeline/fingerprint.ts";
import { checkJobCode, type Job } from "../../pipeline/job.ts";
import { defineStage } from "../../pipeline/stage.ts";

/** A job for a module, with the code as it is on disk now. */
async function jobFor(entry: string, root: string): Promise<Job> {
  return {
    id: "s",
    stageName: "s",
    module: entry,
    params: {},
    item: {},
    inputs: {},
    select: {},
    seed: "s",
    scratchDir: `${root}/scratch`,
    lineage: [],
    storeDir: `${root}/cache`,
    code: {
      entries: [entry],
      root,
      files: (await codeFingerprint([entry], root)).files,
    },
  };
}

Deno.test("checkJobCode() names the edited, newly imported and dropped files", async () => {
  const root = await Deno.makeTempDir({ prefix: "ir-job-code-" });
  await Deno.writeTextFile(`${root}/a.ts`, 'import "./b.ts";\n');
  await Deno.writeTextFile(`${root}/b.ts`, "export const b = 1;\n");
  await Deno.writeTextFile(`${root}/c.ts`, "export const c = 1;\n");
  const job = await jobFor(`file://${root}/a.ts`, root);
  await checkJobCode(job); // unchanged: no error
  const { code: _, ...handMade } = job;
  await checkJobCode(handMade); // hand-made jobs carry no code: no check
  await Deno.writeTextFile(`${root}/b.ts`, "export const b = 2;\n");
  await assertRejects(
    () => checkJobCode(job),
    Error,
    "the code of stage 's' changed after the run started (b.ts); nothing was run or cached for it: run reproduce again",
  );
  await Deno.writeTextFile(`${root}/a.ts`, 'import "./c.ts";\n');
  await assertRejects(
    () => checkJobCode(job),
    Error,
    "(a.ts, b.ts (no longer imported), c.ts (newly imported))",
  );
  await Deno.remove(root, { recursive: true });
});

Deno.test("a heavy stage edited after the run started fails without caching; the next run uses the new code", async () => {
  const root = await Deno.makeTempDir({ prefix: "ir-job-code-" });
  const heavyPath = `${root}/heavy.ts`;
  const pipeline = new URL("../../pipeline/", import.meta.url).href;
  await Deno.writeTextFile(
    heavyPath,
    `import { defineStage } from "${pipeline}stage.ts";
import { encodeJson } from "${pipeline}artifact.ts";
export const heavy = defineStage({
  name: "heavy",
  module: import.meta.url,
  params: [],
  inputs: { x: { stage: "editor", output: "out" } },
  outputs: ["out"],
  heavy: true,
  run: () => ({ out: encodeJson("heavy") }),
});
`,
  );
  // Runs in the engine's thread after every fingerprint is taken, like a user's
  // editor saving a file mid-run, and only the first time.
  // Its module (what the engine fingerprints) is a stub file: it runs in-thread.
  let edits = 0;
  await Deno.writeTextFile(`${root}/editor.ts`, "export {};\n");
  const editor = defineStage({
    name: "editor",
    module: `file://${root}/editor.ts`,
    params: [],
    outputs: ["out"],
    run: async () => {
      if (edits++ === 0) {
        await Deno.writeTextFile(heavyPath, "export const edited = 1;\n", {
          append: true,
        });
      }
      return { out: encodeJson("editor") };
    },
  });
  const { heavy } = await import(`file://${heavyPath}`);
  const engine = () =>
    new Engine({
      root,
      cacheDir: `${root}/c`,
      lockPath: `${root}/l`,
      stages: [editor, heavy],
    });
  await assertRejects(
    () => engine().reproduce({ experiment: "t", params: {} }),
    PipelineError,
    "the code of stage 'heavy' changed after the run started (heavy.ts)",
  );
  const results = await engine().reproduce({ experiment: "t", params: {} });
  assertEquals(
    results.map((r) => `${r.id} ${r.outcome}`),
    ["editor cached", "heavy ran"],
  );
  await Deno.remove(root, { recursive: true });
});
