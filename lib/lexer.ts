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
 * A caller that needs only the statements (the parse of a migration) scans
 * with `groups`: parenthesized text, such as the rows of an INSERT, is then
 * matched natively as one `group` token instead of one token at a time
 * (statements split the same, since their splitting never looks inside
 * parentheses), and {@link groupTokens} takes a group apart where its
 * tokens are wanted (the lint's rules).
 *
 * @module
 */
import { ValidationError } from "./errors.ts";
import { endOfGroups } from "./groups.ts";

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
  | "block_comment"
  | "group";

/** A token: its kind and its `[start, end)` offsets in the scanned text. */
export interface Token {
  /** Kind of token. */
  kind: TokenKind;
  /** Offset of the first character. */
  start: number;
  /** Offset just past the last character. */
  end: number;
}

/** Each token kind's code in a {@link TokenList}, for callers that test kinds in loops. */
export const KIND = {
  word: 0,
  ident: 1,
  string: 2,
  dollar: 3,
  number: 4,
  param: 5,
  op: 6,
  punct: 7,
  line_comment: 8,
  block_comment: 9,
  group: 10,
} as const satisfies Record<TokenKind, number>;

/** Token kinds by code: `TOKEN_KINDS[tokens.kinds[i]]` is the kind of token `i` of a {@link TokenList}. */
export const TOKEN_KINDS: readonly TokenKind[] = (() => {
  const kinds: TokenKind[] = [];
  for (const [kind, code] of Object.entries(KIND)) kinds[code] = kind as TokenKind;
  return kinds;
})();

/**
 * Tokens as three parallel arrays, one entry a token, from
 * {@link scanTokens}: no object a token, so that a file's tokens cost the
 * garbage collector nothing and can be kept and shared (a data migration has
 * a hundred thousand of them).
 */
export interface TokenList {
  /** Number of tokens. */
  readonly length: number;
  /** Each token's kind, a code of {@link KIND}. */
  readonly kinds: Uint8Array;
  /** Each token's first offset. */
  readonly starts: Int32Array;
  /** Each token's end offset (just past its last character). */
  readonly ends: Int32Array;
  /** Indexes of the line comments (`-- ...`), where markers and headers are. */
  readonly comments: readonly number[];
  /**
   * Index of the first backslash outside strings and comments (never SQL: a
   * psql meta-command such as `\i`), or -1.
   */
  readonly backslash: number;
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
  /** Index of its first token in the tokens it was split from. */
  firstToken: number;
  /** Index just past its last token (its `;` included). */
  endToken: number;
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

/** Arrays a scan writes its tokens into, grown when a text needs more. */
interface ScanSpace {
  kinds: Uint8Array;
  starts: Int32Array;
  ends: Int32Array;
}

function scanSpace(): ScanSpace {
  return { kinds: new Uint8Array(4096), starts: new Int32Array(4096), ends: new Int32Array(4096) };
}

/**
 * The arrays of {@link scanTokensShared}'s results, where {@link scanTokens}
 * also scans before copying out what it found.
 */
const shared = scanSpace();
/** The arrays of {@link groupTokens}'s results. */
const expanding = scanSpace();

/**
 * Scans PostgreSQL text into tokens. Whitespace is skipped; comments are
 * tokens, so callers can find `-- UP` markers and header lines.
 *
 * @param sql Text to scan.
 * @param start Offset to start at (default 0).
 * @param end Offset to stop at (default the end of `sql`).
 * @param options `groups`: parenthesized text as `group` tokens (see {@link ScanOptions}).
 * @returns Tokens in order, with offsets into `sql`, as parallel arrays.
 * @throws {LexError} When a string, quoted identifier or comment is not closed.
 * @example
 * ```ts
 * import { scanTokens, TOKEN_KINDS } from "./lexer.ts";
 * const tokens = scanTokens("SELECT 'a;b' -- c");
 * console.log(tokens.length, TOKEN_KINDS[tokens.kinds[1]], tokens.starts[1]); // 3 "string" 7
 * ```
 */
export function scanTokens(
  sql: string,
  start = 0,
  end = sql.length,
  options: ScanOptions = {},
): TokenList {
  const found = scan(shared, sql, start, end, options.groups === true);
  const n = found.length;
  // One buffer of the exact size: one allocation a text, however many tokens it has.
  const buffer = new ArrayBuffer(n * 9);
  const list = {
    length: n,
    starts: new Int32Array(buffer, 0, n),
    ends: new Int32Array(buffer, n * 4, n),
    kinds: new Uint8Array(buffer, n * 8, n),
    comments: found.comments,
    backslash: found.backslash,
  };
  list.starts.set(found.starts);
  list.ends.set(found.ends);
  list.kinds.set(found.kinds);
  return list;
}

/**
 * {@link scanTokens} into arrays shared by every call, valid only until the
 * next one: for a caller done with the tokens before it scans again (a
 * parse that keeps nothing, the lint of one file), which then allocates
 * nothing a token.
 *
 * @param sql Text to scan.
 * @param start Offset to start at (default 0).
 * @param end Offset to stop at (default the end of `sql`).
 * @param options `groups`: parenthesized text as `group` tokens (see {@link ScanOptions}).
 * @returns Tokens in order, in views of the shared arrays.
 * @throws {LexError} When a string, quoted identifier or comment is not closed.
 * @example
 * ```ts
 * import { scanTokensShared } from "./lexer.ts";
 * const first = scanTokensShared("SELECT 1");
 * console.log(first.length); // 2
 * scanTokensShared("x"); // first's arrays now hold x's token
 * ```
 */
export function scanTokensShared(
  sql: string,
  start = 0,
  end = sql.length,
  options: ScanOptions = {},
): TokenList {
  return scan(shared, sql, start, end, options.groups === true);
}

/**
 * The tokens of a `group` token's text (see {@link ScanOptions}), in arrays
 * the next call reuses, not those {@link scanTokensShared} and
 * {@link scanTokens} scan into: for a caller that takes a group apart while
 * it goes over the tokens holding it.
 *
 * @param sql The scanned text.
 * @param start The group token's first offset.
 * @param end Its end offset.
 * @returns Its tokens, every one of them (no group).
 * @example
 * ```ts
 * import { groupTokens, KIND, scanTokens } from "./lexer.ts";
 * const sql = "INSERT INTO t VALUES (1, 'a'), (2, 'b')";
 * const tokens = scanTokens(sql, 0, sql.length, { groups: true });
 * const last = tokens.length - 1;
 * console.log(tokens.kinds[last] === KIND.group, groupTokens(sql, tokens.starts[last], tokens.ends[last]).length); // true 11
 * ```
 */
export function groupTokens(sql: string, start: number, end: number): TokenList {
  return scan(expanding, sql, start, end, false);
}

function scan(space: ScanSpace, sql: string, start: number, end: number, fold: boolean): TokenList {
  let kinds = space.kinds;
  let starts = space.starts;
  let ends = space.ends;
  let capacity = kinds.length;
  let n = 0;
  const comments: number[] = [];
  let backslash = -1;
  const grow = () => {
    capacity *= 2;
    const k = new Uint8Array(capacity), s = new Int32Array(capacity), e = new Int32Array(capacity);
    k.set(kinds);
    s.set(starts);
    e.set(ends);
    kinds = space.kinds = k;
    starts = space.starts = s;
    ends = space.ends = e;
  };
  let noFold = -1;
  let failed = 0;
  let matched = 0;
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
      // A text whose groups mostly fail (each row holding a dollar quote,
      // say) is not tried further: the tries would cost it more than the
      // groups found save.
      if (fold && c === C.LPAREN && i >= noFold && (failed < FREE_FAILURES || failed <= matched)) {
        const { to, stop } = endOfGroups(sql, i, end);
        // Parentheses up to where it stopped are scanned token by token,
        // never tried again: each character is looked at twice at most.
        if (stop !== -1) noFold = stop;
        if (to === -1) failed++;
        else {
          matched++;
          i = to;
          if (n === capacity) grow();
          kinds[n] = KIND.group;
          starts[n] = from;
          ends[n++] = i;
          continue;
        }
      }
      i++;
      if (n === capacity) grow();
      kinds[n] = KIND.punct;
      starts[n] = from;
      ends[n++] = i;
      continue;
    }
    const next = i + 1 < end ? sql.charCodeAt(i + 1) : -1;
    let kind: number;
    if (c === C.MINUS && next === C.MINUS) {
      const nl = sql.indexOf("\n", i);
      i = nl === -1 || nl > end ? end : nl;
      kind = KIND.line_comment;
      comments.push(n);
    } else if (c === C.SLASH && next === C.STAR) {
      i = endOfBlockComment(sql, i, end);
      if (i === -1) throw new LexError("block comment /* ... */", from);
      kind = KIND.block_comment;
    } else if (c === C.QUOTE) {
      i = endOfQuoted(sql, i + 1, end, C.QUOTE);
      if (i === -1) throw new LexError("string '...'", from);
      kind = KIND.string;
    } else if (c === C.DQUOTE) {
      i = endOfQuoted(sql, i + 1, end, C.DQUOTE);
      if (i === -1) throw new LexError('quoted identifier "..."', from);
      kind = KIND.ident;
    } else if ((c === C.UPPER_E || c === C.LOWER_E) && next === C.QUOTE) {
      i = endOfEscapeString(sql, i + 2, end);
      if (i === -1) throw new LexError("escape string E'...'", from);
      kind = KIND.string;
    } else if (
      (c === C.UPPER_B || c === C.LOWER_B || c === C.UPPER_X || c === C.LOWER_X ||
        c === C.UPPER_N || c === C.LOWER_N) && next === C.QUOTE
    ) {
      i = endOfQuoted(sql, i + 2, end, C.QUOTE);
      if (i === -1) throw new LexError("string '...'", from);
      kind = KIND.string;
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
      kind = quote === C.QUOTE ? KIND.string : KIND.ident;
    } else if (
      (c >= C.LOWER_A && c <= C.LOWER_Z) || (c >= C.UPPER_A && c <= C.UPPER_Z) ||
      c === C.UNDERSCORE || c >= 0x80
    ) {
      // The rest of the word in one native match.
      WORD_REST.lastIndex = i + 1;
      i = WORD_REST.test(sql) ? Math.min(WORD_REST.lastIndex, end) : i + 1;
      kind = KIND.word;
    } else if (c === C.DOLLAR) {
      if (isDigit(next)) {
        i++;
        while (i < end && isDigit(sql.charCodeAt(i))) i++;
        kind = KIND.param;
      } else {
        const tagLength = dollarTagLength(sql, i, end);
        if (tagLength === 0) {
          i++;
          kind = KIND.op;
        } else {
          const tag = sql.slice(i, i + tagLength);
          const close = sql.indexOf(tag, i + tagLength);
          if (close === -1 || close + tagLength > end) {
            throw new LexError(`dollar-quoted string ${tag}`, from);
          }
          i = close + tagLength;
          kind = KIND.dollar;
        }
      }
    } else if (isDigit(c) || (c === C.DOT && isDigit(next))) {
      NUMBER_REST.lastIndex = i + 1;
      i = NUMBER_REST.test(sql) ? Math.min(NUMBER_REST.lastIndex, end) : i + 1;
      kind = KIND.number;
    } else if (isOpChar(c)) {
      i++;
      while (i < end) {
        const d = sql.charCodeAt(i);
        if (!isOpChar(d)) break;
        const e = i + 1 < end ? sql.charCodeAt(i + 1) : -1;
        if ((d === C.MINUS && e === C.MINUS) || (d === C.SLASH && e === C.STAR)) break;
        i++;
      }
      kind = KIND.op;
    } else {
      if (c === C.BACKSLASH && backslash === -1) backslash = n;
      i++;
      kind = KIND.punct;
    }
    if (n === capacity) grow();
    kinds[n] = kind;
    starts[n] = from;
    ends[n++] = i;
  }
  return {
    length: n,
    kinds: kinds.subarray(0, n),
    starts: starts.subarray(0, n),
    ends: ends.subarray(0, n),
    comments,
    backslash,
  };
}

/**
 * Scans PostgreSQL text into tokens, one object each: {@link scanTokens}
 * as an array of {@link Token}.
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
  const list = scanTokens(sql, start, end);
  const tokens: Token[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    tokens[i] = { kind: TOKEN_KINDS[list.kinds[i]], start: list.starts[i], end: list.ends[i] };
  }
  return tokens;
}

/** An array of tokens as a {@link TokenList}. */
function listOf(sql: string, tokens: readonly Token[]): TokenList {
  const n = tokens.length;
  const list = {
    length: n,
    kinds: new Uint8Array(n),
    starts: new Int32Array(n),
    ends: new Int32Array(n),
    comments: [] as number[],
    backslash: -1,
  };
  for (let i = 0; i < n; i++) {
    const kind = KIND[tokens[i].kind];
    list.kinds[i] = kind;
    list.starts[i] = tokens[i].start;
    list.ends[i] = tokens[i].end;
    if (kind === KIND.line_comment) list.comments.push(i);
    else if (
      list.backslash === -1 && kind === KIND.punct &&
      sql.charCodeAt(tokens[i].start) === C.BACKSLASH
    ) {
      list.backslash = i;
    }
  }
  return list;
}

/** What may follow a word's first character: letters, digits, `_`, `$`, non-ASCII. */
const WORD_REST = /[A-Za-z0-9_$\u0080-\uffff]*/y;
/**
 * What may follow a number's first character: digits, dots, underscores and
 * letters (a malformed number stays one token), a sign after an exponent.
 */
const NUMBER_REST = /(?:[eE][+-]?|[0-9._A-Za-z\u0080-\uffff])*/y;

/** Options of {@link scanTokens} and {@link scanTokensShared}. */
export interface ScanOptions {
  /**
   * Whether parenthesized text, or a comma-separated list of it (the rows
   * of an INSERT), becomes one `group` token when no comment, `;`, `$` or
   * backslash stands in it outside strings and no string in it has a
   * backslash before a quote (whose end would depend on it being an `E`
   * string; see `lib/groups.ts`): for callers that need only the
   * statements, whose splitting never looks inside parentheses. Default
   * `false`: every token.
   */
  groups?: boolean;
}

/** Groups that may fail in a text before {@link scanTokens} tries them only while most match. */
const FREE_FAILURES = 16;

const MAX_WORDS = 16;

/**
 * Groups tokens into statements. A `;` ends a statement only outside
 * parentheses and outside the `BEGIN ATOMIC ... END` body of a
 * `CREATE [OR REPLACE] FUNCTION|PROCEDURE`; the last statement may lack its
 * `;`. Comments and empty statements (`;;`) produce nothing, so text holding
 * only comments has no statements.
 *
 * @param sql The scanned text.
 * @param tokens Its tokens, from {@link scanTokens} or {@link tokenize};
 *   scanned here when omitted (with `groups`: the statements are the same,
 *   found sooner, and their token indexes are of that scan).
 * @param from Index of the first token to group (default 0).
 * @param to Index just past the last (default all of them).
 * @returns Statements in order, each with the range of its tokens.
 * @throws {LexError} When scanning fails (only when `tokens` is omitted).
 * @example
 * ```ts
 * import { splitStatements } from "./lexer.ts";
 * const sql = "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql; SELECT f()";
 * const statements = splitStatements(sql);
 * console.log(statements.length, statements[1].words); // 2 ["SELECT", "F"]
 * ```
 */
export function splitStatements(
  sql: string,
  tokens: TokenList | readonly Token[] = scanTokens(sql, 0, sql.length, { groups: true }),
  from = 0,
  to: number = tokens.length,
): Statement[] {
  const list = Array.isArray(tokens) ? listOf(sql, tokens) : tokens as TokenList;
  const { kinds, starts, ends } = list;
  const statements: Statement[] = [];
  let current: Statement | null = null;
  let parenDepth = 0;
  let beginDepth = 0;
  let isRoutine = false;
  for (let t = from; t < to; t++) {
    const kind = kinds[t];
    if (kind === KIND.line_comment || kind === KIND.block_comment) continue;
    const start = starts[t];
    const end = ends[t];
    const c = sql.charCodeAt(start);
    if (kind === KIND.punct && c === C.SEMI && parenDepth === 0 && beginDepth === 0) {
      if (current) {
        current.end = end;
        current.endToken = t + 1;
        current.terminated = true;
        statements.push(current);
        current = null;
      }
      continue;
    }
    if (!current) {
      current = { start, end, terminated: false, words: [], firstToken: t, endToken: t + 1 };
      parenDepth = 0;
      beginDepth = 0;
      isRoutine = false;
    }
    current.end = end;
    current.endToken = t + 1;
    if (kind === KIND.punct) {
      if (c === C.LPAREN) parenDepth++;
      else if (c === C.RPAREN && parenDepth > 0) parenDepth--;
      continue;
    }
    if (parenDepth > 0) continue;
    if (kind === KIND.word || kind === KIND.ident) {
      const word = kind === KIND.word ? sql.slice(start, end).toUpperCase() : sql.slice(start, end);
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
