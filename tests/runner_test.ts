/**
 * The engine's behaviour, one body per rule, run on both drivers
 * (PostgreSQL server and PGlite).
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Driver } from "../lib/driver.ts";
import { MigrationRunner, type RunEvent } from "../lib/runner.ts";
import { classify } from "../lib/classify.ts";
import { readHistory } from "../lib/history.ts";
import { scanMigrations } from "../lib/load.ts";
import { Migration, migrationFile, parsedSource } from "../lib/migration.ts";
import { type DataBridgeError, MigrationError, type ValidationError } from "../lib/errors.ts";
import { assert, assertEquals, assertMatch, assertRejects, within } from "./support/assert.ts";
import postgresJs from "postgres";
import { ADVISORY_LOCK_KEY } from "../lib/config.ts";
import {
  adminQuery,
  type DriverContext,
  driverTest,
  freshDatabase,
  serverTest,
} from "./support/db.ts";
import { migrationText, tempMigrations } from "./support/files.ts";

const USERS = migrationText(
  "CREATE TABLE users (id SERIAL PRIMARY KEY, email TEXT NOT NULL);\nCREATE INDEX idx_users_email ON users (email);",
  "DROP TABLE users;",
  "-- Description: create users",
);
const POSTS = migrationText(
  "CREATE TABLE posts (id SERIAL PRIMARY KEY, user_id INT REFERENCES users (id));",
  "DROP TABLE posts;",
);
const TAGS = migrationText("CREATE TABLE tags (id INT);", "DROP TABLE tags;");

async function tables(ctx: DriverContext): Promise<string[]> {
  const rows = await ctx.sql<{ name: string }>(
    "SELECT table_schema || '.' || table_name AS name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
  );
  return rows.map((r) => r.name);
}

async function recorded(ctx: DriverContext, table = "_migrations"): Promise<string[]> {
  const rows = await ctx.sql<{ version: string }>(`SELECT version FROM ${table} ORDER BY version`);
  return rows.map((r) => r.version);
}

function withFiles(files: Record<string, string>) {
  return tempMigrations(files);
}

driverTest("apply runs pending migrations in version order and records each", async (ctx) => {
  const t = withFiles({
    "20250128_130000_posts.sql": POSTS,
    "20250128_120000_users.sql": USERS,
  });
  try {
    const events: RunEvent[] = [];
    const runner = new MigrationRunner(ctx.driver, { onEvent: (e) => events.push(e) });
    assertEquals(await runner.apply(t.dir), ["20250128_120000", "20250128_130000"]);
    assertEquals(await tables(ctx), ["public._migrations", "public.posts", "public.users"]);
    const rows = await ctx.sql<Record<string, unknown>>(
      "SELECT version, description, checksum, execution_ms, applied_by, applied_at FROM _migrations ORDER BY version",
    );
    assertEquals(rows.map((r) => r.description), ["create users", "posts"]);
    assert(rows.every((r) => /^[0-9a-f]{64}$/.test(String(r.checksum))));
    assert(rows.every((r) => typeof r.execution_ms === "number" && r.execution_ms >= 0));
    assert(rows.every((r) => typeof r.applied_by === "string" && r.applied_by !== ""));
    assertEquals(
      events.filter((e) => e.type === "done").map((e) => e.type === "done" && e.migration.version),
      ["20250128_120000", "20250128_130000"],
    );
    assertEquals(await runner.apply(t.dir), [], "a second apply has nothing to do");
  } finally {
    t.remove();
  }
});

driverTest(
  "apply keeps each pending file's parsed text for its check, and lets it go after",
  async (ctx) => {
    const t = withFiles({ "20250128_120000_users.sql": USERS });
    try {
      let seen: Migration[] = [];
      let texts: (string | undefined)[] = [];
      const runner = new MigrationRunner(ctx.driver);
      await runner.apply(t.dir, {
        check: (pending) => {
          seen = [...pending];
          texts = pending.map((m) => parsedSource(m));
        },
      });
      assertEquals(seen.map((m) => m.version), ["20250128_120000"]);
      assertEquals(texts, [USERS]);
      assertEquals(parsedSource(seen[0]), undefined);
    } finally {
      t.remove();
    }
  },
);

/** `driver`, its first query answered only after `ms`: a history that takes long to come. */
function slowFirstQuery(driver: Driver, ms: number): Driver {
  let first = true;
  return new Proxy(driver, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      if (key !== "query") return value.bind(target);
      return async (...args: unknown[]) => {
        if (first) {
          first = false;
          await new Promise((resolve) => setTimeout(resolve, ms));
        }
        return await value.apply(target, args);
      };
    },
  });
}

driverTest(
  "apply and rollback act the same when every file was parsed before the history came",
  async (ctx) => {
    const t = withFiles({ "20250128_120000_users.sql": USERS });
    try {
      await new MigrationRunner(ctx.driver).apply(t.dir);
      writeFileSync(join(t.dir, "20250128_130000_posts.sql"), POSTS);
      writeFileSync(join(t.dir, "20250128_140000_tags.sql"), TAGS);
      // Meanwhile all three files are parsed ahead, the applied one too.
      let texts: (string | undefined)[] = [];
      const applied = await new MigrationRunner(slowFirstQuery(ctx.driver, 200)).apply(t.dir, {
        check: (pending) => {
          texts = pending.map((m) => parsedSource(m));
        },
      });
      assertEquals(applied, ["20250128_130000", "20250128_140000"]);
      assertEquals(texts, [POSTS, TAGS], "the check gets the texts the files were parsed with");
      assertEquals(await recorded(ctx), ["20250128_120000", "20250128_130000", "20250128_140000"]);
      const reverted = await new MigrationRunner(slowFirstQuery(ctx.driver, 200)).rollback(
        t.dir,
        2,
      );
      assertEquals(reverted, ["20250128_140000", "20250128_130000"]);
      assertEquals(await tables(ctx), ["public._migrations", "public.users"]);
      // A file changed after it was applied is refused, parsed ahead or not.
      writeFileSync(join(t.dir, "20250128_120000_users.sql"), `${USERS}\n-- changed`);
      const refused = await assertRejects(() =>
        new MigrationRunner(slowFirstQuery(ctx.driver, 200)).apply(t.dir)
      );
      assertMatch((refused as Error).message, /20250128_120000/);
      assertEquals(await recorded(ctx), ["20250128_120000"]);
    } finally {
      t.remove();
    }
  },
);

serverTest(
  "apply checks what the first history read left pending while it waits for the lock, once",
  async () => {
    const db = await freshDatabase();
    const t = withFiles({ "20250128_120000_users.sql": USERS, "20250128_130000_posts.sql": POSTS });
    const holder = postgresJs(db.url, { max: 1 });
    const runner = new MigrationRunner(db.url);
    try {
      await holder`SELECT pg_advisory_lock(${ADVISORY_LOCK_KEY.toString()}::bigint)`;
      const calls: string[][] = [];
      let checked!: () => void;
      const called = new Promise<void>((resolve) => (checked = resolve));
      const run = runner.apply(t.dir, {
        check: (pending) => {
          calls.push(pending.map((m) => m.version));
          checked();
        },
      });
      await within(10_000, called); // while another session holds the lock
      assertEquals(calls, [["20250128_120000", "20250128_130000"]]);
      await holder`SELECT pg_advisory_unlock_all()`;
      assertEquals(await run, ["20250128_120000", "20250128_130000"]);
      assertEquals(calls.length, 1, "the plan under the lock was the same: no second check");
    } finally {
      await runner.close();
      await holder.end();
      t.remove();
      await db.drop();
    }
  },
);

serverTest(
  "apply checks again when the history under the lock plans something else; only that check counts",
  async () => {
    const db = await freshDatabase();
    const t = withFiles({
      "20250128_120000_users.sql": USERS,
      "20250128_130000_posts.sql": POSTS,
      "20250128_140000_tags.sql": TAGS,
    });
    const first = new MigrationRunner(db.url);
    const second = new MigrationRunner(db.url);
    try {
      const calls: string[][] = [];
      let aheadDone!: () => void;
      const ahead = new Promise<void>((resolve) => (aheadDone = resolve));
      let secondRun: Promise<string[]> | undefined;
      // The first run holds the lock until the second has checked ahead, then applies one.
      const firstRun = first.apply(t.dir, {
        to: "20250128_120000",
        check: async () => {
          secondRun = second.apply(t.dir, {
            check: (pending) => {
              calls.push(pending.map((m) => m.version));
              if (calls.length === 1) {
                aheadDone();
                throw new Error("refused ahead");
              }
            },
          });
          secondRun.catch(() => {}); // awaited below
          await ahead;
        },
      });
      // Without a check ahead, the two runs would wait for each other: bounded.
      assertEquals(await within(10_000, firstRun), ["20250128_120000"]);
      assertEquals(await secondRun, ["20250128_130000", "20250128_140000"]);
      assertEquals(calls, [
        ["20250128_120000", "20250128_130000", "20250128_140000"],
        ["20250128_130000", "20250128_140000"],
      ]);
      const refused = new MigrationRunner(db.url);
      try {
        // The other way round: a check ahead that passes does not stand for another plan.
        writeFileSync(
          join(t.dir, "20250128_150000_more.sql"),
          migrationText("CREATE TABLE more (id INT);", "DROP TABLE more;"),
        );
        writeFileSync(
          join(t.dir, "20250128_160000_last.sql"),
          migrationText("CREATE TABLE last (id INT);", "DROP TABLE last;"),
        );
        let n = 0;
        let passed!: () => void;
        const passedAhead = new Promise<void>((resolve) => (passed = resolve));
        let late: Promise<string[]> | undefined;
        await within(
          10_000,
          first.apply(t.dir, {
            to: "20250128_150000",
            check: async () => {
              late = refused.apply(t.dir, {
                check: () => {
                  if (++n === 1) return passed();
                  throw new Error("refused under the lock");
                },
              });
              late.catch(() => {});
              await passedAhead;
            },
          }),
        );
        const error = await assertRejects<Error>(() => late!);
        assertEquals(error.message, "refused under the lock");
        assertEquals(n, 2);
        const rows = await adminQuery<{ version: string }>(
          db.url,
          "SELECT version FROM _migrations ORDER BY version",
        );
        assertEquals(rows.map((r) => r.version).at(-1), "20250128_150000", "nothing more applied");
      } finally {
        await refused.close();
      }
    } finally {
      await first.close();
      await second.close();
      t.remove();
      await db.drop();
    }
  },
);

driverTest(
  "apply makes its tracking table while a check runs longer than the server lets a transaction idle",
  async (ctx) => {
    const t = withFiles({ "20250128_120000_users.sql": USERS });
    // The server ends a session idle in a transaction for 50 ms (PGlite has no such timeout).
    if (ctx.kind !== "pglite") {
      await ctx.driver.exec("SET idle_in_transaction_session_timeout = '50ms'");
    }
    try {
      const slow = () => new Promise<void>((resolve) => setTimeout(resolve, 300));
      assertEquals(await new MigrationRunner(ctx.driver).apply(t.dir, { check: slow }), [
        "20250128_120000",
      ]);
      assertEquals(await recorded(ctx), ["20250128_120000"]);
    } finally {
      t.remove();
      await ctx.driver.exec("RESET idle_in_transaction_session_timeout").catch(() => {});
    }
  },
);

driverTest(
  "apply makes its tracking table while the check runs, and a failed check leaves none",
  async (ctx) => {
    const t = withFiles({ "20250128_120000_users.sql": USERS });
    try {
      const runner = new MigrationRunner(ctx.driver);
      const refused = await assertRejects(() =>
        runner.apply(t.dir, {
          check: async () => {
            // Long enough for the table to be made meanwhile.
            await new Promise((resolve) => setTimeout(resolve, 50));
            throw new Error("refused by the check");
          },
        })
      );
      assertEquals((refused as Error).message, "refused by the check");
      assertEquals(await tables(ctx), []);
      let checked = false;
      assertEquals(
        await runner.apply(t.dir, {
          check: async () => {
            await new Promise((resolve) => setTimeout(resolve, 50));
            checked = true;
          },
        }),
        ["20250128_120000"],
      );
      assert(checked);
      assertEquals(await tables(ctx), ["public._migrations", "public.users"]);
      assertEquals(await recorded(ctx), ["20250128_120000"]);
    } finally {
      t.remove();
    }
  },
);

driverTest(
  "status is read-only: without the table everything is pending and nothing is created",
  async (ctx) => {
    const t = withFiles({ "20250128_120000_users.sql": USERS });
    try {
      const runner = new MigrationRunner(ctx.driver);
      const status = await runner.status(t.dir);
      assertEquals(status.applied, []);
      assertEquals(status.pending, ["20250128_120000"]);
      assertEquals(status.migrations[0].state, "pending");
      assertEquals(status.migrations[0].file, join(t.dir, "20250128_120000_users.sql"));
      assertEquals(await tables(ctx), []);
    } finally {
      t.remove();
    }
  },
);

driverTest(
  "status of files all applied as they are agrees with classify, field by field",
  async (ctx) => {
    const t = withFiles({ "20250128_120000_users.sql": USERS, "20250128_130000_posts.sql": POSTS });
    try {
      const runner = new MigrationRunner(ctx.driver);
      await runner.apply(t.dir);
      const report = await runner.status(t.dir);
      const history = await readHistory(ctx.driver, { schema: null, name: "_migrations" });
      const { files } = await scanMigrations(t.dir);
      const expected = classify(files, history!.rows).map(({ migration: _m, row: _r, ...e }) => e);
      assertEquals(expected.map((e) => [e.state, e.description]), [
        ["applied", "create users"],
        ["applied", "posts"],
      ]);
      assertEquals(report.migrations, expected);
      assertEquals([report.applied, report.pending], [expected.map((e) => e.version), []]);
    } finally {
      t.remove();
    }
  },
);

driverTest("init creates the tracking table idempotently, also schema-qualified", async (ctx) => {
  const runner = new MigrationRunner(ctx.driver, { migrationsTable: "audit.schema_history" });
  await runner.init();
  await runner.init();
  assertEquals(await tables(ctx), ["audit.schema_history"]);
  const columns = await ctx.sql<{ column_name: string }>(
    "SELECT column_name FROM information_schema.columns WHERE table_schema = 'audit' AND table_name = 'schema_history' ORDER BY ordinal_position",
  );
  assertEquals(columns.map((c) => c.column_name), [
    "version",
    "description",
    "applied_at",
    "checksum",
    "execution_ms",
    "applied_by",
  ]);
});

driverTest("a four-column table from earlier tools is adopted with its rows kept", async (ctx) => {
  const t = withFiles({ "20250128_120000_users.sql": USERS, "20250128_130000_posts.sql": POSTS });
  try {
    const runner = new MigrationRunner(ctx.driver);
    const [users] = await runner.status(t.dir).then((s) => s.migrations);
    await ctx.driver.exec(`
      CREATE TABLE _migrations (
        version VARCHAR(255) PRIMARY KEY, description TEXT NOT NULL,
        applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW(), checksum VARCHAR(64) NOT NULL);
      CREATE TABLE users (id SERIAL PRIMARY KEY, email TEXT NOT NULL);`);
    await ctx.sql("INSERT INTO _migrations (version, description, checksum) VALUES ($1, $2, $3)", [
      users.version,
      "create users",
      users.checksum,
    ]);
    assertEquals(await runner.apply(t.dir), ["20250128_130000"]);
    const rows = await ctx.sql<{ version: string; execution_ms: number | null }>(
      "SELECT version, execution_ms FROM _migrations ORDER BY version",
    );
    assertEquals(rows.map((r) => [r.version, r.execution_ms === null]), [
      ["20250128_120000", true],
      ["20250128_130000", false],
    ]);
  } finally {
    t.remove();
  }
});

driverTest(
  "apply keeps earlier migrations when a later one fails, and locates the error",
  async (ctx) => {
    const bad =
      "-- UP\nCREATE TABLE half (id INT);\n\nINSERT INTO half\n  VALUES (1), ('x');\n-- DOWN\nDROP TABLE half;\n";
    const t = withFiles({
      "20250128_120000_users.sql": USERS,
      "20250128_130000_bad.sql": bad,
      "20250128_140000_tags.sql": TAGS,
    });
    try {
      const runner = new MigrationRunner(ctx.driver);
      const error = await assertRejects<MigrationError>(() => runner.apply(t.dir));
      assert(error instanceof MigrationError);
      assertEquals([error.code, error.exitCode, error.version, error.pgCode], [
        "MIGRATION_FAILED",
        1,
        "20250128_130000",
        "22P02",
      ]);
      assertEquals([error.file, error.line, error.column], [
        join(t.dir, "20250128_130000_bad.sql"),
        5,
        16,
      ]);
      assertEquals(error.excerpt, "  VALUES (1), ('x');\n               ^");
      assertEquals(error.completed, ["20250128_120000"]);
      assertMatch(
        error.message,
        /_bad\.sql:5:16: migration 20250128_130000 failed: .*; it was rolled back$/,
      );
      assertEquals(await recorded(ctx), ["20250128_120000"]);
      assertEquals(await tables(ctx), ["public._migrations", "public.users"]);
    } finally {
      t.remove();
    }
  },
);

driverTest("apply --to stops after that version; --dry-run changes nothing", async (ctx) => {
  const t = withFiles({
    "20250128_120000_users.sql": USERS,
    "20250128_130000_posts.sql": POSTS,
    "20250128_140000_tags.sql": TAGS,
  });
  try {
    const runner = new MigrationRunner(ctx.driver);
    assertEquals(await runner.apply(t.dir, { dryRun: true }), [
      "20250128_120000",
      "20250128_130000",
      "20250128_140000",
    ]);
    assertEquals(await tables(ctx), []);
    assertEquals(await runner.apply(t.dir, { to: "20250128_130000" }), [
      "20250128_120000",
      "20250128_130000",
    ]);
    assertEquals((await runner.status(t.dir)).pending, ["20250128_140000"]);
    assertEquals(await runner.rollback(t.dir, { steps: 2, dryRun: true }), [
      "20250128_130000",
      "20250128_120000",
    ]);
    assertEquals(await recorded(ctx), ["20250128_120000", "20250128_130000"]);
  } finally {
    t.remove();
  }
});

driverTest("rollback reverts by steps and --to, most recent first, with the rows", async (ctx) => {
  const t = withFiles({
    "20250128_120000_users.sql": USERS,
    "20250128_130000_posts.sql": POSTS,
    "20250128_140000_tags.sql": TAGS,
  });
  try {
    const runner = new MigrationRunner(ctx.driver);
    await runner.apply(t.dir);
    assertEquals(await runner.rollback(t.dir), ["20250128_140000"]);
    assertEquals(await recorded(ctx), ["20250128_120000", "20250128_130000"]);
    await runner.apply(t.dir);
    assertEquals(await runner.rollback(t.dir, { to: "20250128_120000" }), [
      "20250128_140000",
      "20250128_130000",
    ]);
    assertEquals(await tables(ctx), ["public._migrations", "public.users"]);
    assertEquals(await runner.rollback(t.dir, { to: "0" }), ["20250128_120000"]);
    assertEquals(await tables(ctx), ["public._migrations"]);
    assertEquals(await runner.rollback(t.dir), []);
  } finally {
    t.remove();
  }
});

driverTest("a failing DOWN is rolled back and the migration stays applied", async (ctx) => {
  const t = withFiles({
    "20250128_120000_users.sql": USERS,
    "20250128_130000_bad_down.sql": migrationText(
      "CREATE TABLE b (id INT);",
      "DROP TABLE b;\nSELECT no_such_column FROM pg_class;",
    ),
  });
  try {
    const runner = new MigrationRunner(ctx.driver);
    await runner.apply(t.dir);
    const error = await assertRejects<MigrationError>(() => runner.rollback(t.dir, 2));
    assertEquals([error.version, error.pgCode, error.line], ["20250128_130000", "42703", 5]);
    assertMatch(error.message, /rollback of migration 20250128_130000 failed/);
    assertEquals(await recorded(ctx), ["20250128_120000", "20250128_130000"]);
    assertEquals((await tables(ctx)).includes("public.b"), true);
  } finally {
    t.remove();
  }
});

driverTest(
  "modified and missing migrations refuse apply and rollback before anything runs",
  async (ctx) => {
    const t = withFiles({ "20250128_120000_users.sql": USERS });
    try {
      const runner = new MigrationRunner(ctx.driver);
      await runner.apply(t.dir);
      const file = join(t.dir, "20250128_120000_users.sql");
      writeFileSync(file, USERS.replace("email TEXT", "email VARCHAR(100)"));
      t.write("20250128_130000_tags.sql", TAGS);
      const modified = await assertRejects<ValidationError>(() => runner.apply(t.dir));
      assertEquals([modified.code, modified.exitCode], ["CHECKSUM_MISMATCH", 3]);
      assertEquals(
        modified.message,
        `Checksum mismatch for migration 20250128_120000. The migration file ${file} has been modified after being applied.`,
      );
      await assertRejects(() => runner.rollback(t.dir));
      assertEquals((await runner.status(t.dir)).migrations.map((m) => m.state), [
        "modified",
        "pending",
      ]);

      await ctx.driver.exec("DELETE FROM _migrations");
      await ctx.sql(
        "INSERT INTO _migrations (version, description, checksum) VALUES ('20240101_000000', 'gone', 'x')",
      );
      const missing = await assertRejects<ValidationError>(() => runner.apply(t.dir));
      assertEquals(missing.code, "MISSING_FILE");
      assertEquals(
        missing.message,
        "Migration 20240101_000000 is applied but not found in migration files",
      );
      assertEquals(await recorded(ctx), ["20240101_000000"]);
      assertEquals((await tables(ctx)).includes("public.tags"), false);
    } finally {
      t.remove();
    }
  },
);

driverTest(
  "an empty or comment-only DOWN is refused as irreversible, not recorded as done",
  async (ctx) => {
    const t = withFiles({
      "20250128_120000_users.sql": USERS,
      "20250128_130000_forever.sql": migrationText(
        "CREATE TABLE forever (id INT);",
        "-- Down migrations are not available; this cannot be undone.",
      ),
    });
    try {
      const runner = new MigrationRunner(ctx.driver);
      await runner.apply(t.dir);
      const error = await assertRejects<ValidationError>(() => runner.rollback(t.dir, 2));
      assertEquals([error.code, error.exitCode, error.version], [
        "IRREVERSIBLE",
        3,
        "20250128_130000",
      ]);
      assertEquals(await recorded(ctx), ["20250128_120000", "20250128_130000"]);
    } finally {
      t.remove();
    }
  },
);

driverTest("a migration merged late is applied with a warning naming it", async (ctx) => {
  const t = withFiles({ "20250128_120000_users.sql": USERS, "20250128_140000_tags.sql": TAGS });
  try {
    const events: RunEvent[] = [];
    const runner = new MigrationRunner(ctx.driver, { onEvent: (e) => events.push(e) });
    await runner.apply(t.dir);
    t.write("20250128_130000_posts.sql", POSTS);
    assertEquals(await runner.apply(t.dir), ["20250128_130000"]);
    const warnings = events.filter((e) => e.type === "warning").map((e) =>
      e.type === "warning" && e.message
    );
    assertEquals(warnings.length, 1);
    assertMatch(
      String(warnings[0]),
      /20250128_130000_posts\.sql is older than the newest applied migration 20250128_140000/,
    );
  } finally {
    t.remove();
  }
});

driverTest(
  "outOfOrder refuse stops a migration merged late, naming each, before anything changes; allow applies it",
  async (ctx) => {
    const t = withFiles({ "20250128_120000_users.sql": USERS, "20250128_140000_tags.sql": TAGS });
    try {
      const runner = new MigrationRunner(ctx.driver);
      await runner.apply(t.dir);
      t.write("20250128_130000_posts.sql", POSTS);
      t.write(
        "20250128_125000_more.sql",
        migrationText("CREATE TABLE more (id int);", "DROP TABLE more;"),
      );
      t.write(
        "20250128_150000_later.sql",
        migrationText("CREATE TABLE later (id int);", "DROP TABLE later;"),
      );
      const before = await tables(ctx);
      for (const dryRun of [false, true]) {
        const error = await assertRejects<ValidationError>(() =>
          runner.apply(t.dir, { outOfOrder: "refuse", dryRun })
        );
        assertEquals([error.code, error.exitCode, error.version], [
          "OUT_OF_ORDER",
          3,
          "20250128_125000",
        ]);
        assertEquals(error.problems.map((p) => p.version), ["20250128_125000", "20250128_130000"]);
        assertMatch(
          error.message,
          /20250128_125000_more\.sql is older than the newest applied migration 20250128_140000, which --out-of-order refuse stops; give it a later version \(rename the file\), or apply it with --out-of-order allow \(and 1 more problem\)$/,
        );
        assertEquals(await recorded(ctx), ["20250128_120000", "20250128_140000"]);
        assertEquals(await tables(ctx), before);
      }
      const report = await runner.validate(t.dir, { outOfOrder: "refuse" });
      assertEquals([report.valid, report.problems.map((p) => [p.code, p.version])], [false, [
        ["OUT_OF_ORDER", "20250128_125000"],
        ["OUT_OF_ORDER", "20250128_130000"],
      ]]);
      assertEquals((await runner.validate(t.dir)).valid, true);
      assertEquals(await runner.apply(t.dir, { outOfOrder: "allow" }), [
        "20250128_125000",
        "20250128_130000",
        "20250128_150000",
      ]);
    } finally {
      t.remove();
    }
  },
);

driverTest(
  "CREATE INDEX CONCURRENTLY runs in a -- Transaction: none migration, both ways",
  async (ctx) => {
    const t = withFiles({
      "20250128_120000_users.sql": USERS,
      "20250128_130000_index.sql": migrationText(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_users_id ON users (id);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS idx_users_id_email ON users (id, email);",
        "DROP INDEX CONCURRENTLY IF EXISTS idx_users_id_email;\nDROP INDEX CONCURRENTLY IF EXISTS idx_users_id;",
        "-- Transaction: none",
      ),
    });
    try {
      const runner = new MigrationRunner(ctx.driver);
      assertEquals(await runner.apply(t.dir), ["20250128_120000", "20250128_130000"]);
      const indexes = () =>
        ctx.sql<{ indexname: string }>(
          "SELECT indexname FROM pg_indexes WHERE tablename = 'users' ORDER BY 1",
        ).then((r) => r.map((x) => x.indexname));
      assertEquals(await indexes(), [
        "idx_users_email",
        "idx_users_id",
        "idx_users_id_email",
        "users_pkey",
      ]);
      assertEquals(await runner.rollback(t.dir), ["20250128_130000"]);
      assertEquals(await indexes(), ["idx_users_email", "users_pkey"]);
      assertEquals(await recorded(ctx), ["20250128_120000"]);
    } finally {
      t.remove();
    }
  },
);

driverTest(
  "a failing non-transactional migration names the statement and line and records nothing",
  async (ctx) => {
    const t = withFiles({
      "20250128_120000_users.sql": USERS,
      "20250128_130000_index.sql": migrationText(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_a ON users (id);\n\nCREATE INDEX CONCURRENTLY idx_b ON users (no_such_column);",
        "DROP INDEX CONCURRENTLY IF EXISTS idx_b;\nDROP INDEX CONCURRENTLY IF EXISTS idx_a;",
        "-- Transaction: none",
      ),
    });
    try {
      const runner = new MigrationRunner(ctx.driver);
      const error = await assertRejects<MigrationError>(() => runner.apply(t.dir));
      assertEquals([error.version, error.pgCode, error.line], ["20250128_130000", "42703", 5]);
      assertMatch(
        error.message,
        /statement 2 of 2 failed: .*statements 1\.\.1 were committed and were not rolled back; nothing was recorded/,
      );
      assertEquals(await recorded(ctx), ["20250128_120000"]);
      // Statement 1 stays; the fixed file re-runs thanks to IF NOT EXISTS.
      const [{ n }] = await ctx.sql<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_indexes WHERE indexname = 'idx_a'",
      );
      assertEquals(n, 1);
      t.write(
        "20250128_130000_index.sql",
        migrationText(
          "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_a ON users (id);\n\nCREATE INDEX CONCURRENTLY idx_b ON users (email);",
          "DROP INDEX CONCURRENTLY IF EXISTS idx_b;\nDROP INDEX CONCURRENTLY IF EXISTS idx_a;",
          "-- Transaction: none",
        ),
      );
      assertEquals(await runner.apply(t.dir), ["20250128_130000"]);
    } finally {
      t.remove();
    }
  },
);

driverTest(
  "a file with its own BEGIN/COMMIT applies as written, is recorded once and warns",
  async (ctx) => {
    const t = withFiles({
      "20250128_120000_own.sql": migrationText(
        "BEGIN;\nCREATE TABLE own (id INT);\nINSERT INTO own VALUES (1);\nCOMMIT;",
        "BEGIN;\nDROP TABLE own;\nCOMMIT;",
      ),
    });
    try {
      const events: RunEvent[] = [];
      const runner = new MigrationRunner(ctx.driver, { onEvent: (e) => events.push(e) });
      assertEquals(await runner.apply(t.dir), ["20250128_120000"]);
      assertEquals(await recorded(ctx), ["20250128_120000"]);
      const warnings = events.filter((e) => e.type === "warning");
      assertEquals(warnings.length, 1);
      assertMatch(JSON.stringify(warnings[0]), /_own\.sql:2: BEGIN controls the transaction/);
      assertEquals(await runner.rollback(t.dir), ["20250128_120000"]);
      assertEquals(await tables(ctx), ["public._migrations"]);
    } finally {
      t.remove();
    }
  },
);

driverTest(
  "a failing file with its own transaction is rolled back and not recorded",
  async (ctx) => {
    const t = withFiles({
      "20250128_120000_own.sql": migrationText(
        "BEGIN;\nCREATE TABLE own (id INT);\nINSERT INTO own VALUES ('x');\nCOMMIT;",
        "DROP TABLE own;",
      ),
    });
    try {
      const runner = new MigrationRunner(ctx.driver);
      const error = await assertRejects<MigrationError>(() => runner.apply(t.dir));
      assertEquals([error.line, error.pgCode], [4, "22P02"]);
      assertEquals(await tables(ctx), ["public._migrations"]);
      assertEquals(await recorded(ctx), []);
      // The session is usable again: the open transaction was ended.
      assertEquals(await ctx.sql("SELECT 1 AS one"), [{ one: 1 }]);
    } finally {
      t.remove();
    }
  },
);

driverTest("a PL/pgSQL body holding -- DOWN and semicolons applies intact", async (ctx) => {
  const t = withFiles({
    "20250128_120000_fn.sql": [
      "-- UP",
      "CREATE FUNCTION shout(t TEXT) RETURNS TEXT AS $body$",
      "-- DOWN",
      "DECLARE s TEXT := ';';",
      "BEGIN",
      "  RETURN upper(t) || s || '-- DOWN';",
      "END;",
      "$body$ LANGUAGE plpgsql;",
      "-- DOWN",
      "DROP FUNCTION shout(TEXT);",
    ].join("\n"),
  });
  try {
    const runner = new MigrationRunner(ctx.driver);
    await runner.apply(t.dir);
    assertEquals(await ctx.sql("SELECT shout('hi') AS v"), [{ v: "HI;-- DOWN" }]);
    await runner.rollback(t.dir);
    assertEquals(await ctx.sql("SELECT to_regproc('shout') AS f"), [{ f: null }]);
  } finally {
    t.remove();
  }
});

driverTest("migrations built in code apply through the runner", async (ctx) => {
  const runner = new MigrationRunner(ctx.driver, { migrationsTable: "my_custom_migrations" });
  const migration = await Migration.new({
    version: "20250128_120000",
    name: "create users",
    up: "CREATE TABLE users (id SERIAL PRIMARY KEY);",
    down: "DROP TABLE users;",
  });
  await runner.init();
  assertEquals(await runner.apply(migration), ["20250128_120000"]);
  assertEquals(await recorded(ctx, "my_custom_migrations"), ["20250128_120000"]);
  assertEquals(await runner.rollback([migration], 1), ["20250128_120000"]);
  assertEquals(await recorded(ctx, "my_custom_migrations"), []);
});

/** A file this parser refuses (an unterminated string in its UP). */
const REFUSED = "-- UP\nCREATE TABLE old (note TEXT DEFAULT 'open);\n-- DOWN\nDROP TABLE old;\n";

/**
 * Records REFUSED as 20250128_110000, applied a day ago with its checksum, as
 * another tool or an older release might have.
 */
async function recordRefused(ctx: DriverContext, runner: MigrationRunner): Promise<void> {
  await runner.init();
  await ctx.sql(
    "INSERT INTO _migrations (version, description, checksum, applied_at) VALUES ($1, $2, $3, now() - interval '1 day')",
    [
      "20250128_110000",
      "recorded description",
      migrationFile({ name: "20250128_110000_old.sql", content: REFUSED }).checksum,
    ],
  );
}

driverTest(
  "status and apply trust an applied file that is unchanged without parsing it again; validate does not",
  async (ctx) => {
    const t = withFiles({ "20250128_110000_old.sql": REFUSED, "20250128_120000_users.sql": USERS });
    try {
      const runner = new MigrationRunner(ctx.driver);
      await recordRefused(ctx, runner);
      const status = await runner.status(t.dir);
      assertEquals(status.migrations.map((m) => [m.state, m.description]), [
        ["applied", "recorded description"],
        ["pending", "create users"],
      ]);
      assertEquals(await runner.apply(t.dir), ["20250128_120000"]);
      const report = await runner.validate(t.dir);
      assertEquals(report.problems.map((p) => p.code), ["UNTERMINATED"]);
      // Once changed, it is parsed again, and its problem stops every command.
      t.write("20250128_110000_old.sql", REFUSED.replace("open", "opened"));
      for (const command of [() => runner.status(t.dir), () => runner.apply(t.dir)]) {
        const error = await assertRejects<ValidationError>(command);
        assertEquals(error.code, "UNTERMINATED");
      }
    } finally {
      t.remove();
    }
  },
);

driverTest("rollback parses only the files of the migrations it reverts", async (ctx) => {
  const t = withFiles({ "20250128_110000_old.sql": REFUSED, "20250128_120000_users.sql": USERS });
  try {
    const runner = new MigrationRunner(ctx.driver);
    await recordRefused(ctx, runner);
    assertEquals(await runner.apply(t.dir), ["20250128_120000"]);
    assertEquals(await runner.rollback(t.dir, { dryRun: true, steps: 1 }), ["20250128_120000"]);
    assertEquals(await runner.rollback(t.dir, 1), ["20250128_120000"]);
    // The next one to revert is the file this parser refuses: now it must be parsed.
    const error = await assertRejects<ValidationError>(() => runner.rollback(t.dir, 1));
    assertEquals([error.code, error.version], ["UNTERMINATED", "20250128_110000"]);
    assertEquals(await recorded(ctx), ["20250128_110000"]);
  } finally {
    t.remove();
  }
});

/** The limits each migration of a run saw, recorded by the migrations themselves. */
const SEEN_LIMITS = (name: string) =>
  migrationText(
    `CREATE TABLE ${name} AS SELECT current_setting('lock_timeout') AS lock, current_setting('statement_timeout') AS statement;`,
    `DROP TABLE ${name};`,
  );

async function seen(ctx: DriverContext, name: string): Promise<[string, string]> {
  const [row] = await ctx.sql<{ lock: string; statement: string }>(
    `SELECT lock, statement FROM ${name}`,
  );
  return [row.lock, row.statement];
}

driverTest(
  "every migration of a run has the run's limits, even after one that changed them for the session",
  async (ctx) => {
    const t = withFiles({
      "20250128_120000_first.sql": SEEN_LIMITS("first"),
      "20250128_121000_changes.sql": migrationText(
        "SET lock_timeout = '77s'; SET statement_timeout = '88s'; CREATE TABLE changes ();",
        "RESET ALL; DROP TABLE changes;",
      ),
      "20250128_122000_after.sql": SEEN_LIMITS("after"),
      "20250128_123000_later.sql": SEEN_LIMITS("later"),
    });
    try {
      const runner = new MigrationRunner(ctx.driver, { lockTimeout: "3s", statementTimeout: "9s" });
      await runner.apply(t.dir);
      assertEquals(await seen(ctx, "first"), ["3s", "9s"]);
      assertEquals(await seen(ctx, "after"), ["3s", "9s"]);
      assertEquals(await seen(ctx, "later"), ["3s", "9s"]);
      // The driver was the caller's: its session has its own values back.
      assertEquals(
        await seen(
          ctx,
          "(SELECT current_setting('lock_timeout') AS lock, current_setting('statement_timeout') AS statement) AS s",
        ),
        ["0", "0"],
      );
    } finally {
      t.remove();
    }
  },
);

driverTest(
  "a migration outside a transaction runs without the run's limits, and the next one has them again",
  async (ctx) => {
    const t = withFiles({
      "20250128_120000_first.sql": SEEN_LIMITS("first"),
      "20250128_121000_loose.sql": `-- Transaction: none\n${SEEN_LIMITS("loose")}`,
      "20250128_122000_after.sql": SEEN_LIMITS("after"),
    });
    try {
      await new MigrationRunner(ctx.driver, { lockTimeout: "3s" }).apply(t.dir);
      assertEquals(await seen(ctx, "first"), ["3s", "0"]);
      assertEquals(await seen(ctx, "loose"), ["0", "0"]);
      assertEquals(await seen(ctx, "after"), ["3s", "0"]);
    } finally {
      t.remove();
    }
  },
);

driverTest(
  "with --lock-mode table each transaction sets its own limits and the session keeps none",
  async (ctx) => {
    const t = withFiles({
      "20250128_120000_first.sql": SEEN_LIMITS("first"),
      "20250128_121000_second.sql": SEEN_LIMITS("second"),
    });
    try {
      await new MigrationRunner(ctx.driver, { lockTimeout: "3s", lockMode: "table" }).apply(t.dir);
      assertEquals(await seen(ctx, "first"), ["3s", "0"]);
      assertEquals(await seen(ctx, "second"), ["3s", "0"]);
      const [row] = await ctx.sql<{ v: string }>("SELECT current_setting('lock_timeout') AS v");
      assertEquals(row.v, "0");
    } finally {
      t.remove();
    }
  },
);

driverTest(
  "a no-op apply reads only versions and checksums, and still refuses a modified file",
  async (ctx) => {
    const t = withFiles({ "20250128_120000_users.sql": USERS, "20250128_130000_posts.sql": POSTS });
    try {
      const runner = new MigrationRunner(ctx.driver);
      await runner.apply(t.dir);
      assertEquals(await runner.apply(t.dir), []);
      t.write("20250128_120000_users.sql", USERS.replace("email TEXT", "mail TEXT"));
      const error = await assertRejects<ValidationError>(() => runner.apply(t.dir));
      assertEquals(error.code, "CHECKSUM_MISMATCH");
    } finally {
      t.remove();
    }
  },
);

driverTest(
  "apply on a tracking table made by an earlier tool (no execution_ms, applied_by) adds the columns",
  async (ctx) => {
    await ctx.sql(
      "CREATE TABLE _migrations (version VARCHAR(255) PRIMARY KEY, description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW(), checksum VARCHAR(64) NOT NULL)",
    );
    const t = withFiles({ "20250128_120000_users.sql": USERS });
    try {
      assertEquals(await new MigrationRunner(ctx.driver).apply(t.dir), ["20250128_120000"]);
      const columns = await ctx.sql<{ name: string }>(
        "SELECT attname::text AS name FROM pg_attribute WHERE attrelid = '_migrations'::regclass AND attnum > 0 ORDER BY attnum",
      );
      assertEquals(columns.map((c) => c.name).slice(-2), ["execution_ms", "applied_by"]);
      assertEquals(await new MigrationRunner(ctx.driver).apply(t.dir), []);
    } finally {
      t.remove();
    }
  },
);

driverTest(
  "with singleTransaction a failure leaves none of the run's migrations applied, or reverted",
  async (ctx) => {
    const BAD = "20250128_140000_bad.sql";
    const t = withFiles({
      "20250128_120000_users.sql": USERS,
      "20250128_130000_posts.sql": POSTS,
      [BAD]: migrationText("CREATE TABLE bad (id INT);\nSELECT nope;", "DROP TABLE bad;"),
    });
    try {
      const runner = new MigrationRunner(ctx.driver);
      const error = await assertRejects<MigrationError>(() =>
        runner.apply(t.dir, { singleTransaction: true })
      );
      assertEquals([error.version, error.pgCode, error.completed], [
        "20250128_140000",
        "42703",
        [],
      ]);
      assertMatch(
        error.message,
        /; the run was one transaction \(--single-transaction\): the 2 migrations before it were rolled back too, nothing was applied$/,
      );
      assertEquals(await recorded(ctx), []);
      assertEquals((await tables(ctx)).filter((name) => !name.endsWith("._migrations")), []);

      rmSync(join(t.dir, BAD));
      assertEquals(await runner.apply(t.dir, { singleTransaction: true }), [
        "20250128_120000",
        "20250128_130000",
      ]);
      // A DOWN that fails after another was reverted in the same transaction.
      t.write(
        "20250128_150000_tags.sql",
        migrationText("CREATE TABLE tags (id INT);", "DROP TABLE tags;\nSELECT nope;"),
      );
      t.write(
        "20250128_160000_more.sql",
        migrationText("CREATE TABLE more ();", "DROP TABLE more;"),
      );
      await runner.apply(t.dir);
      const down = await assertRejects<MigrationError>(() =>
        runner.rollback(t.dir, { steps: 2, singleTransaction: true })
      );
      assertEquals([down.version, down.completed], ["20250128_150000", []]);
      assertMatch(
        down.message,
        /the 1 migration before it was rolled back too, nothing was reverted$/,
      );
      assertEquals((await recorded(ctx)).length, 4);
      assert((await tables(ctx)).includes("public.more"), "the DOWN run before it was undone");
      assertEquals(await runner.rollback(t.dir, { steps: 1, singleTransaction: true }), [
        "20250128_160000",
      ]);
    } finally {
      t.remove();
    }
  },
);

driverTest(
  "with singleTransaction each migration records its own time, and one without a transaction is refused before anything changes",
  async (ctx) => {
    const t = withFiles({
      "20250128_120000_slow.sql": migrationText(
        "CREATE TABLE slow ();\nSELECT pg_sleep(0.3);",
        "DROP TABLE slow;",
      ),
      "20250128_130000_fast.sql": migrationText("CREATE TABLE fast ();", "DROP TABLE fast;"),
      "20250128_140000_index.sql": migrationText(
        "CREATE INDEX CONCURRENTLY fast_i ON fast ((1));",
        "DROP INDEX CONCURRENTLY fast_i;",
        "-- Transaction: none",
      ),
    });
    try {
      const runner = new MigrationRunner(ctx.driver);
      const refused = await assertRejects<ValidationError>(() =>
        runner.apply(t.dir, { singleTransaction: true })
      );
      assertEquals([refused.code, refused.version], ["SINGLE_TRANSACTION", "20250128_140000"]);
      assertMatch(
        refused.message,
        /runs outside a transaction \(-- Transaction: none\), which --single-transaction cannot hold/,
      );
      assertEquals(await tables(ctx), [], "not even the tracking table was made");

      await runner.apply(t.dir, { singleTransaction: true, to: "20250128_130000" });
      const rows = await ctx.sql<{ version: string; ms: number }>(
        "SELECT version, execution_ms AS ms FROM _migrations ORDER BY version",
      );
      assert(rows[0].ms >= 250, `the slow one: ${rows[0].ms} ms`);
      assert(rows[1].ms < 200, `the fast one, after it in the same transaction: ${rows[1].ms} ms`);
    } finally {
      t.remove();
    }
  },
);

serverTest(
  "singleTransaction with the lock row (--lock-mode table) takes it for the whole run",
  async () => {
    const db = await freshDatabase();
    const t = withFiles({ "20250128_120000_users.sql": USERS, "20250128_130000_posts.sql": POSTS });
    const sql = postgresJs(db.url, { max: 1, onnotice: () => {} });
    try {
      const runner = new MigrationRunner(db.url, { lockMode: "table", lockWaitSeconds: 0.3 });
      assertEquals(
        (await runner.apply(t.dir, { singleTransaction: true, to: "20250128_120000" })).length,
        1,
      );
      // Another run holds the lock row: this one waits for it, then gives up.
      await sql.begin(async (tx) => {
        await tx`SELECT id FROM _migrations_lock WHERE id = 1 FOR UPDATE`;
        const error = await assertRejects<Error>(() =>
          runner.apply(t.dir, { singleTransaction: true })
        );
        assertMatch(
          error.message,
          /gave up after 0\.3s waiting for the lock row in "_migrations_lock"/,
        );
      });
      assertEquals(await runner.apply(t.dir, { singleTransaction: true }), ["20250128_130000"]);
      await runner.close();
    } finally {
      await sql.end();
      t.remove();
      await db.drop();
    }
  },
);

driverTest(
  "a migration that releases the migration lock (DISCARD ALL, pg_advisory_unlock_all) has it held again before the next one",
  async (ctx) => {
    const t = withFiles({
      "20250201_000001_discard.sql": migrationText(
        "DISCARD ALL;\nCREATE TABLE l1 (id int);",
        "DROP TABLE l1;",
        "-- Transaction: none",
      ),
      "20250201_000002_unlock.sql": migrationText(
        "SELECT pg_advisory_unlock_all();\nCREATE TABLE l2 (id int);",
        "DROP TABLE l2;",
      ),
      // What the session holds while the next migration runs.
      "20250201_000003_after.sql": migrationText(
        "CREATE TABLE l3 AS SELECT count(*)::int AS held FROM pg_locks " +
          "WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted;",
        "DROP TABLE l3;",
      ),
    });
    try {
      assertEquals((await new MigrationRunner(ctx.driver).apply(t.dir)).length, 3);
      // PGlite's lock is its folder's, not an advisory lock.
      const [row] = await ctx.sql<{ held: number }>("SELECT held FROM l3");
      assertEquals(row.held, ctx.kind === "pglite" ? 0 : 1);
    } finally {
      t.remove();
    }
  },
);

serverTest(
  "a run stops with LOCK_LOST when a migration released the lock and another run took it",
  async () => {
    const db = await freshDatabase();
    const t = withFiles({
      "20250201_000001_unlock.sql": migrationText(
        "SELECT pg_advisory_unlock_all();\nSELECT pg_sleep(0.5);\nCREATE TABLE l1 (id int);",
        "DROP TABLE l1;",
      ),
      "20250201_000002_next.sql": migrationText("CREATE TABLE l2 (id int);", "DROP TABLE l2;"),
    });
    const other = postgresJs(db.url, { max: 1, onnotice: () => {} });
    const runner = new MigrationRunner(db.url);
    let stop = false;
    try {
      await runner.init();
      // Another run's session, taking the lock the moment it is free.
      const taking = (async () => {
        while (!stop) {
          const [{ got }] = await other`
            SELECT pg_try_advisory_lock(${ADVISORY_LOCK_KEY.toString()}::bigint) AS got`;
          if (got) return true;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        return false;
      })();
      const error = await assertRejects<DataBridgeError>(() => runner.apply(t.dir));
      assertEquals([error.code, error.completed], ["LOCK_LOST", ["20250201_000001"]]);
      assertMatch(error.message, /released the migration lock .* another run took it/);
      assert(await taking);
      assertEquals(await recordedAt(db.url), ["20250201_000001"]);
    } finally {
      stop = true;
      await runner.close();
      await other.end();
      t.remove();
      await db.drop();
    }
  },
);

async function recordedAt(url: string): Promise<string[]> {
  const rows = await adminQuery<{ version: string }>(
    url,
    "SELECT version FROM _migrations ORDER BY 1",
  );
  return rows.map((r) => r.version);
}
