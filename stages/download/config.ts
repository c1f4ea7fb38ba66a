/**
 * The download stage's params (SCIENCE §1.1): one schema per field, composed
 * into the experiment schema and parsed once at the stage's boundary.
 */
import { z } from "zod";
import { declareParams, int, seed, under } from "../params.ts";
import type { DatasetName } from "./checksums.ts";
import type { SourceName } from "./sources.ts";

/** Sources each dataset can come from. */
export const SOURCES: Record<DatasetName, SourceName[]> = {
  "mnist": ["package", "url"],
  "fashion-mnist": ["system", "url"],
};

/** The `data` section's fields. */
export const dataFields = {
  dataset: z.enum(["mnist", "fashion-mnist"]),
  source: z.enum(["package", "url", "system"]),
  train_size: int(1, 60000),
  test_size: int(1, 10000),
  subset: z.enum(["first", "stratified"]),
  subset_seed: seed,
};

/** The `data` section: its fields, and a source the dataset can come from. */
export const dataSection = z.strictObject(dataFields).superRefine(
  (data, ctx) => {
    const allowed = SOURCES[data.dataset];
    if (!allowed.includes(data.source)) {
      ctx.addIssue({
        code: "custom",
        path: ["source"],
        input: data.source,
        message: `${data.dataset} comes from ${
          allowed.map((s) => JSON.stringify(s)).join(" or ")
        }`,
      });
    }
  },
);

export const downloadParams = declareParams(under("data", dataFields));
export type DownloadParams = z.infer<typeof downloadParams.schema>;
