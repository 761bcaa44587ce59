import {
  groupTokens,
  KIND,
  LexError,
  scanTokens,
  scanTokensShared,
  splitStatements,
  TOKEN_KINDS,
  tokenize,
  type TokenList,
} from "../lib/lexer.ts";
import { assertEquals, assertThrows } from "./support/assert.ts";
import { random } from "./support/random.ts";

/** The statements' texts, as the lexer cuts them. */
function texts(sql: string): string[] {
  return splitStatements(sql).map((s) => sql.slice(s.start, s.end));
}

const SPLIT_CASES: Array<{ name: string; sql: string; expected: string[] }> = [
  { name: "plain statements", sql: "SELECT 1; SELECT 2;", expected: ["SELECT 1;", "SELECT 2;"] },
  {
    name: "last statement without ;",
    sql: "SELECT 1;\nSELECT 2",
    expected: ["SELECT 1;", "SELECT 2"],
  },
  { name: "empty statements are dropped", sql: ";;SELECT 1;;", expected: ["SELECT 1;"] },
  { name: "only comments", sql: "-- a; b\n/* c; d */\n", expected: [] },
  { name: "; in a string", sql: "SELECT 'a;b'; SELECT 2", expected: ["SELECT 'a;b';", "SELECT 2"] },
  {
    name: "doubled quote in a string",
    sql: "SELECT 'it''s;'; SELECT 2",
    expected: ["SELECT 'it''s;';", "SELECT 2"],
  },
  {
    name: "-- inside a string is not a comment",
    sql: "SELECT '-- not a comment;'; SELECT 2",
    expected: ["SELECT '-- not a comment;';", "SELECT 2"],
  },
  {
    name: "E string with backslash-escaped quote",
    sql: "SELECT E'a\\';b'; SELECT 2",
    expected: ["SELECT E'a\\';b';", "SELECT 2"],
  },
  {
    name: "E string with escaped backslash before the closing quote",
    sql: "SELECT E'a\\\\'; SELECT 2",
    expected: ["SELECT E'a\\\\';", "SELECT 2"],
  },
  {
    name: "backslash in a standard string does not escape",
    sql: "SELECT 'a\\'; SELECT 2",
    expected: ["SELECT 'a\\';", "SELECT 2"],
  },
  {
    name: "dollar-quoted body",
    sql: "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; SELECT 2; $$ LANGUAGE sql; SELECT f()",
    expected: [
      "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; SELECT 2; $$ LANGUAGE sql;",
      "SELECT f()",
    ],
  },
  {
    name: "tagged dollar quote holding $$ and another tag",
    sql: "DO $body$ BEGIN PERFORM $x$;$x$; RAISE NOTICE '$$'; END $body$; SELECT 1",
    expected: ["DO $body$ BEGIN PERFORM $x$;$x$; RAISE NOTICE '$$'; END $body$;", "SELECT 1"],
  },
  {
    name: "positional parameter is not a dollar quote",
    sql: "PREPARE p AS SELECT $1; EXECUTE p(1)",
    expected: ["PREPARE p AS SELECT $1;", "EXECUTE p(1)"],
  },
  {
    name: "identifier containing $",
    sql: "SELECT a$b$c FROM t; SELECT 2",
    expected: ["SELECT a$b$c FROM t;", "SELECT 2"],
  },
  {
    name: "quoted identifier with ; and doubled quote",
    sql: 'CREATE TABLE "we;ird""t" (id int); SELECT 2',
    expected: ['CREATE TABLE "we;ird""t" (id int);', "SELECT 2"],
  },
  {
    name: "nested block comments",
    sql: "SELECT /* a /* b; */ c; */ 1; SELECT 2",
    expected: ["SELECT /* a /* b; */ c; */ 1;", "SELECT 2"],
  },
  {
    name: "line comment with ;",
    sql: "SELECT 1 -- x; y\n; SELECT 2",
    expected: ["SELECT 1 -- x; y\n;", "SELECT 2"],
  },
  {
    name: "; inside parentheses (rule body)",
    sql:
      "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2)); SELECT 1",
    expected: [
      "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2));",
      "SELECT 1",
    ],
  },
  {
    name: "BEGIN ATOMIC body of a SQL-standard function",
    sql:
      "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT a; SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END; END; SELECT 2",
    expected: [
      "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT a; SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END; END;",
      "SELECT 2",
    ],
  },
  {
    name: "CREATE OR REPLACE PROCEDURE with BEGIN ATOMIC",
    sql:
      "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES (1); END; CALL p()",
    expected: [
      "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES (1); END;",
      "CALL p()",
    ],
  },
  {
    name: "BEGIN outside a routine is a statement of its own",
    sql: "BEGIN; CREATE TABLE t (id int); COMMIT;",
    expected: ["BEGIN;", "CREATE TABLE t (id int);", "COMMIT;"],
  },
  {
    name: "U& string and identifier",
    sql: "SELECT U&'d\\0061t;' AS U&\"a;b\"; SELECT 2",
    expected: ["SELECT U&'d\\0061t;' AS U&\"a;b\";", "SELECT 2"],
  },
  {
    name: "bit and hex strings",
    sql: "SELECT B'1;0', X'1F;'; SELECT 2",
    expected: ["SELECT B'1;0', X'1F;';", "SELECT 2"],
  },
  {
    name: "-- DOWN inside a dollar body is text",
    sql: "CREATE FUNCTION f() RETURNS void AS $$\n-- DOWN\nBEGIN NULL; END;\n$$ LANGUAGE plpgsql;",
    expected: [
      "CREATE FUNCTION f() RETURNS void AS $$\n-- DOWN\nBEGIN NULL; END;\n$$ LANGUAGE plpgsql;",
    ],
  },
  {
    name: "operator next to a comment start",
    sql: "SELECT 1 +-- comment;\n2; SELECT 3",
    expected: ["SELECT 1 +-- comment;\n2;", "SELECT 3"],
  },
  { name: "CRLF line ends", sql: "SELECT 1;\r\nSELECT 2\r\n", expected: ["SELECT 1;", "SELECT 2"] },
];

for (const c of SPLIT_CASES) {
  Deno.test(`splitStatements: ${c.name}`, () => {
    assertEquals(texts(c.sql), c.expected);
  });
}

const UNTERMINATED: Array<{ sql: string; what: string; offset: number }> = [
  { sql: "SELECT 'abc", what: "string '...'", offset: 7 },
  { sql: "SELECT E'abc\\'", what: "escape string E'...'", offset: 7 },
  { sql: 'SELECT "abc', what: 'quoted identifier "..."', offset: 7 },
  { sql: "SELECT 1 /* a /* b */", what: "block comment /* ... */", offset: 9 },
  { sql: "DO $body$ BEGIN END $bod$", what: "dollar-quoted string $body$", offset: 3 },
  { sql: "SELECT $$abc", what: "dollar-quoted string $$", offset: 7 },
];

for (const c of UNTERMINATED) {
  Deno.test(`tokenize reports an unterminated ${c.what}`, () => {
    const error = assertThrows<LexError>(() => tokenize(c.sql));
    assertEquals(error instanceof LexError, true);
    assertEquals([error.what, error.offset, error.code], [c.what, c.offset, "UNTERMINATED"]);
  });
}

Deno.test("splitStatements collects leading words outside parentheses", () => {
  const [s] = splitStatements("COPY users (id, name) FROM STDIN;");
  assertEquals(s.words, ["COPY", "USERS", "FROM", "STDIN"]);
});

Deno.test("tokenize keeps comments as tokens with offsets", () => {
  const sql = "-- UP\nSELECT 1; /* x */";
  const tokens = tokenize(sql).map((t) => [t.kind, sql.slice(t.start, t.end)]);
  assertEquals(tokens, [
    ["line_comment", "-- UP"],
    ["word", "SELECT"],
    ["number", "1"],
    ["punct", ";"],
    ["block_comment", "/* x */"],
  ]);
});

Deno.test("scanTokens gives tokenize's tokens as arrays, with the line comments and the first stray backslash", () => {
  const sql = "-- a\nSELECT E'\\\\', 'x\\y' /* \\ */; -- b\n\\i f.sql\n\\set x";
  const list = scanTokens(sql);
  const objects = tokenize(sql);
  assertEquals(list.length, objects.length);
  const rebuilt = Array.from({ length: list.length }, (_, i) => ({
    kind: TOKEN_KINDS[list.kinds[i]],
    start: list.starts[i],
    end: list.ends[i],
  }));
  assertEquals(rebuilt, objects);
  assertEquals(
    list.comments.map((i) => sql.slice(list.starts[i], list.ends[i])),
    ["-- a", "-- b"],
  );
  // Backslashes in strings and comments are text; the first outside them is psql's \i.
  assertEquals(sql.slice(list.starts[list.backslash], list.ends[list.backslash] + 1), "\\i");
  assertEquals(scanTokens("SELECT '\\'").backslash, -1);
});

Deno.test("scanTokensShared gives scanTokens's tokens in arrays the next call reuses", () => {
  const sql = "SELECT 'a', (b) -- c\n;".repeat(1000);
  const own = scanTokens(sql);
  const shared = scanTokensShared(sql);
  assertEquals(
    [shared.length, [...shared.kinds], [...shared.starts], [...shared.ends], shared.comments],
    [own.length, [...own.kinds], [...own.starts], [...own.ends], own.comments],
  );
  scanTokensShared("x");
  assertEquals(shared.starts[0], 0);
  assertEquals(shared.ends[0], 1); // "x" took the first slot
  assertEquals(own.ends[0], 6); // a copy of its own is left alone
});

Deno.test("scanTokens grows past its first guess of the token count", () => {
  const sql = "(,)".repeat(5000);
  const list = scanTokens(sql);
  assertEquals(list.length, 15000);
  assertEquals(list.starts[14999], 14999);
  assertEquals(list.ends[14999], 15000);
});

Deno.test("splitStatements of a token range: each statement with the range of its tokens", () => {
  const sql = "-- UP\nSELECT 1; SELECT (2);\n-- DOWN\nSELECT 3";
  const list = scanTokens(sql);
  const down = list.comments[1];
  const up = splitStatements(sql, list, 1, down);
  assertEquals(up.map((s) => sql.slice(s.start, s.end)), ["SELECT 1;", "SELECT (2);"]);
  assertEquals(
    up.map((s) => sql.slice(list.starts[s.firstToken], list.ends[s.endToken - 1])),
    ["SELECT 1;", "SELECT (2);"],
  );
  const rest = splitStatements(sql, list, down + 1);
  assertEquals(rest.map((s) => [s.words, s.terminated]), [[["SELECT"], false]]);
  // An array of tokens splits the same.
  assertEquals(splitStatements(sql, tokenize(sql), 1, down), up);
});

// Random SQL statements holding every tricky construct, from a seeded generator.
const PIECES = [
  "SELECT 1",
  "SELECT 'a;b'",
  "SELECT 'it''s; -- fine'",
  "SELECT E'x\\';y'",
  'SELECT "semi;colon" FROM t',
  "SELECT $$ ; $$",
  "SELECT $tag$ $$ ; $tag$",
  "DO $do$ BEGIN RAISE NOTICE ';'; END $do$",
  "SELECT /* ; /* ; */ ; */ 2",
  "SELECT 3 -- trailing ; comment\n",
  "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END",
  "INSERT INTO t VALUES ('--', ';', '''')",
  "CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2)",
];

Deno.test("property: split then re-join gives the input back and counts statements", () => {
  const next = random(20250128);
  for (let round = 0; round < 500; round++) {
    const count = 1 + next(8);
    const statements: string[] = [];
    for (let i = 0; i < count; i++) statements.push(PIECES[next(PIECES.length)]);
    const separators = statements.map(() =>
      [";\n", ";", " ;\r\n", ";\n\n-- note ; here\n"][next(4)]
    );
    const withLast = next(2) === 0;
    let sql = "";
    statements.forEach((s, i) => {
      const last = i === statements.length - 1;
      sql += s + (last && !withLast ? "" : separators[i]);
    });
    const split = splitStatements(sql);
    assertEquals(split.length, count, `statement count of ${JSON.stringify(sql)}`);
    // Re-joining the pieces between boundaries gives the input back exactly.
    let rebuilt = "";
    let from = 0;
    for (const s of split) {
      rebuilt += sql.slice(from, s.start) + sql.slice(s.start, s.end);
      from = s.end;
    }
    rebuilt += sql.slice(from);
    assertEquals(rebuilt, sql);
    // Each statement starts with the generated text.
    split.forEach((s, i) => {
      const text = sql.slice(s.start, s.end);
      assertEquals(text.startsWith(statements[i].trimEnd()), true, `${text} / ${statements[i]}`);
    });
  }
});

// ------------------------------------------------------------------ groups

/** Tokens as `[kind, text]`, scanned with `groups`. */
function grouped(sql: string): [string, string][] {
  const list = scanTokens(sql, 0, sql.length, { groups: true });
  return Array.from(
    { length: list.length },
    (_, i) => [TOKEN_KINDS[list.kinds[i]], sql.slice(list.starts[i], list.ends[i])],
  );
}

/** Every group of a scan replaced by its tokens: the tokens of a scan without groups. */
function expanded(sql: string, list: TokenList): { kind: string; start: number; end: number }[] {
  const out: { kind: string; start: number; end: number }[] = [];
  for (let i = 0; i < list.length; i++) {
    if (list.kinds[i] !== KIND.group) {
      out.push({ kind: TOKEN_KINDS[list.kinds[i]], start: list.starts[i], end: list.ends[i] });
      continue;
    }
    const inner = groupTokens(sql, list.starts[i], list.ends[i]);
    for (let k = 0; k < inner.length; k++) {
      out.push({ kind: TOKEN_KINDS[inner.kinds[k]], start: inner.starts[k], end: inner.ends[k] });
    }
  }
  return out;
}

const GROUP_CASES: Array<{ name: string; sql: string; expected: [string, string][] }> = [
  {
    name: "an INSERT's column list and its rows, each list one group",
    sql: "INSERT INTO t (a, b) VALUES (1, 'x;y'),\n  (2, 'it''s -- no comment');",
    expected: [
      ["word", "INSERT"],
      ["word", "INTO"],
      ["word", "t"],
      ["group", "(a, b)"],
      ["word", "VALUES"],
      ["group", "(1, 'x;y'),\n  (2, 'it''s -- no comment')"],
      ["punct", ";"],
    ],
  },
  {
    name: "nested parentheses, quoted identifiers, operators and E strings without \\'",
    sql: `f((1, ("a)b" - 2) / 3), E'tab\\t', now())`,
    expected: [["word", "f"], ["group", `((1, ("a)b" - 2) / 3), E'tab\\t', now())`]],
  },
  {
    name: "a line comment inside: token by token",
    sql: "(1 -- c\n)",
    expected: [["punct", "("], ["number", "1"], ["line_comment", "-- c"], ["punct", ")"]],
  },
  {
    name: "a block comment inside: token by token",
    sql: "(1 /* c */)",
    expected: [["punct", "("], ["number", "1"], ["block_comment", "/* c */"], ["punct", ")"]],
  },
  {
    name: "a dollar sign inside: token by token, the inner group still one",
    sql: "($$a$$, (2))",
    expected: [["punct", "("], ["dollar", "$$a$$"], ["punct", ","], ["group", "(2)"], [
      "punct",
      ")",
    ]],
  },
  {
    name: "a ; inside (a rule's actions): token by token",
    sql: "(SELECT 1; SELECT 2)",
    expected: [
      ["punct", "("],
      ["word", "SELECT"],
      ["number", "1"],
      ["punct", ";"],
      ["word", "SELECT"],
      ["number", "2"],
      ["punct", ")"],
    ],
  },
  {
    name: "a backslash outside strings: token by token, so it is found",
    sql: "(1 \\ 2)",
    expected: [["punct", "("], ["number", "1"], ["punct", "\\"], ["number", "2"], ["punct", ")"]],
  },
  {
    name: "a string whose end depends on E (a backslash before a quote): token by token",
    sql: "('a\\', E'b\\'c')",
    expected: [
      ["punct", "("],
      ["string", "'a\\'"],
      ["punct", ","],
      ["string", "E'b\\'c'"],
      ["punct", ")"],
    ],
  },
  {
    name: "a plain string ending in a backslash, then a parenthesis in a string: token by token",
    sql: "('a\\', ')')",
    expected: [
      ["punct", "("],
      ["string", "'a\\'"],
      ["punct", ","],
      ["string", "')'"],
      ["punct", ")"],
    ],
  },
  {
    name: "a list stops before a group that may not be one, and goes on after it",
    sql: "(1), ($1), (3)",
    expected: [
      ["group", "(1)"],
      ["punct", ","],
      ["punct", "("],
      ["param", "$1"],
      ["punct", ")"],
      ["punct", ","],
      ["group", "(3)"],
    ],
  },
  {
    name: "an unclosed parenthesis: token by token, what it holds too",
    sql: "(1, (2)",
    expected: [["punct", "("], ["number", "1"], ["punct", ","], ["punct", "("], ["number", "2"], [
      "punct",
      ")",
    ]],
  },
];

for (const c of GROUP_CASES) {
  Deno.test(`scanTokens with groups: ${c.name}`, () => {
    assertEquals(grouped(c.sql), c.expected);
    // Taken apart, the groups are the tokens of a scan without them.
    const list = scanTokens(c.sql, 0, c.sql.length, { groups: true });
    assertEquals(expanded(c.sql, list), tokenize(c.sql));
  });
}

Deno.test("scanTokens with groups reports an unterminated string inside parentheses as without them", () => {
  for (const sql of ["VALUES (1, 'abc", "VALUES (E'a\\')", 'VALUES ("a', "VALUES (1 /* x"]) {
    const plain = assertThrows<LexError>(() => scanTokens(sql));
    const withGroups = assertThrows<LexError>(() =>
      scanTokens(sql, 0, sql.length, { groups: true })
    );
    assertEquals([withGroups.what, withGroups.offset], [plain.what, plain.offset], sql);
  }
});

Deno.test("scanTokens with groups stops trying them in a text where they mostly fail", () => {
  const kinds = (sql: string) => grouped(sql).map(([kind]) => kind);
  // Each row holds a parameter: no row is a group, every try is wasted work.
  const few = `${"($1), ".repeat(3)}(1, 2)`;
  assertEquals(kinds(few).at(-1), "group");
  const many = `${"($1), ".repeat(20)}(1, 2)`;
  assertEquals(kinds(many).at(-1), "punct");
  assertEquals(kinds(many).includes("group"), false);
  // Texts whose groups mostly match go on trying.
  const mixed = `${"($1), (1), (2), ".repeat(20)}(1, 2)`;
  assertEquals(kinds(mixed).at(-1), "group");
  for (const sql of [few, many, mixed]) {
    assertEquals(expanded(sql, scanTokens(sql, 0, sql.length, { groups: true })), tokenize(sql));
  }
});

Deno.test("scanTokens with groups stays linear when groups fail (against a scan without them)", () => {
  // 50,000 nested parentheses closed by a dollar sign: every "(" could try a
  // group reaching to the dollar sign (1.25e9 steps); where the first attempt
  // stopped is never tried again, so the scan costs what one without groups
  // does, give or take.
  const sql = `${"(".repeat(50_000)}$x$ $x$${")".repeat(50_000)}`;
  const time = (groups: boolean) => {
    const started = performance.now();
    const list = scanTokens(sql, 0, sql.length, { groups });
    assertEquals(list.length, 100_001);
    return performance.now() - started;
  };
  time(false);
  const floor = Math.min(time(false), time(false), time(false));
  const grouped = Math.min(time(true), time(true), time(true));
  assertEquals(grouped < Math.max(floor, 1) * 50, true, `${grouped} ms against ${floor} ms`);
});

const GROUP_PIECES = [
  "(",
  ")",
  ", ",
  "(1, 'a')",
  "'x;y'",
  "'it''s'",
  "E'a\\'b'",
  "E'tab\\t'",
  "'c:\\'",
  "')'",
  "'('",
  '"q(u)o"',
  "$$ ; ) $$",
  "$1",
  "-- note ( ;\n",
  "/* ( */",
  "a - b",
  "1e-5",
  "x / y",
  ";",
  "\\",
  "now()",
  "\n",
  "VALUES ",
  "INSERT INTO t ",
];

Deno.test("property: groups are the tokens of a scan without them, and split the same statements", () => {
  const next = random(20261202);
  for (let round = 0; round < 3000; round++) {
    let sql = "";
    const n = 1 + next(14);
    for (let i = 0; i < n; i++) sql += GROUP_PIECES[next(GROUP_PIECES.length)];
    let full: TokenList;
    try {
      full = scanTokens(sql);
    } catch (error) {
      const plain = error as LexError;
      const withGroups = assertThrows<LexError>(() =>
        scanTokens(sql, 0, sql.length, { groups: true })
      );
      assertEquals([withGroups.what, withGroups.offset], [plain.what, plain.offset], sql);
      continue;
    }
    const list = scanTokens(sql, 0, sql.length, { groups: true });
    assertEquals(expanded(sql, list), tokenize(sql), sql);
    const textOf = (l: TokenList, i: number) => sql.slice(l.starts[i], l.ends[i]);
    assertEquals(
      list.comments.map((i) => textOf(list, i)),
      full.comments.map((i) => textOf(full, i)),
    );
    assertEquals(
      list.backslash === -1 ? -1 : list.starts[list.backslash],
      full.backslash === -1 ? -1 : full.starts[full.backslash],
      sql,
    );
    const cut = (statements: ReturnType<typeof splitStatements>) =>
      statements.map((s) => [s.start, s.end, s.terminated, s.words]);
    assertEquals(cut(splitStatements(sql, list)), cut(splitStatements(sql, full)), sql);
    assertEquals(cut(splitStatements(sql)), cut(splitStatements(sql, full)), sql);
  }
});
