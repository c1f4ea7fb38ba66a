/** Minimal assertions (the JSR standard library is not reachable here). */
import { deepStrictEqual } from "node:assert";

export class AssertionError extends Error {
  override name = "AssertionError";
}

export function assert(
  condition: unknown,
  message = "Assertion failed",
): asserts condition {
  if (!condition) throw new AssertionError(message);
}

export function assertEquals<T>(
  actual: T,
  expected: T,
  message?: string,
): void {
  try {
    deepStrictEqual(actual, expected);
  } catch (error) {
    throw new AssertionError(
      `${message ? message + ": " : ""}${(error as Error).message}`,
    );
  }
}

export function assertNotEquals<T>(
  actual: T,
  expected: T,
  message?: string,
): void {
  let equal = true;
  try {
    deepStrictEqual(actual, expected);
  } catch {
    equal = false;
  }
  if (equal) {
    throw new AssertionError(
      message ?? `Expected values to differ: ${String(actual)}`,
    );
  }
}

export function assertAlmostEquals(
  actual: number,
  expected: number,
  tolerance = 1e-7,
  message?: string,
): void {
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new AssertionError(
      `${
        message ? message + ": " : ""
      }${actual} is not within ${tolerance} of ${expected}`,
    );
  }
}

// deno-lint-ignore no-explicit-any
type ErrorClass = new (...args: any[]) => Error;

export function assertThrows(
  fn: () => unknown,
  errorClass?: ErrorClass,
  includes?: string,
): Error {
  try {
    fn();
  } catch (error) {
    return check(error, errorClass, includes);
  }
  throw new AssertionError("Expected the function to throw");
}

export async function assertRejects(
  fn: () => Promise<unknown>,
  errorClass?: ErrorClass,
  includes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    return check(error, errorClass, includes);
  }
  throw new AssertionError("Expected the promise to reject");
}

function check(
  error: unknown,
  errorClass?: ErrorClass,
  includes?: string,
): Error {
  if (!(error instanceof Error)) {
    throw new AssertionError(`Thrown value is not an Error: ${String(error)}`);
  }
  const e: Error = error;
  if (errorClass && !(e instanceof errorClass)) {
    const { name, message } = e as { name: string; message: string };
    throw new AssertionError(
      `Expected ${errorClass.name}, got ${name}: ${message}`,
    );
  }
  if (includes !== undefined && !error.message.includes(includes)) {
    throw new AssertionError(
      `Expected the message to include "${includes}", got "${error.message}"`,
    );
  }
  return error;
}

/** `Object.is(actual, expected)`: the same primitive value or the same object. */
export function assertStrictEquals<T>(
  actual: T,
  expected: T,
  message?: string,
): void {
  if (!Object.is(actual, expected)) {
    throw new AssertionError(
      `${message ? message + ": " : ""}Expected ${String(expected)}, got ${
        String(actual)
      }`,
    );
  }
}

/**
 * `fn` throws an Error whose `Name: message` form (as `String(error)` prints
 * it) matches `pattern`, e.g. /^RangeError: lr: expected a number > 0/.
 */
export function assertThrowsMatch(fn: () => unknown, pattern: RegExp): Error {
  const error = assertThrows(fn);
  if (!pattern.test(String(error))) {
    throw new AssertionError(
      `Expected the error to match ${pattern}, got "${String(error)}"`,
    );
  }
  return error;
}

/**
 * `promise` rejects with an Error whose `Name: message` form matches
 * `pattern`, like node's `rejects(promise, /re/)`.
 */
export async function assertRejectsMatch(
  promise: Promise<unknown>,
  pattern: RegExp,
): Promise<Error> {
  const error = await assertRejects(() => promise);
  if (!pattern.test(String(error))) {
    throw new AssertionError(
      `Expected the rejection to match ${pattern}, got "${String(error)}"`,
    );
  }
  return error;
}
