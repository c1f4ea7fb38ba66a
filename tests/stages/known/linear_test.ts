import { assert, assertEquals, assertThrowsMatch } from "../../assert.ts";
import { Rng } from "../../../pipeline/rng.ts";
import {
  cholesky,
  distance,
  minNormSolution,
  norm,
} from "../../../stages/known/linear.ts";

const close = (a: ArrayLike<number>, b: number[], tol: number) =>
  b.forEach((x, i) =>
    assert(Math.abs(a[i]! - x) <= tol, `index ${i}: ${a[i]} vs ${x}`)
  );

Deno.test("cholesky() factors a hand-checked 2x2 matrix and rejects an indefinite one", () => {
  // [[4, 2], [2, 5]] = L Lᵀ with L = [[2, 0], [1, 2]].
  assertEquals(Array.from(cholesky(Float64Array.from([4, 2, 2, 5]), 2)), [
    2,
    0,
    1,
    2,
  ]);
  assertThrowsMatch(
    () => cholesky(Float64Array.from([1, 2, 2, 1]), 2),
    /not positive definite/,
  );
});

Deno.test("minNormSolution() matches X⁺y worked out by hand", () => {
  // One row x = (1, 2), y = 5: X⁺y = xᵀ·5/||x||² = (1, 2).
  close(
    minNormSolution({
      x: Float64Array.from([1, 2]),
      y: Float64Array.from([5]),
      n: 1,
      d: 2,
    }),
    [1, 2],
    1e-12,
  );
  // Rows e₁ + e₂ and e₃, y = (2, 3): the minimum-norm interpolant splits 2 evenly: (1, 1, 3).
  const x = Float64Array.from([1, 1, 0, 0, 0, 1]);
  close(minNormSolution({ x, y: Float64Array.from([2, 3]), n: 2, d: 3 }), [
    1,
    1,
    3,
  ], 1e-12);
});

Deno.test("minNormSolution() interpolates and is shorter than other interpolants", () => {
  const n = 5, d = 9, rng = Rng.fromSeed("minnorm");
  const x = Float64Array.from({ length: n * d }, () => rng.normal());
  const y = Float64Array.from({ length: n }, () => rng.normal());
  const w = minNormSolution({ x, y, n, d });
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += x[i * d + k]! * w[k]!;
    assert(Math.abs(s - y[i]!) < 1e-12, `row ${i}`);
  }
  // Any null-space direction u (Xu = 0) gives another interpolant w + u, orthogonal to w.
  const u = Float64Array.from({ length: d }, () => rng.normal());
  // Project u onto the null space: u − X⁺(Xu).
  const xu = Float64Array.from({ length: n }, (_, i) => {
    let s = 0;
    for (let k = 0; k < d; k++) s += x[i * d + k]! * u[k]!;
    return s;
  });
  const back = minNormSolution({ x, y: xu, n, d });
  const nullU = u.map((v, k) => v - back[k]!);
  const other = w.map((v, k) => v + nullU[k]!);
  assert(norm(other) > norm(w));
  assert(
    Math.abs(norm(other) ** 2 - norm(w) ** 2 - norm(nullU) ** 2) < 1e-9,
    "Pythagoras: w ⟂ null space",
  );
  assert(distance(other, w) > 0.1);
});
