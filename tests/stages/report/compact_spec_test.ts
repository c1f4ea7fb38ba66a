/**
 * The page's compact specs draw what the charts stage drew: packed by series
 * and unpacked by Vega-Lite's flatten, every fixture figure renders to the
 * very same SVG; rounded, to the same marks. Rounding keeps the error below
 * 1/2000 of the value and of the field's span.
 */
import { assert, assertEquals } from "../../assert.ts";
import {
  compactSpec,
  packRows,
  roundForPlot,
} from "../../../stages/report/compact_spec.ts";
import { renderSvg } from "../../../stages/charts/render.ts";
import { charts, markCounts } from "./_report_fixture.ts";

type Row = Record<string, unknown>;

/**
 * Vega's flatten transform, written out from its documentation: each packed
 * row gives one row per index of its `fields` arrays, other fields copied.
 */
function unflatten(packed: Row[], fields: string[]): Row[] {
  return packed.flatMap((row) => {
    const n = Math.max(...fields.map((f) => (row[f] as unknown[]).length));
    return Array.from({ length: n }, (_, i) => {
      const out: Row = { ...row };
      for (const f of fields) out[f] = (row[f] as unknown[])[i] ?? null;
      return out;
    });
  });
}

Deno.test("roundForPlot() keeps 4 significant digits, more when the span is small, and integers whole", () => {
  assertEquals(roundForPlot(0.0369716240172, 1), 0.03697);
  assertEquals(roundForPlot(1.0848150690793992, 2), 1.085);
  // |x| / span = 682: three more digits, so the error stays below span / 2000.
  assertEquals(roundForPlot(6.8207084222, 0.01), 6.820708);
  assertEquals(roundForPlot(3.5930061850814596e-9, 1e-8), 3.593e-9);
  assertEquals(roundForPlot(12345, 20000), 12345);
  assertEquals(roundForPlot(0, 1), 0);
  assert(Number.isNaN(roundForPlot(NaN, 1)));
  for (const span of [1e-6, 0.01, 1, 1e4]) {
    for (const x of [1.23456789e-7, 0.987654321, 6.8207084222, 54747.52167]) {
      const err = Math.abs(roundForPlot(x, span) - x);
      assert(err <= Math.abs(x) / 2000, `${x}: ${err} within x/2000`);
      assert(
        err <= Math.max(span, Math.abs(x) * 1e-15) / 2000,
        `${x}: ${err} within span ${span} / 2000`,
      );
    }
  }
});

Deno.test("packRows() packs consecutive rows with equal labels into parallel arrays, constant numbers kept single", () => {
  const rows: Row[] = [
    { group: "a", epoch: 0, mean: 1.5, count: 3 },
    { group: "a", epoch: 1, mean: 2.25, count: 3 },
    { group: "b", epoch: 0, mean: null, count: 2 },
    { group: "a", epoch: 2, mean: 0.123456789, count: 3 },
  ];
  const { packed, flatten } = packRows(rows);
  assertEquals(flatten, ["epoch", "mean"]);
  assertEquals(packed, [
    { group: "a", count: 3, epoch: [0, 1], mean: [1.5, 2.25] },
    { group: "b", count: 2, epoch: [0], mean: [null] },
    // A run that comes back later stays after "b": the order is kept.
    // mean's span is 0.75, 0.1235 / 0.75 < 1: four significant digits.
    { group: "a", count: 3, epoch: [2], mean: [0.1235] },
  ]);
});

Deno.test("packRows() without rounding gives back every fixture figure's rows through flatten, in order", () => {
  for (const f of charts.figures) {
    const values = (f.spec.data as { values?: Row[] } | undefined)?.values;
    if (!values) continue;
    const { packed, flatten } = packRows(values, false);
    const back = flatten.length > 0 ? unflatten(packed, flatten) : packed;
    // A field a run lacks comes back null (charts filter it like a missing value).
    const expected = values.map((r) => {
      const out: Row = { ...r };
      for (const k of flatten) out[k] = r[k] ?? null;
      return out;
    });
    assertEquals(back, expected, f.id);
  }
});

Deno.test("compactSpec() draws every fixture figure exactly as the charts stage did, and the rounded spec with the same marks", async () => {
  let full = 0;
  let compact = 0;
  for (const f of charts.figures) {
    assertEquals(await renderSvg(compactSpec(f.spec, false)), f.svg, f.id);
    const rounded = compactSpec(f.spec);
    assertEquals(markCounts(await renderSvg(rounded)), markCounts(f.svg));
    full += JSON.stringify(f.spec).length;
    compact += JSON.stringify(rounded).length;
  }
  // Measured 0.30 on the fixture's 20 epochs; longer runs pack better (0.21
  // on adaptive-eos's 600).
  assert(compact / full < 0.33, `compact specs are ${compact / full} of full`);
  // The input is left as it was.
  assert(Array.isArray((charts.figures[0]!.spec.data as Row).values));
});
