/**
 * The statements the lint rules read, and how they read them: tokens with
 * their parenthesis depth, names (possibly qualified, possibly quoted), top-
 * level words and `ALTER TABLE` actions. Pure functions over tokens that
 * `lint.ts` cut from a migration file.
 *
 * @module
 */
import type { TokenKind } from "./lexer.ts";
import type { StatementKind } from "./statement_kind.ts";

/** A token of a statement, comments left out. */
export interface Tok {
  /** Kind. */
  kind: TokenKind;
  /** Text as written. */
  text: string;
  /** Upper-cased text of a word; a quoted identifier's name as written. */
  up: string;
  /** Parenthesis depth. */
  depth: number;
}

/** A statement of a section. */
export interface Stmt {
  /** Its tokens. */
  toks: Tok[];
  /** Line of its first token. */
  line: number;
  /** What running it needs. */
  kind: StatementKind;
}

/**
 * Unquoted, case-folded name of an identifier token.
 *
 * @param t A token.
 * @returns A word in lower case, a quoted identifier as written, else `null`.
 * @example
 * ```ts
 * import { ident } from "./lint_sql.ts";
 * console.log(ident({ kind: "word", text: "Users", up: "USERS", depth: 0 })); // "users"
 * ```
 */
export function ident(t: Tok | undefined): string | null {
  if (!t) return null;
  if (t.kind === "word") return t.text.toLowerCase();
  if (t.kind === "ident") return t.text.slice(1, -1).replaceAll('""', '"');
  return null;
}

/**
 * A possibly qualified name starting at `i`.
 *
 * @param toks Tokens.
 * @param i Where the name starts.
 * @returns Its last part (`""` when there is no name), the part before it, the index after it.
 * @example
 * ```ts
 * import { nameAt, type Tok } from "./lint_sql.ts";
 * const toks: Tok[] = ["s", ".", "t"].map((text) => ({
 *   kind: text === "." ? "punct" : "word", text, up: text.toUpperCase(), depth: 0,
 * }));
 * console.log(nameAt(toks, 0)); // { name: "t", schema: "s", next: 3 }
 * ```
 */
export function nameAt(
  toks: Tok[],
  i: number,
): { name: string; schema: string | null; next: number } {
  let name = ident(toks[i]);
  let schema: string | null = null;
  let j = i + 1;
  while (name !== null && toks[j]?.text === "." && ident(toks[j + 1]) !== null) {
    schema = name;
    name = ident(toks[j + 1]);
    j += 2;
  }
  return { name: name ?? "", schema, next: j };
}

/**
 * Where a sequence of words first stands outside parentheses.
 *
 * @param toks Tokens.
 * @param words Upper-case words, in order.
 * @param from Where to start looking.
 * @returns The index of the first word, or -1.
 * @example
 * ```ts
 * import { find, type Tok } from "./lint_sql.ts";
 * const toks: Tok[] = ["CREATE", "INDEX", "ON", "t"].map((text) => ({
 *   kind: "word", text, up: text.toUpperCase(), depth: 0,
 * }));
 * console.log(find(toks, ["ON"])); // 2
 * ```
 */
export function find(toks: Tok[], words: string[], from = 0): number {
  outer: for (let i = from; i + words.length <= toks.length; i++) {
    for (let k = 0; k < words.length; k++) {
      const t = toks[i + k];
      if (t.depth !== 0 || t.kind !== "word" || t.up !== words[k]) continue outer;
    }
    return i;
  }
  return -1;
}

/**
 * Whether a sequence of words stands outside parentheses.
 *
 * @param toks Tokens.
 * @param words Upper-case words, in order.
 * @returns `true` when {@link find} finds them.
 * @example
 * ```ts
 * import { has, type Tok } from "./lint_sql.ts";
 * const toks: Tok[] = ["DROP", "TABLE", "t", "CASCADE"].map((text) => ({
 *   kind: "word", text, up: text.toUpperCase(), depth: 0,
 * }));
 * console.log(has(toks, "CASCADE")); // true
 * ```
 */
export function has(toks: Tok[], ...words: string[]): boolean {
  return find(toks, words) !== -1;
}

/**
 * Skips `IF EXISTS`, `IF NOT EXISTS` and `ONLY` at `i`.
 *
 * @param toks Tokens.
 * @param i Where they may stand.
 * @returns The index after them (`i` when there are none).
 * @example
 * ```ts
 * import { skipIf, type Tok } from "./lint_sql.ts";
 * const toks: Tok[] = ["DROP", "TABLE", "IF", "EXISTS", "t"].map((text) => ({
 *   kind: "word", text, up: text.toUpperCase(), depth: 0,
 * }));
 * console.log(skipIf(toks, 2)); // 4
 * ```
 */
export function skipIf(toks: Tok[], i: number): number {
  if (toks[i]?.up === "IF" && toks[i + 1]?.up === "NOT" && toks[i + 2]?.up === "EXISTS") i += 3;
  else if (toks[i]?.up === "IF" && toks[i + 1]?.up === "EXISTS") i += 2;
  if (toks[i]?.up === "ONLY" && toks[i].kind === "word") i++;
  return i;
}

/**
 * Splits tokens at the commas outside parentheses.
 *
 * @param toks Tokens.
 * @returns The parts, empty ones left out.
 * @example
 * ```ts
 * import { splitCommas, type Tok } from "./lint_sql.ts";
 * const toks: Tok[] = ["a", ",", "b"].map((text) => ({
 *   kind: text === "," ? "punct" : "word", text, up: text.toUpperCase(), depth: 0,
 * }));
 * console.log(splitCommas(toks).length); // 2
 * ```
 */
export function splitCommas(toks: Tok[]): Tok[][] {
  const parts: Tok[][] = [[]];
  for (const t of toks) {
    if (t.depth === 0 && t.text === ",") parts.push([]);
    else parts.at(-1)!.push(t);
  }
  return parts.filter((p) => p.length);
}

/**
 * The first tokens of a statement outside parentheses (words upper-cased).
 *
 * @param s The statement.
 * @param n How many.
 * @returns Up to `n` of them.
 * @example
 * ```ts
 * import { head, type Stmt } from "./lint_sql.ts";
 * const toks = ["ALTER", "TABLE", "t"].map((text) => ({
 *   kind: "word" as const, text, up: text.toUpperCase(), depth: 0,
 * }));
 * const s: Stmt = { toks, line: 1, kind: "plain" };
 * console.log(head(s, 2)); // ["ALTER", "TABLE"]
 * ```
 */
export function head(s: Stmt, n: number): string[] {
  const words: string[] = [];
  for (const t of s.toks) {
    if (t.depth !== 0) continue;
    if (words.push(t.up) === n) break;
  }
  return words;
}

/**
 * `ALTER TABLE [IF EXISTS] [ONLY] name [*] action, ...`: the table and its actions.
 *
 * @param s The statement.
 * @returns The table's name, its schema when qualified, and each action's tokens;
 *   `null` for another statement.
 * @example
 * ```ts
 * import { alterTable, type Stmt } from "./lint_sql.ts";
 * const toks = ["ALTER", "TABLE", "t", "DROP", "COLUMN", "c"].map((text) => ({
 *   kind: "word" as const, text, up: text.toUpperCase(), depth: 0,
 * }));
 * const s: Stmt = { toks, line: 1, kind: "plain" };
 * console.log(alterTable(s)?.table, alterTable(s)?.actions.length); // "t" 1
 * ```
 */
export function alterTable(
  s: Stmt,
): { table: string; schema: string | null; actions: Tok[][] } | null {
  const t = s.toks;
  if (t[0]?.up !== "ALTER" || t[1]?.up !== "TABLE") return null;
  const at = skipIf(t, 2);
  const { name, schema, next } = nameAt(t, at);
  let i = next;
  if (t[i]?.text === "*") i++;
  return { table: name, schema, actions: splitCommas(t.slice(i)) };
}
