/**
 * Running Slurm's client commands. The executor takes the runner as a
 * parameter so its tests can fake a cluster without Slurm installed.
 */

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cmd args…` and collects its exit code and output. */
export type CommandRunner = (
  cmd: string,
  args: string[],
) => Promise<CommandResult>;

/**
 * A real runner: child processes with this process's environment plus `env`
 * (e.g. SLURM_CONF, which every Slurm client needs when the config is not in
 * /etc/slurm).
 */
export function commandRunner(env: Record<string, string> = {}): CommandRunner {
  return async (cmd, args) => {
    const decoder = new TextDecoder();
    try {
      const out = await new Deno.Command(cmd, {
        args,
        env,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      return {
        code: out.code,
        stdout: decoder.decode(out.stdout),
        stderr: decoder.decode(out.stderr),
      };
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        return {
          code: 127,
          stdout: "",
          stderr:
            `'${cmd}' was not found: is this a Slurm login node (slurm-client installed)?`,
        };
      }
      throw error;
    }
  };
}
