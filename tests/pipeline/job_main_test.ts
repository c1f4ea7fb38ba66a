/**
 * pipeline/job_main.ts as a process, with the scoped permissions the Slurm
 * executor gives it: outputs stored and named in the result file, events on
 * stdout, two runs of one job at once, SIGTERM, bad arguments.
 */
import { assert, assertEquals } from "../assert.ts";
import { describeHost, type Job } from "../../pipeline/job.ts";
import { sha256 } from "../../pipeline/hash.ts";
import { encodeJson } from "../../pipeline/artifact.ts";
import { jobPermissions } from "../../pipeline/slurm/sbatch.ts";
import { parseEvent } from "../../pipeline/slurm/log_lines.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const JOB_MAIN = `${ROOT}/pipeline/job_main.ts`;

async function jobFile(
  stageName: string,
  module: string,
  params: Job["params"],
) {
  // Job and result files live in the cache, as the executor writes them: the job may write only there.
  const root = await Deno.makeTempDir({ prefix: "ir-job-main-" });
  const cache = `${root}/cache`;
  const dir = `${cache}/slurm/batch/0`;
  await Deno.mkdir(dir, { recursive: true });
  const job: Job = {
    id: stageName,
    stageName,
    module,
    params,
    item: {},
    inputs: {},
    select: {},
    seed: "s",
    scratchDir: `${cache}/scratch/k`,
    lineage: [],
    storeDir: cache,
  };
  await Deno.writeTextFile(`${dir}/job.json`, JSON.stringify(job));
  const remove = () => Deno.remove(root, { recursive: true });
  return { dir, path: `${dir}/job.json`, cache, remove };
}

function spawn(
  job: { path: string; cache: string; dir: string },
  result: string,
) {
  return new Deno.Command("deno", {
    args: [
      "run",
      ...jobPermissions(ROOT, job.cache),
      JOB_MAIN,
      job.path,
      result,
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

const HEAVY = new URL("./fixtures/heavy_stage.ts", import.meta.url).href;
const WAIT = new URL("../slurm/fixtures/stages.ts", import.meta.url).href;

Deno.test("job_main stores the outputs, names them in the result file and prints events as JSON lines", async () => {
  const job = await jobFile("heavy", HEAVY, { n: 2 });
  const out = await spawn(job, `${job.dir}/result.json`).output();
  assertEquals(out.code, 0);
  const expected = sha256(encodeJson({ n: 2, inWorker: false }));
  // The run's host and the stage's timings travel beside the outputs, for the lock entry.
  assertEquals(JSON.parse(await Deno.readTextFile(`${job.dir}/result.json`)), {
    outputs: { out: expected },
    facts: { host: describeHost(), timings: { steps: 2 } },
  });
  const stored = await Deno.readFile(
    `${job.cache}/objects/${expected.slice(0, 2)}/${expected.slice(2)}`,
  );
  assertEquals(sha256(stored), expected);
  const events = new TextDecoder().decode(out.stdout).trim().split("\n").map(
    parseEvent,
  );
  assertEquals(events, [
    { type: "progress", done: 1, total: 2 },
    { type: "progress", done: 2, total: 2 },
    { type: "log", level: "info", message: "finished" },
  ]);
  await job.remove();
});

Deno.test("two job_main runs of the same job at once store one intact object and leave no temp files", async () => {
  const job = await jobFile("heavy", HEAVY, { n: 50 });
  const [a, b] = await Promise.all([
    spawn(job, `${job.dir}/a.json`).output(),
    spawn(job, `${job.dir}/b.json`).output(),
  ]);
  assertEquals([a.code, b.code], [0, 0]);
  const ra = JSON.parse(await Deno.readTextFile(`${job.dir}/a.json`));
  assertEquals(JSON.parse(await Deno.readTextFile(`${job.dir}/b.json`)), ra);
  const hash = ra.outputs.out as string;
  assertEquals(hash, sha256(encodeJson({ n: 50, inWorker: false })));
  const names = [
    ...Deno.readDirSync(`${job.cache}/objects/${hash.slice(0, 2)}`),
  ].map((e) => e.name);
  assertEquals(names, [hash.slice(2)]);
  assertEquals(
    sha256(
      await Deno.readFile(
        `${job.cache}/objects/${hash.slice(0, 2)}/${hash.slice(2)}`,
      ),
    ),
    hash,
  );
  await job.remove();
});

Deno.test("job_main reports a stage error, and SIGTERM as the cause of an aborted stage", async () => {
  const failing = await jobFile("heavy", HEAVY, { n: -1 });
  const out = await spawn(failing, `${failing.dir}/result.json`).output();
  assertEquals(out.code, 1);
  const result = JSON.parse(
    await Deno.readTextFile(`${failing.dir}/result.json`),
  );
  assertEquals([result.error, result.name], ["n must be ≥ 0", "RangeError"]);
  assert(
    !(await Deno.stat(`${failing.cache}/objects`).catch(() => undefined)),
    "no objects for a failed job",
  );

  // The wait stage stops early on abort and then throws (its output is never stored).
  const waiting = await jobFile("wait", WAIT, { wait_ms: 60_000 });
  const child = spawn(waiting, `${waiting.dir}/result.json`);
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("waiting 60000 ms")) {
    seen += (await reader.read()).value ?? "";
  }
  child.kill("SIGTERM");
  await reader.cancel();
  await child.stderr.cancel();
  const status = await child.status;
  assertEquals(status.code, 1);
  const aborted = JSON.parse(
    await Deno.readTextFile(`${waiting.dir}/result.json`),
  );
  assert(
    aborted.error.startsWith(
      "Terminated by SIGTERM (the --time limit or scancel): ",
    ),
    aborted.error,
  );
  await failing.remove();
  await waiting.remove();
});

Deno.test("job_main exits 2 with a usage line when the arguments are wrong", async () => {
  const out = await new Deno.Command("deno", {
    args: ["run", "--allow-read=" + ROOT, JOB_MAIN, "only-one"],
    stderr: "piped",
  })
    .output();
  assertEquals(out.code, 2);
  assertEquals(
    new TextDecoder().decode(out.stderr).trim(),
    "usage: deno run <permissions> pipeline/job_main.ts JOBFILE RESULTFILE",
  );
});
