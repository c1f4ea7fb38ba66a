/**
 * The few places where text reaches the HTML without Eta's escaping, each
 * made safe here: JSON inside <script type="application/json">, inline
 * scripts and styles, and SVG drawn by vega.
 */

/**
 * JSON for a script block: `<`, `>` and `&` only occur inside JSON strings,
 * where \u003c etc. decode to the same text, so `</script>` cannot close the
 * block and JSON.parse gives back the same value.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replaceAll("<", "\\u003c")
    .replaceAll(">", "\\u003e")
    .replaceAll("&", "\\u0026")
    .replaceAll("\u2028", "\\u2028")
    .replaceAll("\u2029", "\\u2029");
}

/** Throws if inline script or style text could end its element early. */
export function assertInlineSafe(text: string, what: string): string {
  if (/<\/(script|style)|<!--/i.test(text)) {
    throw new Error(
      `Inline ${what} contains '</script', '</style' or '<!--' and cannot be inlined`,
    );
  }
  return text;
}

/**
 * A vega-rendered SVG, accepted only if it holds no script, event handler,
 * foreign content or link outside the document; otherwise null.
 */
export function safeSvg(svg: string): string | null {
  if (!/^<svg[\s>]/.test(svg)) return null;
  if (
    /<script|<foreignObject|<iframe|<image|\son[a-z]+\s*=|javascript:|<\/svg>[\s\S]*</i
      .test(svg)
  ) {
    return null;
  }
  const links = svg.match(/\s(?:xlink:)?href\s*=\s*"([^"]*)"/gi) ?? [];
  if (links.some((l) => !/=\s*"#/.test(l))) return null;
  return svg;
}
