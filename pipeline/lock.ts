/**
 * The lock file (like dvc.lock): human-readable JSON, committed, recording for
 * each experiment's stage instances the key and what went into it, so that
 * `status --why` can name what changed.
 */
import type { Item, Json, Params } from "./stage.ts";
import { readFileIfExists, writeFileAtomic } from "./fs.ts";

/** What one stage instance was last built from, and what it produced. */
export interface LockEntry {
  stage: string;
  item: Item;
  key: string;
  params: Params;
  /** Input name → upstream output hash (or hashes, for `select: "all"`). */
  inputs: Record<string, string | string[]>;
  /** Source file → SHA-256 (SCIENCE-free: the code fingerprint's parts). */
  code: Record<string, string>;
  versions: Record<string, string>;
  outputs: Record<string, string>;
  seconds: number;
}

export interface LockFile {
  version: 1;
  experiments: Record<string, Record<string, LockEntry>>;
}

export function emptyLock(): LockFile {
  return { version: 1, experiments: {} };
}

/**
 * Reads the lock file; a missing one is empty, and one that is truncated, not
 * JSON or of the wrong shape is reported and treated as empty (everything
 * recomputes or restores from the cache), never a crash.
 */
export async function readLock(
  path: string,
  warn: (message: string) => void = console.warn,
): Promise<LockFile> {
  const bytes = await readFileIfExists(path);
  if (bytes === undefined) return emptyLock();
  try {
    const parsed = JSON.parse(new TextDecoder().decode(bytes)) as Json;
    if (!isLockFile(parsed)) throw new Error("unexpected shape");
    return parsed;
  } catch (error) {
    warn(
      `Lock file '${path}' is not valid (${
        (error as Error).message
      }): ignoring it, cached results are checked by key`,
    );
    return emptyLock();
  }
}

function isLockFile(value: unknown): value is LockFile {
  if (typeof value !== "object" || value === null) return false;
  const lock = value as Partial<LockFile>;
  if (
    lock.version !== 1 || typeof lock.experiments !== "object" ||
    lock.experiments === null
  ) return false;
  for (const entries of Object.values(lock.experiments)) {
    if (typeof entries !== "object" || entries === null) return false;
    for (const entry of Object.values(entries)) {
      if (
        typeof entry !== "object" || entry === null ||
        typeof entry.key !== "string" ||
        typeof entry.outputs !== "object" || typeof entry.params !== "object" ||
        typeof entry.code !== "object" || typeof entry.inputs !== "object"
      ) return false;
    }
  }
  return true;
}

/** Writes the lock file atomically (temp file in `tempDir`), keys sorted for stable diffs. */
export async function writeLock(
  path: string,
  lock: LockFile,
  tempDir?: string,
): Promise<void> {
  await writeFileAtomic(
    path,
    JSON.stringify(sortKeys(lock), null, 2) + "\n",
    tempDir,
  );
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.keys(value).sort().map((
        k,
      ) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
