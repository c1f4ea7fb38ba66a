/**
 * Variant names: a run with `--set` overrides keeps its results in its own
 * folder, `<experiment>/<variant>/`, named after the params it changes. The
 * name comes from the params themselves, not from how the overrides were
 * spelled, so `--set seeds=0,1` and `--set seeds=[0,1]` share a folder and an
 * override that restates a default changes nothing.
 */
import type { Json } from "../stage.ts";
import { canonicalJson, sha256 } from "../hash.ts";

/** Subtrees that describe the run rather than parametrize it (name, command). */
const IGNORED = new Set(["experiment"]);

/** Longest readable variant name; longer ones are cut and end in a hash. */
export const MAX_VARIANT_LENGTH = 60;

/**
 * The params tree as dotted path → value. Objects and arrays of objects are
 * walked (`optimizers.0.lr`); arrays of scalars are one value (`seeds`).
 *
 * @example
 * ```ts
 * flattenParams({ a: { b: 1 }, seeds: [0, 1], o: [{ lr: 2 }] });
 * // { "a.b": 1, seeds: [0, 1], "o.0.lr": 2 }
 * ```
 */
export function flattenParams(
  tree: Json,
  prefix = "",
  out: Record<string, Json> = {},
): Record<string, Json> {
  const walk = tree !== null && typeof tree === "object" &&
    (!Array.isArray(tree) ||
      tree.some((v) => v !== null && typeof v === "object"));
  if (!walk) {
    if (prefix) out[prefix] = tree;
    return out;
  }
  const entries = Array.isArray(tree)
    ? tree.map((v, i) => [String(i), v] as const)
    : Object.entries(tree);
  for (const [key, value] of entries) {
    if (prefix === "" && IGNORED.has(key)) continue;
    flattenParams(value, prefix ? `${prefix}.${key}` : key, out);
  }
  return out;
}

/** The paths whose values differ between two trees, sorted, with both values (undefined: absent). */
export function changedParams(
  base: Json,
  other: Json,
): Array<{ path: string; before: Json | undefined; after: Json | undefined }> {
  const a = flattenParams(base);
  const b = flattenParams(other);
  const paths = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return paths
    .filter((p) => canonicalJson(a[p] ?? null) !== canonicalJson(b[p] ?? null))
    .map((path) => ({ path, before: a[path], after: b[path] }));
}

/** A value in a folder name: strings bare, lists joined by "+". */
function valueText(value: Json | undefined): string {
  if (value === undefined) return "none";
  if (Array.isArray(value)) return value.map(valueText).join("+");
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * The folder name of the variant `params` of the experiment whose plain
 * params are `base`: "" when they agree, else the changed params as
 * `path=value` joined by ",", reduced to safe characters; a name longer than
 * `MAX_VARIANT_LENGTH` is cut and ends with 8 hex digits of its full text's hash.
 *
 * @example
 * ```ts
 * variantName({ train: { lr: 0.1 } }, { train: { lr: 0.01 } }); // "train.lr=0.01"
 * ```
 */
export function variantName(base: Json, params: Json): string {
  const text = changedParams(base, params)
    .map(({ path, after }) => `${path}=${valueText(after)}`)
    .join(",");
  const safe = text.replace(/[^A-Za-z0-9._=+,-]/g, "_");
  if (safe.length <= MAX_VARIANT_LENGTH) return safe;
  return `${safe.slice(0, MAX_VARIANT_LENGTH - 9)}~${sha256(text).slice(0, 8)}`;
}

/** The experiment a command works on, and its results folder's variant ("" for the plain one). */
export interface Target {
  experiment: string;
  variant: string;
  params: Json;
  /** The `--set` overrides as given (recorded in a variant's folder). */
  sets?: string[];
}

/** `<outDir>/<experiment>` or `<outDir>/<experiment>/<variant>`. */
export function resultsDir(base: string, target: Target): string {
  return `${base}/${target.experiment}${
    target.variant ? `/${target.variant}` : ""
  }`;
}

/** What a variant's results folder records about it: `<folder>/variant.json`. */
export interface VariantRecord {
  experiment: string;
  variant: string;
  /** The `--set` overrides that make it, as given. */
  sets: string[];
}

/** The record file of a variant's results folder. */
export const VARIANT_FILE = "variant.json";

/**
 * The variants of `experiment` that have a results folder under `outDir`,
 * from their `variant.json`; a folder without a readable one is skipped.
 */
export async function recordedVariants(
  outDir: string,
  experiment: string,
): Promise<VariantRecord[]> {
  const dir = `${outDir}/${experiment}`;
  const found: VariantRecord[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return found;
    throw error;
  }
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory) continue;
    try {
      const record = JSON.parse(
        await Deno.readTextFile(`${dir}/${entry.name}/${VARIANT_FILE}`),
      ) as VariantRecord;
      if (
        Array.isArray(record.sets) &&
        record.sets.every((s) => typeof s === "string")
      ) {
        found.push({ experiment, variant: entry.name, sets: record.sets });
      }
    } catch {
      // Not a variant folder (or a damaged record): nothing to keep for it.
    }
  }
  return found;
}
