/**
 * A damaged cache or lock file (truncated, not JSON, or edited by hand) is
 * detected and recomputed or restored, never a crash, and never makes the
 * engine touch a file outside its cache. Complements tests/pipeline/engine_test.ts,
 * which covers a garbage object and a truncated lock file.
 */
import { assert, assertEquals } from "../assert.ts";
import {
  PARAMS,
  SEED_CHAIN_IDS,
  seedChain,
  type TempProject,
  tempProject,
} from "../pipeline/_project.ts";
import type { Json, Stage } from "../../pipeline/stage.ts";
import { sha256 } from "../../pipeline/hash.ts";

/** download → train[seed] → report. */
const chain = (p: TempProject): Stage[] => seedChain(p);

async function ranOnce(): Promise<
  {
    p: TempProject;
    keys: Record<string, string>;
    outputs: Record<string, string>;
  }
> {
  const p = await tempProject(chain);
  const results = await p.engine.reproduce({
    experiment: "test",
    params: PARAMS,
  });
  p.runs.length = 0;
  return {
    p,
    keys: Object.fromEntries(results.map((r) => [r.id, r.key!])),
    outputs: Object.fromEntries(results.map((r) => [r.id, r.outputs!.out!])),
  };
}

const rerun = (p: TempProject, params: Json = PARAMS) =>
  p.newEngine(chain(p)).reproduce({ experiment: "test", params });
const lockOf = (p: TempProject) =>
  JSON.parse(Deno.readTextFileSync(`${p.root}/test.lock`));

/** Run-entry damage → whether a warning is expected. */
const RUN_ENTRIES: Array<[string, (entry: string) => string, boolean]> = [
  ["truncated", (e) => e.slice(0, e.length >> 1), true],
  ["empty", () => "", true],
  ["not JSON", () => "\u0000\u0001garbage", true],
  ["JSON null", () => "null", true],
  ["outputs a string", () => '{"outputs":"abc"}', true],
  [
    "an output hash that names no object",
    () =>
      JSON.stringify({
        outputs: { out: "ab".repeat(32) },
        seconds: 0,
        finished: "",
      }),
    false,
  ],
  ["an output hash that is a number", () => '{"outputs":{"out":5}}', true],
  ["an output hash that is not hex", () => '{"outputs":{"out":"zz"}}', true],
];

for (const [label, damage, warns] of RUN_ENTRIES) {
  Deno.test(`a run entry that is ${label} is treated as a miss and only its instance reruns`, async () => {
    const { p, keys, outputs } = await ranOnce();
    const path = p.engine.store.runPath(keys.download!);
    Deno.writeTextFileSync(path, damage(Deno.readTextFileSync(path)));
    const results = await rerun(p);
    assertEquals(
      p.runs,
      ["download"],
      "download reruns; its output is the same bytes, so nothing downstream does",
    );
    assertEquals(results.map((r) => r.outcome), [
      "ran",
      "cached",
      "cached",
      "cached",
    ]);
    assertEquals(results[0]!.outputs!.out, outputs.download);
    assertEquals(JSON.parse(Deno.readTextFileSync(path)).outputs, {
      out: outputs.download,
    }, "the entry is rewritten");
    assertEquals(
      p.warnings.some((w) => w.includes("is not valid")),
      warns,
      p.warnings.join("; "),
    );
  });
}

Deno.test("a cache object that is truncated is detected and recomputed with a warning", async () => {
  const { p, outputs } = await ranOnce();
  const path = p.engine.store.objectPath(outputs["train[seed=1]"]!);
  const bytes = Deno.readFileSync(path);
  Deno.writeFileSync(path, bytes.subarray(0, bytes.length - 3));
  const results = await rerun(p);
  assertEquals(p.runs, ['train{"seed":1}']);
  assertEquals(results.find((r) => r.id === "train[seed=1]")!.outcome, "ran");
  assertEquals(sha256(Deno.readFileSync(path)), outputs["train[seed=1]"]);
  assert(p.warnings.some((w) => w.includes("damaged")), p.warnings.join("; "));
});

Deno.test("a cache object replaced by a folder is recomputed, not a crash", async () => {
  const { p, outputs } = await ranOnce();
  const path = p.engine.store.objectPath(outputs.report!);
  Deno.removeSync(path);
  Deno.mkdirSync(`${path}/inner`, { recursive: true });
  const results = await rerun(p);
  assertEquals(p.runs, ["report"]);
  assertEquals(results.at(-1)!.outcome, "ran");
  assertEquals(sha256(Deno.readFileSync(path)), outputs.report);
});

Deno.test("a run entry naming a path outside the cache as its output never reads or deletes that file", async () => {
  const { p, keys } = await ranOnce();
  // objectPath("../../victim.txt") would be <cache>/objects/../../victim.txt = <root>/victim.txt.
  const victim = `${p.root}/victim.txt`;
  Deno.writeTextFileSync(victim, "keep me");
  for (
    const hash of [
      "../../victim.txt",
      "..%2F..%2Fvictim.txt",
      "/" + "a".repeat(63),
    ]
  ) {
    Deno.writeTextFileSync(
      p.engine.store.runPath(keys.download!),
      JSON.stringify({ outputs: { out: hash }, seconds: 0, finished: "" }),
    );
    p.runs.length = 0;
    await rerun(p);
    assertEquals(p.runs, ["download"], hash);
    assertEquals(
      Deno.readTextFileSync(victim),
      "keep me",
      `${hash}: the file outside the cache is untouched`,
    );
  }
  assertEquals(await p.engine.store.get("../../victim.txt"), undefined);
  assertEquals(await p.engine.store.has("../../victim.txt"), false);
  assertEquals(Deno.readTextFileSync(victim), "keep me");
});

Deno.test("a lock entry whose key was edited by hand is repaired from the cache without rerunning", async () => {
  const { p, keys } = await ranOnce();
  const lock = lockOf(p);
  lock.experiments.test["train[seed=0]"].key = "0".repeat(64);
  Deno.writeTextFileSync(`${p.root}/test.lock`, JSON.stringify(lock));
  const status = await p.newEngine(chain(p)).status("test", PARAMS);
  assertEquals(
    status.every((l) => l.fresh),
    true,
    "status trusts the cache, not the lock's key",
  );
  const results = await rerun(p);
  assertEquals(p.runs, []);
  assertEquals(results.every((r) => r.outcome === "cached"), true);
  assertEquals(
    lockOf(p).experiments.test["train[seed=0]"].key,
    keys["train[seed=0]"],
  );
});

Deno.test("a lock entry whose output hash was edited to a missing object does not change what the run uses", async () => {
  const { p, outputs } = await ranOnce();
  const lock = lockOf(p);
  lock.experiments.test.download.outputs.out = "cd".repeat(32);
  Deno.writeTextFileSync(`${p.root}/test.lock`, JSON.stringify(lock));
  const results = await rerun(p);
  assertEquals(p.runs, []);
  assertEquals(
    results[0]!.outputs!.out,
    outputs.download,
    "outputs come from the cache's run entry",
  );
  const status = await p.newEngine(chain(p)).status("test", PARAMS);
  assertEquals(status.every((l) => l.fresh), true);
});

/** Lock files of the wrong shape; each must be reported, ignored, and rewritten whole by the next run. */
const LOCKS: Array<[string, (lock: Record<string, Json>) => string]> = [
  ["a JSON array", () => "[]"],
  ["JSON null", () => "null"],
  ["version 2", (l) => JSON.stringify({ ...l, version: 2 })],
  [
    "an entry that is null",
    (l) =>
      JSON.stringify(edit(l, () => null as unknown as Record<string, Json>)),
  ],
  [
    "an entry whose params are null",
    (l) => JSON.stringify(edit(l, (e) => ({ ...e, params: null }))),
  ],
  [
    "an entry whose code is null",
    (l) => JSON.stringify(edit(l, (e) => ({ ...e, code: null }))),
  ],
  [
    "an entry without versions",
    (l) =>
      JSON.stringify(
        edit(l, (e) => ({ ...e, versions: undefined as unknown as Json })),
      ),
  ],
  [
    "an entry whose inputs are an array",
    (l) => JSON.stringify(edit(l, (e) => ({ ...e, inputs: [] }))),
  ],
  [
    "an entry whose key is a number",
    (l) => JSON.stringify(edit(l, (e) => ({ ...e, key: 5 }))),
  ],
  [
    "an entry whose outputs are null",
    (l) => JSON.stringify(edit(l, (e) => ({ ...e, outputs: null }))),
  ],
  ["bytes that are not UTF-8", () => "\uFFFD\u0000{"],
];

/** The lock with its train[seed=0] entry replaced. */
function edit(
  lock: Record<string, Json>,
  change: (entry: Record<string, Json>) => Record<string, Json>,
): Record<string, Json> {
  const copy = structuredClone(lock) as {
    experiments: { test: Record<string, Record<string, Json>> };
  };
  copy.experiments.test["train[seed=0]"] = change(
    copy.experiments.test["train[seed=0]"]!,
  );
  return copy as unknown as Record<string, Json>;
}

for (const [label, damage] of LOCKS) {
  Deno.test(`a lock file with ${label} is reported; status --why and the next run still work`, async () => {
    const { p } = await ranOnce();
    Deno.writeTextFileSync(`${p.root}/test.lock`, damage(lockOf(p)));
    const changed = { ...PARAMS, b: { y: [7] } };
    const status = await p.newEngine(chain(p)).status("test", changed);
    const train = status.find((l) => l.id === "train[seed=0]")!;
    assertEquals(train.fresh, false);
    assertEquals(
      train.reasons,
      ["never run"],
      "a lock that is not valid is as good as none",
    );
    assert(
      p.warnings.some((w) => w.includes("is not valid")),
      `a warning: ${p.warnings.join("; ")}`,
    );
    const results = await rerun(p);
    assertEquals(p.runs, [], "everything restores from the cache");
    assertEquals(results.every((r) => r.outcome === "cached"), true);
    assertEquals(
      Object.keys(lockOf(p).experiments.test).sort(),
      SEED_CHAIN_IDS,
      "the lock is rewritten whole",
    );
  });
}
