/**
 * The `--experiment NAME` and `--set KEY=VALUE` arguments every command
 * takes, loaded once: an unknown name or a bad file or override is the
 * user's to fix, a one-line UsageError (exit 2).
 */
import type { CliDefinition } from "../cli.ts";
import type { Json } from "../stage.ts";
import { UsageError } from "../usage_error.ts";
import { variantName } from "./variant.ts";

/** The params tree of experiment `name` with `sets` applied; a UsageError names the known experiments. */
export async function loadExperimentArg(
  def: CliDefinition,
  name: string,
  sets: string[],
): Promise<Json> {
  if (!def.experiments().includes(name)) {
    throw new UsageError(
      `Unknown experiment '${name}': use one of ${
        def.experiments().join(", ")
      }`,
    );
  }
  try {
    return await def.loadExperiment(name, sets);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** The params with `sets` applied and the variant they make ("" without overrides). */
export async function loadVariantArg(
  def: CliDefinition,
  name: string,
  sets: string[],
): Promise<{ params: Json; variant: string }> {
  const params = await loadExperimentArg(def, name, sets);
  const variant = sets.length === 0
    ? ""
    : variantName(await loadExperimentArg(def, name, []), params);
  return { params, variant };
}
