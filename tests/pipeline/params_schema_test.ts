/**
 * A stage's params schema (any Standard Schema; zod here): the engine parses
 * the declared params once before anything runs, failing the whole run with
 * one line naming the stage, and the job hands `run` the parsed value.
 */
import { z } from "zod";
import { assert, assertEquals } from "../assert.ts";
import { buildGraph } from "../../pipeline/graph.ts";
import { encodeText } from "../../pipeline/artifact.ts";
import { defineStage, parseParams } from "../../pipeline/stage.ts";
import { tempProject } from "./_project.ts";

/** A stage whose schema turns `a.n` into a number it doubles, and lists items from `a.k`. */
function schemaStage(module: string, seen: unknown[]) {
  return defineStage({
    name: "typed",
    module,
    params: ["a.n"],
    schema: z.strictObject({ "a.n": z.number().int().max(10) }).transform((
      p,
    ) => ({ twice: p["a.n"] * 2 })),
    foreach: {
      params: ["a.k"],
      schema: z.strictObject({ "a.k": z.array(z.string()).min(1) }),
      items: (p) => p["a.k"].map((k) => ({ k })),
    },
    outputs: ["out"],
    run(ctx) {
      seen.push(ctx.params);
      return { out: encodeText(String(ctx.params.twice)) };
    },
  });
}

Deno.test("buildGraph() parses each stage's params and fan-out with its schema, naming the stage", async () => {
  const seen: unknown[] = [];
  const p = await tempProject((q) => [
    schemaStage(q.writeModule("typed.ts", "export const t = 1;\n"), seen),
  ]);
  const stages = p.engine.project.stages;
  const error = (tree: unknown) => {
    try {
      buildGraph(stages, tree as never);
      return "ok";
    } catch (e) {
      return (e as Error).message;
    }
  };
  assertEquals(error({ a: { n: 3, k: ["x", "y"] } }), "ok");
  // The wording after the path is the schema's (the stages set their own).
  const tooBig = error({ a: { n: 11, k: ["x"] } });
  assert(tooBig.startsWith("Stage 'typed' params: a.n: "), tooBig);
  assert(/10/.test(tooBig) && !tooBig.includes("\n"), tooBig);
  const empty = error({ a: { n: 3, k: [] } });
  assert(empty.startsWith("Stage 'typed' fan-out: a.k: "), empty);
  // The key holds the declared params as written; run receives the parsed value.
  const results = await p.engine.reproduce({
    experiment: "t",
    params: { a: { n: 3, k: ["x", "y"] } },
  });
  assertEquals(results.map((r) => r.outcome), ["ran", "ran"]);
  assertEquals(seen, [{ twice: 6 }, { twice: 6 }]);
  await Deno.remove(p.root, { recursive: true });
});

Deno.test("parseParams() throws one line for the first issue, with its path", () => {
  const schema = z.strictObject({ "x.y": z.string() });
  let message = "";
  try {
    parseParams(schema, { "x.y": 1 }, "Stage 's' params");
  } catch (e) {
    message = (e as Error).message;
  }
  assert(message.startsWith("Stage 's' params: x.y: "), message);
  assert(/string/.test(message) && !message.includes("\n"), message);
});
