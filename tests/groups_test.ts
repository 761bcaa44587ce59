import { endOfGroups } from "../lib/groups.ts";
import { assertEquals } from "./support/assert.ts";

/** `[text, what endOfGroups covers, where it stopped or null]`, each text starting with its `(`. */
const CASES: Array<{ name: string; sql: string; covered: string; stop: string | null }> = [
  { name: "one group", sql: "(1, 'a') x", covered: "(1, 'a')", stop: null },
  {
    name: "a list of rows, blanks around the commas",
    sql: "(1),\n  (2) , (3);",
    covered: "(1),\n  (2) , (3)",
    stop: null,
  },
  { name: "a comma not before a group ends the list", sql: "(1), 2", covered: "(1)", stop: null },
  {
    name: "nested parentheses are counted",
    sql: "(f((1)), (2)) y",
    covered: "(f((1)), (2))",
    stop: null,
  },
  {
    name: "parentheses, ; and -- inside strings and quoted identifiers are text",
    sql: `('a)b;c', "d(e", 'f--g', 'it''s') z`,
    covered: `('a)b;c', "d(e", 'f--g', 'it''s')`,
    stop: null,
  },
  {
    name: "E string without a backslash before a quote",
    sql: "(E'a\\tb\\\\')",
    covered: "(E'a\\tb\\\\')",
    stop: null,
  },
  {
    name: "a minus and a slash that open no comment",
    sql: "(a - b / c)",
    covered: "(a - b / c)",
    stop: null,
  },
  { name: "a line comment stops it", sql: "(1 -- x\n)", covered: "", stop: "-- x\n)" },
  { name: "a block comment stops it", sql: "(1 /* x */)", covered: "", stop: "/* x */)" },
  { name: "a dollar sign stops it", sql: "(1, $1)", covered: "", stop: "$1)" },
  {
    name: "a ; outside strings stops it",
    sql: "(SELECT 1; SELECT 2)",
    covered: "",
    stop: "; SELECT 2)",
  },
  { name: "a backslash outside strings stops it", sql: "(1 \\ 2)", covered: "", stop: "\\ 2)" },
  {
    name: "a backslash before a quote stops it",
    sql: "('a\\', ')')",
    covered: "",
    stop: "'a\\', ')')",
  },
  { name: "an unterminated string stops it", sql: "(1, 'abc", covered: "", stop: "'abc" },
  { name: "the end of the text inside parentheses", sql: "(1, (2)", covered: "", stop: "" },
  {
    name: "a later group that stops: the earlier ones are covered",
    sql: "(1), (2, $$x$$)",
    covered: "(1)",
    stop: "$$x$$)",
  },
];

for (const c of CASES) {
  Deno.test(`endOfGroups: ${c.name}`, () => {
    const { to, stop } = endOfGroups(c.sql, 0, c.sql.length);
    assertEquals(to === -1 ? "" : c.sql.slice(0, to), c.covered);
    assertEquals(stop === -1 ? null : c.sql.slice(stop), c.stop);
  });
}

Deno.test("endOfGroups looks at nothing past the end it is given", () => {
  const sql = "(1, 'a') (2)";
  // The text from 1 runs past 5: it stops where that text starts.
  assertEquals(endOfGroups(sql, 0, 5), { to: -1, stop: 1 });
  assertEquals(endOfGroups("(1), (2)", 0, 4), { to: 3, stop: -1 });
  // A pattern match running past the end is not taken.
  assertEquals(endOfGroups("(abcdef)", 0, 3).to, -1);
});
