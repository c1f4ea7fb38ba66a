/**
 * Deno checks write permission on the path as written, so a symlink inside a
 * granted folder (`data/link → /tmp/x`) would let a write land outside it.
 * The project's writes resolve real paths first and refuse such a path,
 * naming it: the store, the lock, result files, scratch folders, publish.
 */
import { assert, assertEquals } from "../assert.ts";
import {
  checkWritePath,
  ensureDir,
  writeFileAtomic,
  WriteOutsideError,
} from "../../pipeline/fs.ts";
import {
  denoRun,
  exists,
  removeScratch,
  ROOT,
  scratchCacheDir,
  taskFlags,
} from "./_tasks.ts";

/** Makes `link` a symlink to `target` (Deno.symlink needs full permissions; the test may run bash). */
async function symlink(target: string, link: string): Promise<void> {
  const out = await new Deno.Command("bash", {
    args: ["-c", 'ln -s "$0" "$1"', target, link],
    cwd: ROOT,
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
}

/** Removes a link made by symlink() (the test may not write data/; bash may). */
async function unlink(link: string): Promise<void> {
  const out = await new Deno.Command("bash", {
    args: ["-c", 'rm -f -- "$0"', link],
    cwd: ROOT,
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  assertEquals(exists(`${ROOT}/${link}`), false, `${link} removed`);
}

/** The error `fn` throws or rejects with. */
async function failure(fn: () => unknown): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("nothing was thrown");
}

/** Runs a bash line (the test may run bash, which may write where the test may not) and returns its stdout. */
async function sh(line: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("bash", {
    args: ["-c", line, ...args],
    cwd: ROOT,
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("checkWritePath() refuses a path a symlink leads out of its granted folder, naming it; writeFileAtomic and ensureDir write nothing there", async () => {
  // The test may write /tmp and .cache. The link leads from .cache to a folder
  // under /var/tmp, outside both wherever the checkout is (even under /tmp).
  const cache = scratchCacheDir();
  const outside = await sh("mktemp -d /var/tmp/ir-outside-XXXXXX");
  // The topmost folder this task may write that holds the link's path.
  const granted = ROOT.startsWith("/tmp/") ? "/tmp" : `${ROOT}/.cache`;
  try {
    await Deno.mkdir(`${ROOT}/${cache}`, { recursive: true });
    await symlink(outside, `${cache}/link`);
    const path = `${cache}/link/pwn.txt`;
    const error = await failure(() => checkWritePath(path));
    assert(error instanceof WriteOutsideError, String(error));
    assertEquals(
      error.message,
      `Refusing to write '${path}': a symlink leads it to '${outside}/pwn.txt', outside '${granted}' (where this task may write)`,
    );
    const write = await failure(() => writeFileAtomic(path, "x"));
    assertEquals(write.message, error.message);
    const dir = await failure(() => ensureDir(`${cache}/link/sub`));
    assert(dir instanceof WriteOutsideError, String(dir));
    assertEquals(
      await sh('ls -A "$0"', outside),
      "",
      "nothing written outside",
    );
    // Inside the granted folder all is as before, links included.
    await Deno.mkdir(`${ROOT}/${cache}/real`);
    await symlink(`${ROOT}/${cache}/real`, `${cache}/inner`);
    await writeFileAtomic(`${cache}/inner/ok.txt`, "ok");
    assertEquals(Deno.readTextFileSync(`${ROOT}/${cache}/real/ok.txt`), "ok");
    const tmp = await Deno.makeTempDir({ prefix: "ir-direct-" });
    await writeFileAtomic(`${tmp}/direct.txt`, "ok"); // /tmp itself is granted here
    await Deno.remove(tmp, { recursive: true });
    const none = await failure(() => checkWritePath("/etc/ir-x.ts"));
    assertEquals(
      none.message,
      "Cannot write '/etc/ir-x.ts': this task has no write permission there",
    );
  } finally {
    await removeScratch(cache);
    await sh('rm -rf -- "$0"', outside);
  }
});

/** Runs the escape pipeline under the reproduce task's flags. */
function reproduce(
  cache: string,
  action: string,
  target: string,
  heavy = false,
) {
  return denoRun(
    taskFlags("reproduce"),
    "tests/hardening/fixtures/escape_pipeline.ts",
    [cache, action, target, ...(heavy ? ["heavy"] : [])],
  );
}

for (const heavy of [false, true]) {
  Deno.test(`data/link → /tmp/x does not let a ${heavy ? "Worker " : ""}stage write /tmp/x/pwn.txt under reproduce's flags; the error names the path`, async () => {
    const id = crypto.randomUUID().slice(0, 8);
    const cache = scratchCacheDir();
    const outside = await Deno.makeTempDir({ prefix: "ir-outside-" });
    const link = `data/test-link-${id}`;
    try {
      await symlink(outside, link);
      const ran = await reproduce(cache, "save", `${link}/pwn.txt`, heavy);
      assertEquals(ran.code, 1, ran.stderr);
      const stage = heavy ? "escape_heavy" : "escape";
      assert(
        ran.stderr.includes(
          `${stage}: Refusing to write '${link}/pwn.txt': a symlink leads it to '${outside}/pwn.txt', outside '${ROOT}/data'`,
        ),
        ran.stderr,
      );
      assertEquals(exists(`${outside}/pwn.txt`), false);
      assertEquals([...Deno.readDirSync(outside)], []);
    } finally {
      await unlink(link);
      await removeScratch(cache);
      await Deno.remove(outside, { recursive: true });
    }
  });
}

Deno.test("a symlinked objects folder does not lead the store's writes out of .cache", async () => {
  const cache = scratchCacheDir();
  const outside = await Deno.makeTempDir({ prefix: "ir-outside-" });
  try {
    await Deno.mkdir(`${ROOT}/${cache}`, { recursive: true });
    await symlink(outside, `${cache}/objects`);
    const ran = await reproduce(cache, "write", `${cache}/inside.txt`);
    assertEquals(ran.code, 1, ran.stderr);
    assert(
      ran.stderr.includes(`escape: Refusing to write '${cache}/objects/`),
      ran.stderr,
    );
    assertEquals([...Deno.readDirSync(outside)], [], "no object outside");
    assertEquals(exists(`${ROOT}/${cache}/runs`), false, "no run entry");
  } finally {
    await removeScratch(cache);
    await Deno.remove(outside, { recursive: true });
  }
});
