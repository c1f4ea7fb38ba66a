/**
 * The IDX file format of MNIST and Fashion-MNIST (SCIENCE §1.1): a big-endian
 * header (two zero bytes, type byte 0x08 = unsigned byte, number of dims, then
 * one uint32 per dim) followed by exactly prod(dims) data bytes.
 */

/** A parsed IDX file: its dims (e.g. [60000, 28, 28]) and the raw bytes. */
export interface IdxFile {
  dims: number[];
  /** [prod(dims)], row-major, a view into the input bytes. */
  data: Uint8Array;
}

/** Magic of an image file: unsigned bytes, 3 dims. */
export const IDX_IMAGES_MAGIC = 0x00000803;
/** Magic of a label file: unsigned bytes, 1 dim. */
export const IDX_LABELS_MAGIC = 0x00000801;

/** True when the bytes start with the gzip magic 0x1f 0x8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Parses an uncompressed IDX file of unsigned bytes with 3 dims (images) or
 * 1 dim (labels). Throws a one-line error naming `name` on a gzip file, a
 * wrong magic, a zero dim, or a byte length other than header + prod(dims):
 * a truncated file never becomes a silently short dataset.
 */
export function parseIdx(bytes: Uint8Array, name: string): IdxFile {
  if (isGzip(bytes)) {
    throw new Error(
      `IDX file '${name}' is gzip-compressed: decompress it first (decodeIdxFile does)`,
    );
  }
  if (bytes.length < 4) {
    throw new Error(
      `IDX file '${name}' is truncated: ${bytes.length} bytes, no header`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== IDX_IMAGES_MAGIC && magic !== IDX_LABELS_MAGIC) {
    throw new Error(
      `IDX file '${name}' has magic 0x${hex(magic)}, expected 0x${
        hex(IDX_IMAGES_MAGIC)
      } (images) or 0x${hex(IDX_LABELS_MAGIC)} (labels)`,
    );
  }
  const ndims = magic & 0xff;
  const headerLength = 4 + 4 * ndims;
  if (bytes.length < headerLength) {
    throw new Error(
      `IDX file '${name}' is truncated: ${bytes.length} bytes, header needs ${headerLength}`,
    );
  }
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i, false));
  if (dims.some((d) => d === 0)) {
    throw new Error(
      `IDX file '${name}' has a zero dimension: [${dims.join(", ")}]`,
    );
  }
  const expected = headerLength + dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? "truncated" : "too long";
    throw new Error(
      `IDX file '${name}' is ${what}: ${bytes.length} bytes, dims [${
        dims.join(", ")
      }] need exactly ${expected}`,
    );
  }
  return { dims, data: bytes.subarray(headerLength) };
}

/** Gunzips bytes with the web-standard DecompressionStream. */
export async function gunzip(
  bytes: Uint8Array,
  name: string,
): Promise<Uint8Array> {
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
      .pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (error) {
    throw new Error(
      `File '${name}' is not valid gzip: ${(error as Error).message}`,
    );
  }
}

/** The uncompressed bytes of a file that may or may not be gzip-compressed. */
export async function maybeGunzip(
  bytes: Uint8Array,
  name: string,
): Promise<Uint8Array> {
  return isGzip(bytes) ? await gunzip(bytes, name) : bytes;
}

/** Checks that an image file and a label file describe the same N samples. */
export function checkPair(
  images: IdxFile,
  labels: IdxFile,
  names: { images: string; labels: string },
): { count: number; rows: number; cols: number } {
  if (images.dims.length !== 3) {
    throw new Error(
      `IDX file '${names.images}' should hold images [N, rows, cols], has dims [${
        images.dims.join(", ")
      }]`,
    );
  }
  if (labels.dims.length !== 1) {
    throw new Error(
      `IDX file '${names.labels}' should hold labels [N], has dims [${
        labels.dims.join(", ")
      }]`,
    );
  }
  const [count, rows, cols] = images.dims as [number, number, number];
  if (labels.dims[0] !== count) {
    throw new Error(
      `IDX files '${names.images}' (${count} images) and '${names.labels}' (${
        labels.dims[0]
      } labels) disagree on the sample count`,
    );
  }
  return { count, rows, cols };
}

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}

/** Parses an IDX file that may be gzip-compressed (decompressed transparently). */
export async function decodeIdxFile(
  bytes: Uint8Array,
  name: string,
): Promise<IdxFile> {
  return parseIdx(await maybeGunzip(bytes, name), name);
}
