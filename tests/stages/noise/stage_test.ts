import { assert, assertEquals } from "../../assert.ts";
import { decodeBundle, encodeBundle } from "../../../pipeline/artifact.ts";
import { type Params, parseParams } from "../../../pipeline/stage.ts";
import { noiseStage } from "../../../stages/noise/stage.ts";
import { assertThrowsWith, makeCtx } from "../download/_helpers.ts";

/** A download-stage-like train bundle: 200 images of 2x2 pixels, labels i mod 10. */
function upstream(): Uint8Array {
  const n = 200;
  return encodeBundle(
    {
      images: Uint8Array.from({ length: n * 4 }, (_, i) => (i * 7) % 256),
      labels: Uint8Array.from({ length: n }, (_, i) => i % 10),
      indices: Uint32Array.from({ length: n }, (_, i) => i),
    },
    {
      dataset: "mnist",
      split: "train",
      count: n,
      rows: 2,
      cols: 2,
      classes: 10,
    },
  );
}

/** The stage's params parsed by its schema, as the engine hands them over. */
function parsed(params: Params): Params {
  return parseParams(noiseStage.schema!, params, "Stage 'noise' params");
}

async function runNoise(params: Params) {
  const out = await noiseStage.run(
    makeCtx(parsed(params), { train: upstream() }),
  );
  return decodeBundle(out.train!);
}

Deno.test("noiseStage declares its params, input and output", () => {
  assertEquals(noiseStage.params, [
    "noise.input_std",
    "noise.label_rate",
    "noise.seed",
  ]);
  assertEquals(noiseStage.inputs, {
    train: { stage: "download", output: "train" },
  });
  assertEquals(noiseStage.outputs, ["train"]);
});

Deno.test("noise run: 30% label noise, u8 images passed through, corruption recorded", async () => {
  const out = await runNoise({
    "noise.label_rate": 0.3,
    "noise.input_std": 0,
    "noise.seed": 0,
  });
  const up = decodeBundle(upstream());
  const { images, labels, original_labels, corrupted } = out.columns;
  assert(images instanceof Uint8Array);
  assertEquals(images, up.columns.images);
  assertEquals(original_labels, up.columns.labels);
  assertEquals(corrupted!.length, 60);
  assert(corrupted instanceof Uint32Array);
  let changed = 0;
  labels!.forEach((y, i) => (changed += y !== original_labels![i] ? 1 : 0));
  assertEquals(changed, 60);
  for (const i of corrupted!) assert(labels![i] !== original_labels![i]);
  const meta = out.meta as Record<string, unknown>;
  assertEquals(
    [
      meta.dataset,
      meta.rows,
      meta.label_rate,
      meta.input_std,
      meta.seed,
      meta.corrupted_count,
    ],
    ["mnist", 2, 0.3, 0, 0, 60],
  );
});

Deno.test("noise run depends only on noise.seed; input noise leaves the label noise alone", async () => {
  const rate = { "noise.label_rate": 0.3, "noise.input_std": 0 };
  const a = await runNoise({ ...rate, "noise.seed": 5 });
  const b = await runNoise({ ...rate, "noise.seed": 5 });
  const c = await runNoise({ ...rate, "noise.seed": 6 });
  assertEquals(a.columns, b.columns);
  assert(a.columns.corrupted!.some((v, i) => v !== c.columns.corrupted![i]));
  const d = await runNoise({
    "noise.label_rate": 0.3,
    "noise.input_std": 0.1,
    "noise.seed": 5,
  });
  assertEquals(d.columns.labels, a.columns.labels);
  assert(d.columns.images instanceof Float32Array);
  assertEquals(d.columns.images!.length, 800);
  assert(d.columns.images!.every((x) => x >= 0 && x <= 1));
  // Not a rescaled copy: the noise moved pixels.
  assert(
    d.columns.images!.some((x, i) =>
      Math.abs(x - a.columns.images![i]! / 255) > 0.01
    ),
  );
});

Deno.test("the noise schema rejects out-of-range params naming the field and the range; seeds are integers", () => {
  const ok = { "noise.label_rate": 0.3, "noise.input_std": 0, "noise.seed": 0 };
  const cases: [Params, string][] = [
    [{ ...ok, "noise.label_rate": 1 }, "noise.label_rate: below 1"],
    [{ ...ok, "noise.label_rate": -0.1 }, "noise.label_rate: at least 0"],
    [{ ...ok, "noise.label_rate": "0.3" }, "noise.label_rate: expected number"],
    [{ ...ok, "noise.input_std": -1 }, "noise.input_std: at least 0"],
    [{ ...ok, "noise.seed": 0.5 }, "noise.seed: expected an integer"],
    // A string seed was once accepted here but not by the experiment schema.
    [{ ...ok, "noise.seed": "five" }, "noise.seed: expected number"],
    [{ "noise.label_rate": 0.3 }, "noise.input_std: expected number"],
  ];
  for (const [params, message] of cases) {
    assertThrowsWith(() => parsed(params), `Stage 'noise' params: ${message}`);
  }
});
