/**
 * One split (train or test) from raw file bytes: verify, decompress, parse,
 * subset. Pure apart from the async gunzip, so tests run on hand-made bytes.
 */
import { Rng } from "../../pipeline/rng.ts";
import {
  type DatasetChecksums,
  type FileChecksum,
  verifyDigest,
} from "./checksums.ts";
import { checkPair, isGzip, maybeGunzip, parseIdx } from "./idx.ts";
import {
  gatherRows,
  selectSubset,
  type SubsetMode,
  validateSize,
} from "./subset.ts";
import type { RawFile } from "./sources.ts";

export type SplitName = "train" | "test";

/** A loaded subset of one split. */
export interface SplitData {
  /** [count·rows·cols], 0..255 (scale to [0, 1] by dividing by 255). */
  images: Uint8Array;
  /** [count], class indices 0..classes−1. */
  labels: Uint8Array;
  /** [count], ascending indices of the kept samples in the full split. */
  indices: Uint32Array;
  count: number;
  /** Samples in the full split. */
  available: number;
  rows: number;
  cols: number;
  sha256: { images: string; labels: string };
}

export const CLASSES = 10;

/**
 * Checks a raw file and returns its uncompressed IDX bytes. With
 * `checkGzipMd5` the file must be gzip and match the canonical gzip MD5.
 * The uncompressed SHA-256 is always checked. Throws before returning
 * anything on a mismatch.
 */
export async function verifiedIdxBytes(
  raw: RawFile,
  file: FileChecksum,
  options: { checkGzipMd5: boolean },
): Promise<{ bytes: Uint8Array; sha256: string }> {
  if (options.checkGzipMd5) {
    if (!isGzip(raw.bytes)) {
      throw new Error(
        `File '${raw.location}' should be gzip-compressed but is not`,
      );
    }
    verifyDigest("md5", raw.bytes, file.gzipMd5, raw.location);
  }
  const bytes = await maybeGunzip(raw.bytes, raw.location);
  const sha256 = verifyDigest("sha256", bytes, file.sha256, raw.location);
  return { bytes, sha256 };
}

/** Inputs of `loadSplit`. */
export interface LoadSplitOptions {
  split: SplitName;
  checksums: DatasetChecksums;
  /** Reads one file's raw bytes (package, system folder or mirror). */
  read: (file: FileChecksum) => Promise<RawFile>;
  checkGzipMd5: boolean;
  size: unknown;
  sizeField: string;
  subset: SubsetMode;
  subsetSeed: number | string;
}

/**
 * Reads, verifies and parses a split's images and labels, then keeps the
 * requested subset. A stratified subset draws from
 * `Rng.fromSeed("subset:<split>:<subset_seed>")`, so train and test draws
 * are independent and depend only on `data.subset_seed`.
 */
export async function loadSplit(options: LoadSplitOptions): Promise<SplitData> {
  const { split, checksums } = options;
  const imagesFile = checksums[`${split}-images`];
  const labelsFile = checksums[`${split}-labels`];
  const imagesRaw = await options.read(imagesFile);
  const labelsRaw = await options.read(labelsFile);
  const check = { checkGzipMd5: options.checkGzipMd5 };
  const imagesIdx = await verifiedIdxBytes(imagesRaw, imagesFile, check);
  const labelsIdx = await verifiedIdxBytes(labelsRaw, labelsFile, check);
  const images = parseIdx(imagesIdx.bytes, imagesRaw.location);
  const labels = parseIdx(labelsIdx.bytes, labelsRaw.location);
  const { count: available, rows, cols } = checkPair(images, labels, {
    images: imagesRaw.location,
    labels: labelsRaw.location,
  });
  const bad = labels.data.findIndex((y) => y >= CLASSES);
  if (bad >= 0) {
    throw new Error(
      `IDX file '${labelsRaw.location}' has label ${
        labels.data[bad]
      } at index ${bad}, outside [0, ${CLASSES})`,
    );
  }
  const size = validateSize(options.sizeField, options.size, available);
  const indices = selectSubset(labels.data, size, options.subset, {
    rng: Rng.fromSeed(`subset:${split}:${options.subsetSeed}`),
    classes: CLASSES,
  });
  return {
    images: gatherRows(images.data, rows * cols, indices),
    labels: gatherRows(labels.data, 1, indices),
    indices,
    count: size,
    available,
    rows,
    cols,
    sha256: { images: imagesIdx.sha256, labels: labelsIdx.sha256 },
  };
}
