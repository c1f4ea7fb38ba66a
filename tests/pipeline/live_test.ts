/**
 * The live view (pipeline/live.ts): a slow training in a Worker publishes
 * partial records through `ctx.partial`; they appear under .cache/live while
 * it runs, never in the object store's run cache or the lock, are removed
 * once it is cached, and `report --live` renders from them with a banner.
 */
import { assert, assertEquals } from "../assert.ts";
import { tempProject } from "./_project.ts";
import { liveDir, liveReproduce, readLiveState } from "../../pipeline/live.ts";
import { writeLiveReport } from "../../pipeline/commands/live_report.ts";
import { createReporter } from "../../pipeline/progress.ts";
import { readLock } from "../../pipeline/lock.ts";
import { decodeText, encodeText } from "../../pipeline/artifact.ts";
import type { Stage } from "../../pipeline/stage.ts";
import { stampReport } from "../../stages/report/stamp.ts";

/** A heavy stage that trains `epochs` fake epochs and stops after epoch 3 until the file `go` exists. */
const SLOW = `
import { defineStage } from "${
  new URL("../../pipeline/stage.ts", import.meta.url).href
}";
const text = (s) => new TextEncoder().encode(s);
export const slowStage = defineStage({
  name: "slow",
  module: import.meta.url,
  params: ["epochs", "gate"],
  outputs: ["record"],
  heavy: true,
  async run(ctx) {
    const epochs = ctx.params.epochs;
    const rows = [];
    for (let e = 1; e <= epochs; e++) {
      rows.push(e);
      ctx.progress(e, epochs, { loss: 1 / e, test_error: 0.5 / e });
      const every = ctx.partialEvery ?? 0;
      if (ctx.partial && every > 0 && (e % every === 0 || e === epochs)) {
        ctx.partial("record", text("rows " + rows.join(",")));
      }
      if (e === 3) {
        for (;;) {
          try { Deno.statSync(ctx.params.gate); break; } catch { /* waiting */ }
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }
    return { record: text("final " + rows.join(",")) };
  },
});
`;

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  for (let i = 0; i < 1500; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test("a running training's partial records appear under .cache/live, never in the run cache or lock; report --live renders them with an in-progress banner", async () => {
  let slow: Stage | undefined;
  const p = await tempProject((p) => {
    const url = p.writeModule("slow.ts", SLOW);
    // The report: the records it reads, with a header and the stamped region.
    const report: Stage = {
      name: "report",
      module: p.writeModule("report.ts", "// report"),
      params: [],
      inputs: { records: { stage: "slow", output: "record", select: "all" } },
      outputs: ["html"],
      files: { html: "index.html" },
      stamp: stampReport,
      run(ctx) {
        const body = ctx.inputAll("records").map((r) => decodeText(r.data))
          .join(";");
        return {
          html: encodeText(
            `<html><body><header><h1>r</h1></header><p>${body}</p><!--run-provenance--><!--/run-provenance--></body></html>`,
          ),
        };
      },
    };
    slow = {
      name: "slow",
      module: url,
      params: ["epochs", "gate"],
      outputs: ["record"],
      heavy: true,
      run: () => {
        throw new Error("runs in a Worker from its module");
      },
    };
    return [slow, report];
  });
  const params = { epochs: 6, gate: `${p.root}/go` };
  const cacheDir = `${p.root}/.cache`;
  let key = "";
  const lines: string[] = [];
  const run = p.engine.reproduce({
    experiment: "e",
    params,
    partialEvery: 2,
    reporter: createReporter((s) => lines.push(s), false),
    running: {
      start: (id, k) => {
        if (id === "slow") key = k;
        return Promise.resolve();
      },
      finish: () => Promise.resolve(),
    },
  });
  try {
    // Epoch 2's partial record, published from the Worker, while it waits after epoch 3.
    const state = await waitFor("the partial record", async () => {
      const s = key ? await readLiveState(cacheDir, key) : undefined;
      return s?.done === 2 ? s : undefined;
    });
    assertEquals(state.total, 6);
    assertEquals(state.outputs, ["record"]);
    assertEquals(state.metrics, { loss: 0.5, test_error: 0.25 });
    assertEquals(
      decodeText(await Deno.readFile(`${liveDir(cacheDir, key)}/record`)),
      "rows 1,2",
    );
    // Nothing final about it: no run entry, no lock entry.
    assertEquals(await p.engine.store.getRun(key), undefined);
    const lock = await readLock(`${p.root}/test.lock`, () => {});
    assertEquals(lock.experiments["e"]?.["slow"], undefined);

    // The live view renders the report from it, caching nothing.
    const live = await liveReproduce(p.engine, {
      experiment: "e",
      params,
      targets: ["report"],
    });
    await Deno.remove(live.dir, { recursive: true });
    assertEquals(
      live.results.map((r) => [r.id, r.live]),
      [["slow", "partial"], ["report", "rendered"]],
    );
    assertEquals(live.results[0]!.progress, { done: 2, total: 6 });
    const out = `${p.root}/out`;
    const { written } = await writeLiveReport(p.engine, {
      experiment: "e",
      params,
      resultsDir: out,
      targets: ["report"],
      reporter: createReporter(() => {}, false),
    });
    assertEquals(written, [`${out}/live/index.html`]);
    const html = await Deno.readTextFile(`${out}/live/index.html`);
    assert(html.includes("<p>rows 1,2</p>"), html);
    assert(html.includes('id="live-banner"'), html);
    assert(html.includes("slow: in progress: epoch 2 of 6"), html);
    assertEquals(
      html.indexOf("</header>") < html.indexOf('id="live-banner"'),
      true,
    );
    assertEquals(
      (await readLock(`${p.root}/test.lock`, () => {})).experiments["e"]
        ?.["report"],
      undefined,
    );
    let runs = 0;
    try {
      runs = [...Deno.readDirSync(`${cacheDir}/runs`)].length;
    } catch { /* no run cache yet */ }
    assertEquals(runs, 0, "nothing entered the run cache");
  } finally {
    await Deno.writeTextFile(`${p.root}/go`, "");
    await run.catch(() => {});
  }
  // Finished: the final record is cached and its partials are gone.
  assertEquals(await readLiveState(cacheDir, key), undefined);
  assert((await p.engine.store.getRun(key)) !== undefined);
  // The progress line carried the stage's metrics.
  assert(
    lines.some((l) => l.includes("loss 0.5000 test error 25.0%")),
    lines.join(""),
  );
  await Deno.remove(p.root, { recursive: true });
});

Deno.test("without --live-every the stage gets no partial channel and .cache/live stays empty", async () => {
  const p = await tempProject((p) => [{
    name: "slow",
    module: p.writeModule("slow.ts", SLOW),
    params: ["epochs", "gate"],
    outputs: ["record"],
    heavy: true,
    run: () => ({}),
  }]);
  await Deno.writeTextFile(`${p.root}/go`, "");
  await p.engine.reproduce({
    experiment: "e",
    params: { epochs: 4, gate: `${p.root}/go` },
  });
  let entries: string[] = [];
  try {
    entries = [...Deno.readDirSync(`${p.root}/.cache/live`)].map((e) => e.name);
  } catch { /* never made */ }
  assertEquals(entries, []);
  await Deno.remove(p.root, { recursive: true });
});
