/**
 * The Slurm executor's pure parts (squeue parsing, sbatch arguments, retry
 * policy, log events) and its behaviour against a fake cluster: a command
 * runner that answers sbatch/squeue/scancel from a table the test drives.
 */
import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
} from "../assert.ts";
import {
  expandJobId,
  parseSqueue,
  phaseOf,
  squeueArgs,
} from "../../pipeline/slurm/squeue.ts";
import {
  batchScript,
  jobPermissions,
  parseResources,
  parseSbatchOutput,
  sbatchArgs,
  shellQuote,
} from "../../pipeline/slurm/sbatch.ts";
import { chunk, decide } from "../../pipeline/slurm/policy.ts";
import {
  formatEvent,
  parseEvent,
  readableTail,
} from "../../pipeline/slurm/log_lines.ts";
import { SlurmExecutor } from "../../pipeline/slurm/executor.ts";
import type { CommandRunner } from "../../pipeline/slurm/command.ts";
import { Store } from "../../pipeline/store.ts";
import { exists, writeFileAtomic } from "../../pipeline/fs.ts";
import type { Job, JobHooks } from "../../pipeline/job.ts";
import type { Stage } from "../../pipeline/stage.ts";
import { encodeText } from "../../pipeline/artifact.ts";
import { UsageError } from "../../pipeline/cli.ts";

Deno.test("parseSqueue() expands pending array ranges and keeps one state per task", () => {
  const states = parseSqueue(
    "12_[3-5,9%2]|PENDING|Priority\n12_0|RUNNING|None\n12_1|FAILED|NonZeroExitCode\n7|COMPLETED|None\n",
  );
  assertEquals([...states.keys()], [
    "12_3",
    "12_4",
    "12_5",
    "12_9",
    "12_0",
    "12_1",
    "7",
  ]);
  assertEquals(states.get("12_4"), { state: "PENDING", reason: "Priority" });
  assertEquals(states.get("12_1"), {
    state: "FAILED",
    reason: "NonZeroExitCode",
  });
  assertEquals(expandJobId("5_[0-6:3]"), ["5_0", "5_3", "5_6"]);
  assertThrows(
    () => parseSqueue("garbage"),
    Error,
    "Unexpected squeue line 'garbage'",
  );
  assertEquals(squeueArgs(["4", "9"]), [
    "-h",
    "-t",
    "all",
    "-j",
    "4,9",
    "-o",
    "%i|%T|%r",
  ]);
});

Deno.test("phaseOf() separates a job's own failures from the cluster losing it", () => {
  assertEquals(
    [
      "PENDING",
      "RUNNING",
      "COMPLETING",
      "REQUEUED",
      "COMPLETED",
      "FAILED",
      "TIMEOUT",
      "OUT_OF_MEMORY",
      "CANCELLED",
      "NODE_FAIL",
      "BOOT_FAIL",
      "PREEMPTED",
    ]
      .map(phaseOf),
    [
      "waiting",
      "waiting",
      "waiting",
      "waiting",
      "completed",
      "failed",
      "failed",
      "failed",
      "failed",
      "lost",
      "lost",
      "lost",
    ],
  );
});

Deno.test("sbatchArgs() asks for an array, a per-task log and only the resources given", () => {
  const sub = {
    name: "train-x3",
    count: 3,
    dir: "/c/slurm/b1",
    chdir: "/proj",
  };
  assertEquals(sbatchArgs({}, sub), [
    "--parsable",
    "--array=0-2",
    "--job-name=train-x3",
    "--output=/c/slurm/b1/%a/log.txt",
    "--chdir=/proj",
    "/c/slurm/b1/job.sh",
  ]);
  assertEquals(
    sbatchArgs({ partition: "gpu", time: "01:30:00", cpusPerTask: 4 }, {
      ...sub,
      count: 1,
    }).slice(1),
    [
      "--array=0-0",
      "--job-name=train-x3",
      "--output=/c/slurm/b1/%a/log.txt",
      "--chdir=/proj",
      "--partition=gpu",
      "--time=01:30:00",
      "--cpus-per-task=4",
      "/c/slurm/b1/job.sh",
    ],
  );
  assertEquals(parseSbatchOutput("4711\n"), "4711");
  assertEquals(parseSbatchOutput("4711;cluster2\n"), "4711");
  assertThrows(
    () => parseSbatchOutput("Submitted batch job 3"),
    Error,
    "expected a job id",
  );
});

Deno.test("batchScript() quotes paths and picks the job file by SLURM_ARRAY_TASK_ID", () => {
  assertEquals(shellQuote("it's"), `'it'"'"'s'`);
  const script = batchScript({
    deno: "/usr/bin/deno",
    denoArgs: ["--allow-read=/p"],
    jobMain: "/p/pipeline/job_main.ts",
    dir: "/c/s b",
    chdir: "/p",
  });
  assertEquals(script.split("\n").slice(2), [
    "cd '/p' || exit 1",
    `exec '/usr/bin/deno' 'run' '--allow-read=/p' '/p/pipeline/job_main.ts' '/c/s b'/"$SLURM_ARRAY_TASK_ID"/job.json '/c/s b'/"$SLURM_ARRAY_TASK_ID"/result.json`,
    "",
  ]);
  const perms = jobPermissions("/p", "/p/.cache");
  assertEquals(
    perms.filter((f) =>
      f.startsWith("--allow-read") || f.startsWith("--allow-write")
    ),
    [
      "--allow-read=/p,/p/.cache,/usr/share/datasets",
      "--allow-write=/p/.cache",
    ],
  );
  assert(
    !perms.some((f) =>
      f === "-A" || f === "--allow-all" || f.startsWith("--allow-run") ||
      f.startsWith("--allow-env")
    ),
    perms.join(" "),
  );
});

Deno.test("parseResources() checks --partition, --time and --cpus-per-task with one-line errors", () => {
  assertEquals(
    parseResources({
      partition: "short,long",
      time: "2-00:30:00",
      cpusPerTask: "8",
    }),
    {
      partition: "short,long",
      time: "2-00:30:00",
      cpusPerTask: 8,
    },
  );
  assertEquals(
    parseResources({
      partition: undefined,
      time: undefined,
      cpusPerTask: undefined,
    }),
    {},
  );
  for (
    const [input, message] of [
      [{ time: "1:00" }, "--time must be HH:MM:SS or D-HH:MM:SS"],
      [{ time: "01:75:00" }, "got '01:75:00'"],
      [
        { cpusPerTask: "0" },
        "--cpus-per-task must be an integer from 1 to 1024, got '0'",
      ],
      [{ cpusPerTask: "2.5" }, "--cpus-per-task"],
      [{ partition: "a b" }, "--partition must be a partition name"],
    ] as const
  ) assertThrows(() => parseResources(input), UsageError, message);
});

Deno.test("decide() waits out the grace period, then fails a job's own failure and resubmits a lost one twice", () => {
  const limits = { graceMs: 1000, maxResubmits: 2 };
  const view = {
    hasResult: false,
    state: "FAILED" as string | undefined,
    endedForMs: 0,
    resubmits: 0,
  };
  assertEquals(decide({ ...view, hasResult: true }, limits), {
    kind: "result",
  });
  assertEquals(
    decide({ ...view, state: "RUNNING", endedForMs: 5000 }, limits),
    { kind: "wait" },
  );
  assertEquals(decide({ ...view, endedForMs: 999 }, limits), { kind: "wait" });
  assertEquals(decide({ ...view, endedForMs: 1000 }, limits), {
    kind: "failed",
    why: "ended FAILED without a result",
  });
  assertEquals(
    decide(
      { ...view, state: "TIMEOUT", endedForMs: 1000, resubmits: 0 },
      limits,
    ).kind,
    "failed",
  );
  assertEquals(
    decide(
      { ...view, state: "NODE_FAIL", endedForMs: 1000, resubmits: 1 },
      limits,
    ),
    { kind: "resubmit", why: "was lost (NODE_FAIL)" },
  );
  assertEquals(
    decide(
      { ...view, state: undefined, endedForMs: 1000, resubmits: 0 },
      limits,
    ),
    {
      kind: "resubmit",
      why: "vanished from squeue without a result",
    },
  );
  assertEquals(
    decide(
      { ...view, state: undefined, endedForMs: 1000, resubmits: 2 },
      limits,
    ),
    {
      kind: "failed",
      why: "vanished from squeue without a result, after 2 resubmission(s)",
    },
  );
  assertEquals(
    decide(
      { ...view, state: "COMPLETED", endedForMs: 1000, resubmits: 0 },
      limits,
    ).kind,
    "resubmit",
  );
  assertEquals(chunk([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
});

Deno.test("log events round-trip through a log line; the readable tail drops progress", () => {
  const line = formatEvent({ type: "progress", done: 2, total: 5 });
  assertEquals(line, '{"ir":1,"type":"progress","done":2,"total":5}');
  assertEquals(parseEvent(line), { type: "progress", done: 2, total: 5 });
  // A training's loss and test error ride along (NaN travels as null).
  assertEquals(
    parseEvent(
      formatEvent({
        type: "progress",
        done: 3,
        total: 5,
        metrics: { loss: 0.25, test_error: NaN },
      }),
    ),
    {
      type: "progress",
      done: 3,
      total: 5,
      metrics: { loss: 0.25, test_error: NaN },
    },
  );
  assertEquals(
    parseEvent('{"ir":1,"type":"log","level":"warn","message":"hm"}'),
    { type: "log", level: "warn", message: "hm" },
  );
  assertEquals(
    parseEvent('{"ir":1,"type":"log","level":"loud","message":"x"}'),
    undefined,
  );
  assertEquals(parseEvent('{"ir":1,"broken'), undefined);
  assertEquals(parseEvent("plain text"), undefined);
  const log = [
    line,
    '{"ir":1,"type":"log","level":"info","message":"epoch 1"}',
    "",
    "Error: boom",
    "    at f",
  ].join("\n");
  assertEquals(readableTail(log, 20), [
    "info: epoch 1",
    "Error: boom",
    "    at f",
  ]);
  assertEquals(readableTail(log, 2), ["Error: boom", "    at f"]);
});

// --- the executor against a fake cluster -------------------------------------

/** A cluster in a table: sbatch registers tasks, the test sets their states and results. */
class FakeSlurm {
  calls: string[][] = [];
  tasks = new Map<
    string,
    { state: string | undefined; dir: string; reason?: string }
  >();
  #next = 100;
  /** Called after each submission with the new task ids. */
  onSubmit: (ids: string[]) => void | Promise<void> = () => {};

  run: CommandRunner = async (cmd, args) => {
    this.calls.push([cmd, ...args]);
    if (cmd === "sbatch") {
      const id = String(this.#next++);
      const count = Number(/--array=0-(\d+)/.exec(args.join(" "))![1]) + 1;
      const dir = args.at(-1)!.replace(/\/job\.sh$/, "");
      const ids = Array.from({ length: count }, (_, i) => `${id}_${i}`);
      for (const [i, taskId] of ids.entries()) {
        this.tasks.set(taskId, { state: "PENDING", dir: `${dir}/${i}` });
      }
      await this.onSubmit(ids);
      return { code: 0, stdout: `${id}\n`, stderr: "" };
    }
    if (cmd === "squeue") {
      const arrays = args[args.indexOf("-j") + 1]!.split(",");
      const lines = [...this.tasks].filter(([id, t]) =>
        arrays.includes(id.split("_")[0]!) && t.state !== undefined
      )
        .map(([id, t]) => `${id}|${t.state}|${t.reason ?? "None"}`);
      return lines.length
        ? { code: 0, stdout: lines.join("\n") + "\n", stderr: "" }
        : {
          code: 1,
          stdout: "",
          stderr: "slurm_load_jobs error: Invalid job id specified",
        };
    }
    if (cmd === "scancel") {
      for (const id of args) this.tasks.get(id)!.state = "CANCELLED";
      return { code: 0, stdout: "", stderr: "" };
    }
    return { code: 127, stdout: "", stderr: `unknown ${cmd}` };
  };

  /** Plays the job runner: stores `text` as output `out`, writes the result (atomically, as job_main.ts does, or a poll may read half a file) and a log, marks COMPLETED. */
  async complete(id: string, store: Store, text: string): Promise<void> {
    const task = this.tasks.get(id)!;
    const hash = await store.put(encodeText(text));
    await Deno.writeTextFile(
      `${task.dir}/log.txt`,
      formatEvent({ type: "progress", done: 1, total: 1 }) + "\n",
    );
    await writeFileAtomic(
      `${task.dir}/result.json`,
      JSON.stringify({ outputs: { out: hash } }),
    );
    task.state = "COMPLETED";
  }
}

const stage: Stage = {
  name: "s",
  module: "file:///nowhere.ts",
  params: [],
  outputs: ["out"],
  run: () => ({}),
};

async function setup() {
  const dir = await Deno.makeTempDir({ prefix: "ir-slurm-unit-" });
  const store = new Store(`${dir}/.cache`, () => {});
  const fake = new FakeSlurm();
  const executor = new SlurmExecutor({
    store,
    root: dir,
    run: fake.run,
    deno: "deno",
    batchWindowMs: 30,
    pollMs: 5,
    graceMs: 20,
  });
  const job = (id: string): Job => ({
    id,
    stageName: "s",
    module: stage.module,
    params: {},
    item: {},
    inputs: {},
    select: {},
    seed: "x",
    scratchDir: `${dir}/scratch`,
    lineage: [],
    storeDir: store.dir,
  });
  const events: string[] = [];
  const hooks = (signal = new AbortController().signal): JobHooks => ({
    log: (level, message) => events.push(`${level} ${message}`),
    progress: (done, total) => events.push(`progress ${done}/${total}`),
    signal,
  });
  return { store, fake, executor, job, hooks, events };
}

Deno.test("SlurmExecutor batches instances arriving together into one array and returns the stored hashes", async () => {
  const { store, fake, executor, job, hooks, events } = await setup();
  fake.onSubmit = (ids) => {
    setTimeout(
      () => ids.forEach((id, i) => fake.complete(id, store, `out ${i}`)),
      20,
    );
  };
  const results = await Promise.all(
    ["s[k=0]", "s[k=1]", "s[k=2]"].map((id) =>
      executor.execute(stage, job(id), hooks())
    ),
  );
  const sbatch = fake.calls.filter((c) => c[0] === "sbatch");
  assertEquals(sbatch.length, 1);
  assertEquals(sbatch[0]!.slice(1, 4), [
    "--parsable",
    "--array=0-2",
    "--job-name=s-x3",
  ]);
  for (const [i, r] of results.entries()) {
    assertEquals(new TextDecoder().decode(await store.get(r.out!)), `out ${i}`);
  }
  assertEquals(events.filter((e) => e.startsWith("progress")), [
    "progress 1/1",
    "progress 1/1",
    "progress 1/1",
  ]);
  const submitted = events.filter((e) => e.startsWith("info")).map((e) =>
    e.replace(/\(log: .*\/slurm\/[^/]+\//, "(log: …/")
  );
  assertEquals(
    submitted,
    [0, 1, 2].map((i) =>
      `info submitted as Slurm job 100_${i} (log: …/${i}/log.txt)`
    ),
  );
  // A successful batch's folder (job files, results, logs) is removed.
  const batchDir = fake.tasks.get("100_1")!.dir.replace(/\/1$/, "");
  let gone = false;
  for (let i = 0; i < 100 && !gone; i++) {
    gone = !(await exists(batchDir));
    if (!gone) await new Promise((r) => setTimeout(r, 10));
  }
  assert(gone, `${batchDir} is still there`);
});

Deno.test("SlurmExecutor resubmits a job lost by the cluster, then fails after two resubmissions", async () => {
  const { store, fake, executor, job, hooks, events } = await setup();
  let submissions = 0;
  fake.onSubmit = ([id]) => {
    submissions++;
    // The first attempt dies with its node; the second vanishes from squeue; the third completes.
    if (submissions === 1) fake.tasks.get(id!)!.state = "NODE_FAIL";
    else if (submissions === 2) fake.tasks.get(id!)!.state = undefined;
    else setTimeout(() => fake.complete(id!, store, "third time"), 10);
  };
  const result = await executor.execute(stage, job("s"), hooks());
  assertEquals(
    new TextDecoder().decode(await store.get(result.out!)),
    "third time",
  );
  assertEquals(fake.calls.filter((c) => c[0] === "sbatch").length, 3);
  assertEquals(events.filter((e) => e.startsWith("warn")), [
    "warn Slurm job 100_0 was lost (NODE_FAIL): resubmitting (1 of 2)",
    "warn Slurm job 101_0 vanished from squeue without a result: resubmitting (2 of 2)",
  ]);

  const lost = await setup();
  lost.fake.onSubmit = ([id]) =>
    void (lost.fake.tasks.get(id!)!.state = "NODE_FAIL");
  const error = await assertRejects(
    () => lost.executor.execute(stage, lost.job("s"), lost.hooks()),
    Error,
  );
  assertEquals(
    error.message.split("\n")[0],
    "Slurm job 102_0 was lost (NODE_FAIL), after 2 resubmission(s)",
  );
  assert(
    /^ {4}\(log .*\/slurm\/.*\/0\/log\.txt is empty or missing\)$/.test(
      error.message.split("\n")[1]!,
    ),
    error.message,
  );
});

Deno.test("SlurmExecutor fails a job that ended FAILED without a result, quoting its log", async () => {
  const { fake, executor, job, hooks } = await setup();
  fake.onSubmit = async ([id]) => {
    const task = fake.tasks.get(id!)!;
    await Deno.writeTextFile(
      `${task.dir}/log.txt`,
      'error: Module not found "file:///nowhere.ts".\n',
    );
    task.state = "FAILED";
  };
  const error = await assertRejects(
    () => executor.execute(stage, job("s"), hooks()),
    Error,
  );
  const lines = error.message.split("\n");
  assertEquals(lines[0], "Slurm job 100_0 ended FAILED without a result");
  assert(
    lines[1]!.includes("last 1 line(s) of") &&
      lines[1]!.endsWith("/0/log.txt:"),
    lines[1],
  );
  assertEquals(lines[2], '      error: Module not found "file:///nowhere.ts".');
});

Deno.test("SlurmExecutor fails, not resubmits, an array cancelled while pending (listed under its bare id)", async () => {
  const { fake, executor, job, hooks } = await setup();
  fake.onSubmit = (ids) => {
    for (const id of ids) {
      fake.tasks.set(id, { ...fake.tasks.get(id)!, state: undefined });
    }
    fake.tasks.set("100", { state: "CANCELLED", dir: "" });
  };
  const runs = ["a", "b"].map((id) =>
    executor.execute(stage, job(id), hooks())
  );
  for (const [i, run] of runs.entries()) {
    const error = await assertRejects(() => run, Error);
    assertEquals(
      error.message.split("\n")[0],
      `Slurm job 100_${i} ended CANCELLED without a result`,
    );
  }
  assertEquals(fake.calls.filter((c) => c[0] === "sbatch").length, 1);
});

/** Resolves once `condition` holds (checked every 5 ms, for at most 3 s). */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !condition(); i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
  assert(condition(), "condition not reached in 3 s");
}

Deno.test("SlurmExecutor reads a requeued job's restarted log from its start and names unusual pending reasons once", async () => {
  const { store, fake, executor, job, hooks, events } = await setup();
  const p = (done: number) =>
    formatEvent({ type: "progress", done, total: 3 }) + "\n";
  let log = "";
  fake.onSubmit = ([id]) => {
    const task = fake.tasks.get(id!)!;
    task.reason = "PartitionTimeLimit";
    log = `${task.dir}/log.txt`;
  };
  const running = executor.execute(stage, job("s"), hooks());
  await until(() =>
    events.includes("warn Slurm job 100_0 is pending: PartitionTimeLimit")
  );
  const task = fake.tasks.get("100_0")!;
  task.reason = "Priority";
  await new Promise((r) => setTimeout(r, 30));
  task.state = "RUNNING";
  await Deno.writeTextFile(log, p(1) + p(2));
  await until(() => events.includes("progress 2/3"));
  // Requeued (e.g. after a node failure): Slurm truncates the log and the job starts over.
  await Deno.writeTextFile(log, p(1));
  await until(() => events.filter((e) => e === "progress 1/3").length === 2);
  const hash = await store.put(encodeText("done"));
  await Deno.writeTextFile(
    `${task.dir}/result.json`,
    JSON.stringify({ outputs: { out: hash } }),
  );
  assertEquals(await running, { out: hash });
  assertEquals(events.filter((e) => !e.startsWith("info")), [
    "warn Slurm job 100_0 is pending: PartitionTimeLimit",
    "progress 1/3",
    "progress 2/3",
    "progress 1/3",
  ]);
});

Deno.test("SlurmExecutor rejects a result whose object is not in the store", async () => {
  const { fake, executor, job, hooks } = await setup();
  fake.onSubmit = async ([id]) => {
    const task = fake.tasks.get(id!)!;
    await Deno.writeTextFile(
      `${task.dir}/result.json`,
      JSON.stringify({ outputs: { out: "ab".repeat(32) } }),
    );
    task.state = "COMPLETED";
  };
  const error = await assertRejects(
    () => executor.execute(stage, job("s"), hooks()),
    Error,
  );
  assertEquals(
    error.message.split("\n")[0],
    "Slurm job 100_0 reported output 'out' as object abababababab, which is missing from the cache or damaged",
  );
});

Deno.test("SlurmExecutor cancels submitted jobs with one scancel on abort and reports sbatch errors", async () => {
  const { fake, executor, job, hooks } = await setup();
  const abort = new AbortController();
  let submitted!: () => void;
  const onSubmitted = new Promise<void>((r) => (submitted = r));
  fake.onSubmit = (ids) => {
    for (const id of ids) fake.tasks.get(id)!.state = "RUNNING";
    setTimeout(submitted, 20);
  };
  const runs = ["a", "b"].map((id) =>
    executor.execute(stage, job(id), hooks(abort.signal))
  );
  await onSubmitted;
  abort.abort();
  for (const run of runs) {
    await assertRejects(() => run, DOMException, "was cancelled");
  }
  assertEquals(fake.calls.filter((c) => c[0] === "scancel"), [[
    "scancel",
    "100_0",
    "100_1",
  ]]);
  assertEquals(fake.tasks.get("100_1")!.state, "CANCELLED");

  const broken = await setup();
  broken.fake.run = () =>
    Promise.resolve({
      code: 1,
      stdout: "",
      stderr: "sbatch: error: invalid partition specified: gpu\n",
    });
  const executor2 = new SlurmExecutor({
    store: broken.store,
    root: "/p",
    run: broken.fake.run,
    deno: "deno",
    batchWindowMs: 1,
  });
  await assertRejects(
    () => executor2.execute(stage, broken.job("s"), broken.hooks()),
    Error,
    "sbatch failed (exit 1): sbatch: error: invalid partition specified: gpu",
  );
});
