/**
 * `deno task findings`: the findings page, reports/published/index.html. For
 * each of the paper's questions (stages/metrics/findings/ids.ts), the
 * experiments whose file names a finding module for it (`metrics.findings`),
 * and for each: its findings' one-line answers and verdicts read from its
 * published metrics.json, a link to its report, and its setting, seeds, wall
 * time and commit from provenance.json. An experiment not yet published is
 * listed as "not yet run" with the commands that run and publish it.
 */
import { Eta } from "eta";
import type { CliDefinition, Command } from "../../pipeline/cli.ts";
import { writeFileAtomic } from "../../pipeline/fs.ts";
import {
  PROVENANCE_FILE,
  type PublishedProvenance,
} from "../../pipeline/commands/publish_result.ts";
import type { Json } from "../../pipeline/stage.ts";
import {
  FINDING_IDS,
  type FindingId,
  isFindingId,
  QUESTIONS,
} from "../metrics/findings/ids.ts";
import type { Finding, MetricsDoc } from "../metrics/types.ts";
import { MIN_SEEDS } from "../metrics/paired.ts";

/** The template of the page. */
export const FINDINGS_TEMPLATE = new URL(
  "../../reports/findings.eta",
  import.meta.url,
);

/** The order questions appear on the page: the paper's (§1, §4) in FINDING_IDS order, another dataset last. */
export const PAGE_ORDER: readonly FindingId[] = [
  ...FINDING_IDS.filter((id) => id !== "paper_claims"),
  "paper_claims",
];

/** One experiment under one question. */
export interface ExperimentView {
  name: string;
  published: boolean;
  /** Relative link to its report (published only). */
  link: string;
  /** The commands that run and publish it (not yet published). */
  command: string;
  provenance: PublishedProvenance | null;
  findings: Finding[];
}

export interface QuestionView {
  module: FindingId;
  question: string;
  experiments: ExperimentView[];
}

function findingsOf(tree: Json): FindingId[] {
  const metrics = tree !== null && typeof tree === "object" &&
      !Array.isArray(tree)
    ? tree["metrics"]
    : undefined;
  const list = metrics !== null && typeof metrics === "object" &&
      !Array.isArray(metrics)
    ? metrics["findings"]
    : undefined;
  return Array.isArray(list) ? list.filter(isFindingId) : [];
}

async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as T;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new Error(`${path}: ${(e as Error).message.split("\n")[0]}`);
  }
}

/** Every question with its experiments, read from the experiment files and the published folders under `dir`. */
export async function collectQuestions(
  def: Pick<CliDefinition, "experiments" | "loadExperiment">,
  dir: string,
): Promise<QuestionView[]> {
  const modules = new Map<string, FindingId[]>();
  const fewSeeds = new Set<string>();
  for (const name of def.experiments()) {
    const tree = await def.loadExperiment(name, []);
    modules.set(name, findingsOf(tree));
    const seeds = tree !== null && typeof tree === "object" &&
        !Array.isArray(tree)
      ? tree["seeds"]
      : undefined;
    if (Array.isArray(seeds) && seeds.length < MIN_SEEDS) fewSeeds.add(name);
  }
  const published = new Map<
    string,
    { metrics: MetricsDoc | null; provenance: PublishedProvenance | null }
  >();
  for (const name of modules.keys()) {
    const metrics = await readJson<MetricsDoc>(`${dir}/${name}/metrics.json`);
    const provenance = await readJson<PublishedProvenance>(
      `${dir}/${name}/${PROVENANCE_FILE}`,
    );
    published.set(name, { metrics, provenance });
  }
  return PAGE_ORDER.map((module) => ({
    module,
    question: QUESTIONS[module],
    experiments: [...modules].filter(([, ids]) => ids.includes(module)).map(
      ([name]) => {
        const p = published.get(name)!;
        const done = p.metrics !== null && p.provenance !== null;
        // A file of fewer than 3 seeds (the paper's one) is published as its 3-seed variant.
        const set = fewSeeds.has(name) ? " --set seeds=0,1,2" : "";
        return {
          name,
          published: done,
          link: `${name}/index.html`,
          command:
            `deno task reproduce --experiment ${name}${set} && deno task publish-result ${name}${set} && deno task findings`,
          provenance: p.provenance,
          findings: (p.metrics?.findings ?? []).filter((f) =>
            f.module === module
          ),
        };
      },
    ),
  }));
}

/** "2 h 05 min", "3 min 20 s", "—". */
export function duration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "—";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h} h ${String(m).padStart(2, "0")} min`;
  if (m > 0) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
  return `${s} s`;
}

/** An answer without its leading verdict word ("Holds: x" → "x"), which the page shows as a badge beside it. */
export function answerAfterVerdict(answer: string): string {
  return answer.replace(
    /^(Holds|Fails|Inconclusive|Not measured)(:| —) /,
    "",
  );
}

/** The page's HTML (pure given the template). */
export function renderFindingsPage(
  questions: QuestionView[],
  template = Deno.readTextFileSync(FINDINGS_TEMPLATE),
): string {
  const eta = new Eta({ autoEscape: true, cache: false, useWith: false });
  eta.loadTemplate("@findings", template);
  return eta.render("@findings", {
    questions,
    duration,
    answerAfterVerdict,
    verdictClass: (v: string) => v.replace(/\s+/g, "-"),
  });
}

/** The command, reading and writing under `options.dir`. */
export function findingsCommand(options: { dir: string }): Command {
  return {
    help: `deno task findings

Writes the findings page ${options.dir}/index.html: each of the paper's
questions with its computed answer and verdict per experiment, a link to the
experiment's published report, its setting, seeds, wall time and commit.
Experiments not yet published are listed as "not yet run" with the command
to run them. Publish one with 'deno task publish-result NAME'.`,
    async run(def: CliDefinition, args: string[]): Promise<number> {
      if (args.length > 0) {
        throw new Error(`findings takes no arguments, got '${args[0]}'`);
      }
      const questions = await collectQuestions(def, options.dir);
      const path = `${options.dir}/index.html`;
      await writeFileAtomic(path, renderFindingsPage(questions));
      const published = new Set(
        questions.flatMap((q) =>
          q.experiments.filter((e) => e.published).map((e) => e.name)
        ),
      );
      console.log(
        `Findings page: ${path} (${published.size} experiment(s) published)`,
      );
      return 0;
    },
  };
}
