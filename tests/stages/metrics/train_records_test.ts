/**
 * The metrics stage on records the real train stage wrote (tiny MLP, tiny
 * synthetic data), so a change in the record format shows up here.
 */
import { assert, assertAlmostEquals, assertEquals } from "./_assert.ts";
import { decodeJson } from "../../../pipeline/artifact.ts";
import type { InputValue, Item } from "../../../pipeline/stage.ts";
import { metricsStage } from "../../../stages/metrics/stage.ts";
import type { MetricsDoc } from "../../../stages/metrics/types.ts";
import { trainStage } from "../../../stages/train/stage.ts";
import { tinyBundles, tinyContext, tinyParams } from "../nn/_helpers.ts";

async function train(item: Item): Promise<InputValue> {
  const dir = await Deno.makeTempDir();
  try {
    const out = await trainStage.run(
      tinyContext(tinyParams(), item, tinyBundles(), dir),
    );
    return { item, data: out["record"]! };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("metricsStage reads real train records of SGD, Adam and RMSprop", async () => {
  const records: InputValue[] = [];
  for (
    const [name, lr] of [["sgd", 0.1], ["adam", 0.01], [
      "rmsprop",
      0.01,
    ]] as const
  ) {
    records.push(
      await train({ optimizer: { name, lr, label: name }, seed: 0, cell: {} }),
    );
  }
  const warnings: string[] = [];
  const out = await metricsStage.run({
    ...tinyContext(
      { "experiment.name": "tiny" },
      {},
      tinyBundles(),
      "/nonexistent",
    ),
    log: { info: () => {}, warn: (m) => warnings.push(m) },
    inputAll: (name) => {
      if (name === "records") return records;
      throw new Error(`No input '${name}'`);
    },
  });
  const doc = decodeJson<MetricsDoc>(out["metrics"]!);
  assert(
    !warnings.some((w) => w.includes("record lacks")),
    warnings.join("\n"),
  );
  assertEquals(doc.summaries.map((s) => s.group), ["sgd", "adam", "rmsprop"]);
  const get = (group: string, quantity: string) =>
    doc.series.find((s) => s.group === group && s.quantity === quantity);
  // SCIENCE §2.2: the decomposition holds to float precision on real sums.
  for (const group of ["sgd", "adam", "rmsprop"]) {
    const whole = get(group, "ir_sgd")!;
    const mean = get(group, "ir_sgd_mean")!;
    const variance = get(group, "ir_sgd_var")!;
    assertEquals(whole.epochs, [0, 1, 2, 3]);
    whole.mean.forEach((v, i) =>
      assertAlmostEquals(mean.mean[i]! + variance.mean[i]!, v, 1e-6 * v)
    );
  }
  assertEquals(get("sgd", "ir_preconditioned"), undefined);
  assertEquals(get("adam", "ir_own")!.epochs, [1, 2, 3]);
  assertEquals(get("rmsprop", "ir_rms_paper")!.epochs, [1, 2, 3]);
  // One seed: every claim is measured, and inconclusive (SCIENCE §7.1).
  assertEquals(
    doc.claims.map((c) => [c.verdict, c.comparisons.map((x) => x.n)]),
    [
      ["inconclusive", [1]],
      ["inconclusive", [1]],
      ["inconclusive", [1, 1]],
      ["inconclusive", [1, 1]],
    ],
  );
});
