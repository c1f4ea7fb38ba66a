/**
 * File helpers shared by the store, the lock and the command line: atomic
 * writes and quiet reads, and a check that a write stays inside the folder
 * this process was granted (Deno checks permissions on the path as written,
 * so a symlink inside a granted folder would otherwise lead out of it).
 */

let counter = 0;

/** A write that would leave the folder it was granted through. */
export class WriteOutsideError extends Error {
  override name = "WriteOutsideError";
}

/** `path` made absolute against the working folder and normalized (`.`, `..`, `//`). */
export function absolutePath(path: string): string {
  const parts: string[] = [];
  const full = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  for (const part of full.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/** The parent folder of an absolute path (`/` for `/x`). */
function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}

/** Where `path` really leads: its longest existing prefix with symlinks resolved, plus the rest. */
function realTarget(path: string): string {
  let existing = path;
  const rest: string[] = [];
  for (;;) {
    try {
      Deno.lstatSync(existing);
      break;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound) || existing === "/") {
        throw error;
      }
      rest.unshift(existing.slice(existing.lastIndexOf("/") + 1));
      existing = parentOf(existing);
    }
  }
  const real = Deno.realPathSync(existing);
  return rest.length ? `${real.replace(/\/$/, "")}/${rest.join("/")}` : real;
}

const granted = (path: string) =>
  Deno.permissions.querySync({ name: "write", path }).state === "granted";

/**
 * Throws unless writing `path` (a file, or a folder to create) lands inside
 * the real location of the folder whose write permission covers it: the
 * topmost granted folder on its path. `data/link/x` with `data/link → /tmp`
 * is refused; `.cache` itself being a symlink (a shared cache) is not.
 */
export function checkWritePath(path: string): void {
  const target = absolutePath(path);
  if (!granted(target)) {
    throw new WriteOutsideError(
      `Cannot write '${path}': this task has no write permission there`,
    );
  }
  let root = target;
  while (root !== "/" && granted(parentOf(root))) root = parentOf(root);
  let real: string;
  let realRoot: string;
  try {
    real = realTarget(target);
    realRoot = realTarget(root);
  } catch (error) {
    throw new WriteOutsideError(
      `Cannot write '${path}': cannot resolve where it leads (${
        (error as Error).message
      })`,
    );
  }
  const inside = realRoot === "/" || real === realRoot ||
    real.startsWith(`${realRoot}/`);
  if (!inside) {
    throw new WriteOutsideError(
      `Refusing to write '${path}': a symlink leads it to '${real}', outside '${root}' (where this task may write)`,
    );
  }
}

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
  checkWritePath(path);
  const name = path.slice(path.lastIndexOf("/") + 1);
  const temp = `${tempDir ?? dir}/${
    tempDir ? name : path.slice(dir.length + 1)
  }.${Deno.pid}.${counter++}.tmp`;
  checkWritePath(temp);
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

/**
 * Creates a folder if missing (refusing one a symlink would put outside its
 * granted folder); an existing one needs no write permission on it.
 */
export async function ensureDir(dir: string): Promise<void> {
  if (await exists(dir)) return;
  checkWritePath(dir);
  await Deno.mkdir(dir, { recursive: true });
}
