/**
 * Provenance for the report: the engine's lineage (every upstream instance
 * with its cache key, wall time and runtime versions) plus a description of
 * the machine that rendered the report.
 */
import type { LineageEntry } from "../../pipeline/stage.ts";
import type { Provenance } from "./html.ts";

/**
 * Merges lineage into the report's provenance: versions as key → value (or
 * "a, b" when upstream instances disagree), one row per instance.
 */
export function provenanceFromLineage(
  lineage: LineageEntry[],
  machine: Provenance["machine"],
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
    machine,
    stages: lineage.map((e) => ({
      instance: e.id,
      key: e.key,
      seconds: e.seconds,
    })),
  };
}

/**
 * The machine rendering the report (training may have run elsewhere, e.g. on
 * a cluster: the stage keys identify those results). Memory only when the
 * process may read it (`--allow-sys=systemMemoryInfo`).
 */
export function describeMachine(): Provenance["machine"] {
  const machine: Provenance["machine"] = {
    "rendered on": `${Deno.build.os} ${Deno.build.arch}`,
    cores: navigator.hardwareConcurrency,
  };
  const canRead = Deno.permissions.querySync({
    name: "sys",
    kind: "systemMemoryInfo",
  });
  machine.memory = canRead.state === "granted"
    ? `${(Deno.systemMemoryInfo().total / 2 ** 30).toFixed(1)} GiB`
    : "not readable (no --allow-sys=systemMemoryInfo)";
  return machine;
}

/** Deno's own versions, always known to the renderer. */
export function runtimeVersions(): Record<string, string> {
  return {
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
  };
}
