/**
 * A user error: printed as one line, exit code 2. Its own module so command
 * modules and the CLI share it without an import cycle.
 *
 * The house style of every error message (UsageError or not), so that a
 * reader scanning a log sees where to look first:
 * - A message about one named thing leads with that name, spelled as the user
 *   writes it, then a colon: the param path (`train.epochs: at most 10000, got
 *   20000`), the flag (`--jobs: expected a whole number ≥ 1, got 0`), the
 *   input or API (`ctx.timings: 'x' must be a number`), the command
 *   (`sbatch failed (exit 1): …`). Such a name keeps its own case.
 * - Any other message is a sentence that starts with a capital letter
 *   (`The code of stage 'train' changed after the run started (…)`), names
 *   the allowed values where there are some, and says what to do next.
 * - One line, no final full stop; a cause goes in parentheses at the end.
 */
export class UsageError extends Error {
  override name = "UsageError";
}
