/** A hand-made stage context for calling one stage's run() in a test, without the engine. */
import { Rng } from "../../pipeline/rng.ts";
import type { InputValue, StageContext } from "../../pipeline/stage.ts";

/** What a test gives a stage: the context's own parts, plus its inputs by name. */
export interface ContextParts extends Partial<StageContext> {
  /** Single inputs by name, for ctx.input(). */
  inputs?: Record<string, Uint8Array>;
  /** `select: "all"` inputs by name, for ctx.inputAll(). */
  all?: Record<string, InputValue[]>;
}

/**
 * A stage context like the engine's: the given parts, and otherwise no
 * params, no item, an RNG seeded "unused", a silent log, no progress, no
 * scratch folder, and inputs that throw naming any input they lack.
 */
export function stageContext(parts: ContextParts = {}): StageContext {
  const { inputs = {}, all = {}, ...own } = parts;
  return {
    params: {},
    item: {},
    rng: Rng.fromSeed("unused"),
    log: { info: () => {}, warn: () => {} },
    progress: () => {},
    input(name) {
      const data = inputs[name];
      if (!data) throw new Error(`No input '${name}' in the test context`);
      return data;
    },
    inputAll(name) {
      const values = all[name];
      if (!values) throw new Error(`No input '${name}' in the test context`);
      return values;
    },
    scratchDir: "/nonexistent",
    signal: new AbortController().signal,
    ...own,
  };
}
