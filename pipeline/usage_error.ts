/** A user error: printed as one line, exit code 2. Its own module so command modules and the CLI share it without an import cycle. */
export class UsageError extends Error {
  override name = "UsageError";
}
