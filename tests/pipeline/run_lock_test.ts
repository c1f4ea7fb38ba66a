import { assert, assertEquals, assertRejects } from "../assert.ts";
import { acquireRunLock } from "../../pipeline/run_lock.ts";
import { hostname } from "node:os";

async function tempLockPath(): Promise<string> {
  return `${await Deno.makeTempDir({ prefix: "ir-runlock-" })}/sub/run.lock`;
}

/** Leaves a lock file at `path` (its folder made) as another process would: `text`, or a holder's JSON. */
async function leaveLock(
  path: string,
  holder: string | { pid: number; host: string; started: number },
): Promise<void> {
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(
    path,
    typeof holder === "string" ? holder : JSON.stringify(holder),
  );
}

/** The PID of a process that has exited (spawned, waited for). */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("deno", {
    args: ["eval", "0"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await child.status;
  return child.pid;
}

/** A clock that advances 1 ms per reading, so a `timeoutMs: 0` wait ends after one look. */
function ticks(start: number): () => number {
  let t = start;
  return () => t++;
}

/** Asserts that acquiring `path` at clock time `now` with `maxAgeMs`, without waiting, is refused with `message`. */
async function assertRefused(
  path: string,
  options: { maxAgeMs: number; now: number },
  message: string,
): Promise<void> {
  await assertRejects(
    () =>
      acquireRunLock(path, {
        say: () => {},
        maxAgeMs: options.maxAgeMs,
        now: ticks(options.now),
        timeoutMs: 0,
      }),
    Error,
    message,
  );
}

Deno.test("acquireRunLock() writes pid, host and start time, and release removes the file", async () => {
  const path = await tempLockPath();
  const release = await acquireRunLock(path, {
    now: () => 1234,
    say: () => {},
  });
  assertEquals(JSON.parse(await Deno.readTextFile(path)), {
    pid: Deno.pid,
    host: hostname(),
    started: 1234,
  });
  await release();
  await assertRejects(() => Deno.stat(path), Deno.errors.NotFound);
  const again = await acquireRunLock(path, { say: () => {} });
  await again();
});

Deno.test("a lock whose process has exited is cleared with a message naming its pid", async () => {
  const path = await tempLockPath();
  const pid = await deadPid();
  await leaveLock(path, { pid, host: hostname(), started: Date.now() });
  const said: string[] = [];
  const release = await acquireRunLock(path, {
    say: (m) => said.push(m),
    timeoutMs: 0,
    pollMs: 1,
  });
  assertEquals(said, [
    `Cleared a stale run lock ${path} (process ${pid} no longer holds it)`,
  ]);
  assertEquals(JSON.parse(await Deno.readTextFile(path)).pid, Deno.pid);
  await release();
});

Deno.test("a live lock makes a second acquirer wait, and with timeoutMs it throws naming the pid", async () => {
  const path = await tempLockPath();
  const release = await acquireRunLock(path, { say: () => {} });
  const said: string[] = [];
  let clock = 0;
  const error = await assertRejects(
    () =>
      acquireRunLock(path, {
        say: (m) => said.push(m),
        timeoutMs: 1000,
        pollMs: 1,
        now: () => (clock += 400),
      }),
    Error,
    `Another run (pid ${Deno.pid}) still holds ${path} after 1000 ms`,
  );
  assert(!error.message.includes("\n"));
  assertEquals(said.length, 1, "the wait is announced once");
  assert(
    said[0]!.startsWith(
      `Waiting for another run of this project (pid ${Deno.pid} on ${hostname()}`,
    ),
    said[0],
  );
  // The holder's lock is untouched and it can still release it.
  assertEquals(JSON.parse(await Deno.readTextFile(path)).pid, Deno.pid);
  await release();
  await assertRejects(() => Deno.stat(path), Deno.errors.NotFound);
});

Deno.test("a waiting acquirer gets the lock once the holder releases it", async () => {
  const path = await tempLockPath();
  const release = await acquireRunLock(path, { say: () => {} });
  const order: string[] = [];
  const second = acquireRunLock(path, {
    say: (m) => order.push(m.split(" (")[0]!),
    pollMs: 5,
  }).then((r) => {
    order.push("acquired");
    return r;
  });
  await new Promise((r) => setTimeout(r, 50));
  order.push("released");
  await release();
  const releaseSecond = await second;
  assertEquals(order, [
    "Waiting for another run of this project",
    "released",
    "acquired",
  ]);
  await releaseSecond();
});

Deno.test("a held lock older than maxAgeMs is cleared with a message, and its old holder's release leaves the new lock", async () => {
  const path = await tempLockPath();
  const releaseOld = await acquireRunLock(path, {
    say: () => {},
    now: () => 0,
  });
  const said: string[] = [];
  const releaseNew = await acquireRunLock(path, {
    say: (m) => said.push(m),
    maxAgeMs: 60_000,
    now: () => 61_000,
    timeoutMs: 0,
  });
  assertEquals(said, [
    `Cleared a stale run lock ${path} (it is older than 1m00s)`,
  ]);
  await releaseOld();
  assertEquals(
    JSON.parse(await Deno.readTextFile(path)).started,
    61_000,
    "the new holder's lock survives",
  );
  await releaseNew();
  await assertRejects(() => Deno.stat(path), Deno.errors.NotFound);
});

Deno.test("a held lock younger than maxAgeMs is not cleared", async () => {
  const path = await tempLockPath();
  const release = await acquireRunLock(path, { say: () => {}, now: () => 0 });
  await assertRefused(path, { maxAgeMs: 60_000, now: 59_000 }, "still holds");
  await release();
});

Deno.test("an unreadable lock file nobody holds is cleared once it is old; a fresh one is waited on", async () => {
  const path = await tempLockPath();
  await leaveLock(path, "{not json");
  const said: string[] = [];
  const release = await acquireRunLock(path, {
    say: (m) => said.push(m),
    now: () => Date.now() + 60_000,
  });
  assertEquals(said, [`Cleared a stale run lock ${path} (it is unreadable)`]);
  await release();
});

Deno.test("a lock from another host is cleared only by age, never by its pid", async () => {
  const path = await tempLockPath();
  const pid = await deadPid();
  await leaveLock(path, { pid, host: "elsewhere.invalid", started: 0 });
  await assertRefused(
    path,
    { maxAgeMs: 10_000, now: 5_000 },
    `Another run (pid ${pid})`,
  );
  const said: string[] = [];
  const release = await acquireRunLock(path, {
    say: (m) => said.push(m),
    maxAgeMs: 10_000,
    now: () => 20_000,
  });
  assertEquals(said, [
    `Cleared a stale run lock ${path} (it is older than 10s)`,
  ]);
  await release();
});

Deno.test("acquireRunLock() accepts a bare file name in the working directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ir-runlock-" });
  const cwd = Deno.cwd();
  Deno.chdir(dir);
  try {
    const release = await acquireRunLock("run.lock", { say: () => {} });
    assertEquals(
      JSON.parse(await Deno.readTextFile(`${dir}/run.lock`)).pid,
      Deno.pid,
    );
    await release();
    assertEquals(
      [...Deno.readDirSync(dir)].length,
      0,
      "no stray folder made from the file name",
    );
  } finally {
    Deno.chdir(cwd);
  }
});
