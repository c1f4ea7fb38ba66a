/**
 * Writes the report's outputs as a static folder (index.html, metrics.csv,
 * metrics.json) for `deno task publish [DIR]`. Each file is written to a
 * temporary name and renamed, so a reader never sees a partial file.
 */
import { ensureDir, writeFileAtomic } from "../../pipeline/fs.ts";
import type { Outputs } from "../../pipeline/stage.ts";

/** Output name of the report stage → file name in the published folder. */
export const PUBLISHED_FILES: Record<string, string> = {
  html: "index.html",
  metrics_csv: "metrics.csv",
  metrics_json: "metrics.json",
};

/** Writes the three files into `dir` (created if needed); returns their paths. */
export async function publish(
  dir: string,
  outputs: Outputs,
): Promise<string[]> {
  await ensureDir(dir);
  const written: string[] = [];
  for (const [output, name] of Object.entries(PUBLISHED_FILES)) {
    const bytes = outputs[output];
    if (!bytes) {
      throw new Error(
        `Report output '${output}' is missing; expected html, metrics_csv, metrics_json`,
      );
    }
    const path = `${dir.replace(/\/+$/, "")}/${name}`;
    await writeFileAtomic(path, bytes);
    written.push(path);
  }
  return written;
}
