/**
 * Compiles Vega-Lite specs with warnings treated as errors, and renders a
 * static SVG of each (the report's no-JavaScript fallback).
 */
import { compile, type TopLevelSpec } from "vega-lite";
import { parse, View } from "vega";
import type { VlSpec } from "./vl.ts";

type VlLogger = NonNullable<
  NonNullable<Parameters<typeof compile>[1]>["logger"]
>;

/** The Vega spec of a Vega-Lite spec; throws one line listing any warning or error. */
export function compileStrict(
  spec: VlSpec,
): ReturnType<typeof compile>["spec"] {
  const messages: string[] = [];
  const record = (kind: string) => (...args: unknown[]) => {
    messages.push(`${kind}: ${args.map(String).join(" ")}`);
    return logger;
  };
  const logger = {
    level: () => logger,
    error: record("error"),
    warn: record("warn"),
    info: () => logger,
    debug: () => logger,
  };
  const out = compile(spec as unknown as TopLevelSpec, {
    logger: logger as unknown as VlLogger,
  });
  if (messages.length > 0) {
    throw new Error(
      `Vega-Lite spec '${String(spec.title)}' compiles with ${
        messages.join("; ")
      }`,
    );
  }
  return out.spec;
}

/** A static SVG of a Vega-Lite spec, rendered headless (no canvas, no DOM). */
export async function renderSvg(spec: VlSpec): Promise<string> {
  // vega tags data rows it renders; a clone keeps the caller's spec plain JSON.
  const view = new View(parse(compileStrict(structuredClone(spec))), {
    renderer: "none",
  });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
