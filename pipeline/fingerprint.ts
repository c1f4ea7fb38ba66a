/**
 * The code fingerprint: the hash of a stage's module and of every local
 * module it imports, transitively, each by its token stream (tokens.ts), so a
 * comment or a `deno fmt` change does not count and any other change does.
 * Editing a helper the stage imports changes its fingerprint; editing an
 * unrelated file does not. The packages the closure imports are collected
 * too: their versions come from deno.lock (versions.ts).
 */
import { hashJson, sha256 } from "./hash.ts";
import { isLocalSpecifier, scanModule, scannerScheme } from "./tokens.ts";
import { readFileIfExists, writeFileAtomic } from "./fs.ts";

/** Per-file hashes of a stage's code closure, their combined hash, and the packages it imports. */
export interface Fingerprint {
  /**
   * Path relative to the project root (or absolute outside it) → SHA-256 of
   * the module's normalized token stream (`tokens.ts`), or of the bytes for
   * files that are not TypeScript (templates, styles, static scripts).
   */
  files: Record<string, string>;
  hash: string;
  /** Bare specifiers (npm packages) the closure imports or resolves, sorted: their versions come from deno.lock. */
  packages: string[];
}

/** TypeScript modules: fingerprinted by tokens and walked for imports. */
const TYPESCRIPT = /\.[mc]?tsx?$/;
/** JavaScript modules: walked for imports, but hashed by bytes like any asset. */
const JAVASCRIPT = /\.[mc]?jsx?$/;

/** What one file contributes: its hash, its local imports and the packages it names. */
interface FileScan {
  hash: string;
  imports: string[];
  packages: string[];
}

/** What is memoized of a module's scan: enough to rebuild its FileScan. */
interface ScanMemo {
  tokens: string;
  imports: string[];
  typeOnly: string[];
  resolved: string[];
}

/**
 * Where scans are memoized on disk by content hash (e.g. `.cache/tokens`), so
 * a run whose sources did not change never loads the tokenizer; `write:
 * false` only reads (status, a Worker checking its code).
 */
export interface ScanMemoOptions {
  memoDir?: string;
  write?: boolean;
}

/** Scans by content hash, once per process: stages share most of their closures. */
const scans = new Map<string, Promise<FileScan>>();

function scanFile(
  path: string,
  bytes: Uint8Array,
  options: ScanMemoOptions,
): Promise<FileScan> {
  const typescript = TYPESCRIPT.test(path);
  const walk = typescript || JAVASCRIPT.test(path);
  const byteHash = sha256(bytes);
  const memo = `${typescript ? "ts" : walk ? "js" : "bytes"}:${byteHash}`;
  let scan = scans.get(memo);
  if (!scan) {
    scan = walk
      ? memoizedScan(bytes, byteHash, options).then((m) => ({
        hash: typescript ? m.tokens : byteHash,
        imports: m.imports,
        // A package only types come from runs no code: its version cannot matter.
        packages: [
          ...m.imports.filter((s) => !m.typeOnly.includes(s)),
          ...m.resolved,
        ].filter(isPackageSpecifier),
      }))
      : Promise.resolve({ hash: byteHash, imports: [], packages: [] });
    scans.set(memo, scan);
  }
  return scan;
}

/** A module's scan from the disk memo, or scanned (and memoized when allowed). */
async function memoizedScan(
  bytes: Uint8Array,
  byteHash: string,
  options: ScanMemoOptions,
): Promise<ScanMemo> {
  const scheme = options.memoDir ? await scannerScheme() : undefined;
  const file = scheme
    ? `${options.memoDir}/${scheme}/${byteHash.slice(0, 2)}/${
      byteHash.slice(2)
    }.json`
    : undefined;
  if (file) {
    const saved = await readFileIfExists(file).catch(() => undefined);
    const memo = saved && parseMemo(new TextDecoder().decode(saved));
    if (memo) return memo;
  }
  const m = await scanModule(new TextDecoder().decode(bytes));
  const memo: ScanMemo = {
    tokens: hashJson(m.tokens),
    imports: m.imports,
    typeOnly: m.typeOnly,
    resolved: m.resolved,
  };
  if (file && options.write) {
    await writeFileAtomic(file, JSON.stringify(memo)).catch(() => {});
  }
  return memo;
}

function parseMemo(text: string): ScanMemo | undefined {
  try {
    const m = JSON.parse(text) as ScanMemo;
    const strings = (v: unknown) =>
      Array.isArray(v) && v.every((x) => typeof x === "string");
    return typeof m.tokens === "string" && /^[0-9a-f]{64}$/.test(m.tokens) &&
        strings(m.imports) && strings(m.typeOnly) && strings(m.resolved)
      ? m
      : undefined;
  } catch {
    return undefined;
  }
}

/** A bare specifier (`zod`, `@tensorflow/tfjs`, `npm:x@1`): a package, not a file, URL or Node built-in. */
export function isPackageSpecifier(specifier: string): boolean {
  return !isLocalSpecifier(specifier) && !specifier.startsWith("/") &&
    !/^(node|https?|data|blob|jsr):/.test(specifier);
}

/** Local (relative or file:) specifiers a source imports, read from its tokens. */
export async function localImports(source: string): Promise<string[]> {
  const { imports } = await scanModule(source);
  return [...new Set(imports.filter(isLocalSpecifier))].sort();
}

/**
 * Fingerprints the local import closure of `entries` (file URLs). `root` only
 * shortens the names recorded, so a moved checkout gives the same hash.
 */
export async function codeFingerprint(
  entries: string[],
  root: string,
  options: ScanMemoOptions = {},
): Promise<Fingerprint> {
  const files: Record<string, string> = {};
  const packages = new Set<string>();
  const seen = new Set<string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const url = queue.pop()!;
    if (seen.has(url)) continue;
    seen.add(url);
    const path = new URL(url).pathname;
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new Error(
          `Source file '${path}' (imported by the stage) does not exist`,
        );
      }
      throw error;
    }
    const scan = await scanFile(path, bytes, options);
    files[relativeName(path, root)] = scan.hash;
    for (const specifier of scan.imports) {
      if (isLocalSpecifier(specifier)) queue.push(new URL(specifier, url).href);
    }
    for (const name of scan.packages) packages.add(name);
  }
  return { files, hash: hashJson(files), packages: [...packages].sort() };
}
function relativeName(path: string, root: string): string {
  const prefix = root.endsWith("/") ? root : `${root}/`;
  return path.startsWith(prefix) ? path.slice(prefix.length) : path;
}
