/** The project's assertions (tests/assert.ts), under the name these tests import. */
export {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertThrows,
} from "../../assert.ts";
