import { executeMigration, type ExecuteSettings } from "../lib/execute.ts";
import { ensureHistoryTable } from "../lib/history.ts";
import { concurrentIndex, invalidIndexes, isInvalidIndex } from "../lib/invalid_index.ts";
import { type Migration, migrationFile, parseMigrationFile } from "../lib/migration.ts";
import { assertEquals, assertMatch, assertNotMatch, assertRejects } from "./support/assert.ts";
import { cli } from "./support/cli.ts";
import {
  adminQuery,
  type DriverContext,
  driverTest,
  freshDatabase,
  serverTest,
} from "./support/db.ts";
import { migrationText, tempMigrations } from "./support/files.ts";

const TABLE = { schema: null, name: "_migrations" };
const NO_TX = "-- Transaction: none";

function loose(up: string): Migration {
  return parseMigrationFile(migrationFile({
    name: "20250101_000000_index.sql",
    content: migrationText(up, "DROP INDEX CONCURRENTLY IF EXISTS u_email;", NO_TX),
  }));
}

function settings(): ExecuteSettings {
  return { table: TABLE, sessionLock: true, sessionLimits: { inForce: false, set: false } };
}

async function recorded(ctx: DriverContext): Promise<string[]> {
  return (await ctx.sql<{ version: string }>("SELECT version FROM _migrations")).map((r) =>
    r.version
  );
}

Deno.test("concurrentIndex reads the index, its table and IF NOT EXISTS", () => {
  const cases: Array<[string, ReturnType<typeof concurrentIndex>]> = [
    [
      "CREATE INDEX CONCURRENTLY u_email ON u (email)",
      { index: "u_email", table: "u", ifNotExists: false },
    ],
    [
      "create unique index concurrently if not exists u_email on only app.u using btree (email)",
      { index: "app.u_email", table: "app.u", ifNotExists: true },
    ],
    [
      'CREATE INDEX CONCURRENTLY "U E" ON "App"."Users" (e)',
      { index: '"App"."U E"', table: '"App"."Users"', ifNotExists: false },
    ],
    [
      "CREATE INDEX /* why */ CONCURRENTLY -- builds online\n ON u (email)",
      { index: null, table: "u", ifNotExists: false },
    ],
    ["CREATE INDEX u_email ON u (email)", null],
    ["CREATE UNIQUE INDEX u_email ON u (email)", null],
    ["REINDEX INDEX CONCURRENTLY u_email", null],
    ["DROP INDEX CONCURRENTLY u_email", null],
    ["CREATE INDEX CONCURRENTLY", null],
    ["SELECT 'CREATE INDEX CONCURRENTLY i ON t (c)'", null],
    ["CREATE INDEX CONCURRENTLY 'unterminated", null],
  ];
  for (const [sql, expected] of cases) assertEquals(concurrentIndex(sql), expected, sql);
});

driverTest(
  "apply names the INVALID index a failed CREATE INDEX CONCURRENTLY leaves, and does not record it when IF NOT EXISTS skips it",
  async (ctx) => {
    await ensureHistoryTable(ctx.driver, TABLE);
    await ctx.driver.exec("CREATE TABLE u (email text); INSERT INTO u VALUES ('a'), ('a')");
    const build = loose("CREATE UNIQUE INDEX CONCURRENTLY u_email ON u (email);");
    const failed = await assertRejects(() => executeMigration(ctx.driver, "up", build, settings()));
    assertMatch(failed.message, /SQLSTATE 23505/);
    assertMatch(
      failed.message,
      /PostgreSQL left the index u_email INVALID .*: drop it \(DROP INDEX CONCURRENTLY u_email\)/,
    );
    assertNotMatch(failed.message, /re-runnable with IF NOT EXISTS/);
    assertEquals(await isInvalidIndex(ctx.driver, "u_email"), true);
    assertEquals(await invalidIndexes(ctx.driver, "u"), ["u_email"]);

    // Run again as it is: the name is taken by what the first run left.
    await ctx.driver.exec("DELETE FROM u");
    const taken = await assertRejects(() => executeMigration(ctx.driver, "up", build, settings()));
    assertMatch(taken.message, /SQLSTATE 42P07.*the index u_email exists and is INVALID/);

    // With IF NOT EXISTS PostgreSQL skips it and succeeds: not recorded.
    const skip = loose("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS u_email ON u (email);");
    const skipped = await assertRejects(() => executeMigration(ctx.driver, "up", skip, settings()));
    assertMatch(
      skipped.message,
      /^migration 20250101_000000:3:1: migration 20250101_000000: statement 1 of 1: the index u_email already existed and is INVALID .* IF NOT EXISTS skipped building it: drop it \(DROP INDEX CONCURRENTLY u_email\)/,
    );
    assertEquals(await recorded(ctx), []);

    // Dropped as told, the migration builds it and is recorded.
    await ctx.driver.exec("DROP INDEX CONCURRENTLY u_email");
    await executeMigration(ctx.driver, "up", skip, settings());
    assertEquals(await recorded(ctx), ["20250101_000000"]);
    assertEquals(await isInvalidIndex(ctx.driver, "u_email"), false);
    assertEquals(await invalidIndexes(ctx.driver, "u"), []);
  },
);

driverTest(
  "a failed CREATE INDEX CONCURRENTLY without a name lists the table's INVALID indexes",
  async (ctx) => {
    await ensureHistoryTable(ctx.driver, TABLE);
    await ctx.driver.exec("CREATE TABLE u (email text); INSERT INTO u VALUES ('a'), ('a')");
    const build = loose("CREATE UNIQUE INDEX CONCURRENTLY ON u (email);");
    const failed = await assertRejects(() => executeMigration(ctx.driver, "up", build, settings()));
    assertMatch(failed.message, /u has INVALID indexes, .*\(u_email_idx\)/);
  },
);

driverTest(
  "a statement that fails in a migration's own BEGIN ... COMMIT leaves the session usable",
  async (ctx) => {
    await ensureHistoryTable(ctx.driver, TABLE);
    for (const up of ["BEGIN;\nSELECT 1/0;\nCOMMIT;", "BEGIN;\nROLLBACK TO nowhere;\nCOMMIT;"]) {
      const m = loose(up);
      await assertRejects(() => executeMigration(ctx.driver, "up", m, settings()));
      // Not left in an aborted transaction: the next query runs.
      assertEquals(await ctx.sql<{ one: number }>("SELECT 1 AS one"), [{ one: 1 }], up);
    }
  },
);

serverTest(
  "the CLI names the index to drop and prints no warning of a ROLLBACK outside a transaction",
  async () => {
    const db = await freshDatabase();
    const files = tempMigrations({
      "20250101_000000_index.sql": migrationText(
        "CREATE UNIQUE INDEX CONCURRENTLY u_email ON u (email);",
        "DROP INDEX CONCURRENTLY IF EXISTS u_email;",
        NO_TX,
      ),
    });
    try {
      await adminQuery(db.url, "CREATE TABLE u (email text); INSERT INTO u VALUES ('a'), ('a')");
      const args = ["apply", "--database-url", db.url, "--migrations-dir", files.dir];
      const r = await cli(args);
      assertEquals(r.code, 1, r.stderr);
      assertMatch(r.stderr, /drop it \(DROP INDEX CONCURRENTLY u_email\) before running it again/);
      assertNotMatch(r.stderr, /no transaction in progress/);
    } finally {
      files.remove();
      await db.drop();
    }
  },
);
