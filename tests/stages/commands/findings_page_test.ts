/**
 * The findings page from a fixture published folder: a published experiment
 * shows its findings' verdicts and answers under their question, a link to
 * its report and its seeds, wall time and commit; an experiment not yet
 * published is "not yet run" with the command to run it.
 */
import { assert, assertEquals } from "../../assert.ts";
import type { Json } from "../../../pipeline/stage.ts";
import {
  answerAfterVerdict,
  collectQuestions,
  duration,
  renderFindingsPage,
} from "../../../stages/commands/findings.ts";

const FIXTURE = new URL("../../fixtures/published", import.meta.url).pathname;

const experiments: Record<string, Json> = {
  momentum: { seeds: [0, 1, 2], metrics: { findings: ["momentum_basins"] } },
  "batch-size": {
    seeds: [0, 1, 2],
    metrics: { findings: ["batch_variance_slope"] },
  },
  paper: { seeds: [0], metrics: { findings: ["ir_terms"] } },
  smoke: { metrics: { findings: [] } },
};
const def = {
  experiments: () => Object.keys(experiments).sort(),
  loadExperiment: (name: string) => Promise.resolve(experiments[name]!),
};

Deno.test("collectQuestions: each question lists the experiments naming its module, published or not", async () => {
  const questions = await collectQuestions(def, FIXTURE);
  assertEquals(questions.length, 8);
  const momentum = questions.find((q) => q.module === "momentum_basins")!;
  assertEquals(momentum.experiments.map((e) => e.name), ["momentum"]);
  assertEquals(momentum.experiments[0]!.published, true);
  // Only the findings of this question's module.
  assertEquals(
    momentum.experiments[0]!.findings.map((f) => f.id),
    ["momentum_basins"],
  );
  const batch = questions.find((q) => q.module === "batch_variance_slope")!;
  assertEquals(batch.experiments[0]!.published, false);
  assertEquals(
    questions.find((q) => q.module === "norms")!.experiments,
    [],
  );
});

Deno.test("answerAfterVerdict drops the verdict word the badge already shows, and nothing else", () => {
  assertEquals(answerAfterVerdict("Holds: x (1 [0, 2])."), "x (1 [0, 2]).");
  assertEquals(answerAfterVerdict("Holds — no: y."), "no: y.");
  assertEquals(answerAfterVerdict("Inconclusive: z."), "z.");
  assertEquals(answerAfterVerdict("Not measured: w."), "w.");
  assertEquals(answerAfterVerdict("Holdsworth: v."), "Holdsworth: v.");
});

Deno.test("the findings page shows verdicts, answers, links and provenance, and the command for what has not run", async () => {
  const html = renderFindingsPage(await collectQuestions(def, FIXTURE));
  // [what the page shows, as markup it must hold]
  const shown: Array<[string, string]> = [
    ["links the report", '<a href="momentum/index.html">'],
    [
      "verdict and answer",
      '<span class="verdict holds">holds</span> no: momentum ends nearer',
    ],
    [
      "links the finding's figure in the report",
      '<a class="figure" href="momentum/index.html#chart-barrier-curves">',
    ],
    ["seeds", "Seeds 0, 1, 2"],
    ["wall time", "wall time 1 h 02 min"],
    ["commit", "<code>0123456789ab</code>"],
    ["setting is escaped", "&lt;β sweep&gt;"],
    [
      "not yet run",
      '<strong>batch-size</strong> <span class="not-run">— not yet run.</span>',
    ],
    [
      "the command to run it",
      "deno task reproduce --experiment batch-size &amp;&amp; deno task publish-result batch-size",
    ],
    ["the question", "Does momentum steer toward different basins?"],
    // The paper's one-seed file is run and published as its 3-seed variant.
    [
      "paper at 3 seeds",
      "deno task reproduce --experiment paper --set seeds=0,1,2 &amp;&amp; deno task publish-result paper --set seeds=0,1,2",
    ],
  ];
  for (const [what, markup] of shown) assert(html.includes(markup), what);
  assert(
    !html.includes("SHOULD-NOT-APPEAR"),
    "other modules' findings stay out",
  );
});

Deno.test("duration: hours and minutes, minutes and seconds, or a dash", () => {
  assertEquals(duration(3725), "1 h 02 min");
  assertEquals(duration(200), "3 min 20 s");
  assertEquals(duration(42), "42 s");
  assertEquals(duration(null), "—");
});
