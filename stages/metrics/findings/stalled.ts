/**
 * Groups that barely trained: every run's final training loss within 2% of
 * its epoch-0 loss (a network still on the initial plateau, e.g. SGD at a
 * small lr for few epochs). A finding that compares such a group answers its
 * question for untrained networks only, so the findings say so beside their
 * verdict (which stays as computed).
 */
import { groupBy, type Run } from "../runs.ts";
import type { Finding } from "../types.ts";

/** The fraction of the epoch-0 training loss a run must shed to count as trained. */
export const MIN_LOSS_DROP = 0.02;

/** True when the run's last finite training loss is above (1 − MIN_LOSS_DROP) × its epoch-0 loss. */
export function barelyTrained(run: Run): boolean {
  const s = run.series.train_loss;
  if (!s || s.epochs.length < 2 || s.epochs[0] !== 0) return false;
  const first = s.values[0]!;
  let last = NaN;
  for (let i = s.values.length - 1; i > 0 && Number.isNaN(last); i--) {
    if (Number.isFinite(s.values[i]!)) last = s.values[i]!;
  }
  return first > 0 && last > (1 - MIN_LOSS_DROP) * first;
}

/** The groups ("sgd · batch_size=64") all of whose runs barely trained, in first-appearance order. */
export function stalledGroups(runs: Run[]): string[] {
  return [...groupBy(runs, (r) => r.group)]
    .filter(([, list]) => list.every(barelyTrained))
    .map(([group]) => group);
}

/** The sentence naming the stalled groups; "" when none stalled. */
export function stallCaution(stalled: string[]): string {
  if (stalled.length === 0) return "";
  return `Caution: ${
    stalled.join(", ")
  } barely trained (final training loss within ${
    MIN_LOSS_DROP * 100
  }% of epoch 0's), so what involves ${
    stalled.length > 1 ? "them" : "it"
  } describes untrained networks.`;
}

/** Each finding with the caution naming the stalled groups, in its answer and evidence; unchanged when none stalled. */
export function withStallCaution(
  findings: Finding[],
  stalled: string[],
): Finding[] {
  const caution = stallCaution(stalled);
  if (caution === "") return findings;
  return findings.map((f) => ({
    ...f,
    answer: `${f.answer} ${caution}`,
    evidence: `${f.evidence} ${caution}`,
  }));
}
