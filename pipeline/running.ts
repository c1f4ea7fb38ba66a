/**
 * Which instances a reproduce is running now, for `status` in another
 * process. The run lock's holder writes their ids and keys to a file beside
 * the lock (`running.json`) as they start and finish. A reader believes the
 * file only while the run lock is held (its OS lock is taken) by the pid the
 * file names, so a file left by a killed run never shows anything as running.
 */
import { hostname } from "node:os";
import { writeFileAtomic } from "./fs.ts";

/** What the running process wrote. */
interface RunningDoc {
  pid: number;
  host: string;
  /** Instance id → the key it is being run under. */
  instances: Record<string, string>;
}

/** Instances in progress in another process, by key and by id. */
export interface Running {
  pid: number;
  host: string;
  /** Key → instance id. */
  keys: Map<string, string>;
  /** Instance id → key. */
  ids: Map<string, string>;
}

/** The path of the running file beside a run lock. */
export function runningPath(runLockPath: string): string {
  return runLockPath.replace(/[^/]*$/, "running.json");
}

/** Keeps the running file up to date; writes are serialized and never fail the run. */
export class RunningFile {
  readonly #instances = new Map<string, string>();
  #writes = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly warn: (message: string) => void = console.warn,
    readonly tempDir?: string,
  ) {}

  start(id: string, key: string): Promise<void> {
    this.#instances.set(id, key);
    return this.#write();
  }

  finish(id: string): Promise<void> {
    this.#instances.delete(id);
    return this.#write();
  }

  /** Removes the file (at the end of the run). */
  async close(): Promise<void> {
    await this.#writes;
    await Deno.remove(this.path).catch(() => {});
  }

  #write(): Promise<void> {
    const doc: RunningDoc = {
      pid: Deno.pid,
      host: hostname(),
      instances: Object.fromEntries(this.#instances),
    };
    this.#writes = this.#writes.then(() =>
      writeFileAtomic(this.path, JSON.stringify(doc, null, 1), this.tempDir)
        .catch((error) =>
          this.warn(
            `Could not record running instances in ${this.path} (${
              (error as Error).message
            }): status will not show them as running`,
          )
        )
    );
    return this.#writes;
  }
}

/**
 * What another process is running, or undefined when no live run holds the
 * lock at `runLockPath` (or the running file is not that run's).
 */
export async function readRunning(
  runLockPath: string,
): Promise<Running | undefined> {
  let lock: Deno.FsFile;
  try {
    lock = await Deno.open(runLockPath, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  let ownerPid: number | undefined;
  try {
    // Free: nobody holds it, so whatever the files say, nothing is running.
    if (await lock.tryLock(false)) return undefined;
    ownerPid = parse<{ pid: number }>(await readText(lock))?.pid;
  } finally {
    lock.close();
  }
  const doc = parse<RunningDoc>(
    await Deno.readTextFile(runningPath(runLockPath)).catch(() => ""),
  );
  if (
    doc === undefined || typeof doc.instances !== "object" ||
    doc.instances === null || doc.pid !== ownerPid
  ) return undefined;
  const ids = new Map(Object.entries(doc.instances));
  return {
    pid: doc.pid,
    host: doc.host,
    ids,
    keys: new Map([...ids].map(([id, key]) => [key, id])),
  };
}

async function readText(file: Deno.FsFile): Promise<string> {
  const buffer = new Uint8Array(4096);
  const n = await file.read(buffer);
  return new TextDecoder().decode(buffer.subarray(0, n ?? 0));
}

function parse<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
