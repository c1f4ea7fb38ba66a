/**
 * A module's token stream, read by TypeScript's own scanner: comments and
 * whitespace are trivia and drop out, so a comment or a `deno fmt` change
 * leaves the stream (and the code fingerprint) as it was, while any change
 * the compiler could see changes it. The import specifiers come from the same
 * tokens, so an import inside a comment or a string is never followed.
 *
 * The `typescript` package (one self-contained file, no dependencies) is
 * loaded on first use only: modules that import `hash.ts` for canonical JSON
 * never pay for it.
 */
import type * as TS from "typescript";

let loading: Promise<typeof TS> | undefined;

/**
 * The TypeScript compiler module, imported once per process. On load it
 * builds `ts.sys` (a file system host reading environment variables such as
 * TSC_WATCHFILE) when it believes it runs in Node; the scanner needs none of
 * it, and the tasks grant no environment access, so the load is told it runs
 * in a browser (`process.browser`), the flag TypeScript itself checks.
 */
export function typescript(): Promise<typeof TS> {
  loading ??= (async () => {
    const host = (globalThis as { process?: { browser?: unknown } }).process;
    const had = host !== undefined && "browser" in host;
    const before = host?.browser;
    if (host) host.browser = true;
    try {
      const m = await import("typescript");
      return ((m as unknown as { default?: typeof TS }).default ??
        m) as typeof TS;
    } finally {
      if (host && had) host.browser = before;
      else if (host) delete host.browser;
    }
  })();
  return loading;
}

/** Bump when the normalization below changes: memoized scans (fingerprint.ts) are kept per scheme. */
const NORMALIZATION = 1;

let scheme: Promise<string | undefined> | undefined;

/**
 * A name for what `scanModule` computes: the normalization's version and the
 * TypeScript package's (read from its package.json, without loading it), or
 * undefined when the package is not a file on disk.
 */
export function scannerScheme(): Promise<string | undefined> {
  scheme ??= (async () => {
    try {
      const entry = new URL(import.meta.resolve("typescript"));
      if (entry.protocol !== "file:") return undefined;
      const manifest = JSON.parse(
        await Deno.readTextFile(new URL("../package.json", entry)),
      ) as { version?: unknown };
      return typeof manifest.version === "string"
        ? `tokens${NORMALIZATION}-typescript${manifest.version}`
        : undefined;
    } catch {
      return undefined;
    }
  })();
  return scheme;
}

/** What one module contributes to a fingerprint. */
export interface ModuleTokens {
  /**
   * The normalized tokens: string and number literals by value (so quote
   * style does not count), a trailing comma before a closing bracket dropped
   * (`deno fmt` adds and removes those), and a line break kept only where
   * JavaScript gives it meaning (after `return`, `throw`, `break`,
   * `continue`, `yield`, `async`, and before `++`/`--`). Semicolons count:
   * a missing one can change the meaning through ASI, and `deno fmt` writes
   * them, so formatted code never differs by one.
   */
  tokens: string[];
  /** Every module specifier imported or re-exported, statically or dynamically, in order of appearance. */
  imports: string[];
  /** The subset of `imports` only types are taken from (`import type`, `export type … from`): no code runs from them. */
  typeOnly: string[];
  /** Bare package specifiers passed to `import.meta.resolve(…)`: packages read as files, not imported. */
  resolved: string[];
}

/** Tokens before which a line break ends the statement (ASI's restricted productions). */
const BREAK_AFTER = new Set([
  "return",
  "throw",
  "break",
  "continue",
  "yield",
  "async",
]);

/** Keywords after which a `/` starts a regular expression, not a division. */
const REGEX_AFTER_KEYWORD = new Set([
  "return",
  "typeof",
  "instanceof",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "yield",
  "await",
  "extends",
]);

/** Scans one TypeScript or JavaScript source into its normalized tokens and imports. */
export async function scanModule(source: string): Promise<ModuleTokens> {
  const ts = await typescript();
  const K = ts.SyntaxKind;
  const scanner = ts.createScanner(
    ts.ScriptTarget.Latest,
    /* skipTrivia */ true,
    ts.LanguageVariant.Standard,
    source,
  );
  // Raw tokens (kind and normalized text) for the import patterns.
  const raw: Array<{ kind: TS.SyntaxKind; text: string }> = [];
  const tokens: string[] = [];
  // Open `{` and template `${` on the way in, so a `}` that closes a template
  // substitution is rescanned as the template's continuation.
  const braces: Array<"brace" | "template"> = [];
  let previous: { kind: TS.SyntaxKind; text: string } | undefined;
  let beforePrevious: { kind: TS.SyntaxKind; text: string } | undefined;
  for (let kind = scanner.scan(); kind !== K.EndOfFileToken;) {
    if (
      (kind === K.SlashToken || kind === K.SlashEqualsToken) &&
      regexAllowed(ts, previous, beforePrevious)
    ) {
      kind = scanner.reScanSlashToken();
    } else if (kind === K.CloseBraceToken && braces.at(-1) === "template") {
      kind = scanner.reScanTemplateToken(false);
      if (kind === K.TemplateTail) braces.pop();
    } else if (kind === K.OpenBraceToken) braces.push("brace");
    else if (kind === K.CloseBraceToken) braces.pop();
    if (kind === K.TemplateHead) braces.push("template");
    const text = tokenText(ts, scanner, kind);
    if (
      scanner.hasPrecedingLineBreak() && previous !== undefined &&
      ((!isLiteral(ts, previous.kind) && BREAK_AFTER.has(previous.text)) ||
        kind === K.PlusPlusToken ||
        kind === K.MinusMinusToken)
    ) tokens.push("\n");
    // A trailing comma before a closing bracket changes nothing.
    if (
      previous?.kind === K.CommaToken &&
      (kind === K.CloseParenToken || kind === K.CloseBracketToken ||
        kind === K.CloseBraceToken || kind === K.GreaterThanToken)
    ) tokens.pop();
    tokens.push(`${tokenClass(ts, kind)}${text}`);
    beforePrevious = previous;
    previous = { kind, text };
    raw.push(previous);
    kind = scanner.scan();
  }
  return { tokens, ...specifiers(ts, raw) };
}

/** A token's text: literals by value, everything else as written. */
function tokenText(
  ts: typeof TS,
  scanner: TS.Scanner,
  kind: TS.SyntaxKind,
): string {
  const K = ts.SyntaxKind;
  switch (kind) {
    case K.StringLiteral:
    case K.NumericLiteral:
    case K.BigIntLiteral:
      return scanner.getTokenValue();
    default:
      return scanner.getTokenText();
  }
}

/** Literals, whose text is a value rather than a keyword or a name. */
function isLiteral(ts: typeof TS, kind: TS.SyntaxKind): boolean {
  const K = ts.SyntaxKind;
  return kind === K.StringLiteral || kind === K.NumericLiteral ||
    kind === K.BigIntLiteral || kind === K.RegularExpressionLiteral ||
    kind === K.NoSubstitutionTemplateLiteral || kind === K.TemplateHead ||
    kind === K.TemplateMiddle || kind === K.TemplateTail;
}

/**
 * A prefix that keeps a literal apart from a name with the same text (the
 * string "x" from the identifier x); names and punctuation have none, so
 * the stream does not depend on the compiler's internal kind numbers.
 */
function tokenClass(ts: typeof TS, kind: TS.SyntaxKind): string {
  const K = ts.SyntaxKind;
  switch (kind) {
    case K.StringLiteral:
      return "s:";
    case K.NumericLiteral:
      return "n:";
    case K.BigIntLiteral:
      return "b:";
    case K.PrivateIdentifier:
      return "";
    default:
      return isLiteral(ts, kind) ? "t:" : "";
  }
}

/** Whether a `/` after `previous` starts a regular expression (where an expression may begin). */
function regexAllowed(
  ts: typeof TS,
  previous: { kind: TS.SyntaxKind; text: string } | undefined,
  beforePrevious?: { kind: TS.SyntaxKind; text: string },
): boolean {
  if (previous === undefined) return true;
  const K = ts.SyntaxKind;
  const k = previous.kind;
  // A template's `${` opens an expression; other literals end one.
  if (k === K.TemplateHead || k === K.TemplateMiddle) return true;
  if (isLiteral(ts, k)) return false;
  // `x! / 2`: a non-null assertion ends an expression; `!/re/` negates one.
  if (k === K.ExclamationToken && beforePrevious !== undefined) {
    return regexAllowed(ts, beforePrevious);
  }
  if (REGEX_AFTER_KEYWORD.has(previous.text)) return true;
  if (
    k === K.Identifier || k === K.CloseParenToken ||
    k === K.CloseBracketToken || k === K.CloseBraceToken ||
    k === K.PlusPlusToken || k === K.MinusMinusToken
  ) return false;
  // Other keywords (this, super, true, null, contextual names used as
  // identifiers) end an expression; punctuation begins one.
  return !(k >= K.FirstKeyword && k <= K.LastKeyword);
}

/** Import specifiers and `import.meta.resolve` arguments from the raw tokens. */
function specifiers(
  ts: typeof TS,
  raw: Array<{ kind: TS.SyntaxKind; text: string }>,
): { imports: string[]; typeOnly: string[]; resolved: string[] } {
  const K = ts.SyntaxKind;
  const imports: string[] = [];
  const typeOnly: string[] = [];
  const resolved: string[] = [];
  // Whether the import or export statement being read is `import type …`.
  let types = false;
  const at = (i: number) => raw[i];
  const is = (i: number, kind: TS.SyntaxKind) => at(i)?.kind === kind;
  for (let i = 0; i < raw.length; i++) {
    const token = raw[i]!;
    const afterDot = is(i - 1, K.DotToken) || is(i - 1, K.QuestionDotToken);
    if (afterDot) continue;
    if (token.kind === K.ImportKeyword || token.kind === K.ExportKeyword) {
      const next = at(i + 2)?.kind;
      types = is(i + 1, K.TypeKeyword) && next !== K.FromKeyword &&
        next !== K.EqualsToken && next !== K.CommaToken;
    }
    if (token.kind === K.FromKeyword && is(i + 1, K.StringLiteral) && types) {
      typeOnly.push(at(i + 1)!.text);
    }
    // `import "x"`, `… from "x"` (imports and re-exports)
    if (
      (token.kind === K.ImportKeyword || token.kind === K.FromKeyword) &&
      is(i + 1, K.StringLiteral)
    ) imports.push(at(i + 1)!.text);
    // `import("x")`
    else if (
      token.kind === K.ImportKeyword && is(i + 1, K.OpenParenToken) &&
      is(i + 2, K.StringLiteral)
    ) imports.push(at(i + 2)!.text);
    // `import.meta.resolve("x")`
    else if (
      token.kind === K.ImportKeyword && is(i + 1, K.DotToken) &&
      at(i + 2)?.text === "meta" && is(i + 3, K.DotToken) &&
      at(i + 4)?.text === "resolve" && is(i + 5, K.OpenParenToken) &&
      is(i + 6, K.StringLiteral)
    ) resolved.push(at(i + 6)!.text);
  }
  return { imports, typeOnly, resolved };
}

/** True for a specifier naming a local file (relative or `file:`). */
export function isLocalSpecifier(specifier: string): boolean {
  return specifier.startsWith("./") || specifier.startsWith("../") ||
    specifier.startsWith("file:");
}
