/**
 * `apply --sql` and `rollback --sql`: the script as written (lib/script.ts),
 * and the script run by psql against a real server, which must leave the
 * database as `apply` and `rollback` would, stop where they would, and
 * change nothing when the database is no longer as it was written for.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { findPgBin } from "../scripts/pg_cluster.ts";
import { ADVISORY_LOCK_KEY } from "../lib/config.ts";
import { Migration } from "../lib/migration.ts";
import { migrationScript, type ScriptOptions } from "../lib/script.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertNotMatch,
  assertThrows,
} from "./support/assert.ts";
import type { ValidationError } from "../lib/errors.ts";
import { cli } from "./support/cli.ts";
import { adminQuery, freshDatabase, serverTest } from "./support/db.ts";
import { migrationText, tempMigrations } from "./support/files.ts";

const TABLE = { schema: null, name: "_migrations" };

async function migration(
  version: string,
  up: string,
  down = "",
  transactional = true,
): Promise<Migration> {
  return await Migration.new({ version, name: `m ${version}`, up, down, transactional });
}

function script(options: Partial<ScriptOptions> & Pick<ScriptOptions, "migrations">): string {
  return migrationScript({
    direction: "up",
    table: TABLE,
    history: "current",
    recorded: 0,
    ...options,
  });
}

/** The statements between two markers of a script, in order. */
function linesOf(sql: string): string[] {
  return sql.split("\n").filter((line) => line !== "" && !line.startsWith("-- "));
}

Deno.test("a script runs each migration in its own transaction: limits, guard, section, history row, COMMIT", async () => {
  const a = await migration("20250101_000000", "CREATE TABLE a (id int);", "DROP TABLE a;");
  const b = await migration("20250102_000000", "CREATE TABLE b (id int);", "DROP TABLE b;");
  const sql = script({ migrations: [a, b], recorded: 3, lockTimeout: "2s" });
  assertEquals(sql.split("\n")[0], "\\set ON_ERROR_STOP on");
  const lines = linesOf(sql);
  const begin = lines.indexOf("BEGIN;");
  assertEquals(lines.slice(begin, begin + 3), [
    "BEGIN;",
    "SET LOCAL lock_timeout = '2s';",
    "SET LOCAL statement_timeout = '0';",
  ]);
  // The guard of the second expects the row of the first.
  assertMatch(
    sql,
    /WHERE version = '20250101_000000'\) THEN[\s\S]*count\(\*\) FROM "_migrations"\) <> 3 THEN/,
  );
  assertMatch(
    sql,
    /WHERE version = '20250102_000000'\) THEN[\s\S]*count\(\*\) FROM "_migrations"\) <> 4 THEN/,
  );
  const order = ["CREATE TABLE a", 'INSERT INTO "_migrations"', "COMMIT;", "CREATE TABLE b"].map(
    (text) => sql.indexOf(text),
  );
  assertEquals([...order].sort((x, y) => x - y), order, "in order");
  assertMatch(
    sql,
    /VALUES \('20250101_000000', 'm 20250101_000000', '[0-9a-f]{64}', COALESCE\(NULL::integer/,
  );
  assertMatch(sql, new RegExp(`pg_try_advisory_lock\\(${ADVISORY_LOCK_KEY}\\)`));
  assert(sql.trimEnd().endsWith(`PERFORM pg_advisory_unlock(${ADVISORY_LOCK_KEY}); END $unlock$;`));
});

Deno.test("a migration without a transaction runs outside BEGIN and COMMIT and records no time", async () => {
  const m = await migration(
    "20250101_000000",
    "CREATE INDEX CONCURRENTLY i ON t (x);",
    "DROP INDEX CONCURRENTLY i;",
    false,
  );
  const sql = script({ migrations: [m] });
  assertNotMatch(sql, /BEGIN;|COMMIT;|SET LOCAL/);
  assertMatch(
    sql,
    /END \$guard\$;\nCREATE INDEX CONCURRENTLY i ON t \(x\);\nINSERT INTO "_migrations" .* VALUES \('20250101_000000', 'm 20250101_000000', '[0-9a-f]{64}', NULL\);/,
  );
});

Deno.test("rollback's script checks each row and its checksum, and deletes it with the DOWN", async () => {
  const a = await migration("20250101_000000", "CREATE TABLE a ();", "DROP TABLE a;");
  const sql = script({ direction: "down", migrations: [a], recorded: 1 });
  assertMatch(
    sql,
    new RegExp(
      `NOT EXISTS \\(SELECT FROM "_migrations" WHERE version = '20250101_000000' AND checksum = '${a.checksum}'\\)`,
    ),
  );
  assertMatch(
    sql,
    /DROP TABLE a;\nDELETE FROM "_migrations" WHERE version = '20250101_000000';\nCOMMIT;/,
  );
});

const TERMINATED: Array<[string, string]> = [
  ["SELECT 1", "SELECT 1;"],
  ["SELECT 1;", "SELECT 1;"],
  ["SELECT 1\n-- a comment; not a statement", "SELECT 1;\n-- a comment; not a statement"],
  ["SELECT 1 /* ; */", "SELECT 1; /* ; */"],
  [
    "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql",
    "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;",
  ],
  ["SELECT 'a;' -- x\n", "SELECT 'a;'; -- x"],
];
for (const [up, expected] of TERMINATED) {
  Deno.test(`a section's last statement is ended before the history row: ${JSON.stringify(up)}`, async () => {
    const sql = script({ migrations: [await migration("20250101_000000", up)] });
    assert(sql.includes(`END $guard$;\n${expected}\nINSERT INTO`), sql);
  });
}

Deno.test("a table name holding the guard's dollar-quote tag gets another tag", async () => {
  const m = await migration("20250101_000000", "SELECT 1;");
  const sql = script({ migrations: [m], table: { schema: null, name: "x$guard$" } });
  assertMatch(sql, /DO \$guard1\$ BEGIN[\s\S]*"x\$guard\$"[\s\S]*END \$guard1\$;/);
});

Deno.test("the tables the run would make come first; the lock mode says which lock the script takes", async () => {
  const m = await migration("20250101_000000", "SELECT 1;");
  const audit = { schema: "audit", name: "history" };
  const missing = script({ migrations: [m], table: audit, history: "missing", lockMode: "table" });
  assertMatch(
    missing,
    /CREATE SCHEMA IF NOT EXISTS "audit";\nCREATE TABLE IF NOT EXISTS "audit"."history" \(/,
  );
  assertMatch(missing, /CREATE TABLE IF NOT EXISTS "audit"."history_lock"/);
  assertMatch(missing, /SELECT id FROM "audit"."history_lock" WHERE id = 1 FOR UPDATE NOWAIT;/);
  assertNotMatch(missing, /advisory/);
  const old = script({ migrations: [m], history: "incomplete", lockMode: "none" });
  assertMatch(old, /ALTER TABLE "_migrations" ADD COLUMN IF NOT EXISTS execution_ms/);
  assertNotMatch(old, /advisory|FOR UPDATE|CREATE TABLE/);
  assertEquals(linesOf(script({ migrations: [] })), ["\\set ON_ERROR_STOP on"]);
});

// ---- run by psql against the server ----

const PSQL = join(findPgBin(), "psql");

function psql(url: string, file: string): { code: number; stdout: string; stderr: string } {
  const run = spawnSync(PSQL, ["-X", "-q", "-f", file, url], {
    encoding: "utf8",
    env: { PATH: "/usr/bin:/bin" },
  });
  return { code: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
}

const USERS = migrationText(
  "CREATE TABLE users (id serial PRIMARY KEY, name text);\nINSERT INTO users (name) VALUES ('it''s; -- no comment')",
  "DROP TABLE users;",
);
const INDEX = migrationText(
  "CREATE INDEX CONCURRENTLY users_name ON users (name);",
  "DROP INDEX CONCURRENTLY users_name;",
  "-- Transaction: none",
);
const FUNCTION = migrationText(
  "CREATE FUNCTION one() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$\n-- the end",
  "DROP FUNCTION one()",
);
// pg_dump's files begin by emptying the search_path for the session; the
// migration after it still runs in the run's own.
const DUMPED = migrationText(
  "SELECT pg_catalog.set_config('search_path', '', false);\nCREATE TABLE public.dumped (id int);",
  "SET search_path = '';\nDROP TABLE public.dumped;",
);
const AFTER = migrationText("CREATE TABLE after_dump (id int);", "DROP TABLE after_dump;");
const FILES = {
  "20250101_000000_users.sql": USERS,
  "20250102_000000_index.sql": INDEX,
  "20250103_000000_function.sql": FUNCTION,
  "20250104_000000_dumped.sql": DUMPED,
  "20250105_000000_after.sql": AFTER,
};

/** What the tracking table and the schema say of a database. */
async function state(url: string, cwd: string) {
  const rows = await adminQuery<Record<string, string>>(
    url,
    "SELECT version, description, checksum, applied_by FROM _migrations ORDER BY version",
  ).catch(() => []);
  const schema = await cli(["schema"], { cwd, env: { DATABASE_URL: url } });
  assertEquals(schema.code, 0, schema.stderr);
  return { rows, schema: schema.stdout };
}

serverTest(
  "apply --sql run by psql leaves the database as apply does, and rollback --sql as rollback does",
  async () => {
    const [byTool, byScript] = [await freshDatabase(), await freshDatabase()];
    const t = tempMigrations(FILES);
    const cwd = t.root;
    try {
      const written = await cli(["apply", "--sql"], { cwd, env: { DATABASE_URL: byScript.url } });
      assertEquals([written.code, written.stderr], [0, ""]);
      assertMatch(
        written.stdout,
        /^-- data-bridge 0\.1\.0 apply --sql: 5 migrations for\s(-- )?postgres:\/\//,
      );
      assertEquals((await state(byScript.url, cwd)).rows, [], "writing the script changes nothing");
      const file = t.write("../up.sql", written.stdout);
      const ran = psql(byScript.url, file);
      assertEquals(ran.code, 0, ran.stderr);

      assertEquals((await cli(["apply"], { cwd, env: { DATABASE_URL: byTool.url } })).code, 0);
      assertEquals(await state(byScript.url, cwd), await state(byTool.url, cwd));
      const check = await cli(["status", "--exit-code"], {
        cwd,
        env: { DATABASE_URL: byScript.url },
      });
      assertEquals(check.code, 0, check.stdout);
      const [timed] = await adminQuery<{ n: number }>(
        byScript.url,
        "SELECT count(execution_ms)::int AS n FROM _migrations",
      );
      assertEquals(timed.n, 4, "the four migrations in a transaction record their time");

      const down = await cli(["rollback", "--sql", "--steps", "4"], {
        cwd,
        env: { DATABASE_URL: byScript.url },
      });
      assertEquals(down.code, 0, down.stderr);
      const reverted = psql(byScript.url, t.write("../down.sql", down.stdout));
      assertEquals(reverted.code, 0, reverted.stderr);
      assertEquals(
        (await cli(["rollback", "--steps", "4"], { cwd, env: { DATABASE_URL: byTool.url } })).code,
        0,
      );
      assertEquals(await state(byScript.url, cwd), await state(byTool.url, cwd));
      assertEquals((await state(byScript.url, cwd)).rows.map((r) => r.version), [
        "20250101_000000",
      ]);
    } finally {
      t.remove();
      await byTool.drop();
      await byScript.drop();
    }
  },
);

serverTest(
  "a script stops at the first failing migration: those before it stay applied, none after it runs",
  async () => {
    const db = await freshDatabase();
    const t = tempMigrations({
      "20250101_000000_users.sql": USERS,
      "20250102_000000_broken.sql": migrationText("CREATE TABLE posts (id int);\nSELECT nope;"),
      "20250103_000000_function.sql": FUNCTION,
    });
    try {
      const written = await cli(["apply", "--sql"], { cwd: t.root, env: { DATABASE_URL: db.url } });
      assertEquals(written.code, 0, written.stderr);
      const ran = psql(db.url, t.write("../up.sql", written.stdout));
      assertEquals(ran.code, 3, "psql stops with ON_ERROR_STOP");
      assertMatch(ran.stderr, /column "nope" does not exist/);
      const { rows } = await state(db.url, t.root);
      assertEquals(rows.map((r) => r.version), ["20250101_000000"]);
      const [left] = await adminQuery<{ posts: string | null; one: string | null }>(
        db.url,
        "SELECT to_regclass('posts')::text AS posts, to_regproc('one')::text AS one",
      );
      assertEquals(
        left,
        { posts: null, one: null },
        "the failed one rolled back, the next never ran",
      );
    } finally {
      t.remove();
      await db.drop();
    }
  },
);

serverTest(
  "a script written before the database changed stops at its guard and changes nothing",
  async () => {
    const db = await freshDatabase();
    const t = tempMigrations(FILES);
    const env = { DATABASE_URL: db.url };
    try {
      const written = await cli(["apply", "--sql"], { cwd: t.root, env });
      const file = t.write("../up.sql", written.stdout);
      // Another run applies the first migration meanwhile.
      assertEquals((await cli(["apply", "--to", "20250101_000000"], { cwd: t.root, env })).code, 0);
      const before = await state(db.url, t.root);
      const stale = psql(db.url, file);
      assertEquals(stale.code, 3);
      assertMatch(
        stale.stderr,
        /data-bridge: migration 20250101_000000 is already applied; write the script again/,
      );
      assertEquals(await state(db.url, t.root), before);

      // Another migration recorded meanwhile, not one of the script's: the row count says so.
      const next = await cli(["apply", "--sql"], { cwd: t.root, env });
      const file2 = t.write("../up2.sql", next.stdout);
      await adminQuery(
        db.url,
        "INSERT INTO _migrations (version, description, checksum) VALUES ('20240101_000000', 'x', 'y')",
      );
      const changed = psql(db.url, file2);
      assertEquals(changed.code, 3);
      assertMatch(
        changed.stderr,
        /"_migrations" has changed since this script was written \(1 rows expected before 20250102_000000\)/,
      );
      assertEquals((await state(db.url, t.root)).rows.length, 2);
    } finally {
      t.remove();
      await db.drop();
    }
  },
);

serverTest(
  "a script does not wait for the migration lock: while another session holds it, it changes nothing",
  async () => {
    const db = await freshDatabase();
    const t = tempMigrations(FILES);
    const { default: postgres } = await import("postgres");
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const written = await cli(["apply", "--sql"], { cwd: t.root, env: { DATABASE_URL: db.url } });
      await sql`SELECT pg_advisory_lock(${ADVISORY_LOCK_KEY.toString()}::bigint)`;
      const ran = psql(db.url, t.write("../up.sql", written.stdout));
      assertEquals(ran.code, 3);
      assertMatch(
        ran.stderr,
        /another run holds the migration lock; run this script once it has finished/,
      );
      const [table] = await adminQuery<{ t: string | null }>(
        db.url,
        "SELECT to_regclass('_migrations')::text AS t",
      );
      assertEquals(table.t, null, "not even the tracking table was made");
    } finally {
      await sql.end();
      t.remove();
      await db.drop();
    }
  },
);

serverTest("apply --sql refuses what apply refuses, and --sql prints no JSON", async () => {
  const db = await freshDatabase();
  const t = tempMigrations({
    "20250101_000000_index.sql": migrationText("CREATE INDEX i ON t (x);", "DROP INDEX i;"),
  });
  const env = { DATABASE_URL: db.url };
  try {
    await adminQuery(db.url, "CREATE TABLE t (x int)");
    const refused = await cli(["apply", "--sql", "--error", "index-not-concurrently"], {
      cwd: t.root,
      env,
    });
    assertEquals([refused.code, refused.stdout], [3, ""]);
    assertMatch(refused.stderr, /lint error \[index-not-concurrently\]/);
    const json = await cli(["apply", "--sql", "--json", "--no-lint"], { cwd: t.root, env });
    assertEquals(json.code, 2);
    assertMatch(json.stdout, /--sql prints an SQL script, not JSON: drop --json/);
    const nothing = await cli(["rollback", "--sql"], { cwd: t.root, env });
    assertEquals(nothing.code, 0, nothing.stderr);
    assertMatch(nothing.stdout, /\n-- Nothing to revert\.\n$/);
  } finally {
    t.remove();
    await db.drop();
  }
});

Deno.test("with --single-transaction one BEGIN and one COMMIT hold every migration, each timed from its own start", async () => {
  const a = await migration("20250101_000000", "CREATE TABLE a ();", "DROP TABLE a;");
  const b = await migration("20250102_000000", "CREATE TABLE b ();", "DROP TABLE b;");
  const sql = script({ migrations: [a, b], singleTransaction: true });
  assertEquals(sql.match(/^BEGIN;$/gm)?.length, 1);
  assertEquals(sql.match(/^COMMIT;$/gm)?.length, 1);
  assert(
    sql.indexOf("BEGIN;") < sql.indexOf("CREATE TABLE a") &&
      sql.indexOf("CREATE TABLE b") < sql.indexOf("COMMIT;"),
  );
  assertEquals(sql.match(/PERFORM set_config\('data_bridge\.started'/g)?.length, 2);
  assertEquals(sql.match(/current_setting\('data_bridge\.started'\)/g)?.length, 2);
});

serverTest(
  "a --single-transaction script run by psql applies all of its migrations or none",
  async () => {
    const db = await freshDatabase();
    const t = tempMigrations({
      "20250101_000000_users.sql": USERS,
      "20250102_000000_slow.sql": migrationText(
        "CREATE TABLE slow ();\nSELECT pg_sleep(0.3);",
        "DROP TABLE slow;",
      ),
      "20250103_000000_broken.sql": migrationText("CREATE TABLE posts (id int);\nSELECT nope;"),
    });
    const env = { DATABASE_URL: db.url };
    try {
      const failing = await cli(["apply", "--sql", "--single-transaction"], { cwd: t.root, env });
      assertEquals(failing.code, 0, failing.stderr);
      assertMatch(failing.stdout, /All migrations commit together at the end/);
      const ran = psql(db.url, t.write("../fail.sql", failing.stdout));
      assertEquals(ran.code, 3);
      assertEquals((await state(db.url, t.root)).rows, [], "nothing of the run committed");
      const [users] = await adminQuery<{ t: string | null }>(
        db.url,
        "SELECT to_regclass('users')::text AS t",
      );
      assertEquals(users.t, null);

      t.write(
        "20250103_000000_broken.sql",
        migrationText("CREATE TABLE posts (id int);", "DROP TABLE posts;"),
      );
      const good = await cli(["apply", "--sql", "--single-transaction"], { cwd: t.root, env });
      const ok = psql(db.url, t.write("../ok.sql", good.stdout));
      assertEquals(ok.code, 0, ok.stderr);
      const rows = await adminQuery<{ version: string; ms: number }>(
        db.url,
        "SELECT version, execution_ms AS ms FROM _migrations ORDER BY version",
      );
      assertEquals(rows.map((r) => r.version), [
        "20250101_000000",
        "20250102_000000",
        "20250103_000000",
      ]);
      assert(rows[1].ms >= 250 && rows[2].ms < 200, `each its own time: ${JSON.stringify(rows)}`);
      assertEquals((await cli(["status", "--exit-code"], { cwd: t.root, env })).code, 0);
    } finally {
      t.remove();
      await db.drop();
    }
  },
);

Deno.test("a --single-transaction script refuses a migration that must run outside a transaction", async () => {
  const index = await migration(
    "20250101_000000",
    "CREATE INDEX CONCURRENTLY i ON t (x);",
    "",
    false,
  );
  const error = assertThrows<ValidationError>(() =>
    script({ migrations: [index], singleTransaction: true })
  );
  assertEquals([error.code, error.version], ["SINGLE_TRANSACTION", "20250101_000000"]);
});

Deno.test("apply --sql on the embedded default says so once and makes no database", async () => {
  const t = tempMigrations({ "20250101_000000_users.sql": USERS });
  try {
    const written = await cli(["apply", "--sql"], { cwd: t.root });
    assertEquals(written.code, 0, written.stderr);
    assertEquals(
      written.stderr,
      "No DATABASE_URL: using the embedded database at .data-bridge/pglite\n",
    );
    assertMatch(written.stdout, /apply --sql: 1 migration for/);
    assertEquals(existsSync(join(t.root, ".data-bridge")), false, "a dry run makes no database");
  } finally {
    t.remove();
  }
});
