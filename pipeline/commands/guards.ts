/**
 * Checks the CLI makes before a run: `--force-stage` names a stage or an
 * instance, and `report` finds everything but the stages it reruns cached
 * (it re-renders; it never trains).
 */
import type { Engine } from "../engine.ts";
import { buildGraph } from "../graph.ts";
import type { Json, Stage } from "../stage.ts";
import { UsageError } from "../usage_error.ts";

/** `--force-stage` values, each a stage name or an instance id of the graph. */
export function checkForceStages(
  stages: Stage[],
  params: Json,
  names: string[],
): string[] {
  if (names.length === 0) return names;
  const graph = buildGraph(stages, params);
  for (const name of names) {
    const known = graph.stages.some((s) => s.name === name) ||
      graph.instances.some((i) => i.id === name);
    if (!known) {
      throw new UsageError(
        `--force-stage '${name}' is neither a stage (${
          graph.stages.map((s) => s.name).join(", ")
        }) nor an instance id (see 'deno task status')`,
      );
    }
  }
  return names;
}

/**
 * Refuses to go on when anything the `stages` read is not cached: `report`
 * re-renders, it never trains. The error names what is missing.
 */
export async function needCached(
  engine: Engine,
  experiment: string,
  params: Json,
  stages: string[],
  sets: string[],
): Promise<void> {
  const lines = await engine.status(experiment, params, stages);
  const missing = lines.filter((l) =>
    !l.fresh && !stages.some((s) => l.id === s || l.id.startsWith(`${s}[`))
  );
  if (missing.length === 0) return;
  const shown = missing.slice(0, 3).map((l) => l.id).join(", ");
  throw new UsageError(
    `The report of '${experiment}' needs ${missing.length} instance(s) that are not cached (${shown}${
      missing.length > 3 ? ", ..." : ""
    }): run 'deno task reproduce --experiment ${experiment}${
      sets.map((s) => ` --set ${s}`).join("")
    }' first`,
  );
}
