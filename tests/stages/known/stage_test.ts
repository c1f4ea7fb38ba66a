import {
  assert,
  assertEquals,
  assertStrictEquals,
  assertThrowsMatch,
} from "../../assert.ts";
import { decodeJson } from "../../../pipeline/artifact.ts";
import { Rng } from "../../../pipeline/rng.ts";
import {
  type Params,
  parseParams,
  type StageContext,
} from "../../../pipeline/stage.ts";
import {
  MIN_NORM_TOLERANCE,
  quadraticErrors,
} from "../../../stages/known/experiments.ts";
import { knownStage } from "../../../stages/known/stage.ts";
import type { KnownAnswer } from "../../../stages/metrics/types.ts";
import { initWasmBackend } from "../../../stages/nn/backend.ts";
import { stageContext } from "../_context.ts";

/** The known stage's context: no inputs, and the RNG its experiments fork from. */
function ctx(params: Params): StageContext {
  return stageContext({
    params,
    rng: Rng.fromSeed("known-test"),
    scratchDir: "/tmp",
  });
}

const row = (a: KnownAnswer, optimizer: string) =>
  a.rows.find((r) => r.optimizer === optimizer)!;

Deno.test("knownStage returns an empty list when metrics.known_answers is false", async () => {
  const out = await knownStage.run(ctx({ "metrics.known_answers": false }));
  assertEquals(decodeJson(out.known!), []);
  // The stage's schema refuses a non-boolean before the stage runs.
  assertThrowsMatch(
    () =>
      parseParams(
        knownStage.schema!,
        { "metrics.known_answers": "yes" },
        "Stage 'known' params",
      ),
    /^Error: Stage 'known' params: metrics\.known_answers: expected boolean$/,
  );
});

Deno.test("knownStage reproduces min-norm interpolation, Wilson et al. and the modified flow", async () => {
  const out = await knownStage.run(ctx({ "metrics.known_answers": true }));
  const [minNorm, wilson, quadratic] = decodeJson<KnownAnswer[]>(out.known!);

  // SCIENCE §6.1: GD, SGD, heavy-ball reach X⁺y; Adam and RMSprop end ≥ 1e4 times farther.
  assertStrictEquals(minNorm!.id, "min_norm_interpolation");
  for (const o of ["gd", "sgd", "gd-m0.9"]) {
    assert(
      (row(minNorm!, o).dist_rel as number) < MIN_NORM_TOLERANCE,
      `${o} ${row(minNorm!, o).dist_rel}`,
    );
  }
  const gd = row(minNorm!, "gd").dist_rel as number;
  for (const o of ["adam", "rmsprop"]) {
    const dist = row(minNorm!, o).dist_rel as number;
    assert(dist > 1e-2 && dist / gd > 1e4, `${o} ${dist}`);
    // Adaptive methods interpolate too (their loss is small) but with a larger norm.
    assert(
      (row(minNorm!, o).norm_w as number) >
        (row(minNorm!, o).norm_min as number),
    );
  }
  assert((row(minNorm!, "adam").train_loss as number) < 1e-6);
  assertStrictEquals(minNorm!.verdict, "holds");

  // SCIENCE §6.2: GD-type test error 0; adaptive predict +1 everywhere (error = share of −1 labels).
  assertStrictEquals(wilson!.id, "wilson_adaptive_generalization");
  for (const o of ["gd", "sgd", "gd-m0.9"]) {
    assertStrictEquals(row(wilson!, o).test_error, 0, o);
  }
  for (const o of ["adam", "rmsprop"]) {
    assertStrictEquals(
      row(wilson!, o).test_error,
      row(wilson!, o).test_negatives,
      o,
    );
    assertStrictEquals(row(wilson!, o).train_error, 0, o);
  }
  assertStrictEquals(wilson!.verdict, "holds");

  assertStrictEquals(quadratic!.id, "quadratic_modified_flow");
  assertStrictEquals(quadratic!.verdict, "holds");
});

Deno.test("quadraticErrors(): halving η divides the modified-flow error by ≈4 and the plain one by ≈2", async () => {
  await initWasmBackend();
  const coarse = quadraticErrors(1, 0.05, 1, 1);
  const fine = quadraticErrors(1, 0.025, 1, 1);
  // GD: θ_K = (1 − η)^K exactly (η = 1/40, K = 40), up to float32.
  assert(Math.abs(fine.theta - (1 - 0.025) ** 40) < 1e-6);
  // Leading terms: Tη²λ³/3·θ and Tηλ²/2·θ with θ ≈ e^{−1}.
  assert(
    Math.abs(fine.errModified - 0.025 ** 2 / 3 * Math.exp(-1)) <
      0.1 * fine.errModified,
  );
  assert(
    Math.abs(fine.errPlain - 0.025 / 2 * Math.exp(-1)) < 0.1 * fine.errPlain,
  );
  const rModified = coarse.errModified / fine.errModified;
  const rPlain = coarse.errPlain / fine.errPlain;
  assert(rModified > 3.8 && rModified < 4.2, `modified ratio ${rModified}`);
  assert(rPlain > 1.9 && rPlain < 2.1, `plain ratio ${rPlain}`);
});
