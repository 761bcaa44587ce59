import {
  canSendAhead,
  type Direction,
  executeMigration,
  type ExecuteSettings,
  sendAhead,
} from "../lib/execute.ts";
import { ensureHistoryTable } from "../lib/history.ts";
import { type Migration, migrationFile, parseMigrationFile } from "../lib/migration.ts";
import { MigrationRunner } from "../lib/runner.ts";
import { assert, assertEquals, assertRejects } from "./support/assert.ts";
import { type DriverContext, driverTest } from "./support/db.ts";
import { migrationText, tempMigrations } from "./support/files.ts";

const TABLE = { schema: null, name: "_migrations" };

function migration(name: string, up: string, down = "", header = ""): Migration {
  return parseMigrationFile(migrationFile({ name, content: migrationText(up, down, header) }));
}

const A = migration("20250101_000000_a.sql", "CREATE TABLE a (id INT);", "DROP TABLE a;");
const B = migration("20250102_000000_b.sql", "CREATE TABLE b (id INT);", "DROP TABLE b;");
const BAD = migration("20250101_000000_bad.sql", "CREATE TABLE bad (id INT);\nSELECT 1/0;");
const LOOSE = migration(
  "20250102_000000_loose.sql",
  "CREATE INDEX CONCURRENTLY i ON a (id);",
  "",
  "-- Transaction: none\n",
);

function settings(): ExecuteSettings {
  return { table: TABLE, sessionLock: true, sessionLimits: { inForce: false, set: false } };
}

async function state(ctx: DriverContext): Promise<{ recorded: string[]; tables: string[] }> {
  const rows = await ctx.sql<{ version: string }>("SELECT version FROM _migrations ORDER BY 1");
  const tables = await ctx.sql<{ name: string }>(
    "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('a', 'b', 'bad') ORDER BY 1",
  );
  return { recorded: rows.map((r) => r.version), tables: tables.map((t) => t.name) };
}

/** Runs `first` and sends `second` behind it where the session can; waits for both. */
async function runPair(
  ctx: DriverContext,
  direction: Direction,
  first: Migration,
  second: Migration,
  s: ExecuteSettings,
): Promise<{ first: PromiseSettledResult<unknown>; second: PromiseSettledResult<unknown> }> {
  const running = executeMigration(ctx.driver, direction, first, s);
  const ahead = canSendAhead(ctx.driver, first, second, s)
    ? sendAhead(ctx.driver, direction, second, first, s)
    : undefined;
  const [one] = await Promise.allSettled([running]);
  if (one.status === "rejected") {
    // As the runner does: the first failed, so the second is not run (only awaited).
    const outcome = await ahead?.outcome.catch((error) => error);
    return { first: one, second: { status: "fulfilled", value: outcome } };
  }
  const [two] = await Promise.allSettled([
    executeMigration(ctx.driver, direction, second, s, ahead),
  ]);
  return { first: one, second: two };
}

driverTest(
  "a server session sends the next migration ahead; PGlite runs them one by one",
  async (ctx) => {
    await ensureHistoryTable(ctx.driver, TABLE);
    assertEquals(canSendAhead(ctx.driver, A, B, settings()), ctx.kind !== "pglite");
    // Never around a migration outside a transaction, nor with --lock-mode table.
    assertEquals(canSendAhead(ctx.driver, A, LOOSE, settings()), false);
    assertEquals(canSendAhead(ctx.driver, LOOSE, B, settings()), false);
    const table = { ...settings(), lockTable: { schema: null, name: "_migrations_lock" } };
    assertEquals(canSendAhead(ctx.driver, A, B, table), false);
    // Only under the session lock (never through a transaction pooler).
    assertEquals(canSendAhead(ctx.driver, A, B, { table: TABLE }), false);
    assertEquals(canSendAhead(ctx.driver, B, A, { table: TABLE }), false);
  },
);

driverTest("a migration sent ahead commits after the one before it, with its row", async (ctx) => {
  await ensureHistoryTable(ctx.driver, TABLE);
  const s = settings();
  const { first, second } = await runPair(ctx, "up", A, B, s);
  assertEquals([first.status, second.status], ["fulfilled", "fulfilled"]);
  assertEquals(await state(ctx), {
    recorded: ["20250101_000000", "20250102_000000"],
    tables: ["a", "b"],
  });
  // The limits were set once, in the first, and stand.
  assertEquals(s.sessionLimits, { inForce: true, set: true });
  const [row] = await ctx.sql<{ v: string }>("SELECT current_setting('lock_timeout') AS v");
  assertEquals(row.v, "5s");
});

driverTest(
  "a migration sent ahead runs nothing when the one before it fails",
  async (ctx) => {
    await ensureHistoryTable(ctx.driver, TABLE);
    const { first, second } = await runPair(ctx, "up", BAD, B, settings());
    assertEquals(first.status, "rejected");
    // Its guard stopped it (false); PGlite never sent it (undefined).
    const outcome = (second as PromiseFulfilledResult<unknown>).value;
    assertEquals(outcome, ctx.kind === "pglite" ? undefined : false);
    assertEquals(await state(ctx), { recorded: [], tables: [] });
    // The session is usable, and the one stopped runs when sent again.
    await executeMigration(ctx.driver, "up", B, settings());
    assertEquals(await state(ctx), { recorded: ["20250102_000000"], tables: ["b"] });
  },
);

driverTest("a DOWN sent ahead waits for the DOWN before it to take its row away", async (ctx) => {
  await ensureHistoryTable(ctx.driver, TABLE);
  await executeMigration(ctx.driver, "up", A, settings());
  await executeMigration(ctx.driver, "up", B, settings());
  const { first, second } = await runPair(ctx, "down", B, A, settings());
  assertEquals([first.status, second.status], ["fulfilled", "fulfilled"]);
  assertEquals(await state(ctx), { recorded: [], tables: [] });
});

driverTest("a DOWN sent ahead runs nothing when the DOWN before it fails", async (ctx) => {
  await ensureHistoryTable(ctx.driver, TABLE);
  const badDown = migration(
    "20250102_000000_b.sql",
    "CREATE TABLE b (id INT);",
    "DROP TABLE b;\nSELECT 1/0;",
  );
  await executeMigration(ctx.driver, "up", A, settings());
  await executeMigration(ctx.driver, "up", badDown, settings());
  const { first, second } = await runPair(ctx, "down", badDown, A, settings());
  assertEquals(first.status, "rejected");
  // Its guard, in its history row's DELETE, stopped it (false); PGlite never sent it.
  const outcome = (second as PromiseFulfilledResult<unknown>).value;
  assertEquals(outcome, ctx.kind === "pglite" ? undefined : false);
  assertEquals(await state(ctx), {
    recorded: ["20250101_000000", "20250102_000000"],
    tables: ["a", "b"],
  });
});

driverTest("the guard's failure is never taken for the migration's own error", async (ctx) => {
  await ensureHistoryTable(ctx.driver, TABLE);
  // The one sent ahead fails by itself, its predecessor having committed: its own error.
  const castFails = migration("20250102_000000_cast.sql", "SELECT 'x'::integer;");
  const running = executeMigration(ctx.driver, "up", A, settings());
  const ahead = canSendAhead(ctx.driver, A, castFails, settings())
    ? sendAhead(ctx.driver, "up", castFails, A, settings())
    : undefined;
  await running;
  const error = await assertRejects(() =>
    executeMigration(ctx.driver, "up", castFails, settings(), ahead)
  );
  assert(String(error).includes("invalid input syntax"), String(error));
  assert(!String(error).includes("did not commit"), String(error));
  assertEquals((await state(ctx)).recorded, ["20250101_000000"]);
});

/** Where each table is, and who owns it. */
async function placed(ctx: DriverContext): Promise<string[]> {
  const rows = await ctx.sql<{ t: string }>(
    "SELECT schemaname || '.' || tablename || ' ' || tableowner AS t FROM pg_tables " +
      "WHERE schemaname IN ('public', 'app') ORDER BY 1",
  );
  return rows.map((r) => r.t);
}

driverTest(
  "each migration of a run starts in the run's search_path and role, whatever one before it set",
  async (ctx) => {
    const role = `db_test_owner_${crypto.randomUUID().slice(0, 8)}`;
    const [me] = await ctx.sql<{ u: string }>("SELECT current_user AS u");
    const state = "SELECT current_setting('search_path') AS path, current_setting('role') AS role";
    const [before] = await ctx.sql<{ path: string; role: string }>(state);
    await ctx.driver.exec(`CREATE ROLE ${role}; GRANT CREATE ON SCHEMA public TO ${role}`);
    const t = tempMigrations({
      "20250101_000001_app.sql": migrationText(
        "CREATE SCHEMA app;\nSET search_path TO app;\nCREATE TABLE t1 (id int);",
        "DROP SCHEMA app CASCADE;",
      ),
      "20250101_000002_plain.sql": migrationText("CREATE TABLE t2 (id int);", "DROP TABLE t2;"),
      // pg_dump's files begin so.
      "20250101_000003_dumped.sql": migrationText(
        "SELECT pg_catalog.set_config('search_path', '', false);\nCREATE TABLE public.t3 (id int);",
        "SET search_path = '';\nDROP TABLE public.t3;",
      ),
      "20250101_000004_loose.sql": migrationText(
        "SET search_path TO app;\nCREATE TABLE t4 (id int);",
        "SET SCHEMA 'app';\nDROP TABLE t4;",
        "-- Transaction: none",
      ),
      "20250101_000005_owned.sql": migrationText(
        `SET ROLE ${role};\nCREATE TABLE t5 (id int);`,
        "DROP TABLE t5;",
      ),
      "20250101_000006_plain.sql": migrationText("CREATE TABLE t6 (id int);", "DROP TABLE t6;"),
      // Two migrations with a temporary table of the same name, as each would run alone.
      "20250101_000007_temp.sql": migrationText(
        "CREATE TEMP TABLE map AS SELECT 1 AS x;\nCREATE TABLE t7 AS SELECT * FROM map;",
        "DROP TABLE t7;",
      ),
      "20250101_000008_temp.sql": migrationText(
        "CREATE TEMPORARY TABLE map AS SELECT 2 AS x;\nCREATE TABLE t8 AS SELECT * FROM map;",
        "DROP TABLE t8;",
        "-- Transaction: none",
      ),
    });
    try {
      const runner = new MigrationRunner(ctx.driver);
      assertEquals((await runner.apply(t.dir)).length, 8);
      assertEquals(await placed(ctx), [
        `app.t1 ${me.u}`,
        `app.t4 ${me.u}`,
        `public._migrations ${me.u}`,
        `public.t2 ${me.u}`,
        `public.t3 ${me.u}`,
        `public.t5 ${role}`,
        `public.t6 ${me.u}`,
        `public.t7 ${me.u}`,
        `public.t8 ${me.u}`,
      ]);
      assertEquals(await ctx.sql("SELECT to_regclass('pg_temp.map')::text AS t"), [{ t: null }]);
      // Each history row was written in the run's search_path, as the run's user.
      const rows = await ctx.sql<{ by: string }>(
        "SELECT applied_by AS by FROM public._migrations ORDER BY version",
      );
      assertEquals(rows.map((r) => r.by), Array(8).fill(me.u));
      assertEquals(await ctx.sql(state), [before]);

      // Reverted in one run too: each DOWN starts where the run began.
      assertEquals((await runner.rollback(t.dir, { to: "0" })).length, 8);
      assertEquals(await placed(ctx), [`public._migrations ${me.u}`]);

      // In one transaction (--single-transaction) as well.
      t.write("20250101_000004_loose.sql", migrationText("SET search_path TO app;", "SELECT 1;"));
      t.write(
        "20250101_000008_temp.sql",
        migrationText(
          "CREATE TEMP TABLE map AS SELECT 2 AS x;\nCREATE TABLE t8 AS SELECT * FROM map;",
          "DROP TABLE t8;",
        ),
      );
      await runner.apply(t.dir, { singleTransaction: true });
      assertEquals(
        (await placed(ctx)).filter((x) => / public\.t[2678] /.test(` ${x} `)).length,
        4,
      );
    } finally {
      t.remove();
      await ctx.driver.exec(
        `RESET ROLE; DROP OWNED BY ${role}; DROP ROLE IF EXISTS ${role}`,
      ).catch(() => {});
    }
  },
);

driverTest(
  "the history row reaches the run's table when a migration moves the search_path without naming it",
  async (ctx) => {
    const [before] = await ctx.sql<{ path: string }>(
      "SELECT current_setting('search_path') AS path",
    );
    const t = tempMigrations({
      "20250101_000001_function.sql": migrationText(
        "CREATE SCHEMA app;\nCREATE FUNCTION public.go_app() RETURNS text LANGUAGE sql " +
          "AS $$ SELECT set_config('search_path', 'app', false) $$;",
        "DROP FUNCTION public.go_app();\nDROP SCHEMA app;",
      ),
      // Nothing here says search_path: the run cannot know to restore it.
      "20250101_000002_moved.sql": migrationText(
        "SELECT public.go_app();\nCREATE TABLE t7 (id int);",
        "DROP TABLE app.t7;",
      ),
    });
    try {
      assertEquals((await new MigrationRunner(ctx.driver).apply(t.dir)).length, 2);
      assertEquals(
        (await ctx.sql<{ v: string }>("SELECT version AS v FROM public._migrations ORDER BY 1"))
          .map((r) => r.v),
        ["20250101_000001", "20250101_000002"],
      );
      assertEquals((await placed(ctx)).map((p) => p.split(" ")[0]), [
        "app.t7",
        "public._migrations",
      ]);
    } finally {
      t.remove();
      await ctx.sql("SELECT set_config('search_path', $1, false)", [before.path]);
    }
  },
);
