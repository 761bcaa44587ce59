/**
 * Where parenthesized text that a lexer need not take apart ends: the
 * `group` tokens of `scanTokens(sql, start, end, { groups: true })`. A
 * group holds only what reads the same to every way of scanning it, so that
 * the statements around it split as they would token by token.
 *
 * @module
 */

/**
 * What may stand inside the parentheses of a group: runs of anything but
 * parentheses, quotes, `;`, `$`, backslashes, `-` and `/`; a `-` or `/`
 * that opens no comment; strings, whose end is the same read as `'...'` or
 * as `E'...'` (a backslash before a quote makes it ambiguous: no match);
 * quoted identifiers. One simple alternation: JavaScriptCore's engine
 * matches it natively in a few nanoseconds a character, where one pattern
 * for nested groups and their list took longer than scanning the tokens.
 */
const GROUP_TEXT =
  /(?:[^'"()$;\\\-/]+|-(?!-)|\/(?!\*)|'[^'\\]*(?:(?:\\[^']|'')[^'\\]*)*'|"[^"]*(?:""[^"]*)*")*/y;
/** What may stand between two groups of a list: a comma and blanks. */
const GROUP_SEPARATOR = /[ \t\n\v\f\r]*,[ \t\n\v\f\r]*(?=\()/y;

const LPAREN = 40;
const RPAREN = 41;

/** Where {@link endOfGroups} ended. */
export interface GroupEnd {
  /** Offset just past the last `)` closing a group, or -1 when the first did not close as a group may. */
  to: number;
  /**
   * Offset of what stopped it, which a group may not hold (a comment, a
   * `$`, a `;`, a string whose end is ambiguous, the end of the text inside
   * parentheses), or -1 when it ended cleanly after a group.
   */
  stop: number;
}

/**
 * Matches the groups opening at `from` (a `(`): a parenthesized text, then
 * each next one that follows a comma (the rows of an INSERT), as long as
 * what they hold reads the same to every scan (see {@link GROUP_TEXT}).
 * Nested parentheses are counted, not matched by the pattern.
 *
 * @param sql The text.
 * @param from Offset of a `(`.
 * @param end Offset past which nothing is looked at.
 * @returns Where the groups end, and what stopped them, if anything.
 * @example
 * ```ts
 * import { endOfGroups } from "./groups.ts";
 * const sql = "VALUES (1, 'a'), (2, f('b')), ($1);";
 * console.log(endOfGroups(sql, 7, sql.length)); // { to: 28, stop: 31 }
 * ```
 */
export function endOfGroups(sql: string, from: number, end: number): GroupEnd {
  let depth = 0;
  let last = -1;
  let j = from;
  while (j < end) {
    const c = sql.charCodeAt(j);
    if (c === LPAREN) {
      depth++;
      j++;
    } else if (c === RPAREN) {
      j++;
      if (--depth > 0) continue;
      last = j;
      GROUP_SEPARATOR.lastIndex = j;
      if (!GROUP_SEPARATOR.test(sql) || GROUP_SEPARATOR.lastIndex >= end) {
        return { to: last, stop: -1 };
      }
      j = GROUP_SEPARATOR.lastIndex;
    } else {
      GROUP_TEXT.lastIndex = j;
      GROUP_TEXT.test(sql);
      const next = GROUP_TEXT.lastIndex;
      if (next === j || next > end) break;
      j = next;
    }
  }
  return { to: last, stop: j };
}
