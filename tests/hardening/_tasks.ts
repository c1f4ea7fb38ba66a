/** Test helpers: the project's deno tasks and their permission flags, and spawning `deno run` with them. */

/** The project root (where deno.json is); child processes run here so relative permission paths resolve. */
export const ROOT = new URL("../..", import.meta.url).pathname.replace(
  /\/$/,
  "",
);

/** Task name → command line, from deno.json. */
export function readTasks(): Record<string, string> {
  const config = JSON.parse(Deno.readTextFileSync(`${ROOT}/deno.json`)) as {
    tasks?: Record<string, string>;
  };
  return config.tasks ?? {};
}

/** The permission flags (`-A`, `--allow-*`, `--deny-*`) of a task's command line, in order. */
export function permissionFlags(command: string): string[] {
  return command.split(/\s+/).filter((t) =>
    t === "-A" || /^--(allow|deny)-/.test(t)
  );
}

/** The flags of one task; throws if deno.json has no such task. */
export function taskFlags(task: string): string[] {
  const command = readTasks()[task];
  if (command === undefined) throw new Error(`deno.json has no task '${task}'`);
  return permissionFlags(command);
}

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `deno run FLAGS SCRIPT ARGS` from the project root. Spawned by name:
 * the test task may run `deno` (Deno.execPath() resolves to a path it may not).
 */
export async function denoRun(
  flags: string[],
  script: string,
  args: string[],
): Promise<Ran> {
  const out = await new Deno.Command("deno", {
    args: ["run", "--quiet", ...flags, script, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder();
  return {
    code: out.code,
    stdout: text.decode(out.stdout),
    stderr: text.decode(out.stderr),
  };
}

/** A fresh name under the project's `.cache` (writable by the reproduce task), relative to ROOT. */
export function scratchCacheDir(): string {
  return `.cache/test-hardening-${crypto.randomUUID().slice(0, 8)}`;
}

/** Removes a scratch cache folder made by scratchCacheDir(). */
export async function removeScratch(relative: string): Promise<void> {
  await Deno.remove(`${ROOT}/${relative}`, { recursive: true }).catch(() => {});
}

/** Runs `fn` with a fresh scratch cache (its name relative to ROOT, and its full path), then removes it whatever happened. */
export async function withScratchCache(
  fn: (cache: string, dir: string) => Promise<void>,
): Promise<void> {
  const cache = scratchCacheDir();
  try {
    await fn(cache, `${ROOT}/${cache}`);
  } finally {
    await removeScratch(cache);
  }
}

/** True when the path exists. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
