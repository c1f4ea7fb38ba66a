/**
 * The download stage: MNIST or Fashion-MNIST (SCIENCE §1.1), every file
 * checked against pinned checksums before anything is returned (so the engine
 * caches nothing on a mismatch), cut to the requested train/test subsets.
 */
import { encodeBundle } from "../../pipeline/artifact.ts";
import {
  defineStage,
  type Outputs,
  type StageContext,
} from "../../pipeline/stage.ts";
import {
  CHECKSUMS,
  type DatasetChecksums,
  type DatasetName,
} from "./checksums.ts";
import { type DownloadParams, downloadParams } from "./config.ts";
import {
  FASHION_SYSTEM_DIR,
  fetchMirrorFile,
  MIRRORS,
  readPackageFile,
  readSystemFile,
  type SourceName,
} from "./sources.ts";
import { CLASSES, loadSplit, type SplitData, type SplitName } from "./split.ts";

/** Injected effects and tables; the defaults are the real ones. */
export interface DownloadDeps {
  mirrors?: Partial<Record<DatasetName, string[]>>;
  checksums?: Partial<Record<DatasetName, DatasetChecksums>>;
  systemDir?: string;
}

/**
 * The stage's run function with injectable mirrors, checksums and system
 * folder (tests point the url source at a local server).
 */
export function createDownloadRun(
  deps: DownloadDeps = {},
): (ctx: StageContext<DownloadParams>) => Promise<Outputs> {
  return async (ctx) => {
    const p = ctx.params;
    const config = {
      dataset: p["data.dataset"],
      source: p["data.source"],
      trainSize: p["data.train_size"],
      testSize: p["data.test_size"],
      subset: p["data.subset"],
      subsetSeed: p["data.subset_seed"],
    };
    const checksums = deps.checksums?.[config.dataset] ??
      CHECKSUMS[config.dataset];
    const mirrors = deps.mirrors?.[config.dataset] ?? MIRRORS[config.dataset];
    const systemDir = deps.systemDir ?? FASHION_SYSTEM_DIR;
    const readers: Record<SourceName, Parameters<typeof loadSplit>[0]["read"]> =
      {
        package: readPackageFile,
        system: (file) => readSystemFile(file, systemDir),
        url: (file) => fetchMirrorFile(file, mirrors, ctx.signal),
      };
    const outputs: Outputs = {};
    // Both splits are loaded and verified before anything is returned.
    const splits: [SplitName, unknown][] = [
      ["train", config.trainSize],
      ["test", config.testSize],
    ];
    for (const [split, size] of splits) {
      const data = await loadSplit({
        split,
        checksums,
        read: readers[config.source],
        checkGzipMd5: config.source === "url",
        size,
        sizeField: `data.${split}_size`,
        subset: config.subset,
        subsetSeed: config.subsetSeed,
      });
      ctx.log.info(
        `${config.dataset} ${split}: ${data.count} of ${data.available} (${config.subset}) from ${config.source}, checksums ok`,
      );
      outputs[split] = encodeSplit(data, {
        dataset: config.dataset,
        source: config.source,
        split,
        subset: config.subset,
        subsetSeed: config.subsetSeed,
      });
    }
    return outputs;
  };
}

/** Bundle columns: images u8 [count·rows·cols], labels u8 [count], indices u32 [count]. */
function encodeSplit(
  data: SplitData,
  about: {
    dataset: DatasetName;
    source: SourceName;
    split: SplitName;
    subset: "first" | "stratified";
    subsetSeed: number;
  },
): Uint8Array {
  return encodeBundle(
    { images: data.images, labels: data.labels, indices: data.indices },
    {
      dataset: about.dataset,
      source: about.source,
      split: about.split,
      count: data.count,
      available: data.available,
      rows: data.rows,
      cols: data.cols,
      classes: CLASSES,
      indices_of: about.subset,
      subset_seed: about.subset === "stratified" ? about.subsetSeed : null,
      pixels:
        "u8 in 0..255, row-major [count, rows, cols]; divide by 255 for [0, 1] (SCIENCE §1.1)",
      sha256: data.sha256,
    },
  );
}

export const downloadStage = defineStage({
  name: "download",
  module: import.meta.url,
  ...downloadParams,
  outputs: ["train", "test"],
  run: createDownloadRun(),
});
