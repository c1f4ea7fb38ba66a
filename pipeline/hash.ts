/**
 * Canonical JSON and SHA-256: the hashes that name cache keys and objects.
 * (The code fingerprint is in fingerprint.ts, so that modules needing only a
 * hash do not import the tokenizer.)
 */
import { createHash } from "node:crypto";
import canonicalize from "canonicalize";

/**
 * RFC 8785 canonical JSON (sorted keys, normalized numbers).
 *
 * @example
 * ```ts
 * import { canonicalJson } from "./hash.ts";
 * const text = canonicalJson({ b: [1.0, "x"], a: 1e-7 });
 * if (text !== '{"a":1e-7,"b":[1,"x"]}') throw new Error(text);
 * ```
 */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new Error("Value has no JSON form");
  return text;
}

/** Hex SHA-256 of bytes or a string. */
export function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * Hex SHA-256 of a value's canonical JSON: key order does not change it.
 *
 * @example
 * ```ts
 * import { hashJson, sha256 } from "./hash.ts";
 * const h = hashJson({ lr: 0.1, seed: 0 });
 * if (h !== hashJson({ seed: 0, lr: 0.1 })) throw new Error("order counted");
 * if (h !== sha256('{"lr":0.1,"seed":0}')) throw new Error(h);
 * ```
 */
export function hashJson(value: unknown): string {
  return sha256(canonicalJson(value));
}
