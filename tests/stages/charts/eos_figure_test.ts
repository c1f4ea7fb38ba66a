import { assert, assertEquals } from "../../assert.ts";
import { makeMetricsFixture } from "../../fixtures/metrics_fixture.ts";
import {
  edgeOfStabilityFigure,
  groupLine,
} from "../../../stages/charts/eos_figure.ts";
import { compileStrict } from "../../../stages/charts/render.ts";

const doc = makeMetricsFixture();
const groups = ["sgd", "sgd-m0.9", "adam", "rmsprop"];
const color = { domain: groups, scheme: "tableau10" };

Deno.test("groupLine(): plain sharpness against 2/η and (2+2β)/η, preconditioned against 38/η (Adam) and 2/η (RMSprop)", () => {
  const line = (g: string) => groupLine(doc, g, g)!;
  assertEquals(line("sgd").quantity, "sharpness");
  assert(Math.abs(line("sgd").threshold - 2 / 0.05) < 1e-9);
  assert(Math.abs(line("sgd-m0.9").threshold - 3.8 / 0.01) < 1e-9);
  assertEquals(line("sgd-m0.9").rule, "(2+2β)/η, β=0.9, η=0.01");
  assertEquals(line("adam").quantity, "preconditioned_sharpness");
  assert(Math.abs(line("adam").threshold - 38 / 0.001) < 1e-6);
  assertEquals(line("adam").rule, "(2+2β₁)/((1−β₁)η) = 38/η, η=0.001");
  assertEquals(line("rmsprop").rule, "2/η, η=0.001");
  assert(Math.abs(line("rmsprop").threshold - 2000) < 1e-9);
  assertEquals(groupLine({ ...doc, optimizers: {} }, "sgd", "sgd"), null);
});

Deno.test("edgeOfStabilityFigure() draws each group's own quantity and one dashed rule per group on a log axis; compiles", () => {
  const figure = edgeOfStabilityFigure(doc, groups, color);
  assert("spec" in figure);
  compileStrict(figure.spec);
  const layers = figure.spec.layer as Array<
    {
      data: { values: Array<Record<string, unknown>> };
      encoding: { y: { scale: unknown } };
    }
  >;
  const rows = layers[1]!.data.values;
  // Adam's and RMSprop's lines are their preconditioned sharpness, the SGDs' the plain one.
  const termOf = (g: string) =>
    new Set(rows.filter((r) => r.group === g).map((r) => r.term));
  assertEquals(termOf("adam"), new Set(["preconditioned λ₁(P⁻¹H)"]));
  assertEquals(termOf("sgd"), new Set(["sharpness λ₁(H)"]));
  const rules = layers[2]!.data.values;
  assertEquals(rules.map((r) => r.group), groups);
  assertEquals(layers[1]!.encoding.y.scale, { type: "log" });
  assert(figure.caption.endsWith("."));
});

Deno.test("edgeOfStabilityFigure() is listed as missing when no run measured the preconditioned sharpness", () => {
  const plain = {
    ...doc,
    series: doc.series.filter((s) => s.quantity !== "preconditioned_sharpness"),
  };
  const figure = edgeOfStabilityFigure(plain, groups, color);
  assertEquals(figure, {
    id: "edge_of_stability",
    title: "Edge of stability: each optimizer's sharpness against its line",
  });
});
