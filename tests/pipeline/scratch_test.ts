/**
 * Scratch folders (`.cache/scratch/<key>`) hold a run's resume state: kept
 * when a failed run left some, removed when it left none, so failures do
 * not litter the cache with empty folders.
 */
import { assertEquals } from "../assert.ts";
import { PipelineError } from "../../pipeline/engine.ts";
import { encodeText } from "../../pipeline/artifact.ts";
import { defineStage } from "../../pipeline/stage.ts";
import { tempProject } from "./_project.ts";

/** A stage that fails, after saving resume state when `params.save` is true. */
function failing(module: string) {
  return defineStage({
    name: "fails",
    module,
    params: ["save"],
    outputs: ["out"],
    async run(ctx) {
      if (ctx.params["save"] === true) {
        await Deno.writeTextFile(`${ctx.scratchDir}/resume.bin`, "epoch 3");
      }
      throw new Error("boom");
      // deno-lint-ignore no-unreachable
      return { out: encodeText("never") };
    },
  });
}

/** The scratch folders the run left. */
function scratch(root: string): string[] {
  try {
    return [...Deno.readDirSync(`${root}/.cache/scratch`)].map((e) => e.name);
  } catch {
    return [];
  }
}

Deno.test("a failed instance's empty scratch folder is removed; one holding resume state is kept", async () => {
  const p = await tempProject((q) => [
    failing(q.writeModule("fails.ts", "export const f = 1;\n")),
  ]);
  for (const save of [false, true]) {
    let error: unknown;
    try {
      await p.engine.reproduce({ experiment: "t", params: { save } });
    } catch (e) {
      error = e;
    }
    assertEquals(error instanceof PipelineError, true, String(error));
    assertEquals((error as PipelineError).failures[0]!.error!.message, "boom");
    const left = scratch(p.root);
    if (!save) assertEquals(left, [], "no empty folder left");
    else {
      assertEquals(left.length, 1, "the resume state stays");
      assertEquals(
        Deno.readTextFileSync(`${p.root}/.cache/scratch/${left[0]}/resume.bin`),
        "epoch 3",
      );
    }
  }
  await Deno.remove(p.root, { recursive: true });
});
