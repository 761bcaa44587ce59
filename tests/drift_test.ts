/**
 * `drift`: a database's schema against the one its applied migrations make,
 * replayed on a scratch database of the same PostgreSQL major version: on
 * the test server (scratch on the same server) and on PGlite (scratch in
 * memory, the default).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkDrift } from "../lib/drift.ts";
import { loadMigrations } from "../lib/load.ts";
import { MigrationRunner } from "../lib/runner.ts";
import { parseTarget } from "../lib/target.ts";
import { connect } from "../lib/connect.ts";
import { assert, assertEquals, assertMatch } from "./support/assert.ts";
import { cli } from "./support/cli.ts";
import { adminQuery, freshDatabase, serverTest, serverUrl } from "./support/db.ts";
import { migrationText, tempMigrations } from "./support/files.ts";

const TABLE = { schema: null, name: "_migrations" };
const FILES = {
  "20250101_000000_users.sql": migrationText(
    "CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL);\n" +
      "CREATE VIEW emails AS SELECT email FROM users;",
    "DROP VIEW emails;\nDROP TABLE users;",
  ),
  "20250102_000000_posts.sql": migrationText(
    "CREATE TABLE posts (id serial PRIMARY KEY, user_id bigint REFERENCES users (id), body text);",
    "DROP TABLE posts;",
  ),
};

serverTest(
  "drift finds what changed outside the migrations, and nothing once they are all that ran",
  async () => {
    const db = await freshDatabase();
    const t = tempMigrations(FILES);
    const scratch = await serverUrl();
    const run = (...args: string[]) =>
      cli(["drift", "--scratch-url", scratch, ...args], {
        cwd: t.root,
        env: { DATABASE_URL: db.url },
      });
    try {
      assertEquals((await cli(["apply"], { cwd: t.root, env: { DATABASE_URL: db.url } })).code, 0);
      const clean = await run();
      assertEquals(clean.code, 0, clean.stderr);
      assertMatch(
        clean.stdout,
        /^No drift: postgres:\/\/.* has the schema its 2 applied migrations make \(replayed on postgres:\/\//,
      );

      await adminQuery(db.url, "CREATE INDEX users_email ON users (email)");
      await adminQuery(db.url, "ALTER TABLE posts ALTER COLUMN body SET DEFAULT 'x'");
      await adminQuery(db.url, "DROP VIEW emails");
      const drifted = await run();
      assertEquals(drifted.code, 3, drifted.stderr);
      const lines = drifted.stdout.trimEnd().split("\n");
      assertEquals(lines.slice(0, -1).sort(), [
        "  changed in the database: column public.posts.body: default none -> 'x'::text",
        "  in the database, not made by its migrations: index public.users_email",
        "  made by its migrations, missing from the database: view public.emails",
      ]);
      assertMatch(
        lines.at(-1)!,
        /^Drift: 3 differences between postgres:\/\/\S+ and the schema its 2 applied migrations make/,
      );
      const json = JSON.parse((await run("--json")).stdout);
      assertEquals(Object.keys(json), [
        "ok",
        "target",
        "scratch",
        "replayed",
        "changes",
        "ignored",
      ]);
      // Objects managed outside migrations can be left out.
      const some = await run("--ignore", "index:public.users_*,column:public.posts.body");
      assertEquals(some.code, 3);
      assertMatch(
        some.stdout,
        /^ {2}made by its migrations, missing from the database: view public\.emails\nDrift: 1 difference .*; 2 differences ignored\)\.\n$/,
      );
      const none = await run("--ignore", "index,column,view");
      assertEquals(none.code, 0, none.stdout);
      assertMatch(none.stdout, /^No drift: .*; 3 differences ignored\)\.\n$/);
      // A project's list, from its environment.
      const fromEnv = await cli(["drift", "--scratch-url", scratch], {
        cwd: t.root,
        env: { DATABASE_URL: db.url, DATA_BRIDGE_IGNORE: "index,column,view" },
      });
      assertEquals(fromEnv.code, 0, fromEnv.stdout);
      const bad = await run("--ignore", "indexes");
      assertEquals(bad.code, 2);
      assertMatch(
        bad.stderr,
        /^error: --ignore: 'indexes' names no kind of object; use KIND or KIND:NAME with a kind of schema, extension, .*default-privileges/,
      );
      assertEquals([json.ok, json.replayed], [false, ["20250101_000000", "20250102_000000"]]);
      // The scratch database was dropped; the database was only read.
      const left = await adminQuery<{ n: number }>(
        scratch,
        "SELECT count(*)::int AS n FROM pg_database WHERE datname LIKE 'data_bridge_verify_%'",
      );
      assertEquals(left[0].n, 0);
      const [rows] = await adminQuery<{ n: number }>(
        db.url,
        "SELECT count(*)::int AS n FROM _migrations",
      );
      assertEquals(rows.n, 2);
    } finally {
      t.remove();
      await db.drop();
    }
  },
);

serverTest(
  "drift leaves out what data-bridge makes for itself: a tracking table in a schema of its own, the lock table",
  async () => {
    const db = await freshDatabase();
    const t = tempMigrations(FILES);
    const env = { DATABASE_URL: db.url };
    try {
      const flags = ["--table", "ops.history", "--lock-mode", "table"];
      assertEquals((await cli(["apply", ...flags], { cwd: t.root, env })).code, 0);
      const [made] = await adminQuery<{ n: number }>(
        db.url,
        "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'ops'",
      );
      assertEquals(made.n, 2, "ops.history and ops.history_lock");
      const clean = await cli([
        "drift",
        "--table",
        "ops.history",
        "--scratch-url",
        await serverUrl(),
      ], {
        cwd: t.root,
        env,
      });
      assertEquals([clean.code, clean.stderr], [0, ""]);
      assertMatch(clean.stdout, /^No drift: /);
      // schema leaves them out too.
      const schema = await cli(["schema", "--table", "ops.history"], { cwd: t.root, env });
      assertEquals(schema.code, 0, schema.stderr);
      assertMatch(schema.stdout, /CREATE TABLE public\.users/);
      assertEquals(schema.stdout.includes("history"), false, schema.stdout);
    } finally {
      t.remove();
      await db.drop();
    }
  },
);

serverTest(
  "drift refuses a scratch database of another PostgreSQL major version, and a modified applied migration",
  async () => {
    const db = await freshDatabase();
    const t = tempMigrations(FILES);
    try {
      const env = { DATABASE_URL: db.url };
      assertEquals((await cli(["apply"], { cwd: t.root, env })).code, 0);
      const refused = await cli(["drift"], { cwd: t.root, env });
      assertEquals(refused.code, 2, refused.stdout);
      assertMatch(
        refused.stderr,
        /^error: the scratch database pglite:memory runs PostgreSQL 18 and the database 1\d, which write some definitions out differently; pass --scratch-url with a PostgreSQL 1\d server/,
      );
      // A modified applied migration is refused as apply refuses it.
      t.write(
        "20250102_000000_posts.sql",
        FILES["20250102_000000_posts.sql"].replace("body text", "body varchar"),
      );
      const modified = await cli(["drift", "--scratch-url", await serverUrl()], {
        cwd: t.root,
        env,
      });
      assertEquals(modified.code, 3);
      assertMatch(modified.stderr, /Checksum mismatch for migration 20250102_000000/);
    } finally {
      t.remove();
      await db.drop();
    }
  },
);

Deno.test("drift on the embedded database replays on PGlite in memory by default, and never makes a missing one", async () => {
  const t = tempMigrations(FILES);
  const root = mkdtempSync(join(tmpdir(), "db-drift-"));
  const path = join(root, "data");
  try {
    const target = parseTarget(`pglite:${path}`, "api");
    const migrations = await loadMigrations(t.dir);
    const none = await checkDrift(target, migrations, { table: TABLE });
    assertEquals([none.ok, none.replayed, none.scratch], [true, [], "pglite:memory"]);
    assertEquals(existsSync(path), false, "a missing embedded database is read as empty, not made");

    const runner = new MigrationRunner(`pglite:${path}`);
    await runner.apply(t.dir);
    await runner.close();
    assert((await checkDrift(target, migrations, { table: TABLE })).ok, "no drift after apply");
    const driver = await connect(target);
    try {
      await driver.exec("ALTER TABLE users ADD COLUMN nickname text");
    } finally {
      await driver.close();
    }
    const report = await checkDrift(target, migrations, { table: TABLE });
    assertEquals(report.changes.map((c) => [c.change, c.kind, c.name]), [
      ["added", "column", "public.users.nickname"],
    ]);
  } finally {
    t.remove();
    rmSync(root, { recursive: true, force: true });
  }
});
