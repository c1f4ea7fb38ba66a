/**
 * Run provenance for files written out of the cache: each instance's wall
 * time, end, host and timings, read back from the run cache by key. These
 * never enter an output's bytes (outputs hold results only, so their hashes
 * confirm a reproduction); a stage's `stamp` adds them to the written copy.
 */
import type { RunContext, RunProvenance, RunRecord, Stage } from "./stage.ts";
import type { Store } from "./store.ts";

/** An instance as the CLI knows it after a run or a status walk. */
export interface KeyedInstance {
  id: string;
  key?: string;
}

/** The run cache's record of an instance; seconds NaN when the cache has none. */
export async function runRecord(
  store: Store,
  instance: KeyedInstance,
): Promise<RunRecord> {
  const key = instance.key ?? "";
  const run = key ? await store.getRun(key) : undefined;
  return {
    id: instance.id,
    key,
    seconds: run?.seconds ?? NaN,
    ...(run?.finished === undefined ? {} : { finished: run.finished }),
    ...(run?.host === undefined ? {} : { host: run.host }),
    ...(run?.timings === undefined ? {} : { timings: run.timings }),
  };
}

/** The run records of an instance and of its lineage (post-order). */
export async function runProvenance(
  store: Store,
  instance: KeyedInstance,
  lineage: KeyedInstance[],
  extra: Pick<RunProvenance, "context" | "live"> = {},
): Promise<RunProvenance> {
  const records: RunRecord[] = [];
  for (const u of lineage) records.push(await runRecord(store, u));
  return {
    instance: await runRecord(store, instance),
    lineage: records,
    ...extra,
  };
}

/** The bytes to write for a stage's output file: stamped when the stage stamps. */
export async function fileBytes(
  stage: Stage,
  output: string,
  bytes: Uint8Array,
  provenance: () => Promise<RunProvenance>,
): Promise<Uint8Array> {
  return stage.stamp ? stage.stamp(output, bytes, await provenance()) : bytes;
}

/**
 * The commit (and whether the work tree differs from it), the date and the
 * command line, for the written copy of a file only: they differ between
 * identical runs, so no output's bytes hold them. Git is asked only when
 * the process may run it (`--allow-run=git`), so nothing prompts; without
 * git, a repository or the permission the commit is "unknown".
 */
export async function runContext(
  command: string,
  cwd: string,
  now: () => Date = () => new Date(),
): Promise<RunContext> {
  const date = now().toISOString();
  const git = async (args: string[]): Promise<string | undefined> => {
    try {
      const out = await new Deno.Command("git", {
        args,
        cwd,
        stdout: "piped",
        stderr: "null",
      }).output();
      return out.success ? new TextDecoder().decode(out.stdout) : undefined;
    } catch {
      return undefined;
    }
  };
  const allowed =
    Deno.permissions.querySync({ name: "run", command: "git" }).state ===
      "granted";
  const head = allowed ? (await git(["rev-parse", "HEAD"]))?.trim() : undefined;
  if (!head) return { commit: "unknown", date, command };
  // Untracked files (e.g. results, the cache) do not make a tree dirty.
  const changes = await git(["status", "--porcelain", "--untracked-files=no"]);
  return {
    commit: head,
    ...(changes === undefined ? {} : { dirty: changes.trim() !== "" }),
    date,
    command,
  };
}

/** The command line of this process as a user types it: `deno task ARGS…`. */
export function commandLine(args: string[] = Deno.args): string {
  return ["deno task", ...args.map(shellWord)].join(" ");
}

/** A word quoted for a POSIX shell when it needs quoting. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word)
    ? word
    : `'${word.replaceAll("'", `'\\''`)}'`;
}
