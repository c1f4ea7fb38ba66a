/**
 * Engine benchmarks: a fully cached `reproduce` of a small fan-out pipeline
 * (fingerprints, keys, run-cache lookups with hash checks, lock update;
 * target: under a second), and the wall time and CPU utilisation of a real
 * run (`benchRun`).
 */
import { cpuUsage } from "node:process";
import { Engine } from "./engine.ts";
import { encodeText } from "./artifact.ts";
import type { Json, Stage } from "./stage.ts";

/** Seconds of the first (cold) and second (fully cached) run of a 1 + n + 1 stage pipeline. */
export async function benchCachedReproduce(
  n = 16,
  bytes = 1 << 20,
): Promise<{ cold: number; cached: number; instances: number }> {
  const root = await Deno.makeTempDir({ prefix: "ir-bench-" });
  const module = `file://${root}/stage.ts`;
  await Deno.writeTextFile(`${root}/stage.ts`, 'import "./helper.ts";\n');
  await Deno.writeTextFile(`${root}/helper.ts`, "export {};\n");
  const payload = new Uint8Array(bytes);
  const stages: Stage[] = [
    {
      name: "source",
      module,
      params: ["size"],
      outputs: ["data"],
      run: () => ({ data: payload }),
    },
    {
      name: "work",
      module,
      params: [],
      inputs: { data: { stage: "source", output: "data" } },
      foreach: {
        params: ["items"],
        items: (p) => (p.items as number[]).map((i) => ({ i })),
      },
      outputs: ["out"],
      run: (ctx) => ({ out: encodeText(`work ${ctx.item.i}`) }),
    },
    {
      name: "summary",
      module,
      params: [],
      inputs: { all: { stage: "work", output: "out", select: "all" } },
      outputs: ["out"],
      run: (ctx) => ({ out: encodeText(String(ctx.inputAll("all").length)) }),
    },
  ];
  const params = { size: bytes, items: Array.from({ length: n }, (_, i) => i) };
  const project = {
    root,
    cacheDir: `${root}/.cache`,
    lockPath: `${root}/bench.lock`,
    stages,
  };
  let t0 = performance.now();
  await new Engine(project).reproduce({ experiment: "bench", params });
  const cold = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const results = await new Engine(project).reproduce({
    experiment: "bench",
    params,
  });
  const cached = (performance.now() - t0) / 1000;
  if (results.some((r) => r.outcome !== "cached")) {
    throw new Error("The second run was not fully cached");
  }
  await Deno.remove(root, { recursive: true });
  return { cold, cached, instances: results.length };
}

/** Wall time and CPU utilisation of one `reproduce` of a project's targets. */
export interface RunBench {
  wall: number;
  /** Process CPU seconds (every thread, Workers included). */
  cpu: number;
  cores: number;
  /** cpu / (wall × cores). */
  utilisation: number;
  ran: number;
}

/** Runs `reproduce` once (nothing cached) and measures its wall and CPU time; `jobs` as `reproduce --jobs`. */
export async function benchRun(
  project: ConstructorParameters<typeof Engine>[0],
  options: {
    experiment: string;
    params: Json;
    targets: string[];
    jobs?: number;
  },
): Promise<RunBench> {
  const cores = navigator.hardwareConcurrency ?? 1;
  const cpu0 = cpuUsage();
  const t0 = performance.now();
  const results = await new Engine(project, () => {}).reproduce(options);
  const wall = (performance.now() - t0) / 1000;
  const used = cpuUsage(cpu0);
  const cpu = (used.user + used.system) / 1e6;
  return {
    wall,
    cpu,
    cores,
    utilisation: cpu / (wall * cores),
    ran: results.filter((r) => r.outcome === "ran").length,
  };
}
