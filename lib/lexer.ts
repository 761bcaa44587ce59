/**
 * A PostgreSQL lexer that knows enough to never be fooled: it scans text into
 * tokens (skipping the insides of strings, quoted identifiers, dollar-quoted
 * bodies and comments) and groups tokens into statements, so `;`, `-- UP` or
 * `CONCURRENTLY` inside a string, a comment or a function body are just text.
 *
 * It knows single-quoted strings (`''`), `E'..'` escape strings (backslash
 * escapes), `B'..'`, `X'..'`, `N'..'` and `U&'..'` strings, dollar-quoted
 * strings with any tag, double-quoted and `U&".."` identifiers, `--` line
 * comments, nested block comments, parentheses, and `BEGIN ATOMIC ... END`
 * bodies of SQL-standard functions and procedures (PostgreSQL 14+).
 *
 * @module
 */
import { ValidationError } from "./errors.ts";

/** What a token is. */
export type TokenKind =
  | "word"
  | "ident"
  | "string"
  | "dollar"
  | "number"
  | "param"
  | "op"
  | "punct"
  | "line_comment"
  | "block_comment";

/** A token: its kind and its `[start, end)` offsets in the scanned text. */
export interface Token {
  /** Kind of token. */
  kind: TokenKind;
  /** Offset of the first character. */
  start: number;
  /** Offset just past the last character. */
  end: number;
}

/** A statement found by {@link splitStatements}. */
export interface Statement {
  /** Offset of the statement's first token (comments before it excluded). */
  start: number;
  /** Offset just past its terminating `;`, or past its last token when the `;` is missing. */
  end: number;
  /** Whether a `;` ended it. */
  terminated: boolean;
  /**
   * Up to 16 of its words outside parentheses, in order: keywords and plain
   * identifiers upper-cased, quoted identifiers as written. Enough to tell
   * `CREATE INDEX CONCURRENTLY` from `REFRESH MATERIALIZED VIEW CONCURRENTLY`.
   */
  words: string[];
}

/**
 * An unterminated string, quoted identifier or comment.
 *
 * @example
 * ```ts
 * import { LexError, tokenize } from "./lexer.ts";
 * try {
 *   tokenize("SELECT 'abc");
 * } catch (error) {
 *   if (error instanceof LexError) console.log(error.what, error.offset); // "string '...'" 7
 * }
 * ```
 */
export class LexError extends ValidationError {
  /** Offset where the unterminated construct opens. */
  readonly offset: number;
  /** What is open, e.g. `dollar-quoted string $body$`. */
  readonly what: string;

  /**
   * Creates the error.
   *
   * @param what What is open.
   * @param offset Where it opens.
   */
  constructor(what: string, offset: number) {
    super("UNTERMINATED", `unterminated ${what}`);
    this.what = what;
    this.offset = offset;
  }
}

const enum C {
  TAB = 9,
  LF = 10,
  VT = 11,
  FF = 12,
  CR = 13,
  SPACE = 32,
  BANG = 33,
  DQUOTE = 34,
  HASH = 35,
  DOLLAR = 36,
  PERCENT = 37,
  AMP = 38,
  QUOTE = 39,
  LPAREN = 40,
  RPAREN = 41,
  STAR = 42,
  PLUS = 43,
  COMMA = 44,
  MINUS = 45,
  DOT = 46,
  SLASH = 47,
  ZERO = 48,
  NINE = 57,
  SEMI = 59,
  LT = 60,
  EQ = 61,
  GT = 62,
  QUESTION = 63,
  AT = 64,
  UPPER_A = 65,
  UPPER_B = 66,
  UPPER_E = 69,
  UPPER_N = 78,
  UPPER_U = 85,
  UPPER_X = 88,
  UPPER_Z = 90,
  BACKSLASH = 92,
  CARET = 94,
  UNDERSCORE = 95,
  BACKTICK = 96,
  LOWER_A = 97,
  LOWER_B = 98,
  LOWER_E = 101,
  LOWER_N = 110,
  LOWER_U = 117,
  LOWER_X = 120,
  LOWER_Z = 122,
  PIPE = 124,
  TILDE = 126,
}

function isIdentStart(c: number): boolean {
  return (c >= C.LOWER_A && c <= C.LOWER_Z) || (c >= C.UPPER_A && c <= C.UPPER_Z) ||
    c === C.UNDERSCORE || c >= 0x80;
}

function isDigit(c: number): boolean {
  return c >= C.ZERO && c <= C.NINE;
}

function isOpChar(c: number): boolean {
  switch (c) {
    case C.PLUS:
    case C.MINUS:
    case C.STAR:
    case C.SLASH:
    case C.LT:
    case C.GT:
    case C.EQ:
    case C.TILDE:
    case C.BANG:
    case C.AT:
    case C.HASH:
    case C.PERCENT:
    case C.CARET:
    case C.AMP:
    case C.PIPE:
    case C.BACKTICK:
    case C.QUESTION:
      return true;
    default:
      return false;
  }
}

/** End of a quoted run closed by `quote`, where a doubled quote is literal. */
function endOfQuoted(sql: string, from: number, end: number, quote: number): number {
  // indexOf, not a loop over characters: strings are most of a data migration.
  const q = quote === C.QUOTE ? "'" : '"';
  let i = from;
  for (;;) {
    const j = sql.indexOf(q, i);
    if (j === -1 || j >= end) return -1;
    if (j + 1 < end && sql.charCodeAt(j + 1) === quote) {
      i = j + 2;
      continue;
    }
    return j + 1;
  }
}

/** End of an `E'...'` body: backslash escapes any character, `''` is a quote. */
function endOfEscapeString(sql: string, from: number, end: number): number {
  let i = from;
  let quote = -2;
  let slash = -2;
  for (;;) {
    if (quote < i) quote = sql.indexOf("'", i);
    if (quote === -1 || quote >= end) return -1;
    if (slash !== -1 && slash < i) slash = sql.indexOf("\\", i);
    if (slash !== -1 && slash < quote) {
      i = slash + 2;
      continue;
    }
    if (quote + 1 < end && sql.charCodeAt(quote + 1) === C.QUOTE) {
      i = quote + 2;
      continue;
    }
    return quote + 1;
  }
}

/** If a dollar-quote opening tag starts at `i`, its length; else 0. */
function dollarTagLength(sql: string, i: number, end: number): number {
  let j = i + 1;
  if (j < end && sql.charCodeAt(j) === C.DOLLAR) return 2;
  if (j >= end || !isIdentStart(sql.charCodeAt(j))) return 0;
  j++;
  while (j < end) {
    const c = sql.charCodeAt(j);
    if (c === C.DOLLAR) return j - i + 1;
    if (!isIdentStart(c) && !isDigit(c)) return 0;
    j++;
  }
  return 0;
}

/** End of a nested block comment starting at `i` (which holds `/*`). */
function endOfBlockComment(sql: string, i: number, end: number): number {
  let depth = 1;
  let j = i + 2;
  while (j < end) {
    const c = sql.charCodeAt(j);
    if (c === C.STAR && j + 1 < end && sql.charCodeAt(j + 1) === C.SLASH) {
      depth--;
      j += 2;
      if (depth === 0) return j;
      continue;
    }
    if (c === C.SLASH && j + 1 < end && sql.charCodeAt(j + 1) === C.STAR) {
      depth++;
      j += 2;
      continue;
    }
    j++;
  }
  return -1;
}

/**
 * Scans PostgreSQL text into tokens. Whitespace is skipped; comments are
 * tokens, so callers can find `-- UP` markers and header lines.
 *
 * @param sql Text to scan.
 * @param start Offset to start at (default 0).
 * @param end Offset to stop at (default the end of `sql`).
 * @returns Tokens in order, with offsets into `sql`.
 * @throws {LexError} When a string, quoted identifier or comment is not closed.
 * @example
 * ```ts
 * import { tokenize } from "./lexer.ts";
 * const kinds = tokenize("SELECT 'a;b' -- c").map((t) => t.kind);
 * console.log(kinds); // ["word", "string", "line_comment"]
 * ```
 */
export function tokenize(sql: string, start = 0, end = sql.length): Token[] {
  const tokens: Token[] = [];
  let i = start;
  while (i < end) {
    const c = sql.charCodeAt(i);
    if (c === C.SPACE || (c >= C.TAB && c <= C.CR)) {
      i++;
      continue;
    }
    const from = i;
    // The commonest tokens of data migrations first: ( ) , ;
    if (c === C.LPAREN || c === C.RPAREN || c === C.COMMA || c === C.SEMI) {
      i++;
      tokens.push({ kind: "punct", start: from, end: i });
      continue;
    }
    const next = i + 1 < end ? sql.charCodeAt(i + 1) : -1;
    let kind: TokenKind;
    if (c === C.MINUS && next === C.MINUS) {
      const nl = sql.indexOf("\n", i);
      i = nl === -1 || nl > end ? end : nl;
      kind = "line_comment";
    } else if (c === C.SLASH && next === C.STAR) {
      i = endOfBlockComment(sql, i, end);
      if (i === -1) throw new LexError("block comment /* ... */", from);
      kind = "block_comment";
    } else if (c === C.QUOTE) {
      i = endOfQuoted(sql, i + 1, end, C.QUOTE);
      if (i === -1) throw new LexError("string '...'", from);
      kind = "string";
    } else if (c === C.DQUOTE) {
      i = endOfQuoted(sql, i + 1, end, C.DQUOTE);
      if (i === -1) throw new LexError('quoted identifier "..."', from);
      kind = "ident";
    } else if ((c === C.UPPER_E || c === C.LOWER_E) && next === C.QUOTE) {
      i = endOfEscapeString(sql, i + 2, end);
      if (i === -1) throw new LexError("escape string E'...'", from);
      kind = "string";
    } else if (
      (c === C.UPPER_B || c === C.LOWER_B || c === C.UPPER_X || c === C.LOWER_X ||
        c === C.UPPER_N || c === C.LOWER_N) && next === C.QUOTE
    ) {
      i = endOfQuoted(sql, i + 2, end, C.QUOTE);
      if (i === -1) throw new LexError("string '...'", from);
      kind = "string";
    } else if (
      (c === C.UPPER_U || c === C.LOWER_U) && next === C.AMP && i + 2 < end &&
      (sql.charCodeAt(i + 2) === C.QUOTE || sql.charCodeAt(i + 2) === C.DQUOTE)
    ) {
      const quote = sql.charCodeAt(i + 2);
      i = endOfQuoted(sql, i + 3, end, quote);
      if (i === -1) {
        throw new LexError(
          quote === C.QUOTE ? "string U&'...'" : 'quoted identifier U&"..."',
          from,
        );
      }
      kind = quote === C.QUOTE ? "string" : "ident";
    } else if (
      (c >= C.LOWER_A && c <= C.LOWER_Z) || (c >= C.UPPER_A && c <= C.UPPER_Z) ||
      c === C.UNDERSCORE || c >= 0x80
    ) {
      // The rest of the word in one native match.
      WORD_REST.lastIndex = i + 1;
      i = WORD_REST.test(sql) ? Math.min(WORD_REST.lastIndex, end) : i + 1;
      kind = "word";
    } else if (c === C.DOLLAR) {
      if (isDigit(next)) {
        i++;
        while (i < end && isDigit(sql.charCodeAt(i))) i++;
        kind = "param";
      } else {
        const tagLength = dollarTagLength(sql, i, end);
        if (tagLength === 0) {
          i++;
          kind = "op";
        } else {
          const tag = sql.slice(i, i + tagLength);
          const close = sql.indexOf(tag, i + tagLength);
          if (close === -1 || close + tagLength > end) {
            throw new LexError(`dollar-quoted string ${tag}`, from);
          }
          i = close + tagLength;
          kind = "dollar";
        }
      }
    } else if (isDigit(c) || (c === C.DOT && isDigit(next))) {
      NUMBER_REST.lastIndex = i + 1;
      i = NUMBER_REST.test(sql) ? Math.min(NUMBER_REST.lastIndex, end) : i + 1;
      kind = "number";
    } else if (isOpChar(c)) {
      i++;
      while (i < end) {
        const d = sql.charCodeAt(i);
        if (!isOpChar(d)) break;
        const e = i + 1 < end ? sql.charCodeAt(i + 1) : -1;
        if ((d === C.MINUS && e === C.MINUS) || (d === C.SLASH && e === C.STAR)) break;
        i++;
      }
      kind = "op";
    } else {
      i++;
      kind = "punct";
    }
    tokens.push({ kind, start: from, end: i });
  }
  return tokens;
}

/** What may follow a word's first character: letters, digits, `_`, `$`, non-ASCII. */
const WORD_REST = /[A-Za-z0-9_$\u0080-\uffff]*/y;
/**
 * What may follow a number's first character: digits, dots, underscores and
 * letters (a malformed number stays one token), a sign after an exponent.
 */
const NUMBER_REST = /(?:[eE][+-]?|[0-9._A-Za-z\u0080-\uffff])*/y;

const MAX_WORDS = 16;

/**
 * Groups tokens into statements. A `;` ends a statement only outside
 * parentheses and outside the `BEGIN ATOMIC ... END` body of a
 * `CREATE [OR REPLACE] FUNCTION|PROCEDURE`; the last statement may lack its
 * `;`. Comments and empty statements (`;;`) produce nothing, so text holding
 * only comments has no statements.
 *
 * @param sql The scanned text.
 * @param tokens Its tokens, from {@link tokenize}; scanned here when omitted.
 * @returns Statements in order.
 * @throws {LexError} When scanning fails (only when `tokens` is omitted).
 * @example
 * ```ts
 * import { splitStatements } from "./lexer.ts";
 * const sql = "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql; SELECT f()";
 * const statements = splitStatements(sql);
 * console.log(statements.length, statements[1].words); // 2 ["SELECT", "F"]
 * ```
 */
export function splitStatements(sql: string, tokens: Token[] = tokenize(sql)): Statement[] {
  const statements: Statement[] = [];
  let current: Statement | null = null;
  let parenDepth = 0;
  let beginDepth = 0;
  let isRoutine = false;
  for (const token of tokens) {
    if (token.kind === "line_comment" || token.kind === "block_comment") continue;
    const c = sql.charCodeAt(token.start);
    if (token.kind === "punct" && c === C.SEMI && parenDepth === 0 && beginDepth === 0) {
      if (current) {
        current.end = token.end;
        current.terminated = true;
        statements.push(current);
        current = null;
      }
      continue;
    }
    if (!current) {
      current = { start: token.start, end: token.end, terminated: false, words: [] };
      parenDepth = 0;
      beginDepth = 0;
      isRoutine = false;
    }
    current.end = token.end;
    if (token.kind === "punct") {
      if (c === C.LPAREN) parenDepth++;
      else if (c === C.RPAREN && parenDepth > 0) parenDepth--;
      continue;
    }
    if (parenDepth > 0) continue;
    if (token.kind === "word" || token.kind === "ident") {
      const word = token.kind === "word"
        ? sql.slice(token.start, token.end).toUpperCase()
        : sql.slice(token.start, token.end);
      const words = current.words;
      if (words.length < MAX_WORDS) {
        words.push(word);
        if (words.length <= 4 && (word === "FUNCTION" || word === "PROCEDURE")) {
          isRoutine = words[0] === "CREATE" &&
            (words.length === 2 || (words[1] === "OR" && words[2] === "REPLACE"));
        }
      }
      if (isRoutine) {
        if (word === "BEGIN") beginDepth++;
        else if (word === "CASE" && beginDepth > 0) beginDepth++;
        else if (word === "END" && beginDepth > 0) beginDepth--;
      }
    }
  }
  if (current) statements.push(current);
  return statements;
}
