/**
 * Provenance for the report's cached HTML: the engine's lineage (every
 * upstream instance and its runtime versions) and the renderer's Deno
 * versions. Only what is the same on every rerun and every machine goes
 * here. Cache keys are left out too: an upstream instance whose code changed
 * without changing its outputs gets a new key while the report stays cached
 * (pipeline/staleness.ts), so a key in the cached bytes would make a rerun
 * differ. Keys, wall times and hosts are stamped into the written file
 * (stamp.ts).
 */
import type { LineageEntry } from "../../pipeline/stage.ts";
import type { Provenance } from "./html.ts";

/**
 * Merges lineage into the report's provenance: versions as key → value (or
 * "a, b" when upstream instances disagree), one row per instance.
 */
export function provenanceFromLineage(
  lineage: LineageEntry[],
  runtime: Record<string, string> = {},
): Provenance {
  const seen = new Map<string, Set<string>>();
  const add = (name: string, value: string) => {
    if (!seen.has(name)) seen.set(name, new Set());
    seen.get(name)!.add(value);
  };
  for (const [k, v] of Object.entries(runtime)) add(k, v);
  for (const entry of lineage) {
    for (const [k, v] of Object.entries(entry.versions ?? {})) add(k, v);
  }
  const versions: Record<string, string> = {};
  for (const name of [...seen.keys()].sort()) {
    versions[name] = [...seen.get(name)!].sort().join(", ");
  }
  return {
    versions,
    stages: lineage.map((e) => ({ instance: e.id, key: e.key })),
  };
}

/** Deno's own versions, always known to the renderer (its Deno version is in the report's key). */
export function runtimeVersions(): Record<string, string> {
  return {
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
  };
}
