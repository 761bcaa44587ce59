import { parseTableName, qualifiedName, quoteIdent } from "../lib/ident.ts";
import { UsageError } from "../lib/errors.ts";
import { assertEquals, assertMatch, assertThrows } from "./support/assert.ts";

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
