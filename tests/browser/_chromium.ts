/** Test helpers for the real-browser tests: finding headless Chromium, running it on a page, and reading its console. */
import { assert } from "../assert.ts";

/**
 * "chromium" if it runs (`deno task test` allows running it by that name
 * only, and reads neither PATH nor /usr/bin), else undefined.
 */
async function findChromium(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("chromium", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success ? "chromium" : undefined;
  } catch (err) {
    if (
      err instanceof Deno.errors.NotFound ||
      err instanceof Deno.errors.NotCapable
    ) {
      return undefined;
    }
    throw err;
  }
}

/** "chromium" when it runs here, else undefined (see findChromium). */
export const chromium = await findChromium();

/** Runs headless Chromium on a file with the flags that keep it offline and quiet. */
export async function runChromium(
  extra: string[],
  url: string,
): Promise<{ stdout: string; stderr: string }> {
  const profile = await Deno.makeTempDir({ prefix: "chromium_profile_" });
  try {
    const out = await new Deno.Command("chromium", {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        `--user-data-dir=${profile}`,
        "--virtual-time-budget=5000",
        "--enable-logging=stderr",
        "--v=0",
        ...extra,
        url,
      ],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(120_000),
    }).output();
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    assert(
      out.success,
      `chromium exited with ${out.code}: ${decode(out.stderr).slice(-2000)}`,
    );
    return { stdout: decode(out.stdout), stderr: decode(out.stderr) };
  } finally {
    await removeProfile(profile);
  }
}

/**
 * Removes a Chromium profile folder. A helper process of a Chromium that has
 * just exited can still be writing into it ("Directory not empty"), so the
 * removal is retried for a few seconds before it fails.
 */
export async function removeProfile(profile: string): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      await Deno.remove(profile, { recursive: true });
      return;
    } catch (err) {
      const busy = err instanceof Error && /not empty/i.test(err.message);
      if (!busy || attempt >= 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** The page's console messages as Chromium logs them (any level). */
export function consoleLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) =>
    /:CONSOLE[:(]/.test(l) || /Uncaught/.test(l)
  );
}

/** A test that runs where Chromium runs (ignored elsewhere), given a temp folder it removes afterwards. */
export function chromiumTest(
  name: string,
  fn: (dir: string) => Promise<void>,
): void {
  Deno.test({
    name,
    ignore: chromium === undefined,
    sanitizeResources: false,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: "chromium_test_" });
      try {
        await fn(dir);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
