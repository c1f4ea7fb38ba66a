import { assert, assertAlmostEquals, assertEquals } from "../../assert.ts";
import { decodeJson, encodeBundle } from "../../../pipeline/artifact.ts";
import { Rng } from "../../../pipeline/rng.ts";
import type { Item, Params, StageContext } from "../../../pipeline/stage.ts";
import type { TuneResult } from "../../../stages/tune/choose.ts";
import { tuneStage } from "../../../stages/tune/stage.ts";
import { decodeTrainSet } from "../../../stages/train/data.ts";
import { trainRun } from "../../../stages/train/loop.ts";
import { loopConfig } from "../../../stages/train/config.ts";
import { holdOut } from "../../../stages/tune/split.ts";

const N = 40;
const V = 7;
const D = 784;

function bundle(): Uint8Array {
  const rng = Rng.fromSeed("tune-data");
  const images = Uint8Array.from(
    { length: N * D },
    () => (rng.float() < 0.8 ? 0 : rng.int(256)),
  );
  const labels = Uint8Array.from({ length: N }, () => rng.int(10));
  return encodeBundle({ images, labels });
}

const params: Params = {
  "model.arch": "mlp",
  "model.hidden": [4],
  "model.loss": "cross_entropy",
  "train.batch_size": 8,
  "train.weight_decay": 0,
  "train.explicit_penalty": 0,
  "tuning.epochs": 2,
  "tuning.validation_size": V,
  "tuning.seed": 3,
};

function context(item: Item, train: Uint8Array): StageContext {
  return {
    params,
    item,
    rng: Rng.fromSeed("unused"),
    log: { info: () => {}, warn: () => {} },
    progress: () => {},
    input: () => train,
    inputAll: () => [],
    scratchDir: Deno.makeTempDirSync(),
    signal: new AbortController().signal,
  };
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
        "model.arch": "mlp",
        "model.hidden": [4],
        "model.loss": "cross_entropy",
        "train.batch_size": 8,
        "train.weight_decay": 0,
        "train.explicit_penalty": 0,
        "train.epochs": 2,
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
