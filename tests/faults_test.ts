/**
 * Faults during a run, against real servers: a killed CLI, a terminated
 * backend, a restarted server, Ctrl-C and SIGTERM, lock and statement
 * timeouts, and many runs racing. Whatever happens, a migration's changes
 * and its row are committed together or not at all, and a re-run completes.
 */
import postgresJs from "postgres";
import { startCluster } from "../scripts/pg_cluster.ts";
import { assert, assertEquals, assertMatch } from "./support/assert.ts";
import { CLI, cli, command, start } from "./support/cli.ts";
import { adminQuery, dataBridgeSessions, freshDatabase, withDatabase } from "./support/db.ts";
import { migrationText, tempMigrations } from "./support/files.ts";

const FIRST = migrationText("CREATE TABLE first (id INT);", "DROP TABLE first;");
/** Creates a table, then sleeps 30 s while `sleep_control.slow` is true. */
const SLOW = migrationText(
  "CREATE TABLE slow_made (id INT);\nSELECT pg_sleep(CASE WHEN (SELECT slow FROM sleep_control) THEN 30 ELSE 0 END);",
  "DROP TABLE slow_made;",
);
const FILES = { "20250128_120000_first.sql": FIRST, "20250128_130000_slow.sql": SLOW };

async function prepare(url: string, slow = true) {
  await adminQuery(url, "CREATE TABLE IF NOT EXISTS sleep_control (slow BOOLEAN)");
  await adminQuery(url, "DELETE FROM sleep_control");
  await adminQuery(url, "INSERT INTO sleep_control VALUES ($1)", [slow]);
}

/** Waits until a data-bridge backend is inside the migration's pg_sleep. */
async function waitForSleep(url: string, timeoutMs = 20000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const rows = await adminQuery<{ pid: number }>(
      url,
      "SELECT pid FROM pg_stat_activity WHERE application_name = 'data-bridge' AND state = 'active' AND query LIKE '%pg_sleep%' AND datname = current_database()",
    );
    if (rows.length) return Number(rows[0].pid);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("the migration never started sleeping");
}

async function state(url: string) {
  const [row] = await adminQuery<{ made: string | null; rows: string[] | null }>(
    url,
    "SELECT to_regclass('slow_made')::text AS made, (SELECT array_agg(version ORDER BY version) FROM _migrations) AS rows",
  );
  return { made: row.made, rows: row.rows ?? [] };
}

Deno.test("a CLI killed with SIGKILL mid-migration leaves nothing of it, and the next apply applies it", async () => {
  const db = await freshDatabase();
  const t = tempMigrations(FILES);
  try {
    await prepare(db.url);
    const [file, args] = command("deno", CLI, ["apply"]);
    const run = start(file, args, { cwd: t.root, env: { DATABASE_URL: db.url } });
    await waitForSleep(db.url);
    run.child.kill("SIGKILL");
    await run.done;
    const killedAt = Date.now();
    while ((await dataBridgeSessions(db.url)) > 0) {
      assert(
        Date.now() - killedAt < 10000,
        "the server aborts the orphaned migration within seconds",
      );
      await new Promise((r) => setTimeout(r, 100));
    }
    const abortedWithin = Date.now() - killedAt;
    assert(abortedWithin < 10000, `aborted after ${abortedWithin} ms`);
    assertEquals(await state(db.url), { made: null, rows: ["20250128_120000"] });
    await prepare(db.url, false);
    const again = await cli(["apply", "--lock-wait", "5"], {
      cwd: t.root,
      env: { DATABASE_URL: db.url },
    });
    assertEquals(again.code, 0, again.stderr);
    assertEquals(await state(db.url), {
      made: "slow_made",
      rows: ["20250128_120000", "20250128_130000"],
    });
  } finally {
    t.remove();
    await db.drop();
  }
});

Deno.test("a backend terminated mid-migration: exit 1 naming the migration, nothing partial, a re-run completes", async () => {
  const db = await freshDatabase();
  const t = tempMigrations(FILES);
  try {
    await prepare(db.url);
    const run = cli(["apply"], { cwd: t.root, env: { DATABASE_URL: db.url } });
    const pid = await waitForSleep(db.url);
    await adminQuery(db.url, "SELECT pg_terminate_backend($1)", [pid]);
    const result = await run;
    assertEquals(result.code, 1);
    assertMatch(
      result.stderr,
      /error: migrations\/20250128_130000_slow\.sql: migration 20250128_130000 did not complete: the connection to .* was lost.*PostgreSQL did not confirm its COMMIT; its changes and its history row were committed together or not at all: run status to see which/,
    );
    assertMatch(result.stderr, /applied before the failure: 20250128_120000/);
    assertEquals(await state(db.url), { made: null, rows: ["20250128_120000"] });
    await prepare(db.url, false);
    const again = await cli(["apply"], { cwd: t.root, env: { DATABASE_URL: db.url } });
    assertEquals(again.code, 0, again.stderr);
    assertEquals((await state(db.url)).rows.length, 2);
  } finally {
    t.remove();
    await db.drop();
  }
});

Deno.test("a server restarted mid-run: exit 1 naming the migration, nothing partial, a re-run completes", async () => {
  const cluster = await startCluster();
  const t = tempMigrations(FILES);
  try {
    const url = cluster.url;
    await prepare(url);
    const run = cli(["apply"], { cwd: t.root, env: { DATABASE_URL: url } });
    await waitForSleep(url);
    cluster.restart();
    const result = await run;
    assertEquals(result.code, 1);
    assertMatch(
      result.stderr,
      /migration 20250128_130000 did not complete: the connection to .* was lost/,
    );
    assertEquals(await state(url), { made: null, rows: ["20250128_120000"] });
    await prepare(url, false);
    const again = await cli(["apply"], { cwd: t.root, env: { DATABASE_URL: url } });
    assertEquals(again.code, 0, again.stderr);
    assertEquals((await state(url)).rows.length, 2);
  } finally {
    t.remove();
    cluster.stop();
  }
});

for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  Deno.test(`${signal} mid-migration rolls it back, releases the lock and exits ${code}`, async () => {
    const db = await freshDatabase();
    // The next migration is sent while the slow one runs: it must not run either.
    const t = tempMigrations({
      ...FILES,
      "20250128_140000_after.sql": migrationText(
        "CREATE TABLE after_made ();",
        "DROP TABLE after_made;",
      ),
    });
    try {
      await prepare(db.url);
      const [file, args] = command("deno", CLI, ["apply"]);
      const run = start(file, args, { cwd: t.root, env: { DATABASE_URL: db.url } });
      await waitForSleep(db.url);
      const sentAt = Date.now();
      run.child.kill(signal);
      const result = await run.done;
      assert(Date.now() - sentAt < 10000, "stops promptly");
      assertEquals(result.code, code, result.stderr);
      assertMatch(
        result.stderr,
        new RegExp(
          `error: interrupted by ${signal}: during migration 20250128_130000 \\(migrations/20250128_130000_slow\\.sql\\); it was rolled back`,
        ),
      );
      assertEquals(await state(db.url), { made: null, rows: ["20250128_120000"] });
      const [after] = await adminQuery<{ made: string | null }>(
        db.url,
        "SELECT to_regclass('after_made')::text AS made",
      );
      assertEquals(after.made, null);
      // The lock is free at once: a run that may not wait succeeds.
      await prepare(db.url, false);
      const again = await cli(["apply", "--lock-wait", "0"], {
        cwd: t.root,
        env: { DATABASE_URL: db.url },
      });
      assertEquals(again.code, 0, again.stderr);
    } finally {
      t.remove();
      await db.drop();
    }
  });
}

Deno.test("SIGINT during a --single-transaction run rolls back every migration of it and exits 130", async () => {
  const db = await freshDatabase();
  const t = tempMigrations(FILES);
  try {
    await prepare(db.url);
    const [file, args] = command("deno", CLI, ["apply", "--single-transaction"]);
    const run = start(file, args, { cwd: t.root, env: { DATABASE_URL: db.url } });
    await waitForSleep(db.url);
    run.child.kill("SIGINT");
    const result = await run.done;
    assertEquals(result.code, 130, result.stderr);
    assertMatch(
      result.stderr,
      /error: interrupted by SIGINT: during migration 20250128_130000 \(migrations\/20250128_130000_slow\.sql\); the run was one transaction \(--single-transaction\): the 1 migration before it was rolled back too, nothing was applied/,
    );
    assertEquals(await state(db.url), { made: null, rows: [] });
    const [first] = await adminQuery<{ made: string | null }>(
      db.url,
      "SELECT to_regclass('first')::text AS made",
    );
    assertEquals(first.made, null, "the migration before it is gone too");
  } finally {
    t.remove();
    await db.drop();
  }
});

Deno.test("16 concurrent applies and a racing rollback end as some serial order would, without errors", async () => {
  const db = await freshDatabase();
  const files: Record<string, string> = {};
  const versions: string[] = [];
  for (let i = 0; i < 10; i++) {
    const version = `20250128_1200${String(i).padStart(2, "0")}`;
    versions.push(version);
    files[`${version}_t${i}.sql`] = migrationText(
      `CREATE TABLE t${i} (id INT);\nSELECT pg_sleep(0.01);`,
      `DROP TABLE t${i};`,
    );
  }
  const t = tempMigrations(files);
  try {
    const env = { DATABASE_URL: db.url };
    const applies = Array.from(
      { length: 16 },
      () => cli(["apply", "--json"], { cwd: t.root, env }),
    );
    const rollback = new Promise((r) => setTimeout(r, 300)).then(() =>
      cli(["rollback", "--json"], { cwd: t.root, env })
    );
    const results = await Promise.all([...applies, rollback]);
    for (const r of results) assertEquals(r.code, 0, r.stderr);
    const applied = results.slice(0, 16).flatMap((r) => JSON.parse(r.stdout).applied as string[]);
    const reverted = JSON.parse(results[16].stdout).reverted as string[];
    const rows =
      (await adminQuery<{ version: string }>(db.url, "SELECT version FROM _migrations ORDER BY 1"))
        .map((r) => r.version);
    const last = versions.at(-1)!;
    const reappliedLast = applied.filter((v) => v === last).length === 2;
    // Serially: the rollback ran first (nothing to revert), last (the newest is reverted),
    // or in between (the newest is reverted, then applied again).
    if (reverted.length === 0) assertEquals([rows, applied.sort()], [versions, versions]);
    else {
      assertEquals(reverted, [last]);
      assertEquals(rows, reappliedLast ? versions : versions.slice(0, -1));
      assertEquals(applied.length, versions.length + (reappliedLast ? 1 : 0));
    }
    for (let i = 0; i < 10; i++) {
      const [{ t: table }] = await adminQuery<{ t: string | null }>(
        db.url,
        "SELECT to_regclass($1)::text AS t",
        [`t${i}`],
      );
      assertEquals(
        table !== null,
        rows.includes(versions[i]),
        `t${i} exists exactly when recorded`,
      );
    }
  } finally {
    t.remove();
    await db.drop();
  }
});

Deno.test("--lock-timeout: DDL queued behind a long query fails fast, is retried with backoff, then succeeds", async () => {
  const db = await freshDatabase();
  const t = tempMigrations({
    "20250128_120000_users.sql": migrationText("CREATE TABLE users (id INT);", "DROP TABLE users;"),
  });
  try {
    const env = { DATABASE_URL: db.url };
    assertEquals((await cli(["apply"], { cwd: t.root, env })).code, 0);
    t.write(
      "20250128_130000_alter.sql",
      migrationText(
        "ALTER TABLE users ADD COLUMN email TEXT;",
        "ALTER TABLE users DROP COLUMN email;",
      ),
    );
    // Sent while the ALTER waits: stopped each time the ALTER fails, run once it commits.
    t.write(
      "20250128_140000_index.sql",
      migrationText("CREATE INDEX users_email ON users (email);", "DROP INDEX users_email;"),
    );
    // A long reader holds ACCESS SHARE on users for 2.5 s.
    const holder = postgresJs(db.url, { max: 1 });
    const reading = holder.begin(async (sql) => {
      await sql`SELECT * FROM users`;
      await sql`SELECT pg_sleep(2.5)`;
    });
    await new Promise((r) => setTimeout(r, 200));
    const result = await cli(["apply", "--lock-timeout", "300ms"], { cwd: t.root, env });
    await reading;
    await holder.end();
    assertEquals(result.code, 0, result.stderr);
    const retries = result.stderr.split("\n").filter((l) => l.startsWith("retry "));
    assert(retries.length >= 2, `retried: ${result.stderr}`);
    assertMatch(
      retries[0],
      /^retry 1 of 20250128_130000 in 500 ms: lock_timeout: canceling statement due to lock timeout/,
    );
    assertMatch(retries[1], /^retry 2 of 20250128_130000 in 1\.0 s:/);
    assert(!/20250128_140000/.test(retries.join("\n")), "the index waited, it was not retried");
    const check = postgresJs(db.url, { max: 1 });
    try {
      const rows = await check`SELECT version FROM _migrations ORDER BY applied_at, version`;
      assertEquals(rows.map((r) => r.version), [
        "20250128_120000",
        "20250128_130000",
        "20250128_140000",
      ]);
      const [index] = await check`SELECT to_regclass('users_email') IS NOT NULL AS made`;
      assertEquals(index.made, true);
    } finally {
      await check.end();
    }
  } finally {
    t.remove();
    await db.drop();
  }
});

Deno.test("--lock-timeout exhausted and --statement-timeout say which limit fired and what to do", async () => {
  const db = await freshDatabase();
  const t = tempMigrations({
    "20250128_120000_users.sql": migrationText("CREATE TABLE users (id INT);", "DROP TABLE users;"),
  });
  try {
    const env = { DATABASE_URL: db.url };
    assertEquals((await cli(["apply"], { cwd: t.root, env })).code, 0);
    t.write(
      "20250128_130000_alter.sql",
      migrationText("ALTER TABLE users ADD COLUMN email TEXT;", ""),
    );
    const holder = postgresJs(db.url, { max: 1 });
    const reading = holder.begin(async (sql) => {
      await sql`SELECT * FROM users`;
      await sql`SELECT pg_sleep(3)`;
    });
    await new Promise((r) => setTimeout(r, 200));
    const locked = await cli(["apply", "--lock-timeout", "100ms", "--lock-retries", "1"], {
      cwd: t.root,
      env,
    });
    await reading;
    await holder.end();
    assertEquals(locked.code, 1);
    assertMatch(
      locked.stderr,
      /migration 20250128_130000 failed: canceling statement due to lock timeout \(SQLSTATE 55P03\); it was rolled back; lock_timeout \(--lock-timeout 100ms\) fired on all 2 attempts: another session holds a lock/,
    );
    t.write("20250128_130000_alter.sql", migrationText("SELECT pg_sleep(2);", ""));
    const slow = await cli(["apply", "--statement-timeout", "200ms"], { cwd: t.root, env });
    assertEquals(slow.code, 1);
    assertMatch(
      slow.stderr,
      /statement_timeout \(--statement-timeout 200ms\) fired: .*raise --statement-timeout/,
    );
    const [{ n }] = await adminQuery<{ n: number }>(
      db.url,
      "SELECT count(*)::int AS n FROM _migrations",
    );
    assertEquals(n, 1);
  } finally {
    t.remove();
    await db.drop();
  }
});

Deno.test("--lock-mode table keeps 8 concurrent runs apart through a lock row, without session locks", async () => {
  const db = await freshDatabase();
  const files: Record<string, string> = {};
  for (let i = 0; i < 8; i++) {
    files[`20250128_1200${String(i).padStart(2, "0")}_t${i}.sql`] = migrationText(
      `CREATE TABLE t${i} (id INT);\nSELECT pg_sleep(0.02);`,
      `DROP TABLE t${i};`,
    );
  }
  const t = tempMigrations(files);
  try {
    const env = { DATABASE_URL: db.url };
    const results = await Promise.all(
      Array.from(
        { length: 8 },
        () => cli(["apply", "--lock-mode", "table", "--json"], { cwd: t.root, env }),
      ),
    );
    for (const r of results) assertEquals(r.code, 0, r.stdout + r.stderr);
    const applied = results.flatMap((r) => JSON.parse(r.stdout).applied as string[]);
    assertEquals(applied.length, 8, "each migration applied by exactly one run");
    const [{ n }] = await adminQuery<{ n: number }>(
      db.url,
      "SELECT count(*)::int AS n FROM _migrations",
    );
    assertEquals(n, 8);
    assertEquals(await adminQuery(db.url, "SELECT id FROM _migrations_lock"), [{ id: 1 }]);
    // A migration that runs outside a transaction cannot be guarded by a row lock.
    t.write(
      "20250128_130000_index.sql",
      migrationText(
        "CREATE INDEX CONCURRENTLY i ON t0 (id);",
        "DROP INDEX CONCURRENTLY i;",
        "-- Transaction: none",
      ),
    );
    const refused = await cli(["apply", "--lock-mode", "table"], { cwd: t.root, env });
    assertEquals(refused.code, 3);
    assertMatch(
      refused.stderr,
      /_index\.sql runs outside a transaction, which --lock-mode table cannot guard; run it with --lock-mode session/,
    );
    assertEquals((await cli(["apply", "--lock-mode", "none"], { cwd: t.root, env })).code, 0);
  } finally {
    t.remove();
    await db.drop();
  }
});

Deno.test("data-bridge is visible in pg_stat_activity with its application_name", async () => {
  const db = await freshDatabase();
  const t = tempMigrations(FILES);
  try {
    await prepare(db.url);
    const run = cli(["apply"], {
      cwd: t.root,
      env: { DATABASE_URL: withDatabase(db.url, db.name) },
    });
    const pid = await waitForSleep(db.url);
    assert(pid > 0);
    await adminQuery(db.url, "SELECT pg_cancel_backend($1)", [pid]);
    assertEquals((await run).code, 1);
  } finally {
    t.remove();
    await db.drop();
  }
});

Deno.test("SIGINT while waiting for a server to come up (--connect-wait) exits 130 at once", async () => {
  const t = tempMigrations(FILES);
  try {
    const url = "postgres://app:Hunter2@127.0.0.1:1/app";
    const [file, args] = command("deno", CLI, [
      "apply",
      "--connect-wait",
      "60",
      "--database-url",
      url,
    ]);
    const run = start(file, args, { cwd: t.root });
    // Past the runtime's start and the first refused attempts.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const sentAt = Date.now();
    run.child.kill("SIGINT");
    const result = await run.done;
    assert(Date.now() - sentAt < 3000, `stopped ${Date.now() - sentAt} ms after the signal`);
    assertEquals(result.code, 130, result.stderr);
    assertEquals(result.stderr, "error: interrupted by SIGINT: before the connection was made\n");
  } finally {
    t.remove();
  }
});
