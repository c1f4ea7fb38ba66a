/**
 * Depth, width and architecture at (almost) equal parameter count: the IR
 * term of each run's own optimizer, the sharpness (SCIENCE §4.2) and the
 * memorised fraction of the corrupted labels (§4.3), per architecture and
 * optimizer — a descriptive table with the parameter count. Where the
 * experiment sweeps `model.hidden`, each other architecture is compared with
 * the first (the paper's MLP) per optimizer and seed (runs of a seed share
 * data and batch order): log₁₀ ratios for the term and the sharpness, plain
 * differences for the memorised fraction. "Differs" is two-sided: holds when
 * an interval excludes zero (Bonferroni over all comparisons of the
 * quantity), inconclusive otherwise; it never "fails" (no difference found
 * is not no difference).
 */
import type { Pairing } from "../claims.ts";
import { perComparisonLevel } from "../paired.ts";
import { groupBy, type Run } from "../runs.ts";
import type { Comparison, Finding, Verdict } from "../types.ts";
import {
  base,
  byLabel,
  differsVerdict,
  effects,
  meanSdOf,
  pairedBy,
  pairedFinding,
  ruleNote,
  summaryOf,
  verdictWord,
} from "./common.ts";

export const HIDDEN_KEY = "model.hidden";
/** MNIST-shaped input and classes (SCIENCE §1.1). */
const INPUTS = 784;
const CLASSES = 10;

/** Figure: the three quantities per architecture and optimizer, points per seed with means and intervals. */
export const ARCH_FIGURE = "architectures-table";

/** Weights and biases of a ReLU MLP 784 → hidden… → 10. */
export function mlpParameters(hidden: number[]): number {
  const sizes = [INPUTS, ...hidden, CLASSES];
  let n = 0;
  for (let i = 1; i < sizes.length; i++) {
    n += (sizes[i - 1]! + 1) * sizes[i]!;
  }
  return n;
}

/** The architecture name of a run's cell ("mlp 512-256-128-64"), or "as configured" without a sweep. */
function archOf(run: Run): { name: string; params: number | null } {
  const v = run.cell[HIDDEN_KEY];
  if (typeof v !== "string") return { name: "as configured", params: null };
  try {
    const hidden = JSON.parse(v) as number[];
    return { name: `mlp ${hidden.join("-")}`, params: mlpParameters(hidden) };
  } catch {
    return { name: v, params: null };
  }
}

const QUANTITIES = [
  {
    key: "final_ir_own",
    what: "the final IR term of the run's own optimizer",
    log: true,
  },
  { key: "final_sharpness", what: "the final sharpness", log: true },
  {
    key: "memorised_fraction",
    what: "the memorised fraction of the corrupted labels",
    log: false,
  },
] as const;

type Table = Array<Record<string, string | number>>;

/** Per architecture and optimizer: parameters and mean ± sd of the quantities over seeds. */
function archTable(archs: Map<string, Run[]>): Table {
  const table: Table = [];
  for (const [name, list] of archs) {
    for (const [label, l] of byLabel(list)) {
      table.push({
        architecture: name,
        parameters: archOf(l[0]!).params ?? "see the experiment",
        optimizer: label,
        "final IR term (own)": meanSdOf(l, "final_ir_own"),
        "final sharpness": meanSdOf(l, "final_sharpness"),
        "memorised fraction": meanSdOf(l, "memorised_fraction"),
        "final test error": meanSdOf(l, "final_test_error"),
      });
    }
  }
  return table;
}

/** One architecture: the table alone, to set beside the other experiment's. */
function tableOnly(table: Table): Finding {
  return {
    ...base("architectures", ARCH_FIGURE),
    id: "architectures.table",
    statement:
      "The IR term, sharpness and memorisation of this architecture, to set beside the other architectures' (the findings page lists both experiments).",
    verdict: "not measured",
    answer:
      "Descriptive: one architecture here; compare its table with the 'architectures' experiment's.",
    evidence:
      "One architecture in this experiment, so nothing is compared within it; the table gives mean ± sd over seeds.",
    numbers: {},
    comparisons: [],
    descriptive: true,
    table,
  };
}

/** "Differs" holds when any comparison does (two-sided: never "fails"). */
function anyDiffers(comparisons: Comparison[]): Verdict {
  return comparisons.length === 0
    ? "not measured"
    : comparisons.some((c) => c.verdict === "holds")
    ? "holds"
    : "inconclusive";
}

/** Per optimizer, each other architecture against the first, by seed: log₁₀ ratio or difference of `key`. */
function archPairings(
  archs: Map<string, Run[]>,
  labels: string[],
  { key, what, log }: typeof QUANTITIES[number],
): Pairing[] {
  const [first, ...others] = [...archs.keys()];
  const f = (r: Run) => {
    const v = summaryOf(r, key);
    return log ? (v > 0 ? Math.log10(v) : NaN) : v;
  };
  return labels.flatMap((label) => {
    const ref = archs.get(first!)!.filter((r) => r.label === label);
    return others.map((name) => ({
      a: `${label} · ${name}`,
      b: `${label} · ${first}`,
      value: `${
        log ? "log₁₀ ratio of" : "difference in"
      } ${what}, ${name} vs ${first} (${label})`,
      paired: pairedBy(
        archs.get(name)!.filter((r) => r.label === label),
        ref,
        f,
      ),
    }));
  });
}

export function architectureFindings(runs: Run[]): Finding[] {
  const archs = groupBy(runs, (r) => archOf(r).name);
  const table = archTable(archs);
  const names = [...archs.keys()];
  if (names.length < 2) return [tableOnly(table)];
  const labels = [...byLabel(runs).keys()];
  const level = perComparisonLevel(labels.length * (names.length - 1));
  return QUANTITIES.map((quantity) =>
    pairedFinding({
      module: "architectures",
      figure: ARCH_FIGURE,
      id: `architectures.${quantity.key}`,
      statement:
        `At (almost) equal parameter count, the architecture changes ${quantity.what}.`,
      pairings: archPairings(archs, labels, quantity),
      level,
      decide: differsVerdict,
      verdict: anyDiffers,
      words: (comparisons, verdict) => {
        const differs = comparisons.filter((c) => c.verdict === "holds");
        return {
          answer: `${verdictWord(verdict)}: ${
            differs.length > 0
              ? `differs for ${differs.map((c) => c.a).join(", ")}`
              : "no difference detected"
          }.`,
          evidence: `Per seed and optimizer, each architecture against ${
            names[0]
          }: ${
            effects(comparisons) || "none"
          }. Two-sided: holds when an interval excludes zero. ${
            ruleNote(comparisons)
          }`,
          numbers: Object.fromEntries(
            comparisons.map((c) => [c.value, c.mean]),
          ),
        };
      },
      table,
    })
  );
}
