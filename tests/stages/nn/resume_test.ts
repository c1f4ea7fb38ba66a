import { assertEquals, assertRejects } from "../../assert.ts";
import { readCheckpoints } from "../../../stages/nn/checkpoint.ts";
import { decodeRecord } from "../../../stages/nn/record.ts";
import { trainConfig } from "../../../stages/train/config.ts";
import { trainStage } from "../../../stages/train/stage.ts";
import { trainRun } from "../../../stages/nn/loop.ts";
import { decodeTestSet, decodeTrainSet } from "../../../stages/nn/data.ts";
import type { Item } from "../../../pipeline/stage.ts";
import { sgdItem, tinyBundles, tinyContext, tinyParams } from "./_helpers.ts";

const bundles = tinyBundles();

/** Record columns without the wall-time ones, as plain arrays for bitwise comparison. */
function numbers(bytes: Uint8Array): Record<string, number[]> {
  const { columns } = decodeRecord(bytes);
  return Object.fromEntries(
    Object.entries(columns).filter(([k]) => !k.endsWith("_seconds")).map((
      [k, v],
    ) => [k, Array.from(v)]),
  );
}

/** weights.bin and optimizer.bin of every checkpoint, as numbers (a readable diff on failure). */
function checkpointBytes(bytes: Uint8Array): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const c of readCheckpoints(bytes)) {
    out[`${c.epoch}/weights`] = Array.from(c.weights);
    for (const [name, a] of Object.entries(c.optimizerState().arrays)) {
      out[`${c.epoch}/${name}`] = Array.from(a);
    }
  }
  return out;
}

async function uninterrupted(item: Item) {
  const dir = await Deno.makeTempDir();
  try {
    return await trainStage.run(tinyContext(tinyParams(), item, bundles, dir));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Aborts the run once `afterEpoch` has been reported, then reruns it in the same scratch folder. */
async function interruptedThenResumed(item: Item, afterEpoch: number) {
  const dir = await Deno.makeTempDir();
  try {
    const controller = new AbortController();
    const first = tinyContext(tinyParams(), item, bundles, dir, {
      signal: controller.signal,
      onProgress: (done) => {
        if (done === afterEpoch) controller.abort(new Error("killed"));
      },
    });
    await assertRejects(
      () => Promise.resolve(trainStage.run(first)),
      Error,
      "killed",
    );
    // A kill in the middle of a write leaves a partial temp file; the state in
    // place (written by rename) is what counts.
    await Deno.writeFile(
      `${dir}/resume.bin.1.0.tmp`,
      new Uint8Array([73, 82, 66]),
    );
    await Deno.writeFile(`${dir}/epoch-0002.bin.1.0.tmp`, new Uint8Array(5));
    const second = tinyContext(tinyParams(), item, bundles, dir);
    const out = await trainStage.run(second);
    return { out, progress: second.progressCalls };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

for (
  const item of [sgdItem(0.1), {
    optimizer: { name: "adam", lr: 0.01, label: "adam" },
    seed: 0,
    cell: {},
  }]
) {
  const name = (item.optimizer as { name: string }).name;
  Deno.test(`trainStage.run() ${name} killed after epoch 1 resumes to the uninterrupted run's exact numbers`, async () => {
    const full = await uninterrupted(item);
    const { out, progress } = await interruptedThenResumed(item, 1);
    // Killed after epoch 1's row arrived but before epoch 2's state was saved:
    // the run resumed from epoch 1's state with its row's measurement in
    // flight (progress 0 = the last settled row), measured it again, went on.
    assertEquals(progress, [[0, 3], [1, 3], [2, 3], [3, 3]]);
    assertEquals(numbers(out.record!), numbers(full.record!));
    assertEquals(out.record, full.record); // the same bytes: no wall times inside
    const resumedCheckpoints = checkpointBytes(out.checkpoints!);
    assertEquals(
      Object.keys(resumedCheckpoints).some((k) => k.startsWith("3/")),
      true,
    );
    assertEquals(resumedCheckpoints, checkpointBytes(full.checkpoints!));
    // Whole outputs, bytes and so hashes: model.json's layer names no longer depend on the process.
    assertEquals(out.checkpoints, full.checkpoints);
  });
}

Deno.test("trainStage.run() ignores resume state of another run in its scratch folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const controller = new AbortController();
    const other = tinyContext(tinyParams(), sgdItem(0.5), bundles, dir, {
      signal: controller.signal,
      onProgress: (done) => {
        if (done === 2) controller.abort(new Error("killed"));
      },
    });
    await assertRejects(
      () => Promise.resolve(trainStage.run(other)),
      Error,
      "killed",
    );
    const ctx = tinyContext(tinyParams(), sgdItem(0.1), bundles, dir);
    const out = await trainStage.run(ctx);
    // Started from epoch 0, not from the other run's epoch 2.
    assertEquals(ctx.progressCalls[0], [0, 3]);
    assertEquals(
      numbers(out.record!),
      numbers((await uninterrupted(sgdItem(0.1))).record!),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trainRun() killed mid-epoch with a row's measurement in flight resumes to the numbers of an uninterrupted run", async () => {
  const data = {
    train: decodeTrainSet(bundles.train),
    test: decodeTestSet(bundles.test),
  };
  const config = trainConfig(tinyParams({ "train.epochs": 4 }), {
    optimizer: { name: "rmsprop", lr: 0.01 },
    seed: 1,
    cell: {},
  });
  const full = await trainRun(config, data, { overlap: false });
  for (const [killAt, resumeAfter] of [[3, 0], [7, 1], [12, 2]]) {
    const dir = await Deno.makeTempDir();
    try {
      // 64 samples in batches of 16: the signal is checked before each of an
      // epoch's 4 steps and once after each row arrives, so the kill lands
      // inside an epoch's steps, while the previous epoch's row is measured.
      let checks = 0;
      const signal = {
        throwIfAborted() {
          if (++checks === killAt) throw new Error("killed");
        },
      } as AbortSignal;
      await assertRejects(
        () =>
          trainRun(config, data, { overlap: true, scratchDir: dir, signal }),
        Error,
        "killed",
      );
      const logs: string[] = [];
      const resumed = await trainRun(config, data, {
        overlap: true,
        scratchDir: dir,
        log: (m) => logs.push(m),
      });
      // It resumed from the state saved after the last finished epoch, whose
      // row was still being measured (not from scratch).
      assertEquals(logs[0], `resuming after epoch ${resumeAfter} of 4`);
      assertEquals(
        numbersOf(resumed.columns),
        numbersOf(full.columns),
        `killed at check ${killAt}`,
      );
      for (const [name, bytes] of Object.entries(full.checkpoints)) {
        if (name.endsWith("model.json")) continue;
        assertEquals(Array.from(resumed.checkpoints[name]!), Array.from(bytes));
      }
      assertEquals(
        Object.keys(resumed.checkpoints).sort(),
        Object.keys(full.checkpoints).sort(),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

function numbersOf(columns: Record<string, Float64Array>) {
  return Object.fromEntries(
    Object.entries(columns).filter(([k]) => !k.endsWith("_seconds")).map((
      [k, v],
    ) => [k, Array.from(v)]),
  );
}
