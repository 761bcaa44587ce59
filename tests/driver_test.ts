/** The driver interface's transaction of statements sent together, on both drivers. */
import { DatabaseError, type DataBridgeError } from "../lib/errors.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "./support/assert.ts";
import { type DriverContext, driverTest } from "./support/db.ts";

driverTest("atomic commits every statement together and returns each one's rows", async (ctx) => {
  const rows = await ctx.driver.atomic([
    { sql: "CREATE TABLE a (id int); CREATE TABLE b (id int);", script: true },
    { sql: "INSERT INTO a VALUES ($1) RETURNING id", params: [7] },
    { sql: "SELECT count(*)::int AS n FROM b" },
  ]);
  assertEquals(rows, [[], [{ id: 7 }], [{ n: 0 }]]);
  assertEquals(await ctx.sql("SELECT id FROM a"), [{ id: 7 }]);
});

driverTest(
  "atomic keeps nothing when a statement fails, throws that statement's error, and leaves no transaction open",
  async (ctx) => {
    const error = await assertRejects<DatabaseError>(
      () =>
        ctx.driver.atomic([
          { sql: "CREATE TABLE kept_not (id int)", script: true },
          { sql: "SELECT * FROM missing_table" },
          { sql: "INSERT INTO kept_not VALUES ($1)", params: [1] },
        ]),
      (e) => assert(e instanceof DatabaseError, String(e)),
    );
    assertEquals(error.pgCode, "42P01");
    assertEquals(await ctx.sql("SELECT to_regclass('kept_not')::text AS t"), [{ t: null }]);
    // Outside any transaction now: what runs next is committed on its own.
    await ctx.driver.exec("CREATE TABLE after_failure (id int)");
    await ctx.driver.exec("ROLLBACK");
    assertEquals(await ctx.sql("SELECT to_regclass('after_failure')::text AS t"), [{
      t: "after_failure",
    }]);
  },
);

driverTest(
  "a session the server ends while idle in a transaction says why on the next query",
  async (ctx: DriverContext) => {
    // PGlite has no server to end its session.
    if (ctx.kind === "pglite") return;
    const error = await assertRejects<DataBridgeError>(() =>
      ctx.driver.transaction(async (tx) => {
        await tx.exec("SET LOCAL idle_in_transaction_session_timeout = '50ms'");
        await new Promise((resolve) => setTimeout(resolve, 400));
        await tx.query("SELECT 1");
      })
    );
    assertEquals(error.code, "CONNECTION_LOST", error.message);
    // postgres.js keeps no word of an error the server sends with no query waiting.
    if (ctx.kind === "wire") {
      assertMatch(error.message, /idle-in-transaction timeout \(SQLSTATE 25P03\)/);
    }
  },
);
