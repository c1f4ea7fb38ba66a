/**
 * Least privilege: every deno task names what it may touch, and a stage that
 * reaches past the reproduce task's permissions fails as that stage's error
 * (in the engine's thread or in a Worker), leaving nothing behind.
 */
import { assert, assertEquals } from "../assert.ts";
import {
  denoRun,
  exists,
  permissionFlags,
  readTasks,
  removeScratch,
  ROOT,
  scratchCacheDir,
  taskFlags,
} from "./_tasks.ts";

/** Flags that may appear without a list, because they grant nothing broad. */
const BARE_OK = new Set<string>([]);

/** Problems with one task's permission flags: broad grants and writes into the project's source. */
export function flagProblems(command: string): string[] {
  const problems: string[] = [];
  for (const flag of permissionFlags(command)) {
    if (flag.startsWith("--deny-")) continue;
    if (flag === "-A" || flag === "--allow-all") {
      problems.push(`${flag} grants everything`);
      continue;
    }
    const eq = flag.indexOf("=");
    if (eq < 0) {
      if (!BARE_OK.has(flag)) problems.push(`${flag} has no list`);
      continue;
    }
    const name = flag.slice(0, eq);
    const list = flag.slice(eq + 1).split(",");
    if (list.some((e) => e.trim() === "")) {
      problems.push(`${flag} has an empty entry`);
    }
    if (list.some((e) => e === "/" || e === "~" || e === "*")) {
      problems.push(`${flag} grants a whole tree`);
    }
    if (name === "--allow-write") {
      for (const entry of list) {
        const top = entry.replace(/^\.\//, "").split("/")[0];
        if (
          entry === "." ||
          [
            "stages",
            "pipeline",
            "experiments",
            "tests",
            "deno.json",
            "deno.lock",
          ].includes(top!)
        ) {
          problems.push(`${flag} can write the project's source (${entry})`);
        }
      }
    }
  }
  return problems;
}

Deno.test("flagProblems() flags -A, --allow-all, bare grants and source writes; accepts scoped lists", () => {
  assertEquals(flagProblems("deno run -A x.ts"), ["-A grants everything"]);
  assertEquals(flagProblems("deno run --allow-all x.ts"), [
    "--allow-all grants everything",
  ]);
  assertEquals(
    flagProblems("deno run --allow-write --allow-run --allow-net x.ts"),
    [
      "--allow-write has no list",
      "--allow-run has no list",
      "--allow-net has no list",
    ],
  );
  assertEquals(flagProblems("deno run --allow-read --allow-env x.ts"), [
    "--allow-read has no list",
    "--allow-env has no list",
  ]);
  assertEquals(flagProblems("deno run --allow-write=.cache,stages/x x.ts"), [
    "--allow-write=.cache,stages/x can write the project's source (stages/x)",
  ]);
  assertEquals(flagProblems("deno run --allow-read=/ x.ts"), [
    "--allow-read=/ grants a whole tree",
  ]);
  assertEquals(
    flagProblems(
      "deno run --allow-read=.,/tmp --allow-write=.cache --allow-net=a.com x.ts",
    ),
    [],
  );
});

Deno.test("every deno task scopes its permissions: no -A, no bare --allow-*, no writes into the source", () => {
  const tasks = readTasks();
  assert(Object.keys(tasks).length >= 5, "deno.json lists the project's tasks");
  const problems = Object.entries(tasks).flatMap(([name, command]) =>
    flagProblems(command).map((p) => `${name}: ${p}`)
  );
  assertEquals(problems, []);
});

Deno.test("the reproduce and report tasks may not write outside .cache, data, reports/out and the lock file, nor run anything but git (the commit in the provenance) and Slurm's commands", () => {
  for (const task of ["reproduce", "report"]) {
    const writes = taskFlags(task).filter((f) => f.startsWith("--allow-write="))
      .flatMap((f) => f.split("=")[1]!.split(","));
    assertEquals(writes.sort(), [
      ".cache",
      "data",
      "implicit-reg.lock",
      "reports/out",
    ], task);
    // Subprocesses only for the commit stamped into the written report and
    // the Slurm executor; no environment variables.
    assertEquals(
      taskFlags(task).filter((f) => f.startsWith("--allow-run")),
      ["--allow-run=git,sbatch,squeue,scancel"],
      task,
    );
    assertEquals(
      taskFlags(task).some((f) => f.startsWith("--allow-env")),
      false,
      task,
    );
  }
});

/** Runs the escape pipeline under the reproduce task's flags with a fresh cache under .cache. */
async function escape(action: string, target: string, heavy: boolean) {
  const cache = scratchCacheDir();
  try {
    const args = [cache, action, target, ...(heavy ? ["heavy"] : [])];
    const ran = await denoRun(
      taskFlags("reproduce"),
      "tests/hardening/fixtures/escape_pipeline.ts",
      args,
    );
    const runs = exists(`${ROOT}/${cache}/runs`);
    return { ...ran, cacheHasRuns: runs };
  } finally {
    await removeScratch(cache);
  }
}

const CASES: Array<{ action: string; target: () => string; error: string }> = [
  {
    action: "write",
    target: () => `/tmp/outside-${crypto.randomUUID().slice(0, 8)}`,
    error: "Requires write access",
  },
  {
    action: "write",
    target: () => `../outside-${crypto.randomUUID().slice(0, 8)}`,
    error: "Requires write access",
  },
  {
    action: "write",
    target: () => `stages/outside-${crypto.randomUUID().slice(0, 8)}.ts`,
    error: "Requires write access",
  },
  {
    action: "read",
    target: () => "/etc/passwd",
    error: "Requires read access",
  },
  {
    action: "net",
    target: () => "http://127.0.0.1:8123/",
    error: "Requires net access",
  },
  { action: "env", target: () => "HOME", error: "Requires env access" },
  { action: "run", target: () => "sh", error: "Requires run access" },
];

for (const heavy of [false, true]) {
  const stage = heavy ? "escape_heavy" : "escape";
  for (const { action, target, error } of CASES) {
    const path = target();
    Deno.test(`reproduce's flags refuse a ${heavy ? "Worker " : ""}stage that tries to ${action} ${path.replace(/-[0-9a-f]{8}/, "-<random>")}`, async () => {
      const ran = await escape(action, path, heavy);
      assertEquals(ran.code, 1, `exit code (stderr: ${ran.stderr})`);
      const failure = ran.stderr.split("\n").find((l) =>
        l.trim().startsWith(`${stage}:`)
      );
      assert(failure !== undefined, `stderr names the stage: ${ran.stderr}`);
      assert(
        failure.includes(error),
        `the stage's failure is the permission error: ${failure}`,
      );
      assert(
        ran.stderr.startsWith("1 stage instance(s) failed"),
        `one summary error: ${ran.stderr}`,
      );
      assertEquals(
        ran.cacheHasRuns,
        false,
        "no run entry for the failed stage",
      );
      if (action === "write") {
        const absolute = path.startsWith("/") ? path : `${ROOT}/${path}`;
        assertEquals(exists(absolute), false, `${absolute} must not exist`);
      }
    });
  }
}

Deno.test("the escape pipeline succeeds when its stage writes inside .cache (the failures above are the permissions)", async () => {
  const cache = scratchCacheDir();
  try {
    const ran = await denoRun(
      taskFlags("reproduce"),
      "tests/hardening/fixtures/escape_pipeline.ts",
      [cache, "write", `${cache}/inside.txt`],
    );
    assertEquals(ran.code, 0, ran.stderr);
    assertEquals(
      Deno.readTextFileSync(`${ROOT}/${cache}/inside.txt`),
      "escaped",
    );
    assert(ran.stdout.includes("1 instance(s) ran, 0 cached"), ran.stdout);
  } finally {
    await removeScratch(cache);
  }
});
