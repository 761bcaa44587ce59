/** Reading the tracking table: the aggregated read, its row-by-row fallback, and older tables. */
import { ensureHistoryTable, readChecksums, readHistory } from "../lib/history.ts";
import type { TableName } from "../lib/ident.ts";
import { assertEquals } from "./support/assert.ts";
import { driverTest } from "./support/db.ts";

const TABLE: TableName = { schema: null, name: "_migrations" };

/** The table as `SELECT *` returns it, for comparison with what readHistory made of it. */
async function rowsAsSelected(sql: (text: string) => Promise<Record<string, unknown>[]>) {
  const rows = await sql(
    `SELECT version, description, checksum, execution_ms, applied_by,
            (extract(epoch FROM date_trunc('milliseconds', applied_at)) * 1000)::float8 AS ms
       FROM _migrations ORDER BY version`,
  );
  return rows.map((r) => ({
    version: r.version,
    description: r.description,
    appliedAt: Number(r.ms),
    checksum: r.checksum,
    executionMs: r.execution_ms === null ? null : Number(r.execution_ms),
    appliedBy: r.applied_by,
  }));
}

async function readAsPlain(ctx: { driver: Parameters<typeof readHistory>[0] }) {
  const history = await readHistory(ctx.driver, TABLE);
  return {
    current: history?.current,
    rows: history?.rows.map((r) => ({ ...r, appliedAt: r.appliedAt.getTime() })),
  };
}

driverTest("readHistory returns every column of every row, in version order", async (ctx) => {
  await ensureHistoryTable(ctx.driver, TABLE);
  await ctx.sql(
    `INSERT INTO _migrations (version, description, applied_at, checksum, execution_ms, applied_by) VALUES
       ('20250102_000000', 'second', '2025-01-02 03:04:05.123+00', 'bb', NULL, NULL),
       ('20250101_000000', 'first', '2025-01-01 00:00:00.999999+00', 'aa', 12, 'alice'),
       ('20250103_000000', '', '2025-01-03 10:00:00+02', 'cc', 0, '')`,
  );
  const read = await readAsPlain(ctx);
  assertEquals(read.current, true);
  assertEquals(read.rows, [
    // Microseconds are cut to the millisecond, never rounded up into the next one.
    {
      version: "20250101_000000",
      description: "first",
      appliedAt: Date.UTC(2025, 0, 1, 0, 0, 0, 999),
      checksum: "aa",
      executionMs: 12,
      appliedBy: "alice",
    },
    {
      version: "20250102_000000",
      description: "second",
      appliedAt: Date.UTC(2025, 0, 2, 3, 4, 5, 123),
      checksum: "bb",
      executionMs: null,
      appliedBy: null,
    },
    {
      version: "20250103_000000",
      description: "",
      appliedAt: Date.UTC(2025, 0, 3, 8, 0, 0, 0),
      checksum: "cc",
      executionMs: 0,
      appliedBy: "",
    },
  ]);
  assertEquals(read.rows, await rowsAsSelected(ctx.sql));
  // Stored out of order (as a migration merged from another branch is): read in version order.
  assertEquals((await readChecksums(ctx.driver, TABLE))?.rows, [
    { version: "20250101_000000", checksum: "aa" },
    { version: "20250102_000000", checksum: "bb" },
    { version: "20250103_000000", checksum: "cc" },
  ]);
});

driverTest(
  "readHistory without applied_by gives the same rows with no names, also when read row by row",
  async (ctx) => {
    await ensureHistoryTable(ctx.driver, TABLE);
    await ctx.sql(
      `INSERT INTO _migrations (version, description, applied_at, checksum, execution_ms, applied_by) VALUES
         ('20250102_000000', 'second', '2025-01-02 03:04:05.123+00', 'bb', NULL, 'bob'),
         ('20250101_000000', 'first', '2025-01-01 00:00:00.999999+00', 'aa', 12, 'alice')`,
    );
    const unnamed = (h: Awaited<ReturnType<typeof readHistory>>) =>
      h?.rows.map((r) => ({ ...r, appliedBy: null }));
    const all = await readHistory(ctx.driver, TABLE);
    const some = await readHistory(ctx.driver, TABLE, { appliedBy: false });
    assertEquals([all?.current, all?.rows[0].appliedBy], [true, "alice"]);
    assertEquals(some, { rows: unnamed(all)!, current: false });
    // A description holding a line break: the row-by-row read, without names too.
    await ctx.sql(
      `UPDATE _migrations SET description = E'two\\nlines' WHERE version = '20250101_000000'`,
    );
    const rowwise = await readHistory(ctx.driver, TABLE, { appliedBy: false });
    assertEquals(rowwise?.rows.map((r) => [r.description, r.appliedBy]), [
      ["two\nlines", null],
      ["second", null],
    ]);
  },
);

driverTest(
  "readHistory tells onRead once its one query is answered, and not when it reads row by row",
  async (ctx) => {
    await ensureHistoryTable(ctx.driver, TABLE);
    await ctx.sql(
      `INSERT INTO _migrations (version, description, checksum) VALUES
         ('20250101_000000', 'first', 'aa'), ('20250102_000000', 'second', 'bb')`,
    );
    // Queries after onRead fail: a reader may end its session there.
    let told = 0;
    const queries: string[] = [];
    const db = {
      query: <T extends Record<string, unknown>>(text: string, params?: readonly unknown[]) => {
        if (told) return Promise.reject(new Error("queried after onRead"));
        queries.push(text);
        return ctx.driver.query<T>(text, params);
      },
      exec: (script: string) => ctx.driver.exec(script),
    };
    const history = await readHistory(db, TABLE, { appliedBy: false, onRead: () => told++ });
    assertEquals([told, queries.length], [1, 1]);
    assertEquals(history?.rows.map((r) => [r.version, r.description]), [
      ["20250101_000000", "first"],
      ["20250102_000000", "second"],
    ]);
    // A line break sends the read row by row, a second query: onRead is not told.
    await ctx.sql(
      `UPDATE _migrations SET description = E'two\\nlines' WHERE version = '20250101_000000'`,
    );
    told = 0;
    queries.length = 0;
    const rowwise = await readHistory(db, TABLE, { appliedBy: false, onRead: () => told++ });
    assertEquals([told, queries.length], [0, 2]);
    assertEquals(rowwise?.rows[0].description, "two\nlines");
  },
);

driverTest(
  "readHistory reads values holding line breaks, and NULLs where the table allows them, row by row",
  async (ctx) => {
    await ensureHistoryTable(ctx.driver, TABLE);
    await ctx.sql("ALTER TABLE _migrations ALTER COLUMN checksum DROP NOT NULL");
    await ctx.sql(
      `INSERT INTO _migrations (version, description, checksum, applied_by) VALUES
         ('20250101_000000', E'two\\nlines', 'aa', E'x\\ny'),
         ('20250102_000000', 'plain', NULL, 'bob')`,
    );
    const read = await readAsPlain(ctx);
    assertEquals(read.rows?.map((r) => [r.version, r.description, r.checksum, r.appliedBy]), [
      ["20250101_000000", "two\nlines", "aa", "x\ny"],
      // As the row-by-row read always made of a NULL checksum.
      ["20250102_000000", "plain", "null", "bob"],
    ]);
    const checksums = await readChecksums(ctx.driver, TABLE);
    assertEquals(checksums?.rows, [
      { version: "20250101_000000", checksum: "aa" },
      { version: "20250102_000000", checksum: "null" },
    ]);
  },
);

driverTest(
  "a table of one row whose checksum is NULL is read row by row, not as an empty checksum",
  async (ctx) => {
    await ensureHistoryTable(ctx.driver, TABLE);
    await ctx.sql("ALTER TABLE _migrations ALTER COLUMN checksum DROP NOT NULL");
    await ctx.sql(
      `INSERT INTO _migrations (version, description, checksum) VALUES ('20250101_000000', '', NULL)`,
    );
    assertEquals((await readAsPlain(ctx)).rows?.map((r) => [r.description, r.checksum]), [
      ["", "null"],
    ]);
    assertEquals(await readChecksums(ctx.driver, TABLE), {
      rows: [{ version: "20250101_000000", checksum: "null" }],
      current: true,
    });
  },
);

driverTest(
  "readHistory reads a four-column table of earlier tools and says it is not current",
  async (ctx) => {
    await ctx.sql(
      `CREATE TABLE _migrations (version VARCHAR(255) PRIMARY KEY, description TEXT NOT NULL,
         applied_at TIMESTAMPTZ NOT NULL DEFAULT now(), checksum VARCHAR(64) NOT NULL)`,
    );
    await ctx.sql(
      `INSERT INTO _migrations VALUES ('20250101_000000', 'old', '2025-01-01 00:00:00+00', 'aa')`,
    );
    const read = await readAsPlain(ctx);
    assertEquals(read, {
      current: false,
      rows: [{
        version: "20250101_000000",
        description: "old",
        appliedAt: Date.UTC(2025, 0, 1),
        checksum: "aa",
        executionMs: null,
        appliedBy: null,
      }],
    });
    assertEquals(await readChecksums(ctx.driver, TABLE), {
      rows: [{ version: "20250101_000000", checksum: "aa" }],
      current: false,
    });
  },
);

driverTest(
  "readHistory and readChecksums return null without the table or its schema, and an empty table has no rows",
  async (ctx) => {
    assertEquals(await readHistory(ctx.driver, TABLE), null);
    assertEquals(await readChecksums(ctx.driver, TABLE), null);
    const elsewhere: TableName = { schema: "nowhere", name: "_migrations" };
    assertEquals(await readHistory(ctx.driver, elsewhere), null);
    assertEquals(await readChecksums(ctx.driver, elsewhere), null);
    await ensureHistoryTable(ctx.driver, TABLE);
    assertEquals(await readHistory(ctx.driver, TABLE), { rows: [], current: false });
    assertEquals(await readChecksums(ctx.driver, TABLE), { rows: [], current: true });
  },
);

driverTest("readChecksums agrees with readHistory on a thousand rows", async (ctx) => {
  await ensureHistoryTable(ctx.driver, TABLE);
  await ctx.sql(
    `INSERT INTO _migrations (version, description, checksum, execution_ms)
       SELECT to_char(timestamp '2025-01-01' + n * interval '1 second', 'YYYYMMDD_HH24MISS'),
              'm ' || n, md5(n::text) || md5((n * 7)::text), n
         FROM generate_series(1000, 1, -1) AS n`,
  );
  const history = await readHistory(ctx.driver, TABLE);
  const checksums = await readChecksums(ctx.driver, TABLE);
  assertEquals(history?.rows.length, 1000);
  assertEquals(
    checksums?.rows,
    history?.rows.map((r) => ({ version: r.version, checksum: r.checksum })),
  );
  const versions = history!.rows.map((r) => r.version);
  assertEquals(versions, [...versions].sort());
  assertEquals(history!.rows[0].executionMs, 1);
  assertEquals(history!.rows[999].description, "m 1000");
});
