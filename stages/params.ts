/**
 * Helpers for the stages' param schemas: each stage owns the zod schemas of
 * the fields it reads, declares its dotted param paths from them, and the
 * experiment schema (experiment.ts) is composed from the same field schemas,
 * so one rule checks a value whether it comes from a file, a `--set` or a
 * `matrix` cell.
 */
import { z } from "zod";

/** Any zod schema. */
type Schema = z.ZodType;

/** `under("data", { dataset: s })` is `{ "data.dataset": s }`: fields as dotted param paths. */
export function under<const P extends string, S extends Record<string, Schema>>(
  prefix: P,
  shape: S,
): { [K in keyof S & string as `${P}.${K}`]: S[K] } {
  return Object.fromEntries(
    Object.entries(shape).map(([k, v]) => [`${prefix}.${k}`, v]),
  ) as { [K in keyof S & string as `${P}.${K}`]: S[K] };
}

/** The named fields of a shape. */
export function pick<S extends Record<string, Schema>, K extends keyof S>(
  shape: S,
  keys: readonly K[],
): Pick<S, K> {
  return Object.fromEntries(keys.map((k) => [k, shape[k]])) as Pick<S, K>;
}

/**
 * A stage's params: the dotted paths it declares (its cache key reads exactly
 * these) and the schema that parses them into the value its run receives.
 */
export function declareParams<S extends Record<string, Schema>>(
  shape: S,
): { params: string[]; schema: z.ZodObject<S, z.core.$strict> } {
  return { params: Object.keys(shape).sort(), schema: z.strictObject(shape) };
}

/** An integer in [min, max]. */
export const int = (min: number, max: number): z.ZodNumber =>
  z.number().int().min(min).max(max);

/** A seed: an integer in [0, 2³¹ − 1]. */
export const seed: z.ZodNumber = int(0, 2 ** 31 - 1);

/**
 * The project's wording of a schema issue: "at most 10000", "below 1",
 * "expected one of "mnist", "fashion-mnist"" (undefined keeps zod's own).
 * Pass as `schema.safeParse(value, { error: issueMessage })`.
 */
export function issueMessage(issue: z.core.$ZodRawIssue): string | undefined {
  const count = (origin: unknown, n: number) =>
    origin === "array" || origin === "set"
      ? (n === 1 ? " entry" : " entries")
      : origin === "string"
      ? (n === 1 ? " character" : " characters")
      : "";
  switch (issue.code) {
    case "too_big": {
      const max = Number(issue.maximum);
      if (issue.origin === "number") {
        return issue.inclusive ? `at most ${max}` : `below ${max}`;
      }
      return `at most ${max}${count(issue.origin, max)}`;
    }
    case "too_small": {
      const min = Number(issue.minimum);
      if (issue.origin === "number") {
        return issue.inclusive ? `at least ${min}` : `above ${min}`;
      }
      return `at least ${min}${count(issue.origin, min)}`;
    }
    case "invalid_type":
      return issue.expected === "int"
        ? "expected an integer"
        : `expected ${issue.expected === "array" ? "a list" : issue.expected}`;
    case "invalid_value":
      return `expected one of ${
        issue.values.map((v) => JSON.stringify(v)).join(", ")
      }`;
    default:
      return undefined;
  }
}

// One wording for every schema the stages parse, in whichever thread parses
// it (the engine's, a Worker, a cluster job): set wherever a schema is made.
z.config({ customError: issueMessage });
