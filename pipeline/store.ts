/**
 * The content-addressed store: objects named by the SHA-256 of their bytes,
 * and a run cache mapping a stage instance's key to its output hashes.
 * Everything is written to a temp file and renamed; a damaged object or run
 * entry is logged, deleted and treated as a miss.
 */
import { sha256 } from "./hash.ts";
import { readFileIfExists, writeFileAtomic } from "./fs.ts";

/** What a finished instance produced, recorded under its key. */
export interface RunEntry {
  outputs: Record<string, string>;
  /** Provenance of the run, never part of an output's bytes: wall time, end, host, stage timings. */
  seconds: number;
  finished: string;
  host?: string;
  timings?: Record<string, number>;
}

/** True for a SHA-256 in lower-case hex: the only names objects and run entries may have. */
export function isHash(value: unknown): value is string {
  return typeof value === "string" && /^[0-9a-f]{64}$/.test(value);
}

export class Store {
  constructor(
    readonly dir: string,
    private readonly warn: (message: string) => void = console.warn,
    private readonly options: { readOnly?: boolean } = {},
  ) {}

  /**
   * Removes a damaged file unless the store is read-only, and says what
   * happened: it is reported as deleted only when it was.
   */
  async #discard(path: string, recursive = false): Promise<string> {
    if (this.options.readOnly) {
      return "left in place (read-only here), the next reproduce recomputes it";
    }
    try {
      await Deno.remove(path, { recursive });
      return "deleted, will recompute";
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        return "already gone, will recompute";
      }
      return `could not delete it (${
        (error as Error).message
      }), will recompute`;
    }
  }

  /** Where an object lives; a name that is not a hash (e.g. `../x` from a hand-edited entry) is refused. */
  objectPath(hash: string): string {
    if (!isHash(hash)) {
      throw new Error(
        `'${String(hash).slice(0, 80)}' is not a SHA-256 object name`,
      );
    }
    return `${this.dir}/objects/${hash.slice(0, 2)}/${hash.slice(2)}`;
  }

  /** Stores bytes and returns their hash; an existing intact object is kept. */
  async put(bytes: Uint8Array): Promise<string> {
    const hash = sha256(bytes);
    if (!(await this.has(hash))) {
      await writeFileAtomic(this.objectPath(hash), bytes);
    }
    return hash;
  }

  /** The object's bytes if present and intact; a damaged one is deleted. */
  async get(hash: string): Promise<Uint8Array | undefined> {
    if (!isHash(hash)) return undefined;
    const path = this.objectPath(hash);
    let bytes: Uint8Array | undefined;
    try {
      bytes = await readFileIfExists(path);
    } catch (error) {
      const done = await this.#discard(path, true);
      this.warn(
        `Cache object ${hash.slice(0, 12)} is unreadable (${
          (error as Error).message
        }): ${done}`,
      );
      return undefined;
    }
    if (bytes === undefined) return undefined;
    const actual = sha256(bytes);
    if (actual !== hash) {
      const done = await this.#discard(path);
      this.warn(
        `Cache object ${hash.slice(0, 12)} is damaged (content hashes to ${
          actual.slice(0, 12)
        }): ${done}`,
      );
      return undefined;
    }
    return bytes;
  }

  /** True when the object exists and its content matches its name. */
  async has(hash: string): Promise<boolean> {
    return (await this.get(hash)) !== undefined;
  }

  runPath(key: string): string {
    if (!isHash(key)) {
      throw new Error(`'${String(key).slice(0, 80)}' is not a cache key`);
    }
    return `${this.dir}/runs/${key.slice(0, 2)}/${key.slice(2)}.json`;
  }

  /** The run entry for a key if it is readable and all its objects are intact. */
  async getRun(key: string): Promise<RunEntry | undefined> {
    const path = this.runPath(key);
    const bytes = await readFileIfExists(path);
    if (bytes === undefined) return undefined;
    let entry: RunEntry;
    try {
      entry = JSON.parse(new TextDecoder().decode(bytes)) as RunEntry;
      if (typeof entry.outputs !== "object" || entry.outputs === null) {
        throw new Error("no outputs");
      }
      // A name that is not a hash would point outside the objects folder.
      if (!Object.values(entry.outputs).every(isHash)) {
        throw new Error("an output is not a hash");
      }
    } catch {
      const done = await this.#discard(path);
      this.warn(`Run cache entry ${key.slice(0, 12)} is not valid: ${done}`);
      return undefined;
    }
    for (const hash of Object.values(entry.outputs)) {
      if (!(await this.has(hash))) return undefined;
    }
    return entry;
  }

  async putRun(key: string, entry: RunEntry): Promise<void> {
    await writeFileAtomic(this.runPath(key), JSON.stringify(entry, null, 1));
  }
}
