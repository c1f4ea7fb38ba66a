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
  assertEquals(got, { sgd: { lr: 0.1, table } });
  assertEquals(readTuning([]), {});
});
