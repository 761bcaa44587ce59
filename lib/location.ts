/**
 * Turning offsets into `line:column` and showing the line with a caret.
 *
 * @module
 */

/** A place in a text. */
export interface Location {
  /** 1-based line. */
  line: number;
  /** 1-based column, counted in Unicode code points. */
  column: number;
  /** The line's text, then a caret under the column. */
  excerpt: string;
}

/**
 * Where an offset falls in a text.
 *
 * @param text The text.
 * @param offset 0-based UTF-16 offset into `text`.
 * @param firstLine Line number of the text's first line (default 1), for
 *   texts cut out of a larger file at a line start.
 * @returns Line, column and an excerpt with a caret.
 * @example
 * ```ts
 * import { locate } from "./location.ts";
 * const { line, column } = locate("SELECT 1;\nSELEC 2;", 10);
 * console.log(line, column); // 2 1
 * ```
 */
export function locate(text: string, offset: number, firstLine = 1): Location {
  const at = Math.max(0, Math.min(offset, text.length));
  let line = firstLine;
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < at; i = text.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  const lineEnd = text.indexOf("\n", lineStart);
  const lineText = text.slice(lineStart, lineEnd === -1 ? text.length : lineEnd).replace(
    /\r$/,
    "",
  );
  const before = [...text.slice(lineStart, at)];
  const column = before.length + 1;
  const pad = before.map((c) => (c === "\t" ? "\t" : " ")).join("");
  return { line, column, excerpt: `${lineText}\n${pad}^` };
}

/**
 * The UTF-16 offset of a PostgreSQL error position. PostgreSQL counts
 * characters (code points) from 1; JavaScript strings count UTF-16 units
 * from 0.
 *
 * @param text The text sent to the server.
 * @param position PostgreSQL's 1-based character position.
 * @returns The 0-based offset in `text`.
 * @example
 * ```ts
 * import { offsetOfPosition } from "./location.ts";
 * console.log(offsetOfPosition("SELECT 'é', nope", 13)); // 12
 * ```
 */
export function offsetOfPosition(text: string, position: number): number {
  let offset = 0;
  for (let remaining = position - 1; remaining > 0 && offset < text.length; remaining--) {
    const c = text.charCodeAt(offset);
    offset += c >= 0xd800 && c <= 0xdbff ? 2 : 1;
  }
  return offset;
}

/**
 * The line numbers of offsets asked for in increasing order, each counted
 * on from the one before (asked out of order, it counts from the start):
 * for the statements of a file, one pass over its text instead of one a
 * statement.
 *
 * @param text The text.
 * @returns A function from a 0-based offset to its 1-based line.
 * @example
 * ```ts
 * import { lineCounter } from "./location.ts";
 * const lineAt = lineCounter("a\nb\nc");
 * console.log(lineAt(0), lineAt(2), lineAt(4)); // 1 2 3
 * ```
 */
export function lineCounter(text: string): (offset: number) => number {
  let line = 1;
  let at = 0;
  return (offset) => {
    if (offset < at) {
      line = 1;
      at = 0;
    }
    for (let i = text.indexOf("\n", at); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
      line++;
    }
    at = offset;
    return line;
  };
}

/**
 * Whether only blanks (spaces, tabs) stand between the start of its line
 * and `offset`: where a `-- UP` or `-- DOWN` marker counts.
 *
 * @param text The text.
 * @param offset A 0-based offset into it.
 * @returns `true` at the start of a line or after blanks only.
 * @example
 * ```ts
 * import { startsLine } from "./location.ts";
 * console.log(startsLine("a\n  -- UP", 4), startsLine("a -- UP", 2)); // true false
 * ```
 */
export function startsLine(text: string, offset: number): boolean {
  for (let i = offset - 1; i >= 0; i--) {
    const c = text.charCodeAt(i);
    if (c === 10) return true;
    if (c !== 32 && c !== 9) return false;
  }
  return true;
}
