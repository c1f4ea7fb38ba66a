import { assertEquals } from "../../assert.ts";
import { timingSummary } from "../../../stages/nn/timings.ts";

Deno.test("timingSummary() gives count, mean, min and max of epoch and snapshot seconds", () => {
  assertEquals(
    timingSummary({
      epoch: new Map([[1, 2], [2, 4], [3, 9]]),
      snapshot: new Map([[0, 1], [2, 0.5]]),
    }),
    {
      epochs_timed: 3,
      epoch_seconds_mean: 5,
      epoch_seconds_min: 2,
      epoch_seconds_max: 9,
      snapshots_timed: 2,
      snapshot_seconds_mean: 0.75,
      snapshot_seconds_min: 0.5,
      snapshot_seconds_max: 1,
    },
  );
});

Deno.test("timingSummary() leaves out a part with nothing timed (all epochs resumed, snapshots off)", () => {
  assertEquals(
    timingSummary({ epoch: new Map(), snapshot: new Map() }),
    {},
  );
  assertEquals(
    Object.keys(
      timingSummary({ epoch: new Map([[4, 1]]), snapshot: new Map() }),
    ),
    [
      "epochs_timed",
      "epoch_seconds_mean",
      "epoch_seconds_min",
      "epoch_seconds_max",
    ],
  );
});
