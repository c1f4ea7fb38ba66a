/**
 * The lock file (like dvc.lock): human-readable JSON, committed, recording for
 * each experiment's stage instances the key and what went into it, so that
 * `status --why` can name what changed.
 */
import type { Item, Json, Params } from "./stage.ts";
import { denoFs, type FileSystem } from "./effects.ts";

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
  /**
   * Provenance of the run that produced `outputs`: wall time, when it ended,
   * where, and the stage's own timings. Not content-hashed: two runs with the
   * same outputs may differ here.
   */
  seconds: number;
  finished?: string;
  host?: string;
  timings?: Record<string, number>;
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
  fs: FileSystem = denoFs,
): Promise<LockFile> {
  try {
    const bytes = await fs.readFile(path);
    if (bytes === undefined) return emptyLock();
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

/** A JSON object (not null, not an array). */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The whole shape `status --why` relies on, so a hand-edited entry cannot crash it. */
function isLockFile(value: unknown): value is LockFile {
  if (!isRecord(value) || value.version !== 1 || !isRecord(value.experiments)) {
    return false;
  }
  for (const entries of Object.values(value.experiments)) {
    if (!isRecord(entries)) return false;
    for (const entry of Object.values(entries)) {
      if (
        !isRecord(entry) || typeof entry.key !== "string" ||
        !isRecord(entry.outputs) ||
        !isRecord(entry.params) || !isRecord(entry.code) ||
        !isRecord(entry.inputs) ||
        !isRecord(entry.versions)
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
  fs: FileSystem = denoFs,
): Promise<void> {
  await fs.writeFileAtomic(
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
