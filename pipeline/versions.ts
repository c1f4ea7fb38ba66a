/**
 * The versions in a cache key, read from where they are decided rather than
 * typed by hand: each npm package a stage's code imports, with its version
 * and the integrity of it and of everything it depends on, from `deno.lock`
 * (through the import map of `deno.json`); and Deno's version from the
 * runtime. Upgrading a package then reruns exactly the stages that import it.
 */
import { sha256 } from "./hash.ts";
import { readFileIfExists } from "./fs.ts";

/** What `deno.json` and `deno.lock` say about packages. */
export interface PackageLock {
  /** deno.json `imports`: bare specifier → `npm:name@range`. */
  imports: Record<string, string>;
  /** deno.lock `specifiers`: `npm:name@range` → resolved version (with peer suffix). */
  specifiers: Record<string, string>;
  /** deno.lock `npm`: `name@version[_peers]` → integrity and dependencies. */
  npm: Record<string, { integrity?: string; dependencies?: string[] }>;
}

/** Reads the import map and the lock; a missing file counts as empty. */
export async function readPackageLock(
  configPath: string,
  lockPath: string,
): Promise<PackageLock> {
  const read = async (path: string) => {
    const bytes = await readFileIfExists(path);
    if (bytes === undefined) return {};
    try {
      return JSON.parse(new TextDecoder().decode(bytes)) as Record<
        string,
        unknown
      >;
    } catch (error) {
      throw new Error(
        `'${path}' is not valid JSON (${(error as Error).message})`,
      );
    }
  };
  const config = await read(configPath);
  const lock = await read(lockPath);
  const record = (v: unknown) =>
    (typeof v === "object" && v !== null && !Array.isArray(v) ? v : {}) as // deno-lint-ignore no-explicit-any
    any;
  return {
    imports: record(config.imports),
    specifiers: record(lock.specifiers),
    npm: record(lock.npm),
  };
}

/** The package name of a bare specifier: `@a/b/sub` → `@a/b`, `x/sub` → `x`. */
export function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

/** `npm:name@range` (maybe with a subpath) → name and range. */
function parseNpm(specifier: string): { name: string; range: string } {
  const body = specifier.slice("npm:".length).replace(/^\//, "");
  const at = body.indexOf("@", body.startsWith("@") ? 1 : 0);
  if (at < 0) return { name: packageName(body), range: "" };
  const name = body.slice(0, at);
  const range = body.slice(at + 1).split("/")[0]!;
  return { name, range };
}

/**
 * Key-part versions for the packages a stage's code names, e.g.
 * `{ "npm:@tensorflow/tfjs": "4.22.0 lock:1a2b…" }`: the resolved version,
 * and a digest of the locked integrity of the package and of its transitive
 * dependencies, so a changed dependency changes the key too.
 */
export function packageVersions(
  specifiers: string[],
  lock: PackageLock,
): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const specifier of specifiers) {
    let target: string | undefined;
    if (specifier.startsWith("npm:")) target = specifier;
    else {
      const name = packageName(specifier);
      target = lock.imports[specifier] ?? lock.imports[name];
    }
    const name = target?.startsWith("npm:")
      ? parseNpm(target).name
      : packageName(specifier);
    if (target === undefined || !target.startsWith("npm:")) {
      versions[`npm:${name}`] = target === undefined
        ? "not in deno.json imports"
        : `not npm (${target})`;
      continue;
    }
    const { range } = parseNpm(target);
    const resolved = lock.specifiers[`npm:${name}@${range}`];
    if (resolved === undefined) {
      versions[`npm:${name}`] = `${range} (not in deno.lock)`;
      continue;
    }
    const closure = dependencyClosure(`${name}@${resolved}`, lock);
    const digest = sha256(
      closure.map((key) => `${key} ${lock.npm[key]?.integrity ?? ""}`).join(
        "\n",
      ),
    );
    versions[`npm:${name}`] = `${resolved.split("_")[0]} lock:${
      digest.slice(0, 16)
    }`;
  }
  return versions;
}

/** The lock keys of a package and of everything it depends on, sorted. */
function dependencyClosure(key: string, lock: PackageLock): string[] {
  const seen = new Set<string>();
  const queue = [key];
  while (queue.length > 0) {
    const next = queue.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    for (const dependency of lock.npm[next]?.dependencies ?? []) {
      queue.push(...lockKeysOf(dependency, lock));
    }
  }
  return [...seen].sort();
}

/**
 * Lock keys a dependency entry names: `name@version` names one version,
 * a bare `name` the only version the lock holds.
 */
function lockKeysOf(dependency: string, lock: PackageLock): string[] {
  const at = dependency.indexOf("@", dependency.startsWith("@") ? 1 : 0);
  const name = at > 0 ? dependency.slice(0, at) : dependency;
  const keys = keysByName(lock).get(name) ?? [];
  return at > 0
    ? keys.filter((k) => k === dependency || k.startsWith(`${dependency}_`))
    : keys;
}

const byName = new WeakMap<PackageLock, Map<string, string[]>>();

/** The lock's npm keys grouped by package name (`name@version_peers` → name). */
function keysByName(lock: PackageLock): Map<string, string[]> {
  let index = byName.get(lock);
  if (!index) {
    index = new Map();
    for (const key of Object.keys(lock.npm)) {
      const name = key.slice(0, key.indexOf("@", key.startsWith("@") ? 1 : 0));
      index.set(name, [...(index.get(name) ?? []), key]);
    }
    byName.set(lock, index);
  }
  return index;
}

/** How a version key-part reads in `status --why`: `4.22.0 → 4.23.0`, or what else changed. */
export function describeVersionChange(
  before: string | undefined,
  after: string | undefined,
): string {
  const split = (v: string | undefined) => {
    const match = v?.match(/^(.*) lock:([0-9a-f]+)$/);
    return match ? { version: match[1]!, lock: match[2]! } : undefined;
  };
  const [a, b] = [split(before), split(after)];
  if (a && b && a.version === b.version) {
    return `${a.version}, but its locked integrity or dependencies changed (lock:${a.lock} → lock:${b.lock})`;
  }
  return `${a?.version ?? before ?? "none"} → ${b?.version ?? after ?? "none"}`;
}
