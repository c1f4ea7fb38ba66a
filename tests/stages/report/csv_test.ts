import { assertEquals } from "../../assert.ts";
import { metricsCsv } from "../../../stages/report/csv.ts";
import type { MetricsDoc } from "../../../stages/metrics/types.ts";
import { scopeOf } from "../../../stages/metrics/groups.ts";

const doc: MetricsDoc = {
  experiment: "tiny",
  groups: [],
  scope: scopeOf([]),
  lr: { sgd: 0.1 },
  series: [
    {
      group: 'sgd, "fast"',
      optimizer: "sgd",
      cell: {},
      quantity: "test_error",
      epochs: [1, 2],
      mean: [0.5, 0.25],
      std: [0.1, NaN],
      count: [3, 2],
    },
  ],
  summaries: [],
  claims: [],
  known: [],
};

Deno.test("metricsCsv() writes one long row per epoch, quoting per RFC 4180, NaN as empty", () => {
  assertEquals(
    metricsCsv(doc),
    "group,optimizer,quantity,epoch,mean,std,count\n" +
      '"sgd, ""fast""",sgd,test_error,1,0.5,0.1,3\n' +
      '"sgd, ""fast""",sgd,test_error,2,0.25,,2\n',
  );
});
