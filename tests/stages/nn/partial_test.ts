/**
 * The training's live-view channel: with `ctx.partial` it publishes its
 * record so far every `partialEvery` epochs and at the end; each partial
 * record is a prefix of the final one, bit for bit, and its progress calls
 * carry the epoch's training loss and test error.
 */
import { assertEquals } from "../../assert.ts";
import { decodeRecord } from "../../../stages/nn/record.ts";
import { trainStage } from "../../../stages/train/stage.ts";
import { sgdItem, tinyBundles, tinyContext, tinyParams } from "./_helpers.ts";

Deno.test("the train stage publishes partial records that are prefixes of its final record, and reports loss and test error with progress", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const partials: Array<{ name: string; bytes: Uint8Array }> = [];
    const metrics: Array<Record<string, number> | undefined> = [];
    const base = tinyContext(
      tinyParams({ "train.epochs": 5 }),
      sgdItem(),
      tinyBundles(),
      dir,
    );
    const ctx = {
      ...base,
      progress: (_done: number, _total: number, m?: Record<string, number>) =>
        void metrics.push(m),
      partial: (name: string, bytes: Uint8Array) =>
        void partials.push({ name, bytes }),
      partialEvery: 2,
    };
    const out = await trainStage.run(ctx);
    const final = decodeRecord(out["record"]!);
    // Epochs 2, 4 and the last (5).
    assertEquals(partials.map((p) => p.name), ["record", "record", "record"]);
    const rows = partials.map((p) => decodeRecord(p.bytes));
    assertEquals(rows.map((r) => r.columns["epoch"]!.length), [3, 5, 6]);
    for (const partial of rows) {
      const n = partial.columns["epoch"]!.length;
      for (const [name, column] of Object.entries(final.columns)) {
        assertEquals(
          Array.from(partial.columns[name]!),
          Array.from(column.subarray(0, n)),
          name,
        );
      }
      assertEquals(partial.meta, final.meta);
    }
    // One progress call per row (epoch 0 = the initial weights), with its values.
    assertEquals(metrics.length, 6);
    for (let e = 0; e <= 5; e++) {
      assertEquals(metrics[e], {
        loss: final.columns["train_loss"]![e]!,
        test_error: final.columns["test_error"]![e]!,
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
