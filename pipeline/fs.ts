/** File helpers shared by the store and the lock: atomic writes and quiet reads. */

let counter = 0;

/**
 * Writes `data` to `path` through a temp file and a rename, so readers see the
 * old or the new content, never a part. The temp file goes in `tempDir` when
 * given (same file system), else beside the target.
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  tempDir?: string,
): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf("/")) || ".";
  await ensureDir(dir);
  if (tempDir) await ensureDir(tempDir);
  const name = path.slice(path.lastIndexOf("/") + 1);
  const temp = `${tempDir ?? dir}/${
    tempDir ? name : path.slice(dir.length + 1)
  }.${Deno.pid}.${counter++}.tmp`;
  try {
    if (typeof data === "string") await Deno.writeTextFile(temp, data);
    else await Deno.writeFile(temp, data);
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

/** The file's bytes, or undefined when it does not exist. */
export async function readFileIfExists(
  path: string,
): Promise<Uint8Array | undefined> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Creates a folder if missing; an existing one needs no write permission on it. */
export async function ensureDir(dir: string): Promise<void> {
  if (!(await exists(dir))) await Deno.mkdir(dir, { recursive: true });
}
