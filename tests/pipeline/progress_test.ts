import { assertEquals } from "../assert.ts";
import {
  createReporter,
  formatDuration,
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
