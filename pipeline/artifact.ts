/**
 * Encoders for stage outputs. Every output is bytes; these helpers make the
 * common shapes: JSON values, and bundles of named typed arrays (columnar
 * records, images, file trees such as a tfjs checkpoint folder).
 *
 * Bundle layout: "IRB1" magic, uint32 LE header length, UTF-8 JSON header
 * `{ meta, entries: [{ name, type, offset, length }] }`, then each entry's
 * bytes at an 8-byte aligned offset from the start of the data section.
 */
import type { Json } from "./stage.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** A JSON value as UTF-8 bytes (stable key order as given). */
export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** Parses bytes made by `encodeJson`. */
export function decodeJson<T = Json>(bytes: Uint8Array): T {
  return JSON.parse(decoder.decode(bytes)) as T;
}

export function encodeText(text: string): Uint8Array {
  return encoder.encode(text);
}

export function decodeText(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** The typed arrays a bundle can hold. */
export type Column =
  | Float64Array
  | Float32Array
  | Int32Array
  | Uint32Array
  | Uint8Array;

const TYPES = {
  f64: Float64Array,
  f32: Float32Array,
  i32: Int32Array,
  u32: Uint32Array,
  u8: Uint8Array,
} as const;
type TypeName = keyof typeof TYPES;

function typeName(column: Column): TypeName {
  if (column instanceof Float64Array) return "f64";
  if (column instanceof Float32Array) return "f32";
  if (column instanceof Int32Array) return "i32";
  if (column instanceof Uint32Array) return "u32";
  return "u8";
}

interface Entry {
  name: string;
  type: TypeName;
  offset: number;
  length: number;
}

const MAGIC = encoder.encode("IRB1");

/** Packs named typed arrays plus a JSON `meta` into one byte array. */
export function encodeBundle(
  columns: Record<string, Column>,
  meta: Json = null,
): Uint8Array {
  const entries: Entry[] = [];
  let offset = 0;
  for (const [name, column] of Object.entries(columns)) {
    entries.push({
      name,
      type: typeName(column),
      offset,
      length: column.length,
    });
    offset += Math.ceil(column.byteLength / 8) * 8;
  }
  const header = encoder.encode(JSON.stringify({ meta, entries }));
  const headerPadded = Math.ceil((8 + header.length) / 8) * 8;
  const out = new Uint8Array(headerPadded + offset);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(4, header.length, true);
  out.set(header, 8);
  for (const entry of entries) {
    const column = columns[entry.name]!;
    out.set(
      new Uint8Array(column.buffer, column.byteOffset, column.byteLength),
      headerPadded + entry.offset,
    );
  }
  return out;
}

/** A decoded bundle: its meta and its columns (copies, safely aligned). */
export interface Bundle {
  meta: Json;
  columns: Record<string, Column>;
}

/** Unpacks `encodeBundle` output; throws a one-line error on malformed bytes. */
export function decodeBundle(bytes: Uint8Array): Bundle {
  if (bytes.length < 8 || !MAGIC.every((b, i) => bytes[i] === b)) {
    throw new Error("Not a bundle: the 'IRB1' magic is missing");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(4, true);
  if (8 + headerLength > bytes.length) {
    throw new Error(
      `Truncated bundle: header of ${headerLength} bytes does not fit in ${bytes.length}`,
    );
  }
  const header = JSON.parse(
    decoder.decode(bytes.subarray(8, 8 + headerLength)),
  ) as {
    meta: Json;
    entries: Entry[];
  };
  const base = Math.ceil((8 + headerLength) / 8) * 8;
  const columns: Record<string, Column> = {};
  for (const entry of header.entries) {
    const Type = TYPES[entry.type];
    if (!Type) {
      throw new Error(
        `Bundle entry '${entry.name}' has unknown type '${entry.type}'`,
      );
    }
    const start = base + entry.offset;
    const byteLength = entry.length * Type.BYTES_PER_ELEMENT;
    if (start + byteLength > bytes.length) {
      throw new Error(
        `Truncated bundle: entry '${entry.name}' ends past the data`,
      );
    }
    const copy = bytes.slice(start, start + byteLength);
    columns[entry.name] = new Type(copy.buffer, 0, entry.length);
  }
  return { meta: header.meta, columns };
}
