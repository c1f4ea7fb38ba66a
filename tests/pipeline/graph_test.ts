import { assertEquals, assertThrows } from "../assert.ts";
import {
  buildGraph,
  drawGraph,
  itemLabel,
  plan,
} from "../../pipeline/graph.ts";
import type { Stage } from "../../pipeline/stage.ts";

const mod = import.meta.url;
const stage = (
  name: string,
  inputs: Stage["inputs"] = {},
  extra: Partial<Stage> = {},
): Stage => ({
  name,
  module: mod,
  params: [],
  inputs,
  outputs: ["out"],
  run: () => ({}),
  ...extra,
});

Deno.test("plan() walks a diamond in post-order", () => {
  const stages = [
    stage("d", {
      b: { stage: "b", output: "out" },
      c: { stage: "c", output: "out" },
    }),
    stage("b", { a: { stage: "a", output: "out" } }),
    stage("c", { a: { stage: "a", output: "out" } }),
    stage("a"),
  ];
  const order = plan(buildGraph(stages, {})).map((i) => i.id);
  assertEquals(order.indexOf("a") < order.indexOf("b"), true);
  assertEquals(order.indexOf("a") < order.indexOf("c"), true);
  assertEquals(order.indexOf("b") < order.indexOf("d"), true);
  assertEquals(order.indexOf("c") < order.indexOf("d"), true);
  assertEquals(order.length, 4);
});

Deno.test("plan() of a target takes only it and what it needs", () => {
  const stages = [
    stage("a"),
    stage("b", { a: { stage: "a", output: "out" } }),
    stage("c", { a: { stage: "a", output: "out" } }),
  ];
  assertEquals(plan(buildGraph(stages, {}), ["b"]).map((i) => i.id), [
    "a",
    "b",
  ]);
  assertThrows(
    () => plan(buildGraph(stages, {}), ["zz"]),
    Error,
    "Unknown stage 'zz'",
  );
});

Deno.test("buildGraph() fans out and matches upstream items by shared keys", () => {
  const stages = [
    stage("noise", {}, {
      foreach: {
        params: ["seeds"],
        items: (p) => (p.seeds as number[]).map((seed) => ({ seed })),
      },
    }),
    stage("train", { data: { stage: "noise", output: "out" } }, {
      foreach: {
        params: ["seeds", "opts"],
        items: (p) =>
          (p.opts as string[]).flatMap((o) =>
            (p.seeds as number[]).map((seed) => ({ opt: o, seed }))
          ),
      },
    }),
    stage("metrics", {
      runs: { stage: "train", output: "out", select: "all" },
    }),
  ];
  const graph = buildGraph(stages, { seeds: [0, 1], opts: ["sgd", "adam"] });
  const train = graph.instances.filter((i) => i.stage.name === "train");
  assertEquals(train.map((i) => i.id), [
    "train[opt=sgd,seed=0]",
    "train[opt=sgd,seed=1]",
    "train[opt=adam,seed=0]",
    "train[opt=adam,seed=1]",
  ]);
  assertEquals(train[1]!.inputs.data!.upstream.map((u) => u.id), [
    "noise[seed=1]",
  ]);
  const metrics = graph.instances.find((i) => i.stage.name === "metrics")!;
  assertEquals(metrics.inputs.runs!.upstream.length, 4);
  const order = plan(graph).map((i) => i.id);
  assertEquals(order.at(-1), "metrics");
});

Deno.test("buildGraph() rejects cycles, unknown inputs and missing params", () => {
  assertThrows(
    () =>
      buildGraph([
        stage("a", { b: { stage: "b", output: "out" } }),
        stage("b", { a: { stage: "a", output: "out" } }),
      ], {}),
    Error,
    "cycle",
  );
  assertThrows(
    () => buildGraph([stage("a", { z: { stage: "zz", output: "out" } })], {}),
    Error,
    "unknown stage 'zz'",
  );
  assertThrows(
    () => buildGraph([stage("a", {}, { params: ["train.lr"] })], { train: {} }),
    Error,
    "Param 'train.lr' declared by stage 'a' is missing",
  );
});

Deno.test("itemLabel() shows scalars, labels and sweep cells", () => {
  assertEquals(
    itemLabel({
      optimizer: { name: "sgd", label: "sgd-m0.9", lr: 0.1 },
      seed: 2,
      cell: {},
    }),
    "optimizer=sgd-m0.9,seed=2",
  );
  assertEquals(
    itemLabel({ cell: { "train.batch_size": 16 } }),
    "batch_size=16",
  );
});

Deno.test("drawGraph() draws edges as text and Mermaid", () => {
  const g = buildGraph([
    stage("a"),
    stage("b", { x: { stage: "a", output: "out" } }),
  ], {});
  assertEquals(drawGraph(g), "a\nb  ←  a.out");
  assertEquals(
    drawGraph(g, true),
    'flowchart LR\n  a["a"]\n  b["b"]\n  a -->|out| b',
  );
});
