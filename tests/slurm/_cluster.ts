/**
 * Test helper: a real single-node Slurm cluster started by cluster.sh in a
 * private folder with its own ports, or the reason it cannot start here
 * (tests print it and are reported as ignored, never passed silently).
 */
import {
  type CommandRunner,
  commandRunner,
} from "../../pipeline/slurm/command.ts";

export interface Cluster {
  /** Runs Slurm client commands against this cluster (SLURM_CONF set). */
  run: CommandRunner;
  env: Record<string, string>;
  base: string;
  stop(): Promise<void>;
}

const script = new URL("./cluster.sh", import.meta.url).pathname;

async function sh(
  args: string[],
  env: Record<string, string>,
): Promise<{ ok: boolean; output: string }> {
  const out = await new Deno.Command("bash", {
    args: [script, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    ok: out.success,
    output: (decoder.decode(out.stdout) + decoder.decode(out.stderr)).trim(),
  };
}

/** Why a cluster cannot be started here, or undefined when it can be tried. */
async function obstacle(): Promise<string | undefined> {
  for (const command of ["bash", "sbatch", "squeue", "scancel"]) {
    const state = await Deno.permissions.query({ name: "run", command });
    if (state.state !== "granted") {
      return `no permission to run '${command}' (needs --allow-run=bash,sbatch,squeue,scancel)`;
    }
  }
  const id = await new Deno.Command("bash", {
    args: ["-c", "id -u; command -v apt-get || command -v slurmctld || true"],
    stdout: "piped",
  })
    .output();
  const [uid, tool] = new TextDecoder().decode(id.stdout).trim().split("\n");
  if (uid !== "0") {
    return "not root (slurmctld, slurmd and munged are started as root)";
  }
  if (!tool) return "neither apt-get nor an installed slurmctld";
  return undefined;
}

/**
 * Why no cluster can run here (not root, no apt-get, no permission, install
 * failed), or undefined once the packages are installed. Starts nothing.
 */
export async function prepareCluster(): Promise<string | undefined> {
  const why = await obstacle();
  if (why) return why;
  const install = await sh(["install"], {});
  if (!install.ok) {
    return `cluster.sh install failed (apt-get not usable here?): ${
      install.output.split("\n").slice(-3).join(" ")
    }`;
  }
  return undefined;
}

/** Starts a cluster in a temp folder with ports of its own (after prepareCluster). */
export async function startCluster(): Promise<Cluster> {
  const base = await Deno.makeTempDir({ prefix: "ir-slurm-" });
  // Ports of its own so a leftover or parallel cluster does not collide.
  const port = 20000 + ((Deno.pid * 2) % 40000);
  const env = {
    SLURM_BASE: base,
    CTLD_PORT: String(port),
    SLURMD_PORT: String(port + 1),
    NODE_CPUS: "4",
  };
  const start = await sh(["start"], env);
  const stop = async () => {
    const stopped = await sh(["stop"], env);
    if (!stopped.ok) console.warn(`cluster.sh stop: ${stopped.output}`);
    await Deno.remove(base, { recursive: true }).catch(() => {});
  };
  if (!start.ok) {
    await stop();
    throw new Error(`cluster.sh start failed: ${start.output}`);
  }
  const slurmEnv = { SLURM_CONF: `${base}/etc/slurm.conf` };
  return { run: commandRunner(slurmEnv), env: slurmEnv, base, stop };
}
