/**
 * `import`: other tools' migrations as data-bridge files, per tool (the
 * conversion is pure), and end to end: the files written apply, verify and
 * lint as data-bridge's own; nothing is written when anything is wrong.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { importMigrations, type ImportTool, type SourceFile } from "../lib/import.ts";
import { parseMigrationSync } from "../lib/migration.ts";
import type { ValidationError } from "../lib/errors.ts";
import { assertEquals, assertMatch, assertThrows } from "./support/assert.ts";
import { cli } from "./support/cli.ts";
import { freshDatabase, serverTest } from "./support/db.ts";
import { tempMigrations } from "./support/files.ts";

function files(entries: Record<string, string>): SourceFile[] {
  return Object.entries(entries).map(([name, text]) => ({ name, text }));
}

interface Case {
  tool: ImportTool;
  source: Record<string, string>;
  /** The files written, by name: [transactional, UP, DOWN]. */
  expected: Record<string, [boolean, string, string]>;
  skipped?: string[];
}

const CASES: Case[] = [
  {
    tool: "dbmate",
    source: {
      "20240102030405_create_users.sql":
        "-- migrate:up\nCREATE TABLE users (id int);\n\n-- migrate:down\nDROP TABLE users;\n",
      "20240103000000_users_id.sql":
        "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY users_id ON users (id);\n" +
        "-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY users_id;\n",
      "schema.sql": "-- not a migration\n",
    },
    expected: {
      "20240102_030405_create_users.sql": [
        true,
        "CREATE TABLE users (id int);",
        "DROP TABLE users;",
      ],
      "20240103_000000_users_id.sql": [
        false,
        "CREATE INDEX CONCURRENTLY users_id ON users (id);",
        "DROP INDEX CONCURRENTLY users_id;",
      ],
    },
  },
  {
    tool: "golang-migrate",
    source: {
      "000002_b.up.sql": "CREATE TABLE b (id int);\nCREATE INDEX CONCURRENTLY b_id ON b (id);",
      "000001_a.up.sql": "CREATE TABLE a (id int);",
      "000001_a.down.sql": "DROP TABLE a;",
    },
    expected: {
      "20000101_000001_v000001_a.sql": [true, "CREATE TABLE a (id int);", "DROP TABLE a;"],
      // A statement that cannot run in a transaction: as golang-migrate ran it, outside one.
      "20000101_000002_v000002_b.sql": [
        false,
        "CREATE TABLE b (id int);\nCREATE INDEX CONCURRENTLY b_id ON b (id);",
        "",
      ],
    },
  },
  {
    tool: "flyway",
    source: {
      "V1__init.sql": "CREATE TABLE x (id int);",
      "V10__later.sql": "CREATE TABLE later ();",
      "V1.1__add_y.sql": "ALTER TABLE x ADD COLUMN y int;",
      "U1.1__add_y.sql": "ALTER TABLE x DROP COLUMN y;",
      "V2__z.sql": "CREATE TABLE z ();",
      "R__views.sql": "CREATE OR REPLACE VIEW v AS SELECT 1;",
    },
    expected: {
      "20000101_000001_v1_init.sql": [true, "CREATE TABLE x (id int);", ""],
      "20000101_000002_v1_1_add_y.sql": [
        true,
        "ALTER TABLE x ADD COLUMN y int;",
        "ALTER TABLE x DROP COLUMN y;",
      ],
      "20000101_000003_v2_z.sql": [true, "CREATE TABLE z ();", ""],
      "20000101_000004_v10_later.sql": [true, "CREATE TABLE later ();", ""],
    },
    skipped: ["R__views.sql"],
  },
  {
    tool: "node-pg-migrate",
    source: {
      "1700000000000_n.sql":
        "-- Up Migration\nCREATE TABLE n ();\n-- Down Migration\nDROP TABLE n;",
      // Half a second later: the next second, so both keep their order.
      "1700000000500_m.sql":
        "-- Up Migration\nCREATE TABLE m ();\n-- Down Migration\nDROP TABLE m;",
      "1700000001000_seed.js": "exports.up = (pgm) => {};",
    },
    expected: {
      "20231114_221320_n.sql": [true, "CREATE TABLE n ();", "DROP TABLE n;"],
      "20231114_221321_m.sql": [true, "CREATE TABLE m ();", "DROP TABLE m;"],
    },
    skipped: ["1700000001000_seed.js"],
  },
];

for (const c of CASES) {
  Deno.test(`import from ${c.tool} writes each migration as data-bridge would, in ${c.tool}'s order`, () => {
    const result = importMigrations(c.tool, files(c.source));
    assertEquals(result.migrations.map((m) => m.name), Object.keys(c.expected));
    for (const m of result.migrations) {
      const parsed = parseMigrationSync({ name: m.name, content: m.text });
      assertEquals(
        [parsed.transactional, parsed.up.trim(), parsed.down.trim()],
        c.expected[m.name],
      );
      assertMatch(m.text, new RegExp(`^-- Imported from ${c.tool}: `));
    }
    assertEquals(result.skipped.map((s) => s.file), c.skipped ?? []);
    assertEquals(result.warnings, []);
  });
}

Deno.test("import from flyway warns of placeholders, which nothing replaces", () => {
  const result = importMigrations(
    "flyway",
    files({
      "V1__grant.sql": "GRANT SELECT ON ALL TABLES IN SCHEMA ${flyway:defaultSchema} TO ${reader};",
    }),
  );
  assertEquals(result.warnings, [
    "V1__grant.sql uses Flyway placeholders (${...}), which data-bridge runs as written: put their values in",
  ]);
});

const BAD: Array<[ImportTool, Record<string, string>, RegExp]> = [
  [
    "dbmate",
    { "20240101000000_x.sql": "CREATE TABLE x ();" },
    /20240101000000_x\.sql: cannot be imported: no '-- migrate:up' line/,
  ],
  [
    "dbmate",
    { "20240101000000_x.sql": "-- migrate:up\n\n-- migrate:down\n" },
    /20240101000000_x\.sql: cannot be imported: UP section is empty/,
  ],
  [
    "golang-migrate",
    { "1_x.down.sql": "DROP TABLE x;" },
    /1_x\.down\.sql: cannot be imported: no 1_x\.up\.sql beside it/,
  ],
  [
    "flyway",
    { "V1__a.sql": "SELECT 1;", "V1.0__b.sql": "SELECT 2;" },
    /V1__a\.sql and V1\.0__b\.sql have the same flyway version 1\.0/,
  ],
  [
    "flyway",
    { "U3__c.sql": "SELECT 1;" },
    /U3__c\.sql: cannot be imported: an undo migration without its versioned migration/,
  ],
  ["node-pg-migrate", { "1700000000000_x.sql": "CREATE TABLE x ();" }, /no '-- Up Migration' line/],
];
for (const [tool, source, message] of BAD) {
  Deno.test(`import from ${tool} refuses ${Object.keys(source).join(", ")}, naming it`, () => {
    const error = assertThrows<ValidationError>(() => importMigrations(tool, files(source)));
    assertEquals(error.code, "INVALID_MIGRATION");
    assertMatch(error.message, message);
  });
}

serverTest(
  "imported migrations apply and roll back as data-bridge's own, and the CLI writes nothing when a version is taken",
  async () => {
    const db = await freshDatabase();
    const t = tempMigrations({});
    const source = join(t.root, "db", "migrations");
    mkdirSync(source, { recursive: true });
    for (const [name, text] of Object.entries(CASES[0].source)) {
      writeFileSync(join(source, name), text);
    }
    const env = { DATABASE_URL: db.url };
    try {
      const dry = await cli(["import", "--from", "dbmate", source, "--dry-run"], {
        cwd: t.root,
        env,
      });
      assertEquals(dry.code, 0, dry.stderr);
      assertMatch(
        dry.stdout,
        /Would import 2 dbmate migrations into migrations \(dry run, nothing written\)\.\n$/,
      );
      assertEquals(readdirSync(t.dir), []);

      const imported = await cli(["import", "--from", "dbmate", source], { cwd: t.root, env });
      assertEquals(imported.code, 0, imported.stderr);
      assertMatch(
        imported.stdout,
        /20240102030405_create_users\.sql -> migrations\/20240102_030405_create_users\.sql\n/,
      );
      assertMatch(imported.stdout, /data-bridge baseline --version 20240103_000000/);
      assertEquals(readdirSync(t.dir).sort(), Object.keys(CASES[0].expected));
      for (const command of [["apply"], ["rollback", "--steps", "2"], ["apply"]]) {
        const run = await cli(command, { cwd: t.root, env });
        assertEquals(run.code, 0, `${command}: ${run.stderr}`);
      }
      assertEquals((await cli(["status", "--exit-code"], { cwd: t.root, env })).code, 0);

      // Again into the same directory: refused before anything is written.
      const before = readdirSync(t.dir).map((name) => readFileSync(join(t.dir, name), "utf8"));
      writeFileSync(
        join(source, "20240104000000_more.sql"),
        "-- migrate:up\nSELECT 1;\n-- migrate:down\n",
      );
      const dryAgain = await cli(["import", "--from", "dbmate", source, "--dry-run"], {
        cwd: t.root,
        env,
      });
      assertEquals(dryAgain.code, 3, "a dry run says what the import would say");
      const again = await cli(["import", "--from", "dbmate", source], { cwd: t.root, env });
      assertEquals(again.code, 3);
      assertMatch(
        again.stderr,
        /already has version 20240102_030405, which 20240102030405_create_users\.sql would get; .* nothing was written/,
      );
      assertEquals(
        readdirSync(t.dir).map((name) => readFileSync(join(t.dir, name), "utf8")),
        before,
      );
      assertEquals(existsSync(join(t.dir, "20240104_000000_more.sql")), false);

      const unknown = await cli(["import", "--from", "liquibase", source], { cwd: t.root, env });
      assertEquals(unknown.code, 2);
      assertMatch(
        unknown.stderr,
        /--from must name the tool: dbmate, golang-migrate, flyway, node-pg-migrate, got 'liquibase'/,
      );
    } finally {
      t.remove();
      await db.drop();
    }
  },
);
