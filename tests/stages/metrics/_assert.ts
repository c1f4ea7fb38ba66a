/**
 * The few assertions these tests need, on node:assert (jsr.io is not
 * reachable here, so `jsr:@std/assert` cannot be fetched).
 */
import { deepStrictEqual, ok, throws } from "node:assert/strict";

/** Deep equality; NaN equals NaN (SameValue), as in @std/assert. */
export function assertEquals<T>(
  actual: T,
  expected: T,
  message?: string,
): void {
  deepStrictEqual(actual, expected, message);
}

/** |actual − expected| ≤ tolerance (absolute). */
export function assertAlmostEquals(
  actual: number,
  expected: number,
  tolerance: number,
): void {
  ok(
    Math.abs(actual - expected) <= tolerance,
    `Expected ${actual} to be within ${tolerance} of ${expected}`,
  );
}

export function assert(
  condition: unknown,
  message?: string,
): asserts condition {
  ok(condition, message);
}

/** `fn` throws an `ErrorClass` whose message includes `includes`. */
export function assertThrows(
  fn: () => unknown,
  ErrorClass: new (...args: never[]) => Error,
  includes: string,
): void {
  throws(
    fn,
    (e: unknown) => e instanceof ErrorClass && e.message.includes(includes),
  );
}
