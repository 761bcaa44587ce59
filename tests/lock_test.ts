/** The migration lock: waiting, reporting the holder, giving up. */
import postgresJs from "postgres";
import { ADVISORY_LOCK_KEY } from "../lib/config.ts";
import { withLock } from "../lib/lock.ts";
import { openPostgres } from "../lib/postgres_driver.ts";
import { assert, assertEquals, assertMatch } from "./support/assert.ts";
import { cli } from "./support/cli.ts";
import { freshDatabase } from "./support/db.ts";
import { migrationText, tempMigrations } from "./support/files.ts";

async function holdLock(url: string) {
  const sql = postgresJs(url, { max: 1, connection: { application_name: "holder-app" } });
  const [{ pid }] =
    await sql`SELECT pg_backend_pid() AS pid, pg_advisory_lock(${ADVISORY_LOCK_KEY.toString()}::bigint)`;
  return { pid: Number(pid), release: () => sql.end() };
}

Deno.test("a waiting run names the lock holder once, then proceeds when it is released", async () => {
  const db = await freshDatabase();
  const t = tempMigrations({
    "20250128_120000_a.sql": migrationText("CREATE TABLE a (id INT);", "DROP TABLE a;"),
  });
  const holder = await holdLock(db.url);
  try {
    const run = cli(["apply"], { cwd: t.root, env: { DATABASE_URL: db.url } });
    await new Promise((r) => setTimeout(r, 1500));
    await holder.release();
    const result = await run;
    assertEquals(result.code, 0, result.stderr);
    const waits = result.stderr.split("\n").filter((l) => l.startsWith("waiting"));
    assertEquals(waits.length, 1);
    assertMatch(
      waits[0],
      new RegExp(
        `^waiting for the migration lock on postgres://postgres:\\*\\*\\*@.*, held by pid ${holder.pid} \\(holder-app\\) since \\d{4}-`,
      ),
    );
    assertMatch(result.stdout, /Applied 1 migration/);
  } finally {
    await holder.release();
    t.remove();
    await db.drop();
  }
});

Deno.test("--lock-wait bounds the wait: exit 1 naming the holder, nothing applied", async () => {
  const db = await freshDatabase();
  const t = tempMigrations({
    "20250128_120000_a.sql": migrationText("CREATE TABLE a (id INT);", "DROP TABLE a;"),
  });
  const holder = await holdLock(db.url);
  try {
    const result = await cli(["apply", "--lock-wait", "1", "--json"], {
      cwd: t.root,
      env: { DATABASE_URL: db.url },
    });
    assertEquals(result.code, 1);
    const error = JSON.parse(result.stdout).error;
    assertEquals(error.code, "LOCK_TIMEOUT");
    assertMatch(
      error.message,
      new RegExp(
        `gave up after 1s waiting for the migration lock .*held by pid ${holder.pid} \\(holder-app\\)`,
      ),
    );
    const sql = postgresJs(db.url, { max: 1 });
    const [{ t: table }] = await sql`SELECT to_regclass('_migrations')::text AS t`;
    await sql.end();
    assertEquals(table, null);
  } finally {
    await holder.release();
    t.remove();
    await db.drop();
  }
});

Deno.test("a lock busy for a moment is taken without a word; a longer wait names the holder once", async () => {
  const db = await freshDatabase();
  const driver = await openPostgres(db.url, {});
  try {
    for (const [heldMs, expected] of [[150, 0], [900, 1]] as const) {
      const holder = await holdLock(db.url);
      setTimeout(() => holder.release(), heldMs);
      let told = 0;
      const ran = await withLock(driver, () => Promise.resolve(true), {
        pollMs: 20,
        onWait: () => told++,
      });
      assertEquals([ran, told], [true, expected], `held for ${heldMs} ms`);
    }
  } finally {
    await driver.close();
    await db.drop();
  }
});

Deno.test("a bad pending file is reported at once while another run holds the lock", async () => {
  const db = await freshDatabase();
  const t = tempMigrations({
    "20250128_120000_a.sql": migrationText("CREATE TABLE a (id INT);", "DROP TABLE a;"),
    "20250128_130000_bad.sql": migrationText("CREATE TABLE b (note TEXT DEFAULT 'open);"),
  });
  const holder = await holdLock(db.url);
  try {
    const started = performance.now();
    // Without the early parse this would wait the whole 30 s for the lock.
    const result = await cli(["apply", "--lock-wait", "30", "--json"], {
      cwd: t.root,
      env: { DATABASE_URL: db.url },
    });
    assertEquals(result.code, 3, result.stderr);
    assertEquals(JSON.parse(result.stdout).error.code, "UNTERMINATED");
    assert(performance.now() - started < 20_000, "it did not wait for the lock");
    assertEquals(result.stderr.includes("waiting for the migration lock"), false);
  } finally {
    await holder.release();
    t.remove();
    await db.drop();
  }
});

Deno.test("apply with everything applied ends without waiting for a held lock", async () => {
  const db = await freshDatabase();
  const t = tempMigrations({
    "20250128_120000_a.sql": migrationText("CREATE TABLE a (id INT);", "DROP TABLE a;"),
  });
  try {
    const env = { DATABASE_URL: db.url };
    assertEquals((await cli(["apply"], { cwd: t.root, env })).code, 0);
    const holder = await holdLock(db.url);
    try {
      const result = await cli(["apply", "--lock-wait", "30"], { cwd: t.root, env });
      assertEquals(result.code, 0, result.stderr);
      assertMatch(result.stdout, /Nothing to apply/);
      assertEquals(result.stderr.includes("waiting for the migration lock"), false);
      // With something pending it waits, and gives up as asked.
      t.write("20250128_130000_b.sql", migrationText("CREATE TABLE b (id INT);", "DROP TABLE b;"));
      const waiting = await cli(["apply", "--lock-wait", "1", "--json"], { cwd: t.root, env });
      assertEquals(JSON.parse(waiting.stdout).error.code, "LOCK_TIMEOUT");
    } finally {
      await holder.release();
    }
  } finally {
    t.remove();
    await db.drop();
  }
});
