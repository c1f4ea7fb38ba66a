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
import { perComparisonLevel } from "../paired.ts";
import type { Run } from "../runs.ts";
import type { Comparison, Finding } from "../types.ts";
import {
  base,
  byLabel,
  comparison,
  differsVerdict,
  isDescriptive,
  meanInterval,
  meanSd,
  pairedBy,
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

export function architectureFindings(runs: Run[]): Finding[] {
  const archs = new Map<string, Run[]>();
  for (const r of runs) {
    const name = archOf(r).name;
    archs.set(name, [...(archs.get(name) ?? []), r]);
  }
  const table: Array<Record<string, string | number>> = [];
  for (const [name, list] of archs) {
    for (const [label, l] of byLabel(list)) {
      table.push({
        architecture: name,
        parameters: archOf(l[0]!).params ?? "see the experiment",
        optimizer: label,
        "final IR term (own)": meanSd(
          l.map((r) => summaryOf(r, "final_ir_own")),
        ),
        "final sharpness": meanSd(
          l.map((r) => summaryOf(r, "final_sharpness")),
        ),
        "memorised fraction": meanSd(
          l.map((r) => summaryOf(r, "memorised_fraction")),
        ),
        "final test error": meanSd(
          l.map((r) => summaryOf(r, "final_test_error")),
        ),
      });
    }
  }
  const names = [...archs.keys()];
  if (names.length < 2) {
    return [{
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
    }];
  }
  const first = names[0]!;
  const labels = [...byLabel(runs).keys()];
  const k = labels.length * (names.length - 1);
  const level = perComparisonLevel(k);
  return QUANTITIES.map(({ key, what, log }) => {
    const comparisons: Comparison[] = [];
    for (const label of labels) {
      const ref = archs.get(first)!.filter((r) => r.label === label);
      for (const name of names.slice(1)) {
        const other = archs.get(name)!.filter((r) => r.label === label);
        const f = (r: Run) => {
          const v = summaryOf(r, key);
          return log ? (v > 0 ? Math.log10(v) : NaN) : v;
        };
        const one = comparison(
          `${label} · ${name}`,
          `${label} · ${first}`,
          `${
            log ? "log₁₀ ratio of" : "difference in"
          } ${what}, ${name} vs ${first} (${label})`,
          pairedBy(other, ref, f),
          level,
          differsVerdict,
        );
        if (one) comparisons.push(one);
      }
    }
    const differs = comparisons.filter((c) => c.verdict === "holds");
    const verdict = comparisons.length === 0
      ? "not measured"
      : differs.length > 0
      ? "holds"
      : "inconclusive";
    const effects = comparisons.map((c) => `${c.value}: ${meanInterval(c)}`)
      .join("; ");
    return {
      ...base("architectures", ARCH_FIGURE),
      id: `architectures.${key}`,
      statement:
        `At (almost) equal parameter count, the architecture changes ${what}.`,
      verdict,
      answer: `${verdictWord(verdict)}: ${
        differs.length > 0
          ? `differs for ${differs.map((c) => c.a).join(", ")}`
          : "no difference detected"
      }.`,
      evidence: `Per seed and optimizer, each architecture against ${first}: ${
        effects || "none"
      }. Two-sided: holds when an interval excludes zero. ${
        ruleNote(comparisons)
      }`,
      numbers: Object.fromEntries(comparisons.map((c) => [c.value, c.mean])),
      comparisons,
      descriptive: isDescriptive(comparisons),
      table,
    };
  });
}
