/**
 * One reproduce at a time per project: a second process waits for the first.
 * The lock file holds the owner's PID, host and start time; a lock whose
 * process is gone (same host) or that is older than `maxAgeMs` is cleared
 * with a message, never left to block forever.
 */
import { hostname } from "node:os";

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

/** True when a process with this PID exists on this (Linux) host. */
export function processAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

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
  let told = false;
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  for (;;) {
    const me: Owner = { pid: Deno.pid, host: hostname(), started: now() };
    try {
      const file = await Deno.open(path, { write: true, createNew: true });
      await file.write(new TextEncoder().encode(JSON.stringify(me)));
      file.close();
      return async () => {
        const owner = await readOwner(path);
        if (owner?.pid === me.pid && owner.started === me.started) {
          await Deno.remove(path).catch(() => {});
        }
      };
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    const owner = await readOwner(path);
    const stale = owner === undefined
      ? (await ageMs(path, now)) > 5000 ? "it is unreadable" : undefined
      : owner.host === me.host && !processAlive(owner.pid)
      ? `process ${owner.pid} is gone`
      : now() - owner.started > maxAge
      ? `it is older than ${Math.round(maxAge / 3600000)} h`
      : undefined;
    if (stale) {
      say(`Cleared a stale run lock ${path} (${stale})`);
      await Deno.remove(path).catch(() => {});
      continue;
    }
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

async function readOwner(path: string): Promise<Owner | undefined> {
  try {
    const owner = JSON.parse(await Deno.readTextFile(path)) as Owner;
    return typeof owner.pid === "number" && typeof owner.started === "number"
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
