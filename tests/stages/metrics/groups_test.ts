import { assert, assertEquals } from "../../assert.ts";
import {
  describeGroup,
  MIN_EPOCHS,
  MIN_SEEDS,
  scopeOf,
  stabilityLines,
} from "../../../stages/metrics/groups.ts";

Deno.test("stabilityLines() is 2/η for SGD, (2+2β)/η for heavy ball on H; 2/η for RMSprop, 38/η for Adam on P⁻¹H; none for SWATS", () => {
  assertEquals(stabilityLines({ name: "sgd", lr: 0.05 }), [
    { label: "2/η", value: 40, quantity: "sharpness" },
  ]);
  // (2 + 2·0.5)/0.25 = 12
  assertEquals(stabilityLines({ name: "gd", lr: 0.25, momentum: 0.5 }), [
    { label: "(2+2β)/η, β=0.5", value: 12, quantity: "sharpness" },
  ]);
  // SCIENCE §4.2.1: (2 + 2·0.9)/((1 − 0.9)·0.001) = 38,000.
  const [adam] = stabilityLines({ name: "adam", lr: 0.001 });
  assertEquals(adam!.label, "38/η (P⁻¹H)");
  assertEquals(adam!.quantity, "preconditioned_sharpness");
  assert(Math.abs(adam!.value - 38000) < 1e-9);
  // β₁ = 0.5: (2 + 1)/0.5 = 6.
  assertEquals(
    stabilityLines({ name: "adam", lr: 0.1, beta1: 0.5 })[0]!.label,
    "6/η (P⁻¹H)",
  );
  assertEquals(stabilityLines({ name: "rmsprop", lr: 0.01 }), [
    { label: "2/η (P⁻¹H)", value: 200, quantity: "preconditioned_sharpness" },
  ]);
  assertEquals(stabilityLines({ name: "swats", lr: 0.001 }), []);
});

Deno.test("describeGroup() takes η as trained and β from terms.ts (SWATS: β₁)", () => {
  const swats = describeGroup(
    "swats · lr=0.1",
    { name: "swats", lr: 0.1, beta1: 0.8, label: "swats" },
    { "optimizer.lr": 0.1 },
    [2, 0, 1],
    30,
  );
  assertEquals(swats.beta, 0.8);
  assertEquals(swats.lr, 0.1);
  assertEquals(swats.cellLabel, "lr=0.1");
  assertEquals(swats.seeds, [0, 1, 2]);
  assertEquals(
    describeGroup("adam", { name: "adam", lr: 1e-3 }, {}, [0], 4).beta,
    undefined,
  );
});

Deno.test("scopeOf() names every shortfall: seeds below 3, epochs below 20", () => {
  const group = (seeds: number[], epochs: number) =>
    describeGroup("sgd", { name: "sgd", lr: 0.1 }, {}, seeds, epochs);
  const ok = scopeOf([group([0, 1, 2], MIN_EPOCHS), group([0, 1, 2, 3], 300)]);
  assertEquals([ok.enough, ok.reasons], [true, []]);
  const small = scopeOf([group([0, 1], 4), group([0, 1, 2], 4)]);
  assertEquals([small.seeds, small.epochs, small.enough], [2, 4, false]);
  assertEquals(small.reasons.length, 2);
  assert(
    new RegExp(`^2 seeds per group \\(a verdict needs at least ${MIN_SEEDS},`)
      .test(small.reasons[0]!),
    small.reasons[0],
  );
  assert(
    new RegExp(`^4 epochs \\(the claims need at least ${MIN_EPOCHS}:`).test(
      small.reasons[1]!,
    ),
    small.reasons[1],
  );
  assertEquals(scopeOf([group([0, 1, 2], 19)]).enough, false);
});
