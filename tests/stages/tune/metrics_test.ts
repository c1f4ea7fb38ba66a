import { assertEquals } from "../../assert.ts";
import { encodeJson } from "../../../pipeline/artifact.ts";
import { readTuning } from "../../../stages/metrics/stage.ts";

Deno.test("metrics readTuning() keeps tuned optimizers only, with their chosen lr and table", () => {
  const table = [{ lr: 0.1, validation_error: 0.3 }, {
    lr: 0.01,
    validation_error: null,
  }];
  const got = readTuning([
    {
      item: { optimizer: { name: "sgd" } },
      data: encodeJson({ optimizer: "sgd", lr: 0.1, tuned: true, table }),
    },
    {
      item: { optimizer: { name: "adam" } },
      data: encodeJson({
        optimizer: "adam",
        lr: 0.001,
        tuned: false,
        table: [],
      }),
    },
  ]);
  // A select output from before the edge field reads as no edge.
  assertEquals(got, { sgd: { lr: 0.1, table, edge: null } });
  assertEquals(readTuning([]), {});
  const edged = readTuning([{
    item: { optimizer: { name: "sgd" } },
    data: encodeJson({
      optimizer: "sgd",
      lr: 0.1,
      tuned: true,
      table,
      edge: "largest",
    }),
  }]);
  assertEquals(edged["sgd"]!.edge, "largest");
});
