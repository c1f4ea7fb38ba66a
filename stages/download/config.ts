/**
 * The download stage's params, normalized once at the boundary: loose JSON in,
 * a typed config out, a one-line error on the first bad field.
 */
import type { Params } from "../../pipeline/stage.ts";
import type { DatasetName } from "./checksums.ts";
import type { SourceName } from "./sources.ts";
import type { SubsetMode } from "./subset.ts";

export interface DownloadConfig {
  dataset: DatasetName;
  source: SourceName;
  /** Validated against the split's size once the files are read. */
  trainSize: unknown;
  testSize: unknown;
  subset: SubsetMode;
  subsetSeed: number | string;
}

/** Sources each dataset can come from. */
export const SOURCES: Record<DatasetName, SourceName[]> = {
  "mnist": ["package", "url"],
  "fashion-mnist": ["system", "url"],
};

/** Reads `data.*` params with defaults (mnist, package/system, 10000/10000, first, seed 0). */
export function parseDownloadParams(params: Params): DownloadConfig {
  const dataset = params["data.dataset"] ?? "mnist";
  if (dataset !== "mnist" && dataset !== "fashion-mnist") {
    throw new Error(
      `data.dataset must be "mnist" or "fashion-mnist", got ${
        JSON.stringify(dataset)
      }`,
    );
  }
  const allowed = SOURCES[dataset];
  const source = params["data.source"] ?? allowed[0]!;
  if (!allowed.includes(source as SourceName)) {
    throw new Error(
      `data.source for ${dataset} must be one of ${
        allowed.map((s) => JSON.stringify(s)).join(", ")
      }, got ${JSON.stringify(source)}`,
    );
  }
  const subset = params["data.subset"] ?? "first";
  if (subset !== "first" && subset !== "stratified") {
    throw new Error(
      `data.subset must be "first" or "stratified", got ${
        JSON.stringify(subset)
      }`,
    );
  }
  const subsetSeed = params["data.subset_seed"] ?? 0;
  if (
    !(typeof subsetSeed === "string" ||
      (typeof subsetSeed === "number" && Number.isInteger(subsetSeed)))
  ) {
    throw new Error(
      `data.subset_seed must be an integer or a string, got ${
        JSON.stringify(subsetSeed)
      }`,
    );
  }
  return {
    dataset,
    source: source as SourceName,
    trainSize: params["data.train_size"] ?? 10000,
    testSize: params["data.test_size"] ?? 10000,
    subset,
    subsetSeed,
  };
}
