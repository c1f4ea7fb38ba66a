/**
 * A file system held in memory, for running the engine without the disk
 * (tests, examples). Paths are plain strings; folders exist when something
 * was put under them or they were made. Every operation is told to `observe`
 * first, so a test can assert the exact sequence of the engine's effects.
 *
 * @example
 * ```ts
 * import { MemoryFs } from "./memory_fs.ts";
 * const seen: string[] = [];
 * const fs = new MemoryFs((op, path) => seen.push(`${op} ${path}`));
 * await fs.writeFileAtomic("/mem/a.txt", "hi");
 * const bytes = await fs.readFile("/mem/a.txt");
 * if (new TextDecoder().decode(bytes) !== "hi") throw new Error("lost");
 * if (seen.join() !== "write /mem/a.txt,read /mem/a.txt") throw new Error(seen.join());
 * ```
 */
import type { FileSystem } from "./effects.ts";

export type FsOperation = "read" | "write" | "remove" | "mkdir";

export class MemoryFs implements FileSystem {
  /** Path → content. */
  readonly files = new Map<string, Uint8Array>();
  readonly #dirs = new Set<string>();

  constructor(
    private readonly observe: (op: FsOperation, path: string) => void =
      () => {},
  ) {}

  readFile(path: string): Promise<Uint8Array | undefined> {
    this.observe("read", path);
    const bytes = this.files.get(path);
    return Promise.resolve(bytes && bytes.slice());
  }

  writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
    this.observe("write", path);
    this.files.set(
      path,
      typeof data === "string" ? new TextEncoder().encode(data) : data.slice(),
    );
    return Promise.resolve();
  }

  remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    this.observe("remove", path);
    const inside = [...this.files.keys(), ...this.#dirs].filter((p) =>
      p.startsWith(`${path}/`)
    );
    const present = this.files.has(path) || this.#dirs.has(path) ||
      inside.length > 0;
    if (!present) {
      return Promise.reject(new Deno.errors.NotFound(`No such file: ${path}`));
    }
    if (inside.length > 0 && !options.recursive) {
      return Promise.reject(new Error(`Folder not empty: ${path}`));
    }
    for (const p of [path, ...inside]) {
      this.files.delete(p);
      this.#dirs.delete(p);
    }
    return Promise.resolve();
  }

  ensureDir(path: string): Promise<void> {
    this.observe("mkdir", path);
    this.#dirs.add(path);
    return Promise.resolve();
  }
}
