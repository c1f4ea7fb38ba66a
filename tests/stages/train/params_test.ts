/**
 * The train stage's param schemas: one rule per field, the same whether the
 * value comes from a file, a `--set` or a matrix cell (the optimizers once
 * re-checked their own configs with other rules: eps in [0, ∞) there, (0, 1)
 * in the experiment schema).
 */
import { assertEquals } from "../../assert.ts";
import { parseParams } from "../../../pipeline/stage.ts";
import {
  mlpParameters,
  optimizerSchema,
  trainParams,
} from "../../../stages/train/params.ts";
import { resolveOptimizerConfig } from "../../../stages/nn/optimizers.ts";

/** The one-line error of parsing `value`, or "ok". */
function problem(schema: Parameters<typeof parseParams>[0], value: unknown) {
  try {
    parseParams(schema, value, "x");
    return "ok";
  } catch (error) {
    return (error as Error).message;
  }
}

Deno.test("optimizerSchema refuses bad configs with one line naming the field and the rule", () => {
  const cases: Array<[unknown, string]> = [
    [
      { name: "adamw", lr: 0.1 },
      'x: name: expected one of "gd", "sgd", "rmsprop", "adam", "swats"',
    ],
    [{ name: "sgd", lr: 0 }, "x: lr: above 0"],
    [{ name: "sgd", lr: NaN }, "x: lr: expected number"],
    [{ name: "sgd", lr: 11 }, "x: lr: at most 10"],
    [{ name: "sgd", lr: 0.1, momentum: 1 }, "x: momentum: below 1"],
    [
      { name: "sgd", lr: 0.1, nesterov: true },
      "x: nesterov: needs momentum > 0 (PyTorch's rule)",
    ],
    [{ name: "adam", lr: 0.1, beta2: 1 }, "x: beta2: below 1"],
    // The rule optimizers.ts had on its own: eps in [0, ∞). The schema's is (0, 1).
    [{ name: "adam", lr: 0.1, eps: 0 }, "x: eps: above 0"],
    [{ name: "adam", lr: 0.1, eps: 2 }, "x: eps: below 1"],
    [
      { name: "adam", lr: 0.1, momentum: 0.9 },
      "x: momentum: does not apply to 'adam' (its fields: name, lr, weight_decay, label, beta1, beta2, eps)",
    ],
    [
      { name: "adam", lr: 0.1, betas: [0.9, 0.99] },
      'x: (params): Unrecognized key: "betas"',
    ],
    [
      { name: "rmsprop", lr: 0.1, centered: "yes" },
      "x: centered: expected boolean",
    ],
    [{ name: "sgd", lr: 0.1, weight_decay: -1 }, "x: weight_decay: at least 0"],
    [
      { name: "sgd", lr: 0.1, label: "<img src=x>" },
      "x: label: must be 1–40 letters, digits or . _ + -",
    ],
  ];
  for (const [config, message] of cases) {
    assertEquals(problem(optimizerSchema, config), message, String(config));
  }
  // A field that does not apply is accepted at its default (a sweep's momentum 0 on adam).
  assertEquals(
    problem(optimizerSchema, { name: "adam", lr: 0.1, momentum: 0 }),
    "ok",
  );
});

/** PyTorch 1.13's optimizer defaults under the project's field names (tests/fixtures/optimizer_defaults.py). */
const TORCH = JSON.parse(
  Deno.readTextFileSync(
    new URL("../../fixtures/optimizer_defaults.json", import.meta.url),
  ),
) as Record<"sgd" | "rmsprop" | "adam", Record<string, number | boolean>>;

Deno.test("resolveOptimizerConfig() fills in PyTorch's defaults, read from PyTorch, and nothing else", () => {
  // The project's SGD has no dampening field: PyTorch's default must be its fixed 0.
  const { dampening, ...sgd } = TORCH.sgd;
  assertEquals(dampening, 0);
  const torch = { sgd, rmsprop: TORCH.rmsprop, adam: TORCH.adam };
  const fields = new Set(Object.values(torch).flatMap((d) => Object.keys(d)));
  for (const [name, defaults] of Object.entries(torch)) {
    const resolved = resolveOptimizerConfig({
      name: name as keyof typeof torch,
      lr: 0.01,
    }) as unknown as Record<string, unknown>;
    for (const [field, value] of Object.entries(defaults)) {
      assertEquals(resolved[field], value, `${name}.${field}`);
    }
    // Every other field is one of PyTorch's too (at another optimizer's
    // default), or the name, lr, label and SWATS's ε_switch (SCIENCE §3).
    assertEquals(
      Object.keys(resolved).sort(),
      [...fields, "name", "lr", "label", "switch_eps"].sort(),
    );
    assertEquals(
      [resolved.name, resolved.lr, resolved.label, resolved.switch_eps],
      [name, 0.01, name, 1e-9],
    );
  }
});

Deno.test("trainParams declares the train stage's nine dotted paths (its cache key reads exactly these)", () => {
  assertEquals(trainParams.params, [
    "model.arch",
    "model.hidden",
    "model.loss",
    "train.batch_size",
    "train.checkpoint_epochs",
    "train.epochs",
    "train.explicit_penalty",
    "train.snapshot_every",
    "train.weight_decay",
  ]);
  // 784·8 + 8 + 8·10 + 10 = 6,370.
  assertEquals(mlpParameters([8]), 6370);
});
