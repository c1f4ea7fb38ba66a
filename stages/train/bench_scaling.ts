/**
 * Benchmark, not a test: how much matmul throughput a second Worker adds on
 * this machine. The snapshot beside the training and the scheduler both
 * assume that two Workers do about twice the work of one; on a virtual
 * machine whose two vCPUs share one core's SIMD units they do not, and no
 * scheduling can then make the paper faster. The same fixed work runs in one
 * Worker, then in `workers` Workers at once.
 */

const WORKER = new URL("./bench_scaling_worker.ts", import.meta.url).href;

/** Seconds each of `count` Workers took for `reps` matmuls, all started together. */
async function timeWorkers(count: number, reps: number): Promise<number[]> {
  const workers = Array.from(
    { length: count },
    () => new Worker(WORKER, { type: "module" }),
  );
  try {
    return await Promise.all(
      workers.map((w) =>
        new Promise<number>((resolve, reject) => {
          w.onmessage = (e: MessageEvent<{ seconds: number }>) =>
            resolve(e.data.seconds);
          w.onerror = (e) => {
            e.preventDefault();
            reject(new Error(`scaling worker: ${e.message}`));
          };
          w.postMessage({ reps });
        })
      ),
    );
  } finally {
    for (const w of workers) w.terminate();
  }
}

/** Throughput of `workers` Workers at once over one Worker's: `workers` is perfect scaling, 1 none. */
export function scalingRatio(single: number, together: number[]): number {
  return together.reduce((s, t) => s + single / t, 0);
}

export interface ScalingBench {
  single: number;
  together: number[];
  ratio: number;
}

/** One Worker's time for `reps` matmuls, then `workers` Workers' times for the same each, and the throughput ratio. */
export async function benchWorkerScaling(
  workers = 2,
  reps = 60,
): Promise<ScalingBench> {
  const [single] = await timeWorkers(1, reps);
  const together = await timeWorkers(workers, reps);
  return { single: single!, together, ratio: scalingRatio(single!, together) };
}
