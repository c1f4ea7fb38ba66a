/**
 * The finding modules on synthetic runs whose answer is known (SCIENCE §7.1):
 * a clear effect over ≥ 3 seeds holds, the opposite fails, no difference is
 * inconclusive, and fewer than 3 seeds is inconclusive and descriptive.
 */
import { assert, assertAlmostEquals, assertEquals } from "../_assert.ts";
import { Rng } from "../../../../pipeline/rng.ts";
import type { Run } from "../../../../stages/metrics/runs.ts";
import type {
  BarrierEntry,
  Finding,
} from "../../../../stages/metrics/types.ts";
import type { OptimizerConfig } from "../../../../stages/nn/contracts.ts";
import {
  bandVerdict,
  differsVerdict,
} from "../../../../stages/metrics/findings/common.ts";
import { tInterval } from "../../../../stages/metrics/paired.ts";
import {
  batchSlopeFindings,
  finitePopulationSlope,
  olsSlope,
} from "../../../../stages/metrics/findings/batch_size.ts";
import { explicitFindings } from "../../../../stages/metrics/findings/explicit_reg.ts";
import {
  epochsToHalf,
  memorisationFindings,
  swatsSwitchEpoch,
  switchWords,
} from "../../../../stages/metrics/findings/memorisation.ts";
import { momentumFindings } from "../../../../stages/metrics/findings/momentum.ts";
import { normsFindings } from "../../../../stages/metrics/findings/norms.ts";
import {
  architectureFindings,
  mlpParameters,
} from "../../../../stages/metrics/findings/architectures.ts";
import {
  evaluateFindings,
  FINDING_IDS,
} from "../../../../stages/metrics/findings/mod.ts";
import { syntheticExperiment, syntheticRun } from "../_synthetic.ts";
import { ADAM, RMSPROP, SGD } from "../_runs.ts";

const byId = (list: Finding[], id: string): Finding => {
  const f = list.find((x) => x.id === id);
  if (!f) throw new Error(`no finding ${id} in ${list.map((x) => x.id)}`);
  return f;
};

/** A run with a sweep cell. */
function inCell(run: Run, cell: Run["cell"]): Run {
  return { ...run, cell, group: `${run.label} · ${JSON.stringify(cell)}` };
}

Deno.test("bandVerdict: inside holds, outside fails, overlapping or < 3 seeds inconclusive", () => {
  const t = (v: number[]) => tInterval(v, 0.95);
  assertEquals(bandVerdict(t([-1.01, -0.99, -1.0]), -1.25, -0.75), "holds");
  assertEquals(bandVerdict(t([-0.3, -0.31, -0.29]), -1.25, -0.75), "fails");
  assertEquals(bandVerdict(t([-2, 0, -1]), -1.25, -0.75), "inconclusive");
  assertEquals(bandVerdict(t([-1, -1.01]), -1.25, -0.75), "inconclusive");
  assertEquals(differsVerdict(t([1, 1.1, 0.9])), "holds");
  assertEquals(differsVerdict(t([1, -1, 0.1])), "inconclusive");
});

/** Plain SGD at B = 16…1024 whose variance part is 10^(c − slope·log₁₀B + noise), 10 epochs. */
function batchRuns(seeds: number, slope: number, noise: number): Run[] {
  const rng = Rng.fromSeed("batch-test");
  const runs: Run[] = [];
  for (let seed = 0; seed < seeds; seed++) {
    const level = 0.3 * rng.normal();
    for (const b of [16, 32, 64, 128, 256, 512, 1024]) {
      const y = -2 + level + slope * Math.log10(b) + noise * rng.normal();
      const v = Array.from({ length: 11 }, () => 10 ** y);
      runs.push(
        inCell(syntheticRun(SGD, seed, { ir_sgd_var: v }), {
          "train.batch_size": b,
        }),
      );
    }
  }
  return runs;
}

Deno.test("batch-size slope: −1 with noise over 3 seeds holds; the interval contains −1 and excludes 0", () => {
  const f = batchSlopeFindings(batchRuns(3, -1, 0.02))[0]!;
  assertEquals(f.verdict, "holds");
  assertEquals(f.descriptive, false);
  const c = f.comparisons[0]!;
  assert(c.low! <= -1 && -1 <= c.high!, `[${c.low}, ${c.high}]`);
  assert(c.high! < 0);
  assertEquals(f.numbers["contains_minus_one"], 1);
  assertEquals(f.numbers["excludes_zero"], 1);
  assertAlmostEquals(f.numbers["slope_mean"]!, -1, 0.05);
});

Deno.test("batch-size slope: −0.3 fails; 2 seeds are inconclusive and descriptive; no sweep is not measured", () => {
  assertEquals(
    batchSlopeFindings(batchRuns(3, -0.3, 0.02))[0]!.verdict,
    "fails",
  );
  const two = batchSlopeFindings(batchRuns(2, -1, 0.02))[0]!;
  assertEquals(two.verdict, "inconclusive");
  assertEquals(two.descriptive, true);
  const none = batchSlopeFindings([syntheticRun(SGD, 0, { ir_sgd_var: [1] })]);
  assertEquals(none[0]!.verdict, "not measured");
  assertAlmostEquals(olsSlope([0, 1, 2], [1, 3, 5]), 2, 1e-12);
});

Deno.test("batch-size slope: sampling without replacement predicts numpy's least-squares slope, and the finding reports it when the records give N", () => {
  const bs = [16, 32, 64, 128, 256, 512, 1024];
  // numpy.polyfit(log10(B), log10((N − B)/(B(N − 1))), 1)[0] at N = 2000,
  // printed by tests/fixtures/finite_population_slope.py.
  assertAlmostEquals(
    finitePopulationSlope(bs, 2000),
    -1.1438488292654299,
    1e-12,
  );
  assertAlmostEquals(finitePopulationSlope(bs, Infinity), -1, 1e-12);
  // Two batch sizes: the secant, −1 − a little at B ≪ N.
  const secant = (Math.log10(1984 / 1999 / 16) - Math.log10(1936 / 1999 / 64)) /
    (Math.log10(16) - Math.log10(64));
  assertAlmostEquals(finitePopulationSlope([16, 64], 2000), secant, 1e-12);
  // At epoch 0 (shared initial weights) each seed's variance part follows
  // the sampling law σ²(N − B)/(B(N − 1)) exactly; later epochs follow 1/B.
  const runs = batchRuns(3, -1, 0.02).map((r) => {
    const b = r.cell["train.batch_size"] as number;
    const v = Float64Array.from(r.series.ir_sgd_var!.values);
    v[0] = (0.01 * (1 + r.seed) * (2000 - b)) / (b * 1999);
    return {
      ...r,
      nTrain: 2000,
      series: {
        ir_sgd_var: { epochs: r.series.ir_sgd_var!.epochs, values: v },
      },
    };
  });
  const f = batchSlopeFindings(runs)[0]!;
  assertAlmostEquals(f.numbers["finite_population_slope"]!, -1.1438488, 1e-6);
  assertAlmostEquals(
    f.numbers["initial_slope_mean"]!,
    -1.1438488292654299,
    1e-12,
  );
  assertAlmostEquals(f.numbers["slope_mean"]!, -1, 0.05);
  assert(
    f.answer.endsWith(
      "Sampling without replacement from N = 2000 alone predicts -1.14 over these B at fixed weights; at the shared initial weights (epoch 0) the slope is -1.14 [-1.14, -1.14].",
    ),
    f.answer,
  );
  // Without N in the records nothing is predicted; epoch 0 is still measured.
  const g = batchSlopeFindings(batchRuns(3, -1, 0.02))[0]!;
  assertEquals(g.numbers["finite_population_slope"], undefined);
  assertAlmostEquals(g.numbers["initial_slope_mean"]!, -1, 0.05);
});

/**
 * GD, GD + penalty and SGD final test errors per seed (offsets from a seed
 * effect); with `sgdOverfit`, SGD's test error is lowest at epoch 1 and ends
 * that much higher, as an SGD that memorises the noise.
 */
function explicitRuns(
  seeds: number,
  pen: number,
  gdOffset = 0.05,
  sgdOverfit = 0,
): Run[] {
  const rng = Rng.fromSeed("explicit-test");
  const gd: OptimizerConfig = { name: "gd", lr: 0.05 };
  const runs: Run[] = [];
  const last = (v: number) => [NaN, NaN, v];
  const overfit = (v: number) => [NaN, v, v + sgdOverfit];
  for (let seed = 0; seed < seeds; seed++) {
    const u = 0.2 + 0.01 * rng.normal();
    const e = () => 0.002 * rng.normal();
    runs.push(
      inCell(syntheticRun(gd, seed, { test_error: last(u + gdOffset + e()) }), {
        "train.explicit_penalty": 0,
      }),
      inCell(syntheticRun(gd, seed, { test_error: last(u + pen + e()) }), {
        "train.explicit_penalty": 0.0125,
      }),
      inCell(syntheticRun(SGD, seed, { test_error: overfit(u + e()) }), {
        "train.explicit_penalty": 0,
      }),
    );
  }
  return runs;
}

Deno.test("explicit-reg: GD + penalty at SGD's error reaches it; 5 points worse fails; no effect on GD is inconclusive", () => {
  const same = explicitFindings(explicitRuns(4, 0));
  assertEquals(byId(same, "explicit_penalty.reaches_sgd").verdict, "holds");
  assertEquals(byId(same, "explicit_penalty.helps_gd").verdict, "holds");
  const worse = explicitFindings(explicitRuns(4, 0.05));
  assertEquals(byId(worse, "explicit_penalty.reaches_sgd").verdict, "fails");
  // The penalty changes nothing for GD: no difference → inconclusive.
  assertEquals(
    byId(worse, "explicit_penalty.helps_gd").verdict,
    "inconclusive",
  );
  const few = explicitFindings(explicitRuns(2, 0));
  assertEquals(
    byId(few, "explicit_penalty.reaches_sgd").verdict,
    "inconclusive",
  );
  assertEquals(byId(few, "explicit_penalty.reaches_sgd").descriptive, true);
  // Without overfitting the best errors are the final ones: same verdicts.
  assertEquals(
    byId(same, "explicit_penalty.reaches_sgd_at_best").verdict,
    "holds",
  );
  assertEquals(
    byId(same, "explicit_penalty.helps_gd_at_best").verdict,
    "holds",
  );
});

Deno.test("explicit-reg: against an SGD that overfits, GD + penalty 4 points above SGD's best reaches its final error but not its best", () => {
  // SGD: best u at epoch 1, final u + 0.1; GD + penalty u + 0.04 throughout.
  const f = explicitFindings(explicitRuns(4, 0.04, 0.05, 0.1));
  const reaches = byId(f, "explicit_penalty.reaches_sgd");
  assertEquals(reaches.verdict, "holds");
  assertAlmostEquals(reaches.numbers["difference_mean"]!, -0.06, 0.005);
  const atBest = byId(f, "explicit_penalty.reaches_sgd_at_best");
  assertEquals(atBest.verdict, "fails");
  assertAlmostEquals(atBest.numbers["difference_mean"]!, 0.04, 0.005);
  assert(atBest.answer.includes("best test error"), atBest.answer);
  // GD + penalty is 1 point below GD at the end and at its best.
  assertEquals(byId(f, "explicit_penalty.helps_gd_at_best").verdict, "holds");
});

/** Corrupted-part train error falling below 0.5 at epoch `half`, 10 epochs; final/best test error given. */
function memRun(
  config: OptimizerConfig,
  seed: number,
  half: number,
  testError: number,
): Run {
  const corrupt = Array.from({ length: 11 }, (_, e) => (e < half ? 0.9 : 0.2));
  const test = Array.from({ length: 11 }, (_, e) => testError + 0.001 * e);
  return syntheticRun(config, seed, {
    train_corrupt_error: corrupt,
    test_error: test,
  });
}

Deno.test("memorisation: adaptive methods faster and worse on test, SWATS better than Adam: all hold", () => {
  const swats: OptimizerConfig = { name: "swats", lr: 0.001 };
  const runs: Run[] = [];
  for (let seed = 0; seed < 3; seed++) {
    const j = 0.001 * seed;
    runs.push(
      memRun(SGD, seed, 8 + seed % 2, 0.15 + j),
      memRun(ADAM, seed, 3, 0.25 + j),
      memRun(RMSPROP, seed, 2 + seed % 2, 0.26 + 2 * j),
      memRun(swats, seed, 4, 0.18 - j),
    );
  }
  assertEquals(epochsToHalf(runs[0]!).epochs, 8);
  const list = memorisationFindings(runs);
  assertEquals(byId(list, "memorisation.speed").verdict, "holds");
  assertEquals(byId(list, "memorisation.test_error").verdict, "holds");
  assertEquals(byId(list, "memorisation.test_error").comparisons.length, 4);
  assertEquals(byId(list, "memorisation.swats").verdict, "holds");
  assert(byId(list, "memorisation.speed").table!.length === 4);
});

Deno.test("memorisation: SWATS's switch is read from where the preconditioned term stops; a SWATS that never switched is said to have run as Adam", () => {
  const swats: OptimizerConfig = { name: "swats", lr: 0.001 };
  // Snapshots every other epoch (NaN between); seed 0 switches during epoch
  // 3, so its epoch-4 snapshot has an SGD term and no preconditioned one.
  const every2 = (v: number) =>
    Array.from({ length: 11 }, (_, e) => (e % 2 === 0 ? v : NaN));
  const withPre = (seed: number, pre: number[]) =>
    syntheticRun(swats, seed, {
      train_corrupt_error: Array(11).fill(0.2),
      test_error: Array(11).fill(0.2),
      ir_sgd: every2(1e-3),
      ir_preconditioned: pre,
    });
  const switched = withPre(0, every2(0.5).map((v, e) => (e >= 4 ? NaN : v)));
  const never = withPre(1, every2(0.5));
  assertEquals(swatsSwitchEpoch(switched), 4);
  assertEquals(swatsSwitchEpoch(never), null);
  assertEquals(
    switchWords([switched, never]),
    "SWATS had switched to SGD by epoch 4 (1 of 2 seeds)",
  );
  assertEquals(
    switchWords([never, withPre(2, every2(0.5))]),
    "no seed's SWATS switched to SGD within 10 epochs, so it ran as Adam throughout and this setting says nothing about switching",
  );
  const runs = [0, 1, 2].flatMap((seed) => [
    memRun(SGD, seed, 8, 0.15),
    memRun(ADAM, seed, 3, 0.25 + 0.001 * seed),
    withPre(seed, every2(0.5)),
  ]);
  const f = byId(memorisationFindings(runs), "memorisation.swats");
  assert(f.answer.includes("ran as Adam throughout"), f.answer);
});

Deno.test("memorisation: a run that never memorises half is censored at its last epoch + 1", () => {
  const never = memRun(SGD, 0, 99, 0.2);
  assertEquals(epochsToHalf(never), { epochs: 11, censored: true });
  const runs = [0, 1, 2].flatMap((seed) => [
    memRun(SGD, seed, 99, 0.2),
    memRun(ADAM, seed, 3, 0.2 + 0.01 * (seed - 1)),
  ]);
  const list = memorisationFindings(runs);
  const speed = byId(list, "memorisation.speed");
  assertEquals(speed.comparisons[0]!.values, [8, 8, 8]);
  assert(speed.evidence.includes("never reached"));
  // Test errors with no systematic difference: inconclusive.
  assertEquals(byId(list, "memorisation.test_error").verdict, "inconclusive");
});

function barrier(
  a: string,
  b: string,
  seed: number,
  value: number,
  seedB?: number,
): BarrierEntry {
  return {
    a,
    b,
    seed,
    ...(seedB === undefined ? {} : { seed_b: seedB }),
    cell: {},
    t: [0, 1],
    loss: [0, 0],
    barrier: value,
  };
}

function momentumSetup(cross: number, across: number) {
  const m0: OptimizerConfig = {
    name: "sgd",
    lr: 0.005,
    momentum: 0,
    label: "m0",
  };
  const m9: OptimizerConfig = {
    name: "sgd",
    lr: 0.005,
    momentum: 0.9,
    label: "m9",
  };
  const runs = [0, 1, 2].flatMap((s) => [
    syntheticRun(m0, s, { test_error: [0.2] }),
    syntheticRun(m9, s, { test_error: [0.2] }),
  ]);
  const barriers: BarrierEntry[] = [];
  for (const s of [0, 1, 2]) {
    barriers.push(barrier("m0", "m9", s, cross + 0.01 * s));
    barriers.push(barrier("m0", "m0", s, across + 0.02 * s, (s + 1) % 3));
    barriers.push(barrier("m9", "m9", s, across - 0.01 * s, (s + 1) % 3));
  }
  return { runs, barriers };
}

Deno.test("momentum: a same-seed barrier far below the seed-against-seed one holds; far above fails", () => {
  const low = momentumSetup(0.02, 0.8);
  const f = momentumFindings(low.runs, low.barriers)[0]!;
  assertEquals(f.verdict, "holds");
  assertEquals(f.comparisons[0]!.n, 3);
  assert(
    f.answer.startsWith(
      "Holds: momentum ends nearer plain SGD's solution than another initialisation does, so it does not steer toward a different basin (",
    ),
    f.answer,
  );
  const high = momentumSetup(1.5, 0.1);
  const g = momentumFindings(high.runs, high.barriers)[0]!;
  assertEquals(g.verdict, "fails");
  assert(g.answer.includes("it steers toward a different basin"), g.answer);
  // Without seed-against-seed barriers the yardstick is missing.
  const only = low.barriers.filter((b) => b.seed_b === undefined);
  assertEquals(momentumFindings(low.runs, only)[0]!.verdict, "not measured");
});

Deno.test("norms: SGD closer to w₀ than Adam and RMSprop holds; the table has every optimizer", () => {
  const rng = Rng.fromSeed("norms-test");
  const runs = syntheticExperiment(rng, 4, {
    adam: { error: 0, norm: 40, log10Term: 0 },
    rmsprop: { error: 0, norm: 40, log10Term: 0 },
  });
  const f = normsFindings(runs)[0]!;
  assertEquals(f.verdict, "holds");
  assertEquals(f.table!.map((r) => r["optimizer"]), ["sgd", "adam", "rmsprop"]);
  const same = normsFindings(syntheticExperiment(Rng.fromSeed("n2"), 4))[0]!;
  assertEquals(same.verdict, "inconclusive");
});

Deno.test("architectures: parameter counts of the experiment's MLPs, and a sharpness difference detected", () => {
  assertEquals(mlpParameters([512, 256, 128, 64]), 575050);
  assertEquals(mlpParameters([723]), 574795);
  assertEquals(mlpParameters(Array(8).fill(235)), 575055);
  const runs: Run[] = [];
  for (let seed = 0; seed < 3; seed++) {
    for (
      const [hidden, sharp] of [["[512,256,128,64]", 10], [
        "[723]",
        40,
      ]] as const
    ) {
      runs.push(inCell(
        syntheticRun(SGD, seed, {
          sharpness: [1, sharp * (1 + 0.01 * seed)],
          train_corrupt_error: [0.9, 0.5 + 0.01 * (seed - 1)],
          ir_sgd: [1, 0.01],
        }),
        { "model.hidden": hidden },
      ));
    }
  }
  const list = architectureFindings(runs);
  assertEquals(byId(list, "architectures.final_sharpness").verdict, "holds");
  assertEquals(
    byId(list, "architectures.memorised_fraction").verdict,
    "inconclusive",
  );
  const table = byId(list, "architectures.final_sharpness").table!;
  assertEquals(table.map((r) => r["parameters"]), [575050, 574795]);
  // One architecture: a descriptive table, nothing compared.
  const one = architectureFindings(
    runs.filter((r) => r.cell["model.hidden"] === "[723]").map((r) => ({
      ...r,
      cell: {},
    })),
  );
  assertEquals(one[0]!.verdict, "not measured");
  assertEquals(one[0]!.descriptive, true);
});

Deno.test("evaluateFindings: paper_claims gives the four claims as findings; every id has a module", () => {
  const runs = syntheticExperiment(Rng.fromSeed("claims"), 5, {
    sgd: { error: -0.1, norm: -30, log10Term: 3 },
  });
  const list = evaluateFindings(["paper_claims"], { runs, barriers: [] });
  assertEquals(list.length, 4);
  assert(list.every((f) => f.module === "paper_claims" && f.question !== ""));
  assertEquals(list.map((f) => f.verdict), [
    "holds",
    "holds",
    "holds",
    "holds",
  ]);
  const terms = evaluateFindings(["ir_terms"], { runs, barriers: [] });
  assertEquals(terms.map((f) => f.id), [
    "ir_terms.ir_sgd_exceeds_rmsprop_paper",
    "ir_terms.ir_sgd_exceeds_rmsprop_preconditioned",
  ]);
  // Each id runs its own module: every finding it gives is that module's.
  for (const id of FINDING_IDS) {
    const found = evaluateFindings([id], { runs, barriers: [] });
    assert(found.length > 0, `${id} gives a finding`);
    assertEquals(found.filter((f) => f.module !== id), [], id);
  }
});
