/**
 * Security of the command line against a real server: passwords never
 * printed from any source at any verbosity, the whole flow as a
 * least-privilege role, and the libpq environment variables with their
 * precedence. TLS is in tls_test.ts.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { ADVISORY_LOCK_KEY } from "../lib/config.ts";
import { assert, assertEquals, assertMatch, assertNotMatch } from "./support/assert.ts";
import { cli, type Result } from "./support/cli.ts";
import { adminQuery, freshDatabase, serverUrl } from "./support/db.ts";
import { migrationText, tempMigrations } from "./support/files.ts";

const suffix = () => crypto.randomUUID().replaceAll("-", "").slice(0, 10);

/** A login role with a password, created by the test server's superuser; `drop` removes it. */
async function loginRole(name: string, password: string) {
  const admin = await serverUrl();
  // Utility statements take no parameters: the literal is quoted here.
  await adminQuery(
    admin,
    `CREATE ROLE ${name} LOGIN PASSWORD '${password.replaceAll("'", "''")}'`,
  );
  return {
    name,
    drop: () => adminQuery(admin, `DROP ROLE IF EXISTS ${name}`).then(() => {}),
  };
}

/** The test server's host and port. */
async function server(): Promise<{ host: string; port: string; password: string }> {
  const u = new URL(await serverUrl());
  return { host: u.hostname, port: u.port, password: decodeURIComponent(u.password) };
}

function urlFor(
  s: { host: string; port: string },
  user: string,
  database: string,
  password?: string,
): string {
  const auth = password === undefined ? user : `${user}:${encodeURIComponent(password)}`;
  return `postgres://${auth}@${s.host}:${s.port}/${database}`;
}

function oneLine(result: Result, exit: number, pattern: RegExp): void {
  assertEquals(result.code, exit, `exit code; stdout: ${result.stdout} stderr: ${result.stderr}`);
  const lines = result.stderr.trimEnd().split("\n");
  assertEquals(lines.length, 1, `one line: ${result.stderr}`);
  assertMatch(lines[0], /^error: /);
  assertMatch(lines[0], pattern);
}

const USERS = migrationText(
  "CREATE TABLE users (id SERIAL PRIMARY KEY, email TEXT NOT NULL);",
  "DROP TABLE users;",
);
const BROKEN = migrationText("SELECT no_such_column FROM users;", "SELECT 1;");

Deno.test({
  name:
    "the password never appears in output, errors, --json or -v output, whatever its source and the command",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const s = await server();
    const id = suffix();
    // Distinctive, and full of characters URLs and shells treat specially.
    const password = `Zebra-${id}-p@ss:w/rd#?%&'"`;
    const wrong = `Wrong-${id}-Pw`;
    const role = await loginRole(`pw_${id}`, password);
    const sources = ["url", "PGPASSWORD", "password-file", "PG variables"] as const;
    const dbs = await Promise.all(sources.map(() => freshDatabase()));
    const projects = sources.map(() => tempMigrations({ "20250101_000000_users.sql": USERS }));
    try {
      for (const db of dbs) {
        await adminQuery(await serverUrl(), `ALTER DATABASE ${db.name} OWNER TO ${role.name}`);
      }
      const leaks: string[] = [];
      let runs = 0;
      await Promise.all(sources.map(async (source, i) => {
        const db = dbs[i];
        const t = projects[i];
        writeFileSync(join(t.root, "pw"), `${password}\n`);
        writeFileSync(join(t.root, "wrong-pw"), `${wrong}\n`);
        /** Arguments and environment that connect with `pw` (or to `port`). */
        const how = (
          pw: string,
          port = s.port,
          database = db.name,
        ): { args: string[]; env: Record<string, string> } => {
          const at = { host: s.host, port };
          switch (source) {
            case "url":
              return { args: ["--database-url", urlFor(at, role.name, database, pw)], env: {} };
            case "PGPASSWORD":
              return {
                args: ["--database-url", urlFor(at, role.name, database)],
                env: { PGPASSWORD: pw },
              };
            case "password-file":
              return {
                args: [
                  "--database-url",
                  urlFor(at, role.name, database),
                  "--password-file",
                  pw === password ? "pw" : "wrong-pw",
                ],
                env: {},
              };
            case "PG variables":
              return {
                args: [],
                env: {
                  PGHOST: s.host,
                  PGPORT: port,
                  PGUSER: role.name,
                  PGDATABASE: database,
                  PGPASSWORD: pw,
                },
              };
          }
        };
        const run = async (
          args: string[],
          exit: number,
          options: { pw?: string; port?: string; database?: string } = {},
        ) => {
          const c = how(options.pw ?? password, options.port, options.database);
          const result = await cli([...args, ...c.args], { cwd: t.root, env: c.env });
          runs++;
          const out = result.stdout + result.stderr;
          for (const secret of [password, encodeURIComponent(password), `Zebra-${id}`, wrong]) {
            if (out.includes(secret)) leaks.push(`${source}: ${args.join(" ")}: ${out}`);
          }
          assertEquals(result.code, exit, `${source}: ${args.join(" ")}: ${result.stderr}`);
          return result;
        };

        await run(["init", "-v"], 0);
        const created = await run(["create", "add posts", "-v"], 0);
        writeFileSync(
          join(t.root, created.stdout.trim()),
          migrationText("CREATE TABLE posts (id INT);", "DROP TABLE posts;"),
        );
        await run(["status", "-v"], 0);
        await run(["apply", "--dry-run", "--json", "-v"], 0);
        const applied = await run(["apply", "-v"], 0);
        assertMatch(applied.stdout, /Applied 2 migrations/);
        await run(["status", "--json", "-v"], 0);
        await run(["history", "-v"], 0);
        await run(["validate", "-v"], 0);
        await run(["rollback", "-v"], 0);
        // A migration that fails: the error quotes the file and PostgreSQL, not the target's password.
        t.write("20990101_000000_broken.sql", BROKEN);
        await run(["apply", "-v"], 1);
        await run(["apply", "--json", "-v"], 1);
        // Waiting for, and giving up on, the lock names the target.
        const holder = postgres(urlFor(s, "postgres", db.name, s.password), { max: 1 });
        try {
          await holder.unsafe("SELECT pg_advisory_lock($1::bigint)", [
            ADVISORY_LOCK_KEY.toString(),
          ]);
          const waited = await run(["apply", "--lock-wait", "1", "-v"], 1);
          assertMatch(waited.stderr, /waiting for the migration lock on postgres:\/\//);
          assertMatch(waited.stderr, /gave up after 1s waiting for the migration lock/);
        } finally {
          await holder.end();
        }
        // Connection failures: refused, and authentication with a wrong password.
        await run(["status", "-v"], 1, { port: "1" });
        await run(["status", "--json", "-v"], 1, { port: "1" });
        const denied = await run(["apply", "-v"], 1, { pw: wrong });
        assertMatch(denied.stderr, /password authentication failed for user "pw_/);
        // The target is shown, masked, where a password was given.
        assertMatch(denied.stderr, /postgres:\/\/pw_\w+(:\*\*\*)?@127\.0\.0\.1:\d+\/t_\w+/);
        // --create-database signs in to the maintenance database with the same
        // password; this role may not create databases.
        const missing = `nodb_${id}_${i}`.toLowerCase();
        const refused = await run(["apply", "--create-database", "-v"], 1, { database: missing });
        assertMatch(
          refused.stderr,
          new RegExp(`cannot create database ${missing}: permission denied`),
        );
      }));
      assertEquals(leaks, [], "the password was printed");
      // The check is live: output that does hold the password is caught.
      const control = await cli(["status", "--migrations-dir", `Zebra-${id}`], {
        cwd: projects[0].root,
      });
      assertEquals(control.code, 3);
      assert(control.stderr.includes(`Zebra-${id}`), "the control run shows the marker");
      assert(runs >= 4 * 15, `${runs} runs`);
    } finally {
      for (const t of projects) t.remove();
      for (const db of dbs) await db.drop();
      await role.drop();
    }
  },
});

Deno.test({
  name:
    "a non-superuser that owns its schema runs the whole flow with --table app._migrations, without CREATE on the database",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const s = await server();
    const id = suffix();
    const password = `app-${id}`;
    const role = await loginRole(`app_${id}`, password);
    const db = await freshDatabase();
    const adminUrl = urlFor(s, "postgres", db.name, s.password);
    const t = tempMigrations({
      "20250101_000000_users.sql": migrationText(
        "CREATE TABLE app.users (id SERIAL PRIMARY KEY, email TEXT NOT NULL UNIQUE);",
        "DROP TABLE app.users;",
      ),
      "20250101_000100_posts.sql": migrationText(
        "CREATE TABLE app.posts (id SERIAL PRIMARY KEY, user_id INT NOT NULL REFERENCES app.users (id));\n" +
          "CREATE FUNCTION app.post_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM app.posts $$;",
        "DROP FUNCTION app.post_count();\nDROP TABLE app.posts;",
      ),
      "20250101_000200_posts_index.sql": migrationText(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_user_id ON app.posts (user_id);",
        "DROP INDEX CONCURRENTLY IF EXISTS app.posts_user_id;",
        "-- Transaction: none",
      ),
    });
    try {
      await adminQuery(adminUrl, `CREATE SCHEMA app AUTHORIZATION ${role.name}`);
      // What the role may not do, checked rather than assumed.
      const [rights] = await adminQuery<Record<string, boolean>>(
        adminUrl,
        `SELECT r.rolsuper AS super, r.rolcreatedb AS createdb, r.rolcreaterole AS createrole,
                has_database_privilege($1, current_database(), 'CREATE') AS create_in_database,
                has_schema_privilege($1, 'public', 'CREATE') AS create_in_public
           FROM pg_roles r WHERE r.rolname = $1`,
        [role.name],
      );
      assertEquals(rights, {
        super: false,
        createdb: false,
        createrole: false,
        create_in_database: false,
        create_in_public: false,
      });
      const url = urlFor(s, role.name, db.name, password);
      const env = { DATABASE_URL: url };
      const run = (args: string[]) =>
        cli([...args, "--table", "app._migrations"], { cwd: t.root, env });
      const ok = async (args: string[]) => {
        const result = await run(args);
        assertEquals(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
        return result;
      };

      const created = await ok(["create", "add comments"]);
      writeFileSync(
        join(t.root, created.stdout.trim()),
        migrationText(
          "CREATE TABLE app.comments (id SERIAL PRIMARY KEY, post_id INT REFERENCES app.posts (id));",
          "DROP TABLE app.comments;",
        ),
      );
      await ok(["init"]);
      assertEquals(JSON.parse((await ok(["status", "--json"])).stdout).pending.length, 4);
      assertMatch((await ok(["apply"])).stdout, /Applied 4 migrations/);
      await ok(["validate"]);
      assertMatch((await ok(["history"])).stdout, new RegExp(role.name));
      const [tracking] = await adminQuery<{ app: string; public: string | null; owner: string }>(
        adminUrl,
        `SELECT to_regclass('app._migrations')::text AS app, to_regclass('public._migrations')::text AS public,
                (SELECT tableowner FROM pg_tables WHERE schemaname = 'app' AND tablename = '_migrations') AS owner`,
      );
      assertEquals(tracking, { app: "app._migrations", public: null, owner: role.name });
      const rows = await adminQuery<{ applied_by: string }>(
        adminUrl,
        "SELECT DISTINCT applied_by FROM app._migrations",
      );
      assertEquals(rows, [{ applied_by: role.name }]);
      assertEquals(JSON.parse((await ok(["rollback", "--json"])).stdout).reverted.length, 1);
      // Table lock mode keeps its lock table next to the tracking table, in the role's schema.
      assertMatch((await ok(["apply", "--lock-mode", "table"])).stdout, /Applied 1 migration\b/);
      const [lock] = await adminQuery<{ t: string | null }>(
        adminUrl,
        "SELECT to_regclass('app._migrations_lock')::text AS t",
      );
      assertEquals(lock.t, "app._migrations_lock");
      assertEquals(
        JSON.parse((await ok(["rollback", "--to", "0", "--json"])).stdout).reverted.length,
        4,
      );
      const [left] = await adminQuery<{ n: number }>(
        adminUrl,
        "SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'app' AND c.relname NOT LIKE '\\_migrations%'",
      );
      assertEquals(left.n, 0, "rollback --to 0 removed every object the migrations made");

      // The restrictions are real: the default table lives in public, where the role may not create.
      const publicTable = await cli(["init"], { cwd: t.root, env });
      oneLine(
        publicTable,
        1,
        /^error: cannot create the tracking table "_migrations": permission denied for schema public \(SQLSTATE 42501\); name in --table a schema this user owns/,
      );
      // And a schema that does not exist cannot be created without CREATE on the database.
      const newSchema = await cli(["apply", "--json", "--table", "audit._migrations"], {
        cwd: t.root,
        env,
      });
      assertEquals(newSchema.code, 1);
      const error = JSON.parse(newSchema.stdout).error;
      assertEquals([error.code, error.pgCode], ["PERMISSION_DENIED", "42501"]);
      assertMatch(
        error.message,
        /^cannot create the schema "audit" for the tracking table: permission denied for database t_\w+ .*create it first/,
      );
    } finally {
      t.remove();
      await db.drop();
      await role.drop();
    }
  },
});

Deno.test({
  name:
    "PGHOST/PGDATABASE select a server without a URL; DATABASE_URL beats them and --database-url beats both",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const s = await server();
    const [a, b, c] = await Promise.all([freshDatabase(), freshDatabase(), freshDatabase()]);
    const t = tempMigrations({ "20250101_000000_users.sql": USERS });
    const pg = (database: string) => ({
      PGHOST: s.host,
      PGPORT: s.port,
      PGUSER: "postgres",
      PGPASSWORD: s.password,
      PGDATABASE: database,
    });
    const urlOf = (name: string) => urlFor(s, "postgres", name, s.password);
    const tracked = async () => {
      const out: string[] = [];
      for (const db of [a, b, c]) {
        const [row] = await adminQuery<{ t: string | null }>(
          db.url,
          "SELECT to_regclass('_migrations')::text AS t",
        );
        if (row.t) out.push(db.name);
      }
      return out;
    };
    const apply = async (env: Record<string, string>, args: string[] = []) => {
      const result = await cli(["apply", "--json", ...args], { cwd: t.root, env });
      assertEquals(result.code, 0, result.stderr);
      assertEquals(JSON.parse(result.stdout).applied, ["20250101_000000"]);
      assertEquals(result.stderr, "", "no 'using the embedded database' notice");
    };
    try {
      // --database-url wins over DATABASE_URL and the PG variables.
      await apply({ ...pg(a.name), DATABASE_URL: urlOf(b.name) }, [
        "--database-url",
        urlOf(c.name),
      ]);
      assertEquals(await tracked(), [c.name]);
      // DATABASE_URL wins over the PG variables.
      await apply({ ...pg(a.name), DATABASE_URL: urlOf(b.name) });
      assertEquals(await tracked(), [b.name, c.name]);
      // The PG variables alone select the server and database.
      await apply(pg(a.name));
      assertEquals(await tracked(), [a.name, b.name, c.name]);

      // PGDATABASE without PGHOST: the server on localhost at PGPORT.
      const { PGHOST: _host, ...withoutHost } = pg(a.name);
      const viaDatabase = await cli(["status", "--json", "-v"], { cwd: t.root, env: withoutHost });
      assertEquals(viaDatabase.code, 0, viaDatabase.stderr);
      assertEquals(JSON.parse(viaDatabase.stdout).applied, ["20250101_000000"]);
      assertMatch(
        viaDatabase.stderr,
        new RegExp(`postgres://postgres:\\*\\*\\*@localhost:${s.port}/${a.name}`),
      );
      // PGHOST without PGDATABASE: the database named like the user (postgres), read only.
      const { PGDATABASE: _db, ...withoutDatabase } = pg(a.name);
      const viaHost = await cli(["status", "-v"], { cwd: t.root, env: withoutDatabase });
      assertEquals(viaHost.code, 0, viaHost.stderr);
      assertMatch(
        viaHost.stderr,
        new RegExp(`postgres://postgres:\\*\\*\\*@${s.host}:${s.port}/postgres`),
      );
      // Neither PGHOST nor PGDATABASE: the embedded database, said so on stderr.
      const { PGHOST: _h, PGDATABASE: _d, ...neither } = pg(a.name);
      const embedded = await cli(["status", "--json"], { cwd: t.root, env: neither });
      assertEquals(embedded.code, 0, embedded.stderr);
      assertEquals(
        embedded.stderr,
        "No DATABASE_URL: using the embedded database at .data-bridge/pglite\n",
      );
      assertEquals(JSON.parse(embedded.stdout).pending, ["20250101_000000"]);

      // PGUSER is the session user: the history records it.
      const id = suffix();
      const role = await loginRole(`env_${id}`, `env-${id}`);
      try {
        await adminQuery(await serverUrl(), `ALTER DATABASE ${c.name} OWNER TO ${role.name}`);
        await adminQuery(c.url, `ALTER TABLE _migrations OWNER TO ${role.name}`);
        mkdirSync(join(t.root, "second"));
        writeFileSync(join(t.root, "second", "20250101_000000_users.sql"), USERS);
        writeFileSync(
          join(t.root, "second", "20250102_000000_more.sql"),
          migrationText("CREATE TABLE more (id INT);", "DROP TABLE more;"),
        );
        const asRole = await cli(["apply", "--migrations-dir", "second"], {
          cwd: t.root,
          env: { ...pg(c.name), PGUSER: role.name, PGPASSWORD: `env-${id}` },
        });
        assertEquals(asRole.code, 0, asRole.stderr);
        const [row] = await adminQuery<{ applied_by: string }>(
          c.url,
          "SELECT applied_by FROM _migrations WHERE version = '20250102_000000'",
        );
        assertEquals(row.applied_by, role.name);
      } finally {
        await c.drop();
        await role.drop();
      }
    } finally {
      t.remove();
      await a.drop();
      await b.drop();
      await c.drop();
    }
  },
});

Deno.test({
  name:
    "password precedence: --password-file beats the URL's and PGPASSWORD; the URL's beats PGPASSWORD; PGPASSWORD fills a URL without one",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const s = await server();
    const db = await freshDatabase();
    const t = tempMigrations({ "20250101_000000_users.sql": USERS });
    writeFileSync(join(t.root, "right"), `${s.password}\n`);
    writeFileSync(join(t.root, "wrong"), "not-the-password\n");
    const status = (args: string[], env: Record<string, string> = {}) =>
      cli(["status", "--json", ...args], { cwd: t.root, env });
    const withPw = urlFor(s, "postgres", db.name, s.password);
    const wrongPw = urlFor(s, "postgres", db.name, "not-the-password");
    const noPw = urlFor(s, "postgres", db.name);
    const cases: Array<[string, Promise<Result>, number]> = [
      [
        "PGPASSWORD fills a URL without a password",
        status(["--database-url", noPw], { PGPASSWORD: s.password }),
        0,
      ],
      [
        "the URL's password beats PGPASSWORD",
        status(["--database-url", withPw], { PGPASSWORD: "not-the-password" }),
        0,
      ],
      [
        "a wrong URL password is not rescued by PGPASSWORD",
        status(["--database-url", wrongPw], { PGPASSWORD: s.password }),
        1,
      ],
      [
        "--password-file beats the URL's password",
        status(["--database-url", wrongPw, "--password-file", "right"]),
        0,
      ],
      [
        "--password-file beats PGPASSWORD",
        status(["--database-url", noPw, "--password-file", "right"], {
          PGPASSWORD: "not-the-password",
        }),
        0,
      ],
      [
        "a wrong --password-file is used, not the URL's",
        status(["--database-url", withPw, "--password-file", "wrong"]),
        1,
      ],
    ];
    try {
      for (const [what, pending, exit] of cases) {
        const result = await pending;
        assertEquals(result.code, exit, `${what}: ${result.stderr}`);
        if (exit === 1) assertMatch(result.stdout, /"code":"CONNECTION_FAILED"/, what);
        assertNotMatch(result.stdout + result.stderr, new RegExp(s.password), what);
      }
    } finally {
      t.remove();
      await db.drop();
    }
  },
});

Deno.test({
  name: "a history made in session lock mode can be applied to and rolled back in table lock mode",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dbs = [await freshDatabase(), await freshDatabase()];
    const t = tempMigrations({
      "20250101_000000_users.sql": USERS,
      "20250102_000000_more.sql": migrationText("CREATE TABLE more (id INT);", "DROP TABLE more;"),
    });
    try {
      for (const [db, command] of [[dbs[0], "apply"], [dbs[1], "rollback"]] as const) {
        const env = { DATABASE_URL: db.url };
        const first = await cli(["apply", "--to", "20250101_000000"], { cwd: t.root, env });
        assertEquals(first.code, 0, first.stderr);
        const switched = await cli([command, "--lock-mode", "table", "--json"], {
          cwd: t.root,
          env,
        });
        assertEquals(switched.code, 0, `${command}: ${switched.stderr}`);
        const [row] = await adminQuery<{ t: string | null }>(
          db.url,
          "SELECT to_regclass('_migrations_lock')::text AS t",
        );
        assertEquals(row.t, "_migrations_lock");
      }
    } finally {
      t.remove();
      for (const db of dbs) await db.drop();
    }
  },
});
