import { lineCounter, locate, offsetOfPosition, startsLine } from "../lib/location.ts";
import { assertEquals } from "./support/assert.ts";

Deno.test("locate gives line, column and a caret excerpt", () => {
  const text = "SELECT 1;\n  SELEC 2;\n";
  assertEquals(locate(text, 12), { line: 2, column: 3, excerpt: "  SELEC 2;\n  ^" });
  assertEquals(locate(text, 0, 10).line, 10);
});

Deno.test("locate counts columns in code points and keeps tabs in the caret line", () => {
  const text = "\t'😀' x";
  const { column, excerpt } = locate(text, text.indexOf("x"));
  assertEquals(column, 6);
  assertEquals(excerpt.split("\n")[1], "\t    ^");
});

Deno.test("offsetOfPosition converts PostgreSQL character positions to UTF-16 offsets", () => {
  const text = "SELECT '😀', nope";
  // PostgreSQL counts the emoji as one character: "nope" is at position 13.
  assertEquals(text.slice(offsetOfPosition(text, 13)), "nope");
  assertEquals(offsetOfPosition(text, 1), 0);
});

Deno.test("lineCounter gives locate's lines, counting on in order and from the start when asked out of order", () => {
  const text = "a\n\nbc\nd\n";
  const lineAt = lineCounter(text);
  const offsets = [0, 1, 2, 3, 5, 5, 6, 8, 9, 2, 0, 9];
  assertEquals(offsets.map(lineAt), offsets.map((o) => locate(text, o).line));
});

Deno.test("startsLine is true at a line's start or after blanks only", () => {
  const cases: [string, number, boolean][] = [
    ["-- UP", 0, true],
    ["a\n-- UP", 2, true],
    ["a\n \t-- UP", 4, true],
    ["a -- UP", 2, false],
    ["a\n x -- UP", 5, false],
    ["\r\n-- UP", 2, true],
    ["x\r-- UP", 2, false],
  ];
  for (const [text, offset, expected] of cases) {
    assertEquals(startsLine(text, offset), expected, JSON.stringify([text, offset]));
  }
});
