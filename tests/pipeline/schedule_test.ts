import { assertEquals, assertThrows } from "../assert.ts";
import { Scheduler } from "../../pipeline/schedule.ts";
import { utilisationLine } from "../../pipeline/cli.ts";
import type { Stage, StageContext } from "../../pipeline/stage.ts";
import { encodeText } from "../../pipeline/artifact.ts";
import { tempProject } from "./_project.ts";

/** Lets pending timers and promise callbacks run. */
const settle = () => new Promise((r) => setTimeout(r, 10));

Deno.test("Scheduler starts the costliest ready instance first, whatever the order of asking", async () => {
  const s = new Scheduler(1);
  const started: string[] = [];
  const ask = (name: string, cost: number, order: number) =>
    s.acquire(1, cost, order).then(() => started.push(name));
  ask("cheap", 1, 0);
  ask("dear", 5, 1);
  ask("middle", 3, 2);
  ask("middle-later", 3, 3);
  await settle();
  assertEquals(started, ["dear"]);
  for (const expected of [["middle"], ["middle-later"], ["cheap"]]) {
    s.release(1);
    await settle();
    assertEquals(started.slice(-1), expected);
  }
});

Deno.test("Scheduler grants nothing while an announced instance has not yet asked", async () => {
  const s = new Scheduler(1);
  const started: string[] = [];
  s.announce();
  s.announce();
  s.acquire(1, 1, 0).then(() => started.push("cheap"));
  await settle();
  assertEquals(started, [], "waits for the second announced instance");
  s.acquire(1, 5, 1).then(() => started.push("dear"));
  await settle();
  assertEquals(started, ["dear"]);
  s.announce();
  s.release(1);
  await settle();
  assertEquals(started, ["dear"], "waits again");
  s.withdraw(); // e.g. it was cached
  await settle();
  assertEquals(started, ["dear", "cheap"]);
});

Deno.test("Scheduler starts instances while the running ones keep fewer than `capacity` cores busy", async () => {
  const s = new Scheduler(4);
  let started = 0;
  for (let i = 0; i < 5; i++) s.acquire(1.6, 0, i).then(() => started++);
  await settle();
  // 0, 1.6 and 3.2 cores busy are below 4: three start, the third overshoots.
  assertEquals(started, 3);
  s.release(1.6);
  await settle();
  assertEquals(started, 4);
  // An instance larger than the capacity still runs when nothing else does.
  const big = new Scheduler(1);
  let ran = false;
  big.acquire(3, 0, 0).then(() => ran = true);
  await settle();
  assertEquals(ran, true);
  assertThrows(() => new Scheduler(0), Error, "capacity");
});

/** A fan-out stage whose instances log when they start and end, and wait for the test to end them. */
function countedStages(
  log: string[],
  gates: Map<string, () => void>,
  module: string,
  threads: number,
): Stage[] {
  return [{
    name: "work",
    module,
    params: [],
    threads,
    foreach: {
      params: ["costs"],
      items: (p) => (p.costs as number[]).map((cost) => ({ cost })),
    },
    cost: (_params, item) => item.cost as number,
    outputs: ["out"],
    async run(ctx: StageContext) {
      const name = `cost ${ctx.item.cost}`;
      log.push(`start ${name}`);
      await new Promise<void>((r) => gates.set(name, r));
      log.push(`end ${name}`);
      return { out: encodeText(name) };
    },
  }];
}

Deno.test("reproduce() starts the costliest work first and keeps `jobs` cores' worth running", async () => {
  for (
    const [threads, jobs, together] of [[1, 1, 1], [1.6, 4, 3], [
      1.6,
      2,
      2,
    ]] as [
      number,
      number,
      number,
    ][]
  ) {
    const log: string[] = [];
    const gates = new Map<string, () => void>();
    const p = await tempProject((p) =>
      countedStages(log, gates, p.writeModule("work.ts", "export {};"), threads)
    );
    try {
      const run = p.engine.reproduce({
        experiment: "x",
        params: { costs: [2, 9, 5, 1, 7] },
        jobs,
      });
      // Ends the earliest started running instance, one at a time, once the
      // engine has started what it will (nothing starts while all wait).
      const order: string[] = [];
      let maxTogether = 0;
      while (order.length < 5 || gates.size > 0) {
        // Until the running set has stopped changing for three turns.
        let stable = 0;
        let seen = -1;
        while (stable < 3) {
          await settle();
          stable = gates.size === seen && seen > 0 ? stable + 1 : 0;
          seen = gates.size;
        }
        const running = [...gates.keys()];
        maxTogether = Math.max(maxTogether, running.length);
        for (const name of running) {
          if (!order.includes(name)) order.push(name);
        }
        const first = order.find((n) => gates.has(n))!;
        gates.get(first)!();
        gates.delete(first);
      }
      const results = await run;
      assertEquals(results.every((r) => r.outcome === "ran"), true);
      // The first wave holds the costliest; within a wave the runs' start
      // order is the Workers' (asynchronous) one, so it is compared as a set.
      assertEquals(
        order.slice(0, together).sort(),
        [
          "cost 9",
          "cost 7",
          "cost 5",
        ].slice(0, together).sort(),
      );
      if (together === 1) {
        assertEquals(order, ["cost 9", "cost 7", "cost 5", "cost 2", "cost 1"]);
      }
      assertEquals(maxTogether, together, `threads ${threads}, jobs ${jobs}`);
      assertEquals(log.filter((l) => l.startsWith("start")).length, 5);
    } finally {
      await Deno.remove(p.root, { recursive: true });
    }
  }
});

Deno.test("utilisationLine() divides the process's CPU time by wall time × cores", () => {
  assertEquals(
    utilisationLine({ user: 150e6, system: 30e6 }, 100, 2),
    "CPU time 3m00s over 1m40s of wall time on 2 cores: utilisation 0.90",
  );
});
