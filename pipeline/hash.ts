/**
 * Canonical JSON and SHA-256: the hashes that name cache keys and objects.
 * (The code fingerprint is in fingerprint.ts, so that modules needing only a
 * hash do not import the tokenizer.)
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
