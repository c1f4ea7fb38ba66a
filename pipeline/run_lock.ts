/**
 * One reproduce at a time per project: a second process waits for the first.
 * The lock file holds the owner's PID, host and start time, and the owner
 * keeps an OS lock (flock) on it while it runs. The OS drops that lock when
 * the owner dies however it dies, so a waiter can tell a live owner from a
 * killed one without reading /proc (the tasks' permissions do not allow it).
 * A lock whose owner is gone (same host) or that is older than `maxAgeMs` is
 * cleared with a message, never left to block forever.
 */
import { hostname } from "node:os";
import { formatDuration } from "./progress.ts";

export interface RunLockOptions {
  /** How long to wait before giving up (default: forever, polling). */
  timeoutMs?: number;
  pollMs?: number;
  /** A lock older than this is stale whatever its PID (default 7 days). */
  maxAgeMs?: number;
  say?: (message: string) => void;
  now?: () => number;
}

interface Owner {
  pid: number;
  host: string;
  started: number;
}

/** A lock file that cannot be read is stale once it is this old (a writer crashed before writing). */
const UNREADABLE_GRACE_MS = 5000;

/** Takes the project's run lock, waiting for another holder; returns the release function. */
export async function acquireRunLock(
  path: string,
  options: RunLockOptions = {},
): Promise<() => Promise<void>> {
  const say = options.say ?? ((m) => console.error(m));
  const now = options.now ?? Date.now;
  const poll = options.pollMs ?? 500;
  const maxAge = options.maxAgeMs ?? 7 * 24 * 3600 * 1000;
  const start = now();
  const host = hostname();
  let told = false;
  const slash = path.lastIndexOf("/");
  if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
  for (;;) {
    const mine = await tryCreate(path, { pid: Deno.pid, host, started: now() });
    if (mine) return mine;
    const examined = await examine(path, { host, now, maxAge, say });
    if (examined === "gone") continue; // released meanwhile: try again
    const { owner, stale } = examined;
    if (stale) continue;
    if (!owner) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    if (!told) {
      say(
        `Waiting for another run of this project (pid ${owner.pid} on ${owner.host}, started ${
          new Date(owner.started).toISOString()
        })`,
      );
      told = true;
    }
    if (options.timeoutMs !== undefined && now() - start > options.timeoutMs) {
      throw new Error(
        `Another run (pid ${owner.pid}) still holds ${path} after ${options.timeoutMs} ms`,
      );
    }
    await new Promise((r) => setTimeout(r, poll));
  }
}

/**
 * Reads the lock file's owner and clears the file when it is stale; "gone"
 * when the file vanished before it could be opened.
 */
async function examine(
  path: string,
  { host, now, maxAge, say }: {
    host: string;
    now: () => number;
    maxAge: number;
    say: (message: string) => void;
  },
): Promise<{ owner?: Owner; stale?: string } | "gone"> {
  let probe: Deno.FsFile;
  try {
    probe = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "gone";
    throw error;
  }
  try {
    // Free means nobody holds it: the owner died, or is between creating and locking it.
    const free = await probe.tryLock(true);
    const owner = parseOwner(await readAll(probe));
    const age = owner ? now() - owner.started : await ageMs(path, now);
    const stale = staleReason(owner, { free, age, host, maxAge });
    // Remove only the file examined: another process may have replaced it meanwhile.
    if (stale && (await sameFile(path, probe))) {
      say(`Cleared a stale run lock ${path} (${stale})`);
      await Deno.remove(path).catch(() => {});
    }
    return {
      ...(owner ? { owner } : {}),
      ...(stale ? { stale } : {}),
    };
  } finally {
    probe.close();
  }
}

/** Why a lock file is stale (undefined: it is not): unreadable, its owner gone, or too old. */
function staleReason(
  owner: Owner | undefined,
  { free, age, host, maxAge }: {
    /** Nobody holds the OS lock on it. */
    free: boolean;
    age: number;
    host: string;
    maxAge: number;
  },
): string | undefined {
  return owner === undefined
    ? free && age > UNREADABLE_GRACE_MS ? "it is unreadable" : undefined
    : free && owner.host === host
    ? `process ${owner.pid} no longer holds it`
    : age > maxAge
    ? `it is older than ${formatDuration(maxAge / 1000)}`
    : undefined;
}

/** Creates the lock file (failing if it exists), locks it and writes the owner; returns the release function. */
async function tryCreate(
  path: string,
  me: Owner,
): Promise<(() => Promise<void>) | undefined> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, write: true, createNew: true });
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return undefined;
    throw error;
  }
  // Locked before the owner is written, so a waiter never sees our content unlocked.
  await file.lock(true);
  await file.write(new TextEncoder().encode(JSON.stringify(me)));
  return async () => {
    if (await sameOwner(path, me)) await Deno.remove(path).catch(() => {});
    file.close();
  };
}

/** True when the file at `path` still names `owner`. */
async function sameOwner(path: string, owner: Owner): Promise<boolean> {
  const now = parseOwner(await Deno.readTextFile(path).catch(() => ""));
  return now?.pid === owner.pid && now.started === owner.started;
}

/** True when `path` is still the file open as `file` (same device and inode). */
async function sameFile(path: string, file: Deno.FsFile): Promise<boolean> {
  try {
    const [a, b] = [await Deno.stat(path), await file.stat()];
    return a.ino !== null && a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}

/** The content of an open file (its first 64 KiB), as text. */
async function readAll(file: Deno.FsFile): Promise<string> {
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(4096);
  let text = "";
  for (let total = 0; total < 1 << 16;) {
    const n = await file.read(buffer);
    if (n === null) break;
    text += decoder.decode(buffer.subarray(0, n), { stream: true });
    total += n;
  }
  return text + decoder.decode();
}

function parseOwner(text: string): Owner | undefined {
  try {
    const owner = JSON.parse(text) as Owner;
    return typeof owner.pid === "number" && typeof owner.started === "number" &&
        typeof owner.host === "string"
      ? owner
      : undefined;
  } catch {
    return undefined;
  }
}

async function ageMs(path: string, now: () => number): Promise<number> {
  try {
    return now() - ((await Deno.stat(path)).mtime?.getTime() ?? 0);
  } catch {
    return 0;
  }
}
