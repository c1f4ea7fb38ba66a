/**
 * The `smoke` experiment end to end (download → noise → train → sharpness →
 * known → metrics → charts → report) through the engine, as `deno task
 * reproduce --experiment smoke` runs it; then a second run executes nothing,
 * and a template edit reruns only the report.
 */
import { assert, assertEquals } from "../assert.ts";
import { Engine } from "../../pipeline/engine.ts";
import type { Stage } from "../../pipeline/stage.ts";
import { decodeJson, decodeText } from "../../pipeline/artifact.ts";
import { STAGES } from "../../stages/mod.ts";
import { loadExperimentFile } from "../../stages/experiment.ts";
import type { MetricsDoc } from "../../stages/metrics/types.ts";
import { REPORT_SECTIONS } from "../stages/report/_report_fixture.ts";

const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/** The stages, with the report's template sources copied to `dir` so a test may edit them. */
function withTemplateCopies(dir: string): Stage[] {
  Deno.mkdirSync(dir, { recursive: true });
  return STAGES.map((stage) => {
    if (stage.name !== "report") return stage;
    const sources = (stage.sources ?? []).map((url, i) => {
      const copy = `${dir}/${i}-${url.split("/").pop()}`;
      Deno.copyFileSync(new URL(url).pathname, copy);
      return `file://${copy}`;
    });
    return { ...stage, sources };
  });
}

Deno.test("the smoke experiment runs end to end, then is fully cached, and a template edit reruns only the report", async () => {
  const cacheDir = `${root}/.cache/test-smoke-${crypto.randomUUID()}`;
  const templates = `${cacheDir}/templates`;
  const stages = withTemplateCopies(templates);
  const engine = () =>
    new Engine(
      { root, cacheDir, lockPath: `${cacheDir}/smoke.lock`, stages },
      () => {},
    );
  try {
    const params = await loadExperimentFile(`${root}/experiments`, "smoke", [
      "train.epochs=2",
    ]);
    const first = await engine().reproduce({ experiment: "smoke", params });
    assert(first.every((r) => r.outcome === "ran"), "all ran on a cold cache");
    const ids = first.map((r) => r.id);
    for (
      const stage of [
        "download",
        "noise",
        "known",
        "metrics",
        "charts",
        "report",
      ]
    ) {
      assert(ids.includes(stage), `${stage} is in the run`);
    }
    assertEquals(ids.filter((id) => id.startsWith("train[")).length, 6);
    assertEquals(ids.filter((id) => id.startsWith("sharpness[")).length, 6);

    const store = engine().store;
    const output = async (id: string, name: string) =>
      (await store.get(first.find((r) => r.id === id)!.outputs![name]!))!;
    const html = decodeText(await output("report", "html"));
    for (const section of REPORT_SECTIONS) {
      assert(
        html.includes(`id="${section}"`),
        `section ${section} is in the report`,
      );
    }
    assert(!/<script[^>]+src=/i.test(html), "no external script");
    const metrics = decodeJson<MetricsDoc>(await output("metrics", "metrics"));
    // smoke has seeds 0 and 1: fewer than 3, so every claim is measured but
    // inconclusive, each comparison pairing both seeds (SCIENCE §7.1).
    assertEquals(
      metrics.claims.map((c) => [
        c.id,
        c.verdict,
        c.descriptive,
        c.comparisons.map((x) => x.seeds),
      ]),
      [
        ["ir_sgd_exceeds_rmsprop_paper", "inconclusive", true, [[0, 1]]],
        [
          "ir_sgd_exceeds_rmsprop_preconditioned",
          "inconclusive",
          true,
          [[0, 1]],
        ],
        ["sgd_smaller_norm", "inconclusive", true, [[0, 1], [0, 1]]],
        ["sgd_lower_test_error", "inconclusive", true, [[0, 1], [0, 1]]],
      ],
    );
    for (const claim of metrics.claims) {
      assert(
        claim.evidence.includes("these numbers are descriptive"),
        claim.evidence,
      );
    }
    assertEquals(
      new Set(metrics.series.map((s) => s.optimizer)),
      new Set(["sgd", "adam", "rmsprop"]),
    );

    const second = await engine().reproduce({ experiment: "smoke", params });
    assertEquals(
      second.filter((r) => r.outcome === "ran").map((r) => r.id),
      [],
    );

    // status applies the same rule (nothing stale), and --why names an
    // optimizer's lr change by its param path.
    const status = await engine().status("smoke", params);
    assert(status.every((l) => l.state === "fresh"), "status: all fresh");
    const changed = await loadExperimentFile(`${root}/experiments`, "smoke", [
      "train.epochs=2",
      "optimizers.1.lr=0.002",
    ]);
    const adam = (await engine().status("smoke", changed)).find((l) =>
      l.id === "train[optimizer=adam,seed=0]"
    )!;
    assertEquals(adam.state, "stale");
    assert(
      adam.reasons.includes("param optimizers[adam].lr: 0.001 → 0.002"),
      adam.reasons.join("; "),
    );

    const template = [...Deno.readDirSync(templates)]
      .find((f) => f.name.endsWith("reproduce.eta"))!;
    await Deno.writeTextFile(
      `${templates}/${template.name}`,
      "<%/* edited */%>",
      {
        append: true,
      },
    );
    const third = await engine().reproduce({ experiment: "smoke", params });
    assertEquals(third.filter((r) => r.outcome === "ran").map((r) => r.id), [
      "report",
    ]);
  } finally {
    await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
  }
});
