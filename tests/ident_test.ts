import { parseTableName, qualifiedName, quoteIdent, quoteLiteral } from "../lib/ident.ts";
import { UsageError } from "../lib/errors.ts";
import { assertEquals, assertMatch, assertThrows } from "./support/assert.ts";
import postgres from "postgres";
import { serverTest, serverUrl } from "./support/db.ts";

Deno.test("quoteIdent doubles inner quotes", () => {
  assertEquals(quoteIdent('a"b'), '"a""b"');
  assertEquals(qualifiedName({ schema: "audit", name: "h" }), '"audit"."h"');
});

const GOOD: Array<[string, { schema: string | null; name: string }]> = [
  ["_migrations", { schema: null, name: "_migrations" }],
  ["audit.schema_history", { schema: "audit", name: "schema_history" }],
  ["App.History$1", { schema: "app", name: "history$1" }],
];
for (const [input, expected] of GOOD) {
  Deno.test(`parseTableName accepts ${input}`, () => assertEquals(parseTableName(input), expected));
}

const BAD: Array<[string, RegExp]> = [
  ["x; drop table y", /only ASCII letters/],
  ['x"y', /only ASCII letters/],
  ["'x'", /only ASCII letters/],
  ["a".repeat(64), /longer than PostgreSQL's 63/],
  ["tablé", /only ASCII letters/],
  ["1abc", /must not start with a digit/],
  ["a.b.c", /TABLE or SCHEMA.TABLE/],
  ["", /only ASCII letters/],
  ["a.", /only ASCII letters/],
];
for (const [input, message] of BAD) {
  Deno.test(`parseTableName refuses ${JSON.stringify(input)} naming the flag`, () => {
    const error = assertThrows<UsageError>(() => parseTableName(input));
    assertEquals([error instanceof UsageError, error.code, error.exitCode], [
      true,
      "INVALID_TABLE_NAME",
      2,
    ]);
    assertMatch(error.message, /^--table /);
    assertMatch(error.message, message);
  });
}

const LITERALS: Array<[string, string]> = [
  ["plain", "'plain'"],
  ["", "''"],
  ["it's", "'it''s'"],
  ["''", "''''''"],
  ["a\\b", "E'a\\\\b'"],
  ["\\'", "E'\\\\'''"],
  ["line\nbreak; -- not a comment", "'line\nbreak; -- not a comment'"],
  ["$$ dollar $$", "'$$ dollar $$'"],
];
for (const [value, expected] of LITERALS) {
  Deno.test(`quoteLiteral writes ${JSON.stringify(value)} as ${JSON.stringify(expected)}`, () => {
    assertEquals(quoteLiteral(value), expected);
  });
}

serverTest(
  "quoteLiteral's literals read back as the text on the server, either way of reading backslashes",
  async () => {
    const values = [...LITERALS.map(([value]) => value), "\\\\ two \\' and ''"];
    const select = `SELECT ${values.map((v, i) => `${quoteLiteral(v)} AS v${i}`).join(", ")}`;
    const sql = postgres(await serverUrl(), { max: 1, onnotice: () => {} });
    try {
      for (const setting of ["on", "off"]) {
        // Literals are read when a statement is parsed: the setting comes first, on its own.
        await sql.unsafe(`SET standard_conforming_strings = ${setting}`);
        const [row] = await sql.unsafe<Record<string, string>[]>(select);
        assertEquals(
          values.map((_, i) => row[`v${i}`]),
          values,
          `standard_conforming_strings ${setting}`,
        );
      }
    } finally {
      await sql.end();
    }
  },
);

Deno.test("quoteLiteral refuses a NUL, which no literal can carry", () => {
  assertMatch(assertThrows<TypeError>(() => quoteLiteral("a\0b")).message, /NUL/);
});
