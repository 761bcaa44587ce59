import {
  dropParsedSources,
  Migration,
  migrationFile,
  parsedScan,
  parsedSource,
  parseFileName,
  parseMigration,
  parseMigrationFile,
  parseMigrationSync,
  plainMigrationFile,
  renderMigration,
  slugify,
  textMigrationFile,
} from "../lib/migration.ts";
import { checksum } from "../lib/checksum.ts";
import { DEFAULTS } from "../lib/config.ts";
import { ValidationError } from "../lib/errors.ts";
import { assertEquals, assertMatch, assertRejects, assertThrows } from "./support/assert.ts";

const NAME = "20250128_120000_create_users_table.sql";

function parse(content: string | Uint8Array, name = NAME) {
  return parseMigration({ name, file: `migrations/${name}`, content });
}

Deno.test("parses header, sections, description and lines", async () => {
  const text = [
    "-- Migration: 20250128_120000_create_users_table",
    "-- Description: Create users table with basic columns",
    "",
    "-- UP",
    "CREATE TABLE users (id SERIAL PRIMARY KEY);",
    "CREATE INDEX idx_users_id ON users (id);",
    "",
    "-- DOWN",
    "DROP TABLE IF EXISTS users CASCADE;",
    "",
  ].join("\n");
  const m = await parse(text);
  assertEquals(m.version, "20250128_120000");
  assertEquals(m.description, "Create users table with basic columns");
  assertEquals(
    m.up,
    "CREATE TABLE users (id SERIAL PRIMARY KEY);\nCREATE INDEX idx_users_id ON users (id);",
  );
  assertEquals(m.down, "DROP TABLE IF EXISTS users CASCADE;");
  assertEquals([m.upLine, m.downLine], [5, 9]);
  assertEquals(m.transactional, true);
  assertEquals(m.file, `migrations/${NAME}`);
  assertEquals(m.checksum, await checksum(text));
  assertEquals(m.warnings, []);
});

Deno.test("description falls back to the file name's slug", async () => {
  const m = await parse("-- UP\nSELECT 1;\n-- DOWN\nSELECT 2;\n");
  assertEquals(m.description, "create users table");
});

Deno.test("markers are case-insensitive and may have blanks around them", async () => {
  const m = await parse("  --   up  \nSELECT 1;\n\t-- Down\t\nSELECT 2;\n");
  assertEquals([m.up, m.down], ["SELECT 1;", "SELECT 2;"]);
});

Deno.test("CRLF files parse and have the checksum of their LF form", async () => {
  const lf = await parse("-- UP\nSELECT 1;\n-- DOWN\nSELECT 2;\n");
  const crlf = await parse("\uFEFF-- UP\r\nSELECT 1;\r\n-- DOWN\r\nSELECT 2;\r\n");
  assertEquals(crlf.checksum, lf.checksum);
  assertEquals([crlf.up, crlf.down], [lf.up, lf.down]);
});

Deno.test("an empty or comment-only DOWN makes the migration irreversible", async () => {
  assertEquals((await parse("-- UP\nSELECT 1;\n-- DOWN\n")).down, "");
  assertEquals(
    (await parse("-- UP\nSELECT 1;\n-- DOWN\n-- Down migrations are not available; sorry\n")).down,
    "",
  );
  assertEquals((await parse("-- UP\nSELECT 1;\n-- DOWN\n/* ; */ ;;\n")).down, "");
});

Deno.test("markers inside strings, dollar bodies and block comments are SQL", async () => {
  const text = [
    "-- UP",
    "CREATE FUNCTION f() RETURNS text AS $body$",
    "-- DOWN",
    "BEGIN RETURN ';'; END;",
    "$body$ LANGUAGE plpgsql;",
    "SELECT '",
    "-- DOWN",
    "';",
    "/*",
    "-- DOWN",
    "*/",
    "-- DOWN",
    "DROP FUNCTION f();",
  ].join("\n");
  const m = await parse(text);
  assertEquals(m.up.split("\n").length, 10);
  assertEquals(m.down, "DROP FUNCTION f();");
  assertEquals(m.downLine, 13);
});

Deno.test("-- Transaction: none makes a migration non-transactional", async () => {
  const m = await parse(
    "-- Transaction: none\n-- UP\nCREATE INDEX CONCURRENTLY i ON t (a);\n-- DOWN\nDROP INDEX CONCURRENTLY i;\n",
  );
  assertEquals(m.transactional, false);
  assertEquals(m.warnings, []);
});

Deno.test("a file controlling its own transaction runs as written, with a warning naming the line", async () => {
  const m = await parse(
    "-- UP\nBEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\n-- DOWN\nDROP TABLE t;\n",
  );
  assertEquals(m.transactional, false);
  assertEquals(m.warnings.length, 1);
  assertMatch(
    m.warnings[0],
    /^migrations\/20250128_120000_create_users_table\.sql:2: BEGIN controls/,
  );
});

const FILE_ERRORS: Array<{ name: string; content: string; code: string; message: RegExp }> = [
  {
    name: "no markers",
    content: "CREATE TABLE t (id int);\n",
    code: "INVALID_MIGRATION",
    message: /:1: SQL before '-- UP'/,
  },
  {
    name: "missing DOWN",
    content: "-- UP\nSELECT 1;\n",
    code: "INVALID_MIGRATION",
    message: /missing the '-- DOWN' line/,
  },
  {
    name: "missing UP",
    content: "-- just a comment\n",
    code: "INVALID_MIGRATION",
    message: /missing the '-- UP' line/,
  },
  {
    name: "DOWN before UP",
    content: "-- DOWN\nSELECT 2;\n-- UP\nSELECT 1;\n",
    code: "INVALID_MIGRATION",
    message: /:1: '-- DOWN' comes before '-- UP'/,
  },
  {
    name: "UP twice",
    content: "-- UP\nSELECT 1;\n-- UP\nSELECT 1;\n-- DOWN\n",
    code: "INVALID_MIGRATION",
    message: /:3: '-- UP' appears twice/,
  },
  {
    name: "DOWN twice",
    content: "-- UP\nSELECT 1;\n-- DOWN\nSELECT 2;\n-- DOWN\n",
    code: "INVALID_MIGRATION",
    message: /:5: '-- DOWN' appears twice/,
  },
  {
    name: "UP after DOWN",
    content: "-- UP\nSELECT 1;\n-- DOWN\nSELECT 2;\n-- UP\n",
    code: "INVALID_MIGRATION",
    message: /:5: '-- UP' appears twice/,
  },
  {
    name: "SQL before UP",
    content: "-- Description: x\nSELECT 0;\n-- UP\nSELECT 1;\n-- DOWN\n",
    code: "INVALID_MIGRATION",
    message: /:2: SQL before '-- UP'/,
  },
  {
    name: "empty UP",
    content: "-- UP\n\n-- DOWN\nSELECT 2;\n",
    code: "EMPTY_UP",
    message: /:2: UP section is empty/,
  },
  {
    name: "comment-only UP",
    content: "-- UP\n-- nothing; really\n-- DOWN\nSELECT 2;\n",
    code: "EMPTY_UP",
    message: /UP section is empty/,
  },
  {
    name: "unterminated string",
    content: "-- UP\nSELECT 1;\nSELECT 'abc;\n-- DOWN\nSELECT 2;\n",
    code: "UNTERMINATED",
    message: /:3: unterminated string '\.\.\.' opens here/,
  },
  {
    name: "unterminated dollar quote",
    content: "-- UP\nDO $body$ BEGIN NULL; END $bod$;\n-- DOWN\n",
    code: "UNTERMINATED",
    message: /:2: unterminated dollar-quoted string \$body\$/,
  },
  {
    name: "unterminated block comment",
    content: "-- UP\nSELECT 1;\n/* /* */\n-- DOWN\n",
    code: "UNTERMINATED",
    message: /:3: unterminated block comment/,
  },
  {
    name: "unterminated quoted identifier",
    content: '-- UP\nSELECT "abc;\n-- DOWN\n',
    code: "UNTERMINATED",
    message: /:2: unterminated quoted identifier/,
  },
  {
    name: "CONCURRENTLY without -- Transaction: none",
    content: "-- UP\nCREATE TABLE t (a int);\n\nCREATE INDEX CONCURRENTLY i ON t (a);\n-- DOWN\n",
    code: "NEEDS_NO_TRANSACTION",
    message:
      /:4: CREATE INDEX CONCURRENTLY cannot run inside a transaction; add the header line '-- Transaction: none'/,
  },
  {
    name: "VACUUM in DOWN without -- Transaction: none",
    content: "-- UP\nSELECT 1;\n-- DOWN\nVACUUM t;\n",
    code: "NEEDS_NO_TRANSACTION",
    message: /:4: VACUUM T cannot run inside a transaction/,
  },
  {
    name: "COPY FROM STDIN",
    content: "-- UP\nCOPY t (a) FROM stdin;\n1\n\\.\n-- DOWN\n",
    code: "INVALID_MIGRATION",
    message: /:2: COPY \.\.\. FROM STDIN is not supported/,
  },
  {
    name: "unknown transaction header",
    content: "-- Transaction: maybe\n-- UP\nSELECT 1;\n-- DOWN\n",
    code: "INVALID_MIGRATION",
    message: /:1: unknown '-- Transaction: maybe'/,
  },
];

for (const c of FILE_ERRORS) {
  Deno.test(`a file with ${c.name} is refused naming the file and line`, async () => {
    const error = await assertRejects<ValidationError>(() => parse(c.content));
    assertEquals([error instanceof ValidationError, error.code, error.exitCode], [true, c.code, 3]);
    assertMatch(error.message, /^migrations\/20250128_120000_create_users_table\.sql/);
    assertMatch(error.message, c.message);
    assertEquals(error.message.includes("\n"), false);
  });
}

const NAME_ERRORS: Array<[string, string, RegExp]> = [
  ["create_users.sql", "INVALID_FILE_NAME", /must be YYYYMMDD_HHMMSS_description\.sql/],
  ["2025-01-28_create.sql", "INVALID_FILE_NAME", /must be YYYYMMDD_HHMMSS/],
  ["20250128_120000.sql", "INVALID_FILE_NAME", /must be YYYYMMDD_HHMMSS/],
  ["20250128_120000_x.SQL", "INVALID_FILE_NAME", /must be YYYYMMDD_HHMMSS/],
  ["20251399_250000_x.sql", "INVALID_VERSION", /month 13 does not exist/],
  ["20250230_120000_x.sql", "INVALID_VERSION", /day 30 does not exist/],
];
for (const [name, code, message] of NAME_ERRORS) {
  Deno.test(`file name ${name} is refused with ${code}`, () => {
    const error = assertThrows<ValidationError>(() => parseFileName(name, `migrations/${name}`));
    assertEquals([error.code, error.exitCode, error.file], [code, 3, `migrations/${name}`]);
    assertMatch(error.message, message);
  });
}

// What a file name must look like, as the seed writes it: parseFileName splits
// names by character codes, and must take and refuse exactly what this takes.
const FILE_NAME_PATTERN = /^(\d{8}_\d{6})_(.+)\.sql$/;
const NAME_SHAPES = [
  "20250128_120000_create_users.sql",
  "20250128_120000_x.sql",
  "20250128_120000_x.sql.sql",
  "20250128_120000_.sql",
  "20250128_120000__.sql",
  "20250128_120000_a b.sql",
  "20250128_120000_café.sql",
  "20250128_120000_a\nb.sql",
  "20250128_120000_a\rb.sql",
  "20250128_120000_a\u2028b.sql",
  "20250128_120000_a\u2029b.sql",
  "20250128_120000_a\tb.sql",
  "20250128-120000_x.sql",
  "20250128_120000-x.sql",
  "2025012_1200000_x.sql",
  "20250128_12000a_x.sql",
  "2025012８_120000_x.sql",
  "/0250128_120000_x.sql",
  ":0250128_120000_x.sql",
  "20250128_120000_x.sq",
  "20250128_120000_x.sqll",
  "20250128_120000_x.Sql",
  "x20250128_120000_x.sql",
  "20250128_120000.sql",
  "",
];
Deno.test("file names are taken and refused as YYYYMMDD_HHMMSS_slug.sql's pattern does", () => {
  for (const name of NAME_SHAPES) {
    const m = FILE_NAME_PATTERN.exec(name);
    let got: { version: string; slug: string } | string;
    try {
      got = parseFileName(name);
    } catch (error) {
      got = (error as ValidationError).code;
    }
    assertEquals(
      got,
      m ? { version: m[1], slug: m[2] } : "INVALID_FILE_NAME",
      JSON.stringify(name),
    );
  }
});

Deno.test("invalid UTF-8 and binary content are refused naming the file", async () => {
  const invalid = new Uint8Array([0x2d, 0x2d, 0x20, 0x55, 0x50, 0x0a, 0xff, 0xfe, 0x0a]);
  const e1 = await assertRejects<ValidationError>(() => parse(invalid));
  assertEquals(e1.code, "INVALID_ENCODING");
  assertMatch(e1.message, /20250128_120000_create_users_table\.sql: not valid UTF-8/);
  const binary = new TextEncoder().encode("-- UP\nSELECT 1;\0\n-- DOWN\n");
  const e2 = await assertRejects<ValidationError>(() => parse(binary));
  assertMatch(e2.message, /:2: contains a NUL byte/);
});

Deno.test("Migration.new builds a migration with the checksum of its rendered file", async () => {
  const input = {
    version: "20250128_120000",
    name: "create users",
    up: "CREATE TABLE users (id int);",
    down: "DROP TABLE users;",
  };
  const m = await Migration.new(input);
  assertEquals(m.file, null);
  assertEquals(m.description, "create users");
  assertEquals(m.checksum, await checksum(renderMigration(input)));
  await assertRejects(() => Migration.new({ ...input, version: "2025" }));
  await assertRejects(() => Migration.new({ ...input, up: "" }));
});

Deno.test("slugify makes lowercase [a-z0-9_] slugs", () => {
  assertEquals(slugify("Create Users table!"), "create_users_table");
  assertEquals(slugify("  Ünïcode — names  "), "unicode_names");
  assertEquals(slugify("!!!"), "migration");
});

Deno.test("migrationFile checks name and encoding, normalises and hashes, and leaves the SQL to parseMigrationFile", async () => {
  const lf = "-- UP\nSELECT 1;\n-- DOWN\n";
  for (const content of [lf, lf.replaceAll("\n", "\r\n"), `\ufeff${lf}`]) {
    const f = migrationFile({ name: NAME, file: `db/${NAME}`, content });
    assertEquals([f.version, f.slug, f.text, f.label], [
      "20250128_120000",
      "create_users_table",
      lf,
      `db/${NAME}`,
    ]);
    assertEquals(f.checksum, await checksum(lf));
    assertEquals(
      parseMigrationFile(f),
      await parseMigration({ name: NAME, file: `db/${NAME}`, content }),
    );
  }
  const unparsed = migrationFile({ name: NAME, content: "SELECT 'open;" });
  assertEquals(unparsed.file, null);
  assertEquals(
    assertThrows<ValidationError>(() => parseMigrationFile(unparsed)).code,
    "UNTERMINATED",
  );
  for (
    const [name, content, code] of [
      ["create_users.sql", lf, "INVALID_FILE_NAME"],
      [NAME, new Uint8Array([0x2d, 0x2d, 0xff]), "INVALID_ENCODING"],
    ] as const
  ) {
    const error = assertThrows<ValidationError>(() => migrationFile({ name, content }));
    assertEquals(error.code, code);
  }
});

Deno.test("a parse that keeps its source keeps its scan: tokens, markers and each section's statements", () => {
  // A large file: a small one keeps its text, not its scan.
  const long = `-- ${"x".repeat(DEFAULTS.keepScanChars)}`;
  const text = `${long}\n-- UP\nCREATE TABLE t (id int);\nSELECT ';';\n-- DOWN\nDROP TABLE t;\n`;
  const small = parseMigrationFile(
    migrationFile({ name: "20250128_120000_t.sql", content: text.slice(long.length + 1) }),
    { keepSource: true },
  );
  assertEquals([typeof parsedSource(small), parsedScan(small)], ["string", undefined]);
  const f = migrationFile({ name: "20250128_120000_t.sql", content: text });
  const m = parseMigrationFile(f, { keepSource: true });
  const scan = parsedScan(m)!;
  const at = (i: number) => text.slice(scan.tokens.starts[i], scan.tokens.ends[i]);
  assertEquals([at(scan.up), at(scan.down)], ["-- UP", "-- DOWN"]);
  assertEquals(scan.tokens.comments.map(at), [long, "-- UP", "-- DOWN"]);
  const texts = (list: { start: number; end: number }[]) =>
    list.map((s) => text.slice(s.start, s.end));
  assertEquals(texts(scan.statements.up), ["CREATE TABLE t (id int);", "SELECT ';';"]);
  assertEquals(texts(scan.statements.down), ["DROP TABLE t;"]);
  dropParsedSources([m]);
  assertEquals([parsedScan(m), parsedSource(m)], [undefined, undefined]);
  assertEquals(parsedScan(parseMigrationFile(f)), undefined);
});

Deno.test("textMigrationFile makes what migrationFile makes of the text's bytes, errors included", () => {
  const name = "20250128_120000_init.sql";
  const CASES: Array<[string, string, string | null]> = [
    ["plain", "-- UP\nSELECT 1;\n-- DOWN\n", null],
    ["BOM and CRLF", "\uFEFF-- UP\r\nSELECT 1;\r\n", null],
    ["a NUL", "-- UP\nSELECT 1;\0\n", "INVALID_ENCODING"],
  ];
  for (const [what, content, code] of CASES) {
    for (const file of [`migrations/${name}`, null]) {
      const made = (f: () => unknown) => {
        try {
          return f();
        } catch (error) {
          return [(error as ValidationError).code, (error as ValidationError).message];
        }
      };
      const text = made(() => textMigrationFile(name, file, content));
      const bytes = new TextEncoder().encode(content);
      const object = made(() => migrationFile({ name, file: file ?? undefined, content: bytes }));
      assertEquals(text, object, `${what}, file ${file}`);
      if (code) assertEquals((text as string[])[0], code);
    }
  }
  const bad = assertThrows<ValidationError>(() => textMigrationFile("init.sql", "m/init.sql", ""));
  assertEquals([bad.code, bad.file], ["INVALID_FILE_NAME", "m/init.sql"]);
});

Deno.test("plainMigrationFile is textMigrationFile's result for the files it takes, and takes the common ones", () => {
  const plain = "-- UP\nSELECT 1;\n-- DOWN\n";
  const names: Array<[string, boolean]> = [
    ["20250128_120000_init.sql", true],
    ["20250101_000000_a.sql", true],
    ["20251228_235959_last_day_every_month_has.sql", true],
    ["20250129_120000_day_29.sql", false],
    ["20250131_120000_day_31.sql", false],
    ["20240229_120000_leap_day.sql", false],
    ["20250229_120000_no_such_day.sql", false],
    ["20251301_120000_month_13.sql", false],
    ["20250100_120000_day_0.sql", false],
    ["20250128_240000_hour_24.sql", false],
    ["20250128_126000_minute_60.sql", false],
    ["20250128_120060_second_60.sql", false],
    ["20250128_120000_.sql", false],
    ["20250128_120000_x.SQL", false],
    ["2025012_120000_short.sql", false],
    ["20250128_120000_two.words.sql", true],
  ];
  const texts: Array<[string, string, boolean]> = [
    ["plain", plain, true],
    ["empty", "", true],
    ["a BOM", "\uFEFF" + plain, false],
    ["CRLF", plain.replaceAll("\n", "\r\n"), false],
    ["a lone CR", "-- UP\rSELECT 1;\n-- DOWN\n", false],
    ["a NUL", "-- UP\nSELECT 1;\0\n-- DOWN\n", false],
    ["a replacement character", "-- UP\nSELECT '\uFFFD';\n-- DOWN\n", false],
    ["non-ASCII", "-- UP\nSELECT 'é ✓';\n-- DOWN\n", true],
  ];
  const made = (f: () => unknown) => {
    try {
      return f();
    } catch (error) {
      return (error as ValidationError).code;
    }
  };
  for (const [name, plainName] of names) {
    for (const [what, text, plainText] of texts) {
      const file = `migrations/${name}`;
      const got = plainMigrationFile(name, file, text);
      const label = `${name}, ${what}`;
      assertEquals(got !== null, plainName && plainText, label);
      if (got !== null) assertEquals(got, made(() => textMigrationFile(name, file, text)), label);
    }
  }
});

Deno.test("a section that opens a transaction of its own must end it", () => {
  const CASES: Array<[string, number | null]> = [
    ["BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;", null],
    ["START TRANSACTION;\nCREATE TABLE t (id int);\nEND;", null],
    ["BEGIN;\nSAVEPOINT a;\nROLLBACK TO a;\nCOMMIT AND NO CHAIN;", null],
    ["BEGIN;\nCREATE TABLE t (id int);\nPREPARE TRANSACTION 'x';\nCOMMIT PREPARED 'x';", null],
    ["BEGIN;\nCREATE TABLE t (id int);", 2],
    ["CREATE TABLE t (id int);\nBEGIN ISOLATION LEVEL SERIALIZABLE;\nSELECT 1;", 3],
    ["BEGIN;\nSELECT 1;\nROLLBACK TO SAVEPOINT a;", 2],
    ["BEGIN;\nSELECT 1;\nCOMMIT AND CHAIN;\nSELECT 2;", 2],
    ["COMMIT AND CHAIN;\nSELECT 2;", 2],
  ];
  for (const [up, line] of CASES) {
    const content = `-- Transaction: none\n-- UP\n${up}\n-- DOWN\n`;
    const parse = () => parseMigrationSync({ name: "20250128_120000_own.sql", content });
    if (line === null) {
      parse();
      continue;
    }
    const error = assertThrows<ValidationError>(parse);
    assertEquals([error.code, error.line], ["INVALID_MIGRATION", line + 1], up);
    assertMatch(
      error.message,
      /UP section: this opens a transaction that the section does not end/,
    );
  }
  // In DOWN too.
  const down = assertThrows<ValidationError>(() =>
    parseMigrationSync({
      name: "20250128_120000_own.sql",
      content: "-- UP\nSELECT 1;\n-- DOWN\nBEGIN;\nDROP TABLE t;\n",
    })
  );
  assertMatch(down.message, /:4: DOWN section: this opens a transaction/);
});
