import { assert, assertEquals } from "../assert.ts";
import {
  createReporter,
  formatDuration,
  overallEta,
  progressBar,
} from "../../pipeline/progress.ts";

Deno.test("formatDuration() and progressBar() format time and ETA", () => {
  assertEquals(formatDuration(2.345), "2.3s");
  assertEquals(formatDuration(185), "3m05s");
  assertEquals(formatDuration(3720), "1h02m");
  assertEquals(progressBar(5, 10, 10, 10), "[#####.....] 50% 5/10 ETA 10s");
});

Deno.test("createReporter() writes plain lines, and progress every tenth, when not a TTY", () => {
  const out: string[] = [];
  let t = 0;
  const r = createReporter((s) => out.push(s), false, () => t);
  r.state("train", "running");
  for (let i = 1; i <= 20; i++) {
    t += 1000;
    r.progress("train", i, 20);
  }
  r.state("train", "done", "in 20s");
  assertEquals(out[0], "running   train\n");
  assertEquals(out.filter((l) => l.startsWith("progress")).length, 10);
  assertEquals(out.at(-1), "done      train  in 20s\n");
});

Deno.test("overallEta() is the work left over the work done per second so far", () => {
  // 5 of 20 units in 10 s: 0.5 units/s, 15 left → 30 s.
  assertEquals(
    overallEta([{ cost: 10, fraction: 0.5 }, { cost: 10, fraction: 0 }], 10),
    30,
  );
  // Two instances at once each half done in 10 s: the rate counts both.
  assertEquals(
    overallEta([{ cost: 10, fraction: 0.5 }, { cost: 10, fraction: 0.5 }], 10),
    10,
  );
  assertEquals(overallEta([{ cost: 10, fraction: 0 }], 10), NaN);
});

Deno.test("the progress line shows the latest loss and test error and the run's overall ETA", () => {
  const out: string[] = [];
  let t = 0;
  const r = createReporter((s) => out.push(s), false, () => t);
  r.expect!("train[a]", 10);
  r.expect!("train[b]", 10);
  r.expect!("report", 0);
  r.state("train[a]", "running");
  r.state("train[b]", "running");
  t = 10_000;
  r.progress("train[a]", 5, 10, { loss: 0.23456, test_error: 0.125 });
  assertEquals(
    out.at(-1),
    "progress  train[a] [#####.....] 50% 5/10 ETA 10s  loss 0.2346 test error 12.5%  · overall 0/3 done, ETA 30s\n",
  );
  // A finished instance counts as done work; a cached one as none of this run's.
  r.state("train[a]", "done", "in 10s");
  r.state("report", "cached");
  t = 20_000;
  r.progress("train[b]", 10, 10, { loss: 0.5, test_error: 0.25 });
  assert(out.at(-1)!.endsWith("· overall 2/2 done, ETA 0.0s\n"), out.at(-1));
});
