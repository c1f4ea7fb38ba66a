import { assert, assertAlmostEquals, assertEquals } from "../../assert.ts";
import { decodeJson } from "../../../pipeline/artifact.ts";
import type { Item, Params, StageContext } from "../../../pipeline/stage.ts";
import type { TuneResult } from "../../../stages/tune/choose.ts";
import { tuneStage } from "../../../stages/tune/stage.ts";
import { decodeTrainSet } from "../../../stages/nn/data.ts";
import { trainRun } from "../../../stages/nn/loop.ts";
import { loopConfig } from "../../../stages/train/config.ts";
import { holdOut } from "../../../stages/tune/split.ts";
import { stageContext } from "../_context.ts";
import { sparseImages } from "../_models.ts";

const N = 40;
const V = 7;

const bundle = () => sparseImages("tune-data", N).bytes;

/** What a tuning run and the train loop it is checked against share. */
const model = {
  "model.arch": "mlp" as const,
  "model.hidden": [4],
  "model.loss": "cross_entropy" as const,
  "train.batch_size": 8,
  "train.weight_decay": 0,
  "train.explicit_penalty": 0,
};

const params: Params = {
  ...model,
  "tuning.epochs": 2,
  "tuning.validation_size": V,
  "tuning.seed": 3,
};

function context(item: Item, train: Uint8Array): StageContext {
  return stageContext({
    params,
    item,
    inputs: { train },
    all: {},
    scratchDir: Deno.makeTempDirSync(),
  });
}

Deno.test("tuneStage trains on the first N − V samples and reports the error on the last V", async () => {
  const bytes = bundle();
  const item = {
    optimizer: { name: "sgd", lr: 0.001, label: "sgd" },
    lr: 0.05,
  };
  const out = decodeJson<TuneResult>(
    (await tuneStage.run(context(item, bytes))).result!,
  );
  assertEquals(out.optimizer, "sgd");
  assertEquals(out.lr, 0.05);
  assertEquals(out.diverged, false);
  // An error over V = 7 samples is a multiple of 1/7.
  const wrong = out.validation_error! * V;
  assertAlmostEquals(wrong, Math.round(wrong), 1e-9);
  // The same numbers as the project's loop on that split at the candidate lr.
  const { train, validation } = holdOut(decodeTrainSet(bytes), V);
  const direct = await trainRun(
    loopConfig(
      {
        ...model,
        "train.epochs": params["tuning.epochs"] as number,
        "train.snapshot_every": 3,
        "train.checkpoint_epochs": [],
      },
      { name: "sgd", lr: 0.05 },
      3,
    ),
    { train, test: validation },
  );
  assertAlmostEquals(out.validation_error!, direct.columns.test_error![2]!, 0);
  assertAlmostEquals(out.validation_loss!, direct.columns.test_loss![2]!, 0);
  assert(out.validation_loss! > 0);
  assertEquals(direct.columns.epoch!.length, 3);
});
