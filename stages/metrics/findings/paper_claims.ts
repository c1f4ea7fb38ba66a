/**
 * The paper's own claims (claims.ts) as findings: `ir_terms` keeps the two
 * term claims (SGD's term against both RMSprop terms, SCIENCE §2.5–2.6), for
 * `paper`; `paper_claims` keeps all four, for another dataset (`datasets`).
 */
import { evaluateClaims } from "../claims.ts";
import type { Run } from "../runs.ts";
import type { Finding } from "../types.ts";
import { claimFinding } from "./common.ts";

/** Figure: the IR terms of SGD and RMSprop against epochs, log axis, bands over seeds. */
export const IR_TERMS_FIGURE = "ir-terms-over-epochs";
/** Figure: test error and norm per optimizer, final values with intervals. */
export const CLAIMS_FIGURE = "claims-final-values";

export function irTermsFindings(runs: Run[]): Finding[] {
  return evaluateClaims(runs)
    .filter((c) => c.id.startsWith("ir_sgd_exceeds_rmsprop"))
    .map((c) => claimFinding("ir_terms", c, IR_TERMS_FIGURE));
}

export function paperClaimsFindings(runs: Run[]): Finding[] {
  return evaluateClaims(runs).map((c) =>
    claimFinding(
      "paper_claims",
      c,
      c.id.startsWith("ir_sgd") ? IR_TERMS_FIGURE : CLAIMS_FIGURE,
    )
  );
}
