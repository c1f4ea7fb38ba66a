/**
 * `deno task publish DIR` may write only under publish/ (its permissions are
 * fixed in deno.json). A DIR elsewhere gets one line saying how to grant it,
 * not Deno's raw permission error, and nothing is written.
 */
import { assert, assertEquals } from "../assert.ts";
import { commandWriting } from "../../stages/main.ts";
import { denoRun, exists, readTasks, taskFlags } from "./_tasks.ts";

Deno.test("commandWriting() adds the folder to the task's read and write grants", () => {
  const tasks = {
    publish:
      "deno run --allow-read=.,/usr/share/datasets --allow-write=.cache,publish --allow-sys=hostname stages/main.ts publish",
  };
  assertEquals(
    commandWriting(tasks, "publish", "/srv/site", [
      "/srv/site",
      "--experiment",
      "smoke",
    ]),
    "deno run --allow-read=.,/usr/share/datasets,/srv/site --allow-write=.cache,publish,/srv/site --allow-sys=hostname stages/main.ts publish /srv/site --experiment smoke",
  );
});

Deno.test("publish to a folder outside publish/ fails in one line with the command that grants it", async () => {
  const dir = `/tmp/ir-publish-${crypto.randomUUID().slice(0, 8)}`;
  const ran = await denoRun(taskFlags("publish"), "stages/main.ts", [
    "publish",
    dir,
    "--experiment",
    "smoke",
  ]);
  assertEquals(ran.code, 2, ran.stderr);
  const expected = commandWriting(readTasks(), "publish", dir, [
    dir,
    "--experiment",
    "smoke",
  ]);
  assertEquals(
    ran.stderr.trim(),
    `error: Cannot publish to '${dir}': the publish task may write only under publish/; publish there, or grant this folder: ${expected}`,
  );
  assert(expected.includes(`--allow-write=.cache,publish,${dir}`), expected);
  assertEquals(exists(dir), false);
});
