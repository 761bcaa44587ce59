/** The seed-parity API and runner construction, against a real server. */
import postgresJs from "postgres";
import { join } from "node:path";
import { existsSync, writeFileSync } from "node:fs";
import { Migration, MigrationRunner, postgres } from "../mod.ts";
import { assertEquals, assertMatch, assertRejects } from "./support/assert.ts";
import { dataBridgeSessions, freshDatabase } from "./support/db.ts";
import { migrationText, tempMigrations } from "./support/files.ts";

Deno.test("the seed's module API: init, migrationInit, create, status, apply, rollback, close", async () => {
  const db = await freshDatabase();
  const t = tempMigrations();
  try {
    await postgres.init(db.url);
    await postgres.migrationInit();
    const dir = join(t.root, "db", "migrations");
    const path = postgres.migrationCreate("create users table", dir);
    assertMatch(path, /db\/migrations\/\d{8}_\d{6}_create_users_table\.sql$/);
    assertEquals(existsSync(path), true);
    writeFileSync(path, migrationText("CREATE TABLE users (id INT);", "DROP TABLE users;"));
    const version = path.split("/").at(-1)!.slice(0, 15);
    const status = await postgres.migrationStatus(dir);
    assertEquals([status.applied, status.pending], [[], [version]]);
    assertEquals(await postgres.migrationApply(dir), [version]);
    assertEquals((await postgres.migrationStatus(dir)).applied, [version]);
    assertEquals(await postgres.migrationRollback(dir), [version]);
    assertEquals(await postgres.migrationRollback(dir, 1), []);
    await postgres.close();
    await assertRejects(() => postgres.migrationApply(dir), (e: Error) => {
      assertMatch(e.message, /call postgres\.init\(url\) before/);
    });
  } finally {
    await postgres.close();
    t.remove();
    await db.drop();
  }
});

Deno.test("a runner on a caller's postgres.js pool reserves a connection and leaves the pool open", async () => {
  const db = await freshDatabase();
  const sql = postgresJs(db.url, { max: 3, onnotice: () => {} });
  try {
    const runner = new MigrationRunner(sql, { migrationsTable: "app.history" });
    const migration = await Migration.new({
      version: "20250128_120000",
      name: "create users",
      up: "CREATE TABLE users (id SERIAL PRIMARY KEY);",
      down: "DROP TABLE users;",
    });
    await runner.init();
    assertEquals(await runner.apply([migration]), ["20250128_120000"]);
    assertEquals((await runner.status([migration])).applied, ["20250128_120000"]);
    await runner.close();
    const rows = await sql`SELECT version FROM app.history`;
    assertEquals(rows.map((r) => r.version), ["20250128_120000"]);
  } finally {
    await sql.end();
    await db.drop();
  }
});

Deno.test("a runner told to end its session after a read has none left once status or a no-op apply returns, and connects again for the next command", async () => {
  const db = await freshDatabase();
  const t = tempMigrations({
    "20250128_120000_a.sql": migrationText("CREATE TABLE a (id INT);", "DROP TABLE a;"),
  });
  // The backend exits a moment after the client ends the session.
  const settled = async (n: number) => {
    for (let i = 0; i < 100 && await dataBridgeSessions(db.url) !== n; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return await dataBridgeSessions(db.url);
  };
  try {
    const kept = new MigrationRunner(db.url);
    await kept.apply(t.dir);
    assertEquals((await kept.status(t.dir)).applied, ["20250128_120000"]);
    assertEquals(await settled(1), 1);
    await kept.close();
    assertEquals(await settled(0), 0);
    const runner = new MigrationRunner(db.url, { endSessionAfterRead: true });
    const report = await runner.status(t.dir);
    assertEquals(report.applied, ["20250128_120000"]);
    assertEquals(report.migrations[0].state, "applied");
    assertEquals(await settled(0), 0);
    assertEquals((await runner.status(t.dir)).applied, ["20250128_120000"]);
    // An apply with nothing to do ends its session too; one with work keeps it.
    assertEquals(await settled(0), 0);
    assertEquals(await runner.apply(t.dir), []);
    assertEquals(await settled(0), 0);
    assertEquals(await runner.rollback(t.dir), ["20250128_120000"]);
    assertEquals(await settled(1), 1);
    assertEquals(await runner.apply(t.dir), ["20250128_120000"]);
    assertEquals(await settled(1), 1);
    assertEquals(await runner.rollback(t.dir), ["20250128_120000"]);
    assertEquals(await settled(1), 1);
    await runner.close();
  } finally {
    t.remove();
    await db.drop();
  }
});

Deno.test("a runner given a URL keeps one connection across commands until close", async () => {
  const db = await freshDatabase();
  const t = tempMigrations({
    "20250128_120000_a.sql": migrationText("CREATE TABLE a (id INT);", "DROP TABLE a;"),
  });
  try {
    const runner = new MigrationRunner(db.url);
    await runner.status(t.dir);
    await runner.apply(t.dir);
    assertEquals(await dataBridgeSessions(db.url), 1);
    await runner.close();
  } finally {
    t.remove();
    await db.drop();
  }
});
