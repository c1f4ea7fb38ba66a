/**
 * `deno task export`: every trained run's checkpoints as tfjs layers models,
 * `DIR/<run id>/epoch-<k>/model.json` + `weights.bin`, which
 * `tf.loadLayersModel` and `deno task measure` read. The checkpoints come
 * from the cache through the engine (the train instances' `checkpoints`
 * output), never from another stage's files. The network trains on logits
 * with the softmax inside the loss (stages/nn/model.ts); the exported
 * model states the paper's softmax output layer: its last Dense layer has
 * `activation: "softmax"`, so it outputs class probabilities.
 */
import { parseArgs } from "node:util";
import type * as tf from "@tensorflow/tfjs";
import type { CliDefinition, Command } from "../../pipeline/cli.ts";
import { UsageError } from "../../pipeline/cli.ts";
import { Engine } from "../../pipeline/engine.ts";
import { writeFileAtomic } from "../../pipeline/fs.ts";
import { encodeJson } from "../../pipeline/artifact.ts";
import { resultsDir } from "../../pipeline/commands/variant.ts";
import { loadVariantArg } from "../../pipeline/commands/experiment_arg.ts";
import type { Json } from "../../pipeline/stage.ts";
import { readCheckpoints } from "../nn/checkpoint.ts";

interface LayerJson {
  class_name: string;
  config: Record<string, unknown>;
}

/**
 * The checkpoint's model.json with the output layer the paper states: the
 * last Dense layer's activation set to softmax (for a cross-entropy model;
 * a squared-error model outputs f(x) itself, SCIENCE §1.3, and is left linear).
 * Throws when the topology's last layer is not a linear or softmax Dense.
 */
export function withSoftmaxOutput(
  modelJson: tf.io.ModelJSON,
  loss: string,
): tf.io.ModelJSON {
  const copy = structuredClone(modelJson);
  if (loss !== "cross_entropy") return copy;
  const topology = copy.modelTopology as
    | { config?: { layers?: LayerJson[] } }
    | undefined;
  const last = topology?.config?.layers?.at(-1);
  if (!last || last.class_name !== "Dense") {
    throw new Error(
      `export: the model's last layer is '${
        last?.class_name ?? "missing"
      }', expected a Dense output layer`,
    );
  }
  const activation = last.config["activation"];
  if (activation !== "linear" && activation !== "softmax") {
    throw new Error(
      `export: the output layer's activation is '${
        String(activation)
      }', expected 'linear' (logits)`,
    );
  }
  last.config["activation"] = "softmax";
  return copy;
}

/** A folder name for a run: its instance label (`optimizer=sgd,seed=0`), unsafe characters as "_". */
export function runFolder(instanceId: string): string {
  const label = instanceId.replace(/^[^[]*\[/, "").replace(/\]$/, "");
  return label.replace(/[^\w.=+,-]/g, "_") || "run";
}

/** What one export wrote. */
export interface ExportedRun {
  id: string;
  folder: string;
  epochs: number[];
}

/**
 * Writes every checkpoint of one run (the train stage's `checkpoints`
 * output) under `dir/<folder>/epoch-<k>/`, optionally only `epochs`.
 */
export async function exportRun(
  bytes: Uint8Array,
  dir: string,
  loss: string,
  epochs?: number[],
): Promise<number[]> {
  const written: number[] = [];
  for (const checkpoint of readCheckpoints(bytes)) {
    if (epochs && !epochs.includes(checkpoint.epoch)) continue;
    const folder = `${dir}/epoch-${checkpoint.epoch}`;
    await writeFileAtomic(
      `${folder}/model.json`,
      encodeJson(withSoftmaxOutput(checkpoint.modelJson, loss)),
    );
    await writeFileAtomic(`${folder}/weights.bin`, checkpoint.weights);
    written.push(checkpoint.epoch);
  }
  return written;
}

/** The train instances' checkpoints for an experiment, from the cache; names those not cached. */
export async function cachedCheckpoints(
  engine: Engine,
  experiment: string,
  params: Json,
): Promise<
  { runs: Array<{ id: string; hash: string }>; missing: string[] }
> {
  const lines = (await engine.status(experiment, params, ["train"]))
    .filter((l) => l.id === "train" || l.id.startsWith("train["));
  const runs: Array<{ id: string; hash: string }> = [];
  const missing: string[] = [];
  for (const line of lines) {
    const hash = line.fresh ? line.outputs?.["checkpoints"] : undefined;
    if (hash) runs.push({ id: line.id, hash });
    else missing.push(line.id);
  }
  return { runs, missing };
}

export const HELP =
  `deno task export [--experiment NAME] [--set KEY=VALUE]... [--out DIR] [--epochs K,...]

Writes each trained run's checkpoints as tfjs layers models:
DIR/<run id>/epoch-<k>/model.json + weights.bin, and DIR/export.json listing
them. The last layer is the paper's softmax (a Dense layer with activation
softmax), so the model outputs class probabilities; a model trained with the
squared loss keeps its linear output. Only cached runs are exported; the
command trains nothing and names the runs that are not cached.

Options:
  --experiment NAME   experiment file experiments/NAME.json (default: paper)
  --set KEY=VALUE     the variant to export (as given to reproduce)
  --out DIR           default exports/NAME (exports/NAME/VARIANT for a variant);
                      the task may write only under exports/: for another
                      DIR run deno run with --allow-write=DIR (see deno.json)
  --epochs K,...      only these checkpoint epochs (default: all saved)

Load one in tfjs: tf.loadLayersModel("file://DIR/<run id>/epoch-<k>/model.json")
(Node), or measure it: deno task measure --model DIR/<run id>/epoch-<k>/model.json`;

/** The `--epochs K,...` list, or undefined for every saved epoch. */
function parseEpochs(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const epochs = text.split(",").map((t) => Number(t.trim()));
  if (epochs.some((e) => !Number.isInteger(e) || e < 0)) {
    throw new UsageError(
      `--epochs must be a comma list of epoch numbers, got '${text}'`,
    );
  }
  return epochs;
}

/** The export's options; a bad flag is a one-line UsageError. */
function parseExportArgs(args: string[]) {
  try {
    return parseArgs({
      args,
      options: {
        experiment: { type: "string" },
        set: { type: "string", multiple: true },
        out: { type: "string" },
        epochs: { type: "string" },
      },
    }).values;
  } catch (error) {
    throw new UsageError(
      `${(error as Error).message} (see 'deno task export --help')`,
    );
  }
}

/** What `export.json` says the exported models output. */
function outputDescription(loss: string): string {
  return loss === "cross_entropy"
    ? "softmax probabilities (the last Dense layer has activation softmax)"
    : "linear outputs (squared loss: f(x) is compared with the one-hot target)";
}

/** Writes each cached run's checkpoints and `export.json`; a run whose bytes are gone joins `missing`. */
async function writeExport(
  engine: Engine,
  runs: Array<{ id: string; hash: string }>,
  missing: string[],
  options: {
    out: string;
    loss: string;
    epochs: number[] | undefined;
    experiment: string;
    variant: string;
  },
): Promise<ExportedRun[]> {
  const { out, loss, epochs } = options;
  const exported: Array<ExportedRun & { checkpoints: string }> = [];
  for (const run of runs) {
    const bytes = await engine.store.get(run.hash);
    if (!bytes) {
      missing.push(run.id);
      continue;
    }
    const folder = runFolder(run.id);
    const done = await exportRun(bytes, `${out}/${folder}`, loss, epochs);
    exported.push({ id: run.id, folder, epochs: done, checkpoints: run.hash });
    console.log(
      `${out}/${folder}: epoch${done.length === 1 ? "" : "s"} ${
        done.join(", ") || "none"
      }`,
    );
  }
  await writeFileAtomic(
    `${out}/export.json`,
    JSON.stringify(
      {
        experiment: options.experiment,
        variant: options.variant,
        output: outputDescription(loss),
        runs: exported,
      },
      null,
      2,
    ) + "\n",
  );
  return exported;
}

/** A denied write to `out` as a UsageError saying how to allow it; any other error as it is. */
function writeError(error: unknown, out: string): unknown {
  if (
    !(error instanceof Deno.errors.NotCapable) &&
    !(error instanceof Deno.errors.PermissionDenied)
  ) {
    return error;
  }
  return new UsageError(
    `Cannot write to '${out}' (${
      (error as Error).message.split("\n")[0]
    }): the export task may write under exports/ only; for another folder run 'deno run --allow-read=.,/usr/share/datasets,${out} --allow-write=${out} stages/main.ts export --out ${out} ...'`,
  );
}

export const exportCommand: Command = {
  help: HELP,
  async run(def: CliDefinition, args: string[]): Promise<number> {
    const values = parseExportArgs(args);
    const experiment = values.experiment ?? def.defaultExperiment;
    const sets = values.set ?? [];
    const { params, variant } = await loadVariantArg(def, experiment, sets);
    const epochs = parseEpochs(values.epochs);
    const loss = (params as { model?: { loss?: string } }).model?.loss ??
      "cross_entropy";
    const engine = new Engine(def.project, () => {});
    const { runs, missing } = await cachedCheckpoints(
      engine,
      experiment,
      params,
    );
    const again = `deno task reproduce --experiment ${experiment}${
      sets.map((s) => ` --set ${s}`).join("")
    }`;
    if (runs.length === 0) {
      throw new UsageError(
        `No trained run of '${experiment}' is cached (${missing.length} not cached): run '${again}' first`,
      );
    }
    const out = values.out ??
      resultsDir("exports", { experiment, variant, params });
    let exported: ExportedRun[];
    try {
      exported = await writeExport(engine, runs, missing, {
        out,
        loss,
        epochs,
        experiment,
        variant,
      });
    } catch (error) {
      throw writeError(error, out);
    }
    if (missing.length > 0) {
      console.log(
        `Not cached, not exported: ${missing.join(", ")} (run '${again}')`,
      );
    }
    console.log(`Exported ${exported.length} run(s) to ${out}`);
    return 0;
  },
};
