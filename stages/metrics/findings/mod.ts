/**
 * The finding modules by id (ids.ts): each turns one experiment's runs (and
 * barriers) into findings. The metrics stage runs those the experiment names
 * in `metrics.findings`. Each finding names the figure that shows it:
 * ir-terms-over-epochs, claims-final-values, norms-over-epochs,
 * memorisation-vs-test-error, barrier-curves, variance-part-vs-batch-size,
 * explicit-penalty-test-error, architectures-table.
 */
import type { Run } from "../runs.ts";
import type { BarrierEntry, Finding } from "../types.ts";
import { architectureFindings } from "./architectures.ts";
import { batchSlopeFindings } from "./batch_size.ts";
import { explicitFindings } from "./explicit_reg.ts";
import type { FindingId } from "./ids.ts";
import { memorisationFindings } from "./memorisation.ts";
import { momentumFindings } from "./momentum.ts";
import { normsFindings } from "./norms.ts";
import { irTermsFindings, paperClaimsFindings } from "./paper_claims.ts";
import { stalledGroups, withStallCaution } from "./stalled.ts";

export { FINDING_IDS, type FindingId, isFindingId, QUESTIONS } from "./ids.ts";

/** What a finding module reads. */
export interface FindingInput {
  runs: Run[];
  barriers: BarrierEntry[];
}

export const FINDINGS: Record<FindingId, (input: FindingInput) => Finding[]> = {
  ir_terms: ({ runs }) => irTermsFindings(runs),
  paper_claims: ({ runs }) => paperClaimsFindings(runs),
  norms: ({ runs }) => normsFindings(runs),
  memorisation: ({ runs }) => memorisationFindings(runs),
  momentum_basins: ({ runs, barriers }) => momentumFindings(runs, barriers),
  batch_variance_slope: ({ runs }) => batchSlopeFindings(runs),
  explicit_penalty: ({ runs }) => explicitFindings(runs),
  architectures: ({ runs }) => architectureFindings(runs),
};

/** The findings of the modules named, in that order, cautioned when a group barely trained (stalled.ts); JSON-safe (non-finite numbers dropped). */
export function evaluateFindings(
  ids: readonly FindingId[],
  input: FindingInput,
): Finding[] {
  return withStallCaution(
    ids.flatMap((id) => FINDINGS[id](input)),
    stalledGroups(input.runs),
  ).map((f) => ({
    ...f,
    numbers: Object.fromEntries(
      Object.entries(f.numbers).filter(([, v]) => Number.isFinite(v)),
    ),
  }));
}
