import { assertEquals } from "../../../assert.ts";
import {
  barelyTrained,
  stallCaution,
  stalledGroups,
  withStallCaution,
} from "../../../../stages/metrics/findings/stalled.ts";
import { buildDoc } from "../../../../stages/metrics/stage.ts";
import { evaluateFindings } from "../../../../stages/metrics/findings/mod.ts";
import { syntheticRun } from "../_synthetic.ts";
import { ADAM, SGD } from "../_runs.ts";

// The published momentum run's β = 0 losses: 2.3038 at epoch 0, 2.2985 at
// the end (0.2% shed); β = 0.9: 2.3038 → 1.5491.
const flat = [2.3038, 2.302, 2.3, 2.2985];
const trained = [2.3038, 2.0, 1.7, 1.5491];

Deno.test("barelyTrained: a run that shed less than 2% of its epoch-0 training loss", () => {
  assertEquals(barelyTrained(syntheticRun(SGD, 0, { train_loss: flat })), true);
  assertEquals(
    barelyTrained(syntheticRun(SGD, 0, { train_loss: trained })),
    false,
  );
  // 2.3038 → 2.2577 is exactly 2.0% shed: trained, just.
  assertEquals(
    barelyTrained(syntheticRun(SGD, 0, { train_loss: [2.3038, 2.2577] })),
    false,
  );
  // The last finite loss counts (a NaN row at the end is skipped).
  assertEquals(
    barelyTrained(syntheticRun(SGD, 0, { train_loss: [2.3, 2.29, NaN] })),
    true,
  );
  // No epoch-0 loss, or a single row: nothing to compare, not flagged.
  assertEquals(
    barelyTrained(syntheticRun(SGD, 0, { train_loss: [2.3] })),
    false,
  );
});

Deno.test("stalledGroups names a group only when all its seeds stalled; findings carry the caution in answer and evidence", () => {
  const runs = [0, 1, 2].flatMap((seed) => [
    syntheticRun(SGD, seed, { train_loss: flat }),
    syntheticRun(ADAM, seed, { train_loss: seed === 1 ? flat : trained }),
  ]);
  assertEquals(stalledGroups(runs), ["sgd"]);
  const [f] = withStallCaution([{
    id: "x",
    module: "norms",
    question: "q",
    statement: "s",
    verdict: "holds",
    answer: "Holds: a.",
    evidence: "b.",
    numbers: {},
    comparisons: [],
    descriptive: false,
    figure: "fig",
  }], ["sgd"]);
  const caution =
    "Caution: sgd barely trained (final training loss within 2% of epoch 0's), so what involves it describes untrained networks.";
  assertEquals(f!.answer, `Holds: a. ${caution}`);
  assertEquals(f!.evidence, `b. ${caution}`);
  // Through evaluateFindings, every finding of the experiment is cautioned.
  const all = evaluateFindings(["norms"], { runs, barriers: [] });
  assertEquals(all.every((x) => x.answer.endsWith(caution)), true);
  assertEquals(withStallCaution(all, []), all);
});

Deno.test("buildDoc: the paper's claims that are measured carry the caution when SGD barely trained; unmeasured ones do not", () => {
  const runs = [0, 1, 2].flatMap((seed) => [
    syntheticRun(SGD, seed, {
      train_loss: flat,
      test_error: [0.9, 0.9, 0.9, 0.9],
      norm: [18, 18, 18, 18],
    }),
    syntheticRun(ADAM, seed, {
      train_loss: trained,
      test_error: [0.9, 0.4, 0.3, 0.29],
      norm: [18, 30, 35, 40 + seed],
    }),
  ]);
  const doc = buildDoc("x", runs, []);
  const caution = stallCaution(["sgd"]);
  const measured = doc.claims.filter((c) => c.verdict !== "not measured");
  assertEquals(measured.length > 0, true);
  for (const c of measured) assertEquals(c.evidence.endsWith(caution), true);
  for (const c of doc.claims.filter((c) => c.verdict === "not measured")) {
    assertEquals(c.evidence.includes("Caution"), false);
  }
});
