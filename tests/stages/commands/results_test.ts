import { assert, assertEquals } from "../../assert.ts";
import { scopeOf } from "../../../stages/metrics/groups.ts";
import {
  headlineLines,
  metricsNumbers,
} from "../../../stages/commands/results.ts";
import type { MetricsDoc, Series } from "../../../stages/metrics/types.ts";

function series(group: string, quantity: string, mean: number[]): Series {
  return {
    group,
    optimizer: group,
    cell: {},
    quantity: quantity as Series["quantity"],
    epochs: mean.map((_, i) => i),
    mean,
    std: mean.map(() => 0),
    count: mean.map(() => 2),
  };
}

const DOC: MetricsDoc = {
  experiment: "t",
  lr: {},
  series: [
    series("sgd", "test_error", [0.9, 0.3, 0.4, NaN]),
    series("sgd", "norm", [1, 5, 3]),
    series("adam", "test_error", [NaN, NaN]),
  ],
  summaries: [{
    group: "sgd",
    optimizer: "sgd",
    cell: {},
    seeds: [0, 1],
    diverged: 0,
    numbers: {
      final_test_error: { mean: 0.4, std: 0.05, count: 2 },
      best_test_error: { mean: 0.3, std: 0, count: 2 },
      best_test_epoch: { mean: 1, std: 0, count: 2 },
    },
  }],
  claims: [],
  known: [],
  groups: [],
  scope: scopeOf([]),
};

Deno.test("metricsNumbers(): final = last finite mean; best = smallest, for errors and losses only", () => {
  assertEquals(metricsNumbers(DOC), {
    sgd: {
      test_error: { final: 0.4, best: 0.3 },
      norm: { final: 3 },
    },
  });
});

Deno.test("headlineLines() gives each group's final test error ± std over seeds and its best", () => {
  const [line] = headlineLines(DOC);
  assertEquals(line, "sgd: final test error 0.4 ± 0.05, best 0.3 [2 seeds]");
  assert(
    !line!.includes("epoch"),
    "the epoch of a mean over seeds means nothing",
  );
});
