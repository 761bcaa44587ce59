/**
 * `apply --create-database` and `createDatabase`: a missing database is made
 * once, from the server's maintenance database, and the run goes on into it;
 * without the flag, or without the right to create databases, nothing is made.
 */
import { createDatabase, isMissingDatabase } from "../lib/create_database.ts";
import { RuntimeError } from "../lib/errors.ts";
import { parseTarget } from "../lib/target.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "./support/assert.ts";
import { cli } from "./support/cli.ts";
import { adminQuery, serverTest, serverUrl, withDatabase } from "./support/db.ts";
import { migrationText, tempMigrations } from "./support/files.ts";

/** A database name not taken yet on the test server, dropped by `drop`. */
async function unusedDatabase(name = `cd_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`) {
  const admin = await serverUrl();
  return {
    name,
    url: withDatabase(admin, encodeURIComponent(name)),
    async exists(): Promise<boolean> {
      const rows = await adminQuery(admin, "SELECT 1 FROM pg_database WHERE datname = $1", [name]);
      return rows.length === 1;
    },
    async drop(): Promise<void> {
      await adminQuery(
        admin,
        `DROP DATABASE IF EXISTS "${name.replaceAll('"', '""')}" WITH (FORCE)`,
      );
    },
  };
}

/** `apply` of `dir` into `url` by the CLI, with more flags. */
function apply(url: string, dir: string, ...extra: string[]) {
  return cli(["apply", "--database-url", url, "--migrations-dir", dir, ...extra]);
}

const FILES = {
  "20250101_000000_users.sql": migrationText("CREATE TABLE users (id int);", "DROP TABLE users;"),
  "20250102_000000_posts.sql": migrationText("CREATE TABLE posts (id int);", "DROP TABLE posts;"),
};

serverTest(
  "apply --create-database makes a missing database, applies into it, and makes nothing the second time",
  async () => {
    const db = await unusedDatabase();
    const m = tempMigrations(FILES);
    try {
      const first = await apply(db.url, m.dir, "--create-database", "--json");
      assertEquals(first.code, 0, first.stderr);
      assertEquals(JSON.parse(first.stdout), {
        applied: ["20250101_000000", "20250102_000000"],
        createdDatabase: db.name,
      });
      assertMatch(first.stderr, new RegExp(`created database ${db.name} on postgres://`));
      assert(!first.stderr.includes(":pw@") && !/:[^*@/]+@127/.test(first.stderr), "no password");
      const rows = await adminQuery<{ version: string }>(
        db.url,
        "SELECT version FROM _migrations ORDER BY version",
      );
      assertEquals(rows.map((r) => r.version), ["20250101_000000", "20250102_000000"]);
      const again = await apply(db.url, m.dir, "--create-database");
      assertEquals(again.code, 0, again.stderr);
      assert(!again.stderr.includes("created database"), again.stderr);
      assertMatch(again.stdout, /Nothing to apply/);
    } finally {
      m.remove();
      await db.drop();
    }
  },
);

serverTest(
  "without --create-database, and in a dry run, a missing database is exit 1 with the advice and is not made",
  async () => {
    const db = await unusedDatabase();
    const m = tempMigrations(FILES);
    try {
      for (
        const extra of [[], ["--create-database", "--dry-run"], ["--create-database", "--sql"]]
      ) {
        const r = await apply(db.url, m.dir, ...extra);
        assertEquals(r.code, 1, `${extra}: ${r.stderr}`);
        assertMatch(
          r.stderr,
          new RegExp(
            `^error: cannot connect to .*database "${db.name}" does not exist; create the database \\(apply --create-database does\\) or fix the URL\\n$`,
          ),
        );
        assert(!r.stderr.includes("    at "), "no stack trace");
        assertEquals(await db.exists(), false, `${extra}`);
      }
    } finally {
      m.remove();
      await db.drop();
    }
  },
);

serverTest(
  "four applies at once with --create-database make the database once and each migration once",
  async () => {
    const db = await unusedDatabase();
    const m = tempMigrations(FILES);
    try {
      const runs = await Promise.all(
        [1, 2, 3, 4].map(() => apply(db.url, m.dir, "--create-database", "--json")),
      );
      for (const r of runs) assertEquals(r.code, 0, r.stderr);
      const docs = runs.map((r) => JSON.parse(r.stdout));
      assertEquals(
        docs.filter((d) => d.createdDatabase === db.name).length,
        1,
        JSON.stringify(docs),
      );
      assertEquals(docs.flatMap((d) => d.applied).sort(), ["20250101_000000", "20250102_000000"]);
      const [{ n }] = await adminQuery<{ n: number }>(
        db.url,
        "SELECT count(*)::int AS n FROM _migrations",
      );
      assertEquals(n, 2);
    } finally {
      m.remove();
      await db.drop();
    }
  },
);

serverTest(
  "a user without CREATEDB is refused with PERMISSION_DENIED naming the database, and nothing is made",
  async () => {
    const admin = await serverUrl();
    const role = `nocreate_${crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`;
    await adminQuery(admin, `CREATE ROLE ${role} LOGIN NOCREATEDB PASSWORD 'secret-${role}'`);
    const db = await unusedDatabase();
    const m = tempMigrations(FILES);
    try {
      const url = new URL(db.url);
      url.username = role;
      url.password = `secret-${role}`;
      const r = await apply(url.toString(), m.dir, "--create-database", "--json");
      assertEquals(r.code, 1, r.stderr);
      const { error } = JSON.parse(r.stdout);
      assertEquals(error.code, "PERMISSION_DENIED");
      assertEquals(error.pgCode, "42501");
      assertMatch(
        error.message,
        new RegExp(
          `^cannot create database ${db.name}: permission denied to create database; create it first, or connect as a user with CREATEDB$`,
        ),
      );
      assert(
        !r.stdout.includes(`secret-${role}`) && !r.stderr.includes(`secret-${role}`),
        "no password",
      );
      assertEquals(await db.exists(), false);
    } finally {
      m.remove();
      await db.drop();
      await adminQuery(admin, `DROP ROLE ${role}`);
    }
  },
);

serverTest(
  "createDatabase makes a name that needs quoting as written, then finds it made",
  async () => {
    const db = await unusedDatabase(`we"ird db ${crypto.randomUUID().slice(0, 8)}`);
    try {
      const target = parseTarget(db.url, "api");
      assertEquals(await createDatabase(target), db.name);
      assertEquals(await db.exists(), true);
      assertEquals(await createDatabase(target), null);
    } finally {
      await db.drop();
    }
  },
);

Deno.test("createDatabase has nothing to make for the embedded database", async () => {
  assertEquals(await createDatabase(parseTarget("pglite:memory", "api")), null);
});

Deno.test("isMissingDatabase is the refused session of SQLSTATE 3D000 only", () => {
  const refused = (pgCode?: string) =>
    new RuntimeError("CONNECTION_FAILED", "cannot connect", pgCode ? { pgCode } : {});
  assertEquals(isMissingDatabase(refused("3D000")), true);
  assertEquals(isMissingDatabase(refused("28P01")), false);
  assertEquals(isMissingDatabase(refused()), false);
  assertEquals(
    isMissingDatabase(new RuntimeError("CONNECTION_LOST", "lost", { pgCode: "3D000" })),
    false,
  );
  assertEquals(isMissingDatabase(new Error("3D000")), false);
});

serverTest(
  "createDatabase against a server that refuses the user fails with the connection's error",
  async () => {
    const db = await unusedDatabase();
    const url = new URL(db.url);
    url.password = "wrong-password";
    const error = await assertRejects<RuntimeError>(() =>
      createDatabase(parseTarget(url.toString(), "api"))
    );
    assert(error instanceof RuntimeError, String(error));
    assertEquals(error.code, "CONNECTION_FAILED");
    assertMatch(error.message, /check the user name and password$/);
    assert(!error.message.includes("wrong-password"), "no password");
    assertEquals(await db.exists(), false);
  },
);

serverTest(
  "two createDatabase calls at once make the database once: the other finds it made",
  async () => {
    const db = await unusedDatabase();
    try {
      const target = parseTarget(db.url, "api");
      const results = await Promise.all([createDatabase(target), createDatabase(target)]);
      assertEquals(results.filter((r) => r === db.name).length, 1, JSON.stringify(results));
      assertEquals(results.filter((r) => r === null).length, 1, JSON.stringify(results));
      assertEquals(await db.exists(), true);
    } finally {
      await db.drop();
    }
  },
);

serverTest("init --create-database makes the database and its tracking table", async () => {
  const db = await unusedDatabase();
  try {
    const r = await cli(["init", "--database-url", db.url, "--create-database", "--json"]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(JSON.parse(r.stdout), { table: "_migrations", createdDatabase: db.name });
    const [{ t }] = await adminQuery<{ t: string | null }>(
      db.url,
      "SELECT to_regclass('_migrations')::text AS t",
    );
    assertEquals(t, "_migrations");
    const again = await cli(["init", "--database-url", db.url, "--create-database", "--json"]);
    assertEquals(JSON.parse(again.stdout), { table: "_migrations" });
  } finally {
    await db.drop();
  }
});

serverTest(
  "createDatabase reads the database from PG* variables when the URL names none, and from a URL of several hosts",
  async () => {
    const admin = new URL(await serverUrl());
    const fromEnv = await unusedDatabase();
    const names = ["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"] as const;
    const saved = names.map((name) => [name, Deno.env.get(name)] as const);
    try {
      Deno.env.set("PGHOST", admin.hostname);
      Deno.env.set("PGPORT", admin.port);
      Deno.env.set("PGUSER", decodeURIComponent(admin.username));
      Deno.env.set("PGPASSWORD", decodeURIComponent(admin.password));
      Deno.env.set("PGDATABASE", fromEnv.name);
      const target = { kind: "postgres", url: "", source: "PG environment" } as const;
      assertEquals(await createDatabase(target), fromEnv.name);
      assertEquals(await fromEnv.exists(), true);
    } finally {
      for (const [name, value] of saved) {
        if (value === undefined) Deno.env.delete(name);
        else Deno.env.set(name, value);
      }
      await fromEnv.drop();
    }
    const several = await unusedDatabase();
    try {
      const host = `${admin.hostname}:${admin.port}`;
      const url = `postgres://${admin.username}:${admin.password}@${host},${host}/${several.name}`;
      assertEquals(await createDatabase(parseTarget(url, "api")), several.name);
      assertEquals(await several.exists(), true);
    } finally {
      await several.drop();
    }
  },
);
