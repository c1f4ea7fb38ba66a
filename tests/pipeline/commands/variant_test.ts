import { assert, assertEquals } from "../../assert.ts";
import {
  changedParams,
  flattenParams,
  MAX_VARIANT_LENGTH,
  variantName,
} from "../../../pipeline/commands/variant.ts";

const BASE = {
  train: { epochs: 300, batch_size: 64 },
  optimizers: [{ name: "sgd", lr: 0.001 }, { name: "adam", lr: 0.001 }],
  seeds: [0],
  experiment: { name: "paper", command: "deno task reproduce" },
};

Deno.test("flattenParams() walks objects and lists of objects, keeps lists of scalars whole, skips 'experiment'", () => {
  assertEquals(flattenParams(BASE), {
    "train.epochs": 300,
    "train.batch_size": 64,
    "optimizers.0.name": "sgd",
    "optimizers.0.lr": 0.001,
    "optimizers.1.name": "adam",
    "optimizers.1.lr": 0.001,
    seeds: [0],
  });
});

Deno.test("variantName() names the changed params; the same params spelled differently share the name", () => {
  const lr = structuredClone(BASE);
  lr.optimizers[0]!.lr = 0.01;
  assertEquals(variantName(BASE, lr), "optimizers.0.lr=0.01");
  const seeds = { ...structuredClone(BASE), seeds: [0, 1, 2] };
  assertEquals(variantName(BASE, seeds), "seeds=0+1+2");
  const both = { ...structuredClone(lr), seeds: [0, 1, 2] };
  assertEquals(variantName(BASE, both), "optimizers.0.lr=0.01,seeds=0+1+2");
  // The command differs (it holds the --set text), the params do not: no variant.
  const restated = {
    ...structuredClone(BASE),
    experiment: { name: "paper", command: "--set seeds=[0]" },
  };
  assertEquals(variantName(BASE, restated), "");
  assertEquals(changedParams(BASE, restated), []);
});

Deno.test("variantName() cuts a long name and ends it with a hash of the whole, so two long variants differ", () => {
  const a = { ...structuredClone(BASE), note: "x".repeat(100) };
  const b = { ...structuredClone(BASE), note: "x".repeat(99) + "y" };
  const na = variantName(BASE, a);
  const nb = variantName(BASE, b);
  assertEquals(na.length, MAX_VARIANT_LENGTH);
  assert(/~[0-9a-f]{8}$/.test(na), na);
  assert(na !== nb, "different params, different names");
  assertEquals(na.slice(0, -9), nb.slice(0, -9));
  // Characters outside [A-Za-z0-9._=+,-] become "_".
  assertEquals(variantName({ a: "x" }, { a: "a b/c" }), "a=a_b_c");
});
