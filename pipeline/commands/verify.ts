/**
 * `deno task verify NAME`: checks a published result (publish_result.ts)
 * against this machine, in one command.
 * 1. Whatever of the experiment is not cached here is computed (as
 *    `reproduce` would): on a fresh clone that reruns every instance.
 * 2. Every instance's output hashes in the cache are compared with the
 *    published lock entries; an instance the published run did not have, or
 *    one it had that no longer exists, is a difference too.
 * 3. If some instances were already cached before step 1 (results of an
 *    earlier run on this machine, perhaps the very run that was published),
 *    `reproduce --check` reruns them all from their cached inputs and compares
 *    with the cache (check.ts), so what is compared was recomputed here.
 * Exit 0 only when every output equals the published one and every rerun its
 * cached output. A changed key (code, params or versions differ from the
 * published commit's) is named beside a difference: check out the published
 * commit to verify it exactly.
 */
import { parseArgs } from "node:util";
import type { CliDefinition, Command } from "../cli.ts";
import { checkReproduction, describeCheck } from "../check.ts";
import { Engine } from "../engine.ts";
import { createReporter } from "../progress.ts";
import { acquireRunLock } from "../run_lock.ts";
import { UsageError } from "../usage_error.ts";
import type { Json } from "../stage.ts";
import {
  LOCK_FILE,
  PROVENANCE_FILE,
  type PublishedLock,
  type PublishedProvenance,
} from "./publish_result.ts";
import type { StatusLine } from "../engine.ts";

/** One instance's comparison with its published lock entry. */
export interface PublishedDifference {
  id: string;
  problem: string;
}

/** Compares the instances' cached outputs (status lines) with the published entries. */
export function compareWithPublished(
  lines: StatusLine[],
  published: PublishedLock,
): PublishedDifference[] {
  const out: PublishedDifference[] = [];
  const now = new Map(lines.map((l) => [l.id, l]));
  for (const [id, entry] of Object.entries(published.entries)) {
    const line = now.get(id);
    if (!line) {
      out.push({ id, problem: "published, but no longer in the experiment" });
      continue;
    }
    if (!line.outputs) {
      out.push({ id, problem: "not computed here" });
      continue;
    }
    const keyNote = line.key === entry.key
      ? ""
      : " (its key changed since publication: code, params or versions differ from the published commit's)";
    for (const [output, hash] of Object.entries(entry.outputs)) {
      const mine = line.outputs[output];
      if (mine !== hash) {
        out.push({
          id,
          problem: `output '${output}' was published as ${
            hash.slice(0, 12)
          }, here it is ${mine?.slice(0, 12) ?? "missing"}${keyNote}`,
        });
      }
    }
  }
  for (const line of lines) {
    if (!(line.id in published.entries)) {
      out.push({
        id: line.id,
        problem: "in the experiment, but not published",
      });
    }
  }
  return out;
}

/** The command, reading published results from `dir`. */
export function verifyCommand(options: { dir: string }): Command {
  return {
    help: `deno task verify NAME

Checks the published result ${options.dir}/NAME/ on this machine: computes
what is not cached yet, compares every instance's output hashes with the
published lock entries (${LOCK_FILE}), then reruns the instances that were
already cached ('reproduce --check') and compares again. Exit 0 when all match.`,
    async run(def: CliDefinition, args: string[]): Promise<number> {
      const { positionals } = parseArgs({ args, allowPositionals: true });
      const name = positionals[0];
      if (positionals.length !== 1 || !name) {
        throw new UsageError(
          "verify takes one experiment name, e.g. 'deno task verify momentum'",
        );
      }
      const published = await readPublishedLock(options.dir, name);
      if (!def.experiments().includes(name)) {
        throw new UsageError(`Unknown experiment '${name}'`);
      }
      // A result published from a --set variant is rerun with the same overrides.
      const sets = await readPublishedSets(options.dir, name);
      if (sets.length > 0) {
        console.log(
          `Published with ${sets.map((s) => `--set ${s}`).join(" ")}`,
        );
      }
      const params = await def.loadExperiment(name, sets);
      const engine = new Engine(def.project);
      const before = await engine.status(name, params);
      const cachedBefore = before.filter((l) => l.fresh).length;
      if (cachedBefore < before.length) {
        console.log(
          `Computing ${
            before.length - cachedBefore
          } instance(s) not cached here…`,
        );
        await reproduceUnderLock(def, engine, name, params);
      }
      const ok = await compareAndRecheck(
        engine,
        name,
        params,
        published,
        cachedBefore,
      );
      console.log(
        ok
          ? `Verified: '${name}' reproduces its published result`
          : `Not verified: '${name}' differs from its published result`,
      );
      return ok ? 0 : 1;
    },
  };
}

/** The published lock entries of `name`; a one-line usage error when there are none. */
async function readPublishedLock(
  dir: string,
  name: string,
): Promise<PublishedLock> {
  const path = `${dir}/${name}/${LOCK_FILE}`;
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new UsageError(
      `No published result to verify at ${path} (${
        (e as Error).message.split("\n")[0]
      }): publish it with 'deno task publish-result ${name}'`,
    );
  }
}

/** The --set overrides the result was published with (none without a provenance file). */
async function readPublishedSets(dir: string, name: string): Promise<string[]> {
  try {
    const provenance = JSON.parse(
      await Deno.readTextFile(`${dir}/${name}/${PROVENANCE_FILE}`),
    ) as Partial<PublishedProvenance>;
    return Array.isArray(provenance.sets) ? provenance.sets : [];
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    return [];
  }
}

/** Runs the experiment holding the project's run lock, with progress on stdout. */
async function reproduceUnderLock(
  def: CliDefinition,
  engine: Engine,
  name: string,
  params: Json,
): Promise<void> {
  const encoder = new TextEncoder();
  const reporter = createReporter(
    (text) => Deno.stdout.writeSync(encoder.encode(text)),
    Deno.stdout.isTerminal(),
  );
  const release = await acquireRunLock(
    `${def.project.cacheDir}/run.lock`,
    { say: (m) => reporter.line(m) },
  );
  try {
    await engine.reproduce({ experiment: name, params, reporter });
  } finally {
    await release();
  }
}

/**
 * Compares every instance's output hashes with the published lock entries,
 * then reruns what was cached before (reproduce --check); true when all match.
 */
async function compareAndRecheck(
  engine: Engine,
  name: string,
  params: Json,
  published: PublishedLock,
  cachedBefore: number,
): Promise<boolean> {
  const after = await engine.status(name, params);
  const differences = compareWithPublished(after, published);
  for (const d of differences) {
    console.log(`DIFFERS     ${d.id}: ${d.problem}`);
  }
  let ok = differences.length === 0;
  console.log(
    ok
      ? `All ${after.length} instance(s) have the published output hashes`
      : `${differences.length} difference(s) with the published lock entries`,
  );
  if (cachedBefore > 0) {
    console.log(
      `${cachedBefore} instance(s) were cached before: rerunning every instance to compare (reproduce --check)…`,
    );
    const results = await checkReproduction(engine, { params });
    const { lines, ok: same } = describeCheck(results);
    for (const line of lines) console.log(line);
    ok &&= same;
  }
  return ok;
}
