/**
 * Canonical JSON, SHA-256, and the code fingerprint: the hash of a stage's
 * module and of every local module it imports, transitively. Editing a helper
 * the stage imports changes its fingerprint; editing an unrelated file does not.
 */
import { createHash } from "node:crypto";
import canonicalize from "canonicalize";

/** RFC 8785 canonical JSON (sorted keys, normalized numbers). */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new Error("Value has no JSON form");
  return text;
}

/** Hex SHA-256 of bytes or a string. */
export function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Hex SHA-256 of a value's canonical JSON. */
export function hashJson(value: unknown): string {
  return sha256(canonicalJson(value));
}

// Static imports, re-exports, side-effect imports and dynamic imports of a string literal.
const IMPORT_PATTERN = /(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"'\n]+)["']/g;

// Block comments, and line comments that start a line (so "https://…" in strings survives).
const COMMENT_PATTERN = /\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm;

/** Local (relative or file:) specifiers a source text imports, comments ignored. */
export function localImports(source: string): string[] {
  const found = new Set<string>();
  for (
    const match of source.replace(COMMENT_PATTERN, "").matchAll(IMPORT_PATTERN)
  ) {
    const specifier = match[1]!;
    if (
      specifier.startsWith("./") || specifier.startsWith("../") ||
      specifier.startsWith("file:")
    ) found.add(specifier);
  }
  return [...found].sort();
}

/** Per-file content hashes of a module's local import closure, and their combined hash. */
export interface Fingerprint {
  /** Path relative to the project root (or absolute outside it) → SHA-256 of its bytes. */
  files: Record<string, string>;
  hash: string;
}

/**
 * Fingerprints the local import closure of `entries` (file URLs). `root` only
 * shortens the names recorded, so a moved checkout gives the same hash.
 */
export function codeFingerprint(entries: string[], root: string): Fingerprint {
  const files: Record<string, string> = {};
  const seen = new Set<string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const url = queue.pop()!;
    if (seen.has(url)) continue;
    seen.add(url);
    const path = new URL(url).pathname;
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new Error(
          `Source file '${path}' (imported by the stage) does not exist`,
        );
      }
      throw error;
    }
    files[relativeName(path, root)] = sha256(bytes);
    if (/\.(m?[jt]sx?)$/.test(path)) {
      for (const specifier of localImports(new TextDecoder().decode(bytes))) {
        queue.push(new URL(specifier, url).href);
      }
    }
  }
  return { files, hash: hashJson(files) };
}

function relativeName(path: string, root: string): string {
  const prefix = root.endsWith("/") ? root : `${root}/`;
  return path.startsWith(prefix) ? path.slice(prefix.length) : path;
}
