/**
 * The finding modules an experiment may ask for (`metrics.findings` in its
 * file): each answers one of the seed paper's questions (§1, §4) from that
 * experiment's runs. Kept apart from the modules so the params schema can
 * name them without importing the statistics.
 */
export const FINDING_IDS = [
  "ir_terms",
  "paper_claims",
  "norms",
  "memorisation",
  "momentum_basins",
  "batch_variance_slope",
  "explicit_penalty",
  "architectures",
] as const;

export type FindingId = typeof FINDING_IDS[number];

/** Whether `x` names a finding module. */
export function isFindingId(x: unknown): x is FindingId {
  return (FINDING_IDS as readonly unknown[]).includes(x);
}

/** The paper's question each finding module answers, as the findings page lists it. */
export const QUESTIONS: Record<FindingId, string> = {
  ir_terms: "How does the IR term behave for adaptive methods compared to SGD?",
  paper_claims: "Do the paper's claims hold on another dataset?",
  norms: "How does the norm of the solution evolve?",
  memorisation:
    "Why do adaptive methods generalise worse, and does their speed cost generalisation?",
  momentum_basins: "Does momentum steer toward different basins?",
  batch_variance_slope: "How does mini-batch training regularise?",
  explicit_penalty: "Does explicit regularisation change the implicit one?",
  architectures: "Do depth, width and architecture matter at equal size?",
};
