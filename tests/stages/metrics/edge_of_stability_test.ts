import { assert, assertEquals, assertThrowsMatch } from "../../assert.ts";
import {
  edgeOfStabilityAnswer,
  eosCheck,
  eosTarget,
  median,
} from "../../../stages/metrics/edge_of_stability.ts";
import type { Run } from "../../../stages/metrics/runs.ts";
import type { Quantity } from "../../../stages/metrics/types.ts";
import type { OptimizerConfig } from "../../../stages/nn/contracts.ts";

/** Epochs 0, 10, …, 300. */
const EPOCHS = Array.from({ length: 31 }, (_, i) => 10 * i);

/**
 * Progressive sharpening to `level`·line: a linear rise over the first
 * third, then an alternating ±`wobble` around the level (the hover at the
 * edge of stability, Cohen et al.).
 */
function sharpening(line: number, level: number, wobble = 0.04): number[] {
  return EPOCHS.map((e, i) =>
    e < 100
      ? line * (0.2 + (level - 0.2) * e / 100)
      : line * (level + (i % 2 === 0 ? wobble : -wobble))
  );
}

function run(
  optimizer: OptimizerConfig,
  series: Partial<Record<Quantity, number[]>>,
  seed = 0,
): Run {
  return {
    optimizer,
    label: optimizer.label ?? optimizer.name,
    seed,
    cell: {},
    group: optimizer.label ?? optimizer.name,
    status: "ok",
    divergedEpoch: null,
    series: Object.fromEntries(
      Object.entries(series).map((
        [q, values],
      ) => [q, { epochs: EPOCHS, values }]),
    ),
  };
}

const GD: OptimizerConfig = { name: "gd", lr: 0.1 }; // 2/η = 20
const ADAM: OptimizerConfig = { name: "adam", lr: 0.001 }; // 38/η = 38,000

Deno.test("median() of finite values: odd, even, NaN skipped, empty NaN", () => {
  assertEquals(median([3, 1, 2]), 2);
  assertEquals(median([4, 1, 3, 2]), 2.5);
  assertEquals(median([NaN, 5, Infinity, 1, 3]), 3);
  assert(Number.isNaN(median([])));
  assert(Number.isNaN(median([NaN])));
});

Deno.test("eosCheck(): the median over the last half of the epochs, against the line within 10%", () => {
  // Hover at 1.05·line ± 4%: median 20·(1.05 ± 0.04) → within.
  const at = eosCheck({ epochs: EPOCHS, values: sharpening(20, 1.05) }, 20);
  assertEquals(at.from, 150);
  assertEquals(at.count, 16); // epochs 150 … 300
  // 16 values, 8 at 1.09 and 8 at 1.01: the median is their mean, 1.05.
  assert(Math.abs(at.median - 21) < 1e-12, String(at.median));
  assert(Math.abs(at.ratio - 1.05) < 1e-12);
  assertEquals(at.within, true);
  // Settled at 0.85 of the line: outside 10%.
  const below = eosCheck({ epochs: EPOCHS, values: sharpening(20, 0.85) }, 20);
  assertEquals(below.within, false);
  assert(Math.abs(below.ratio - 0.85) < 1e-12);
  // Above by 12%: outside too; at exactly 10% inside (inclusive).
  assertEquals(
    eosCheck({ epochs: EPOCHS, values: sharpening(20, 1.12, 0) }, 20).within,
    false,
  );
  assertEquals(
    eosCheck({ epochs: EPOCHS, values: sharpening(20, 0.9, 0) }, 20, {
      tolerance: 0.1 + 1e-12,
    }).within,
    true,
  );
});

Deno.test("eosCheck(): the window skips the rise; a run at the line early but falling away late fails", () => {
  // At the line until epoch 140, then at half of it: the whole run's median
  // is near the line's region, the last half's is not.
  const falling = EPOCHS.map((e) => (e < 150 ? 20 : 10));
  assertEquals(eosCheck({ epochs: EPOCHS, values: falling }, 20).within, false);
  assertEquals(
    eosCheck({ epochs: EPOCHS, values: falling }, 20, { window: 1 }).median,
    10,
  );
  // A slow rise that reaches the line only at the end: its last-half median is low.
  const slow = EPOCHS.map((e) => 20 * (0.2 + 0.8 * e / 300));
  assertEquals(eosCheck({ epochs: EPOCHS, values: slow }, 20).within, false);
  assertEquals(
    eosCheck({ epochs: EPOCHS, values: slow }, 20, { window: 0.05 }).within,
    true,
  );
});

Deno.test("eosCheck(): undefined values (NaN at step 0) are skipped but the window spans the run's epochs", () => {
  const values = sharpening(38000, 1);
  values[0] = NaN; // the preconditioned sharpness at step 0
  const check = eosCheck({ epochs: EPOCHS, values }, 38000);
  assertEquals(check.from, 150);
  assertEquals(check.within, true);
  const none = eosCheck({ epochs: EPOCHS, values: EPOCHS.map(() => NaN) }, 20);
  assertEquals(none.within, false);
  assertEquals(none.count, 0);
  assertEquals(eosCheck({ epochs: [1], values: [20] }, NaN).within, false);
  assertThrowsMatch(
    () => eosCheck({ epochs: [1], values: [1] }, 1, { window: 0 }),
    /window: expected a number in \(0, 1\], got 0/,
  );
  assertThrowsMatch(
    () => eosCheck({ epochs: [1], values: [1] }, 1, { tolerance: -1 }),
    /tolerance: expected a positive number, got -1/,
  );
});

Deno.test("eosTarget(): GD's plain sharpness against 2/η, Adam's preconditioned against 38/η, RMSprop's against 2/η; none for SWATS", () => {
  assertEquals(eosTarget(run(GD, {})), {
    quantity: "sharpness",
    threshold: 20,
    line: "2/η",
  });
  const adam = eosTarget(run(ADAM, {}))!;
  assertEquals(adam.quantity, "preconditioned_sharpness");
  assert(Math.abs(adam.threshold - 38000) < 1e-9);
  assertEquals(adam.line, "38/η (P⁻¹H)");
  assertEquals(eosTarget(run({ name: "rmsprop", lr: 0.01 }, {})), {
    quantity: "preconditioned_sharpness",
    threshold: 200,
    line: "2/η (P⁻¹H)",
  });
  assertEquals(eosTarget(run({ name: "swats", lr: 0.01 }, {})), null);
});

Deno.test("edgeOfStabilityAnswer(): holds when GD and Adam both hover at their lines, partly holds for one, fails for none", () => {
  const gdAt = run(GD, { sharpness: sharpening(20, 0.97) });
  // Adam's plain sharpness is far below 38/η: only the preconditioned one counts.
  const adamAt = run(ADAM, {
    sharpness: sharpening(20, 1),
    preconditioned_sharpness: sharpening(38000, 0.94),
  });
  const adamLow = run(ADAM, {
    sharpness: sharpening(20, 1),
    preconditioned_sharpness: sharpening(38000, 0.6),
  });
  const swats = run({ name: "swats", lr: 0.001 }, {
    sharpness: sharpening(20, 1),
  });
  const holds = edgeOfStabilityAnswer([gdAt, adamAt, swats]);
  assertEquals(holds.id, "adaptive_edge_of_stability");
  assertEquals(holds.verdict, "holds");
  assertEquals(holds.rows.length, 2); // SWATS has no line
  assertEquals(holds.rows.map((r) => r.quantity), [
    "sharpness",
    "preconditioned_sharpness",
  ]);
  assertEquals(holds.rows.map((r) => r.within), ["yes", "yes"]);
  assert(Math.abs((holds.rows[1]!.median_over_line as number) - 0.94) < 1e-12);
  assertEquals(edgeOfStabilityAnswer([gdAt, adamLow]).verdict, "partly holds");
  const gdLow = run(GD, { sharpness: sharpening(20, 0.5) });
  assertEquals(edgeOfStabilityAnswer([gdLow, adamLow]).verdict, "fails");
  // Nothing measured: the row says so and the verdict fails.
  const unmeasured = edgeOfStabilityAnswer([run(ADAM, {})]);
  assertEquals(unmeasured.rows[0]!.median, "not measured");
  assertEquals(unmeasured.verdict, "fails");
  assertEquals(edgeOfStabilityAnswer([]).verdict, "fails");
});
