/**
 * The engine's effects, passed in rather than reached for: the file system
 * it keeps the cache and lock in, the clock that times runs, and the logger
 * warnings go to. The defaults are the real ones (Deno's file system,
 * `performance`/`Date`, `console.warn`); tests pass an in-memory file system
 * (memory_fs.ts) and a fixed clock, so the engine runs without the disk.
 */
import {
  checkWritePath,
  ensureDir,
  readFileIfExists,
  writeFileAtomic as writeFileAtomicOnDisk,
} from "./fs.ts";

/** The few file operations the engine, the store and the lock need. */
export interface FileSystem {
  /** The file's bytes, or undefined when it does not exist. */
  readFile(path: string): Promise<Uint8Array | undefined>;
  /** Writes through a temp file (in `tempDir` when given) and a rename: readers see old or new, never a part. */
  writeFileAtomic(
    path: string,
    data: Uint8Array | string,
    tempDir?: string,
  ): Promise<void>;
  /** Removes a file or folder; throws Deno.errors.NotFound when there is none. */
  remove(path: string, options?: { recursive?: boolean }): Promise<void>;
  /** Creates a folder (and its parents) if missing; refuses one a symlink leads outside its granted folder. */
  ensureDir(path: string): Promise<void>;
}

/** Wall and monotonic time. */
export interface Clock {
  /** Milliseconds from an arbitrary origin, for durations (`performance.now`). */
  now(): number;
  /** The current date, for provenance (`new Date()`). */
  date(): Date;
}

/** Deno's file system, through the write checks of fs.ts. */
export const denoFs: FileSystem = {
  readFile: readFileIfExists,
  writeFileAtomic: writeFileAtomicOnDisk,
  remove: (path, options) => Deno.remove(path, options),
  // Checked even when it exists: a symlink must not lead it out of its granted folder.
  ensureDir: async (path) => {
    await ensureDir(path);
    checkWritePath(path);
  },
};

/** The system's clock. */
export const systemClock: Clock = {
  now: () => performance.now(),
  date: () => new Date(),
};
