/**
 * The tracking table (`_migrations` by default): reading it, creating it,
 * adopting one made by earlier tools, and the statements that record and
 * forget a migration.
 *
 * ```sql
 * CREATE TABLE _migrations (
 *   version VARCHAR(255) PRIMARY KEY,
 *   description TEXT NOT NULL,
 *   applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
 *   checksum VARCHAR(64) NOT NULL,
 *   execution_ms INTEGER,
 *   applied_by TEXT DEFAULT current_user
 * );
 * ```
 *
 * @module
 */
import type { HistoryRow } from "./classify.ts";
import { DatabaseError, RuntimeError, ValidationError } from "./errors.ts";
import type { Queryable, QueryOptions } from "./driver.ts";
import { qualifiedName, quoteIdent, type TableName } from "./ident.ts";

/** Rows of the tracking table, and whether it has every current column. */
export interface History {
  /** Rows in version order. */
  rows: HistoryRow[];
  /** `false` when the table may lack `execution_ms` or `applied_by` (or is empty). */
  current: boolean;
}

/** Options of {@link readHistory}. */
export interface ReadHistoryOptions {
  /**
   * `false` leaves `applied_by` out, for readers that show no names
   * (`status`): rows have `appliedBy: null` and `current` is `false`. A new
   * session's first query is ~0.2 ms shorter on the server. Default `true`.
   */
  appliedBy?: boolean;
  /**
   * Called once the table is read and no other query will follow, before
   * its rows are decoded: a reader done with its session can end it there,
   * while the rows are decoded (`status` of 1000 applied ~0.25 ms sooner, 350
   * paired runs). Not called when the read fails or goes on row by row.
   */
  onRead?: () => void;
}

/**
 * Reads the tracking table.
 *
 * @param db Where to read.
 * @param table The table.
 * @param options Which columns.
 * @returns The rows, or `null` when the table does not exist.
 * @throws {DatabaseError} For any other database error.
 * @example
 * ```ts
 * import type { Queryable } from "./driver.ts";
 * import { readHistory } from "./history.ts";
 * async function appliedVersions(db: Queryable): Promise<string[]> {
 *   const history = await readHistory(db, { schema: null, name: "_migrations" });
 *   return history?.rows.map((row) => row.version) ?? [];
 * }
 * ```
 */
export async function readHistory(
  db: Queryable,
  table: TableName,
  options: ReadHistoryOptions = {},
): Promise<History | null> {
  const withBy = options.appliedBy !== false;
  const expressions = withBy ? HISTORY_COLUMNS : HISTORY_COLUMNS.slice(0, -1);
  let row: Aggregated | undefined;
  try {
    [row] = await db.query<Aggregated>(aggregated(table, expressions), [], EARLY);
  } catch (error) {
    if (absent(error)) return null;
    // A table made by an earlier tool (no execution_ms or applied_by), or
    // not a tracking table at all: read as it is.
    if (isCode(error, "42703")) return withoutNames(await readHistoryRows(db, table), withBy);
    throw error;
  }
  const cols = columns(row, expressions.length);
  // A value holding a line break (or a NULL) cannot be told apart in the aggregate.
  if (cols === null) return withoutNames(await readHistoryRows(db, table), withBy);
  options.onRead?.();
  const [versions, descriptions, appliedAt, checksums, executionMs] = cols;
  const appliedBy = withBy ? cols[5] : null;
  const rows: HistoryRow[] = new Array(versions.length);
  for (let i = 0; i < versions.length; i++) {
    const by = appliedBy === null ? "" : appliedBy[i];
    rows[i] = {
      version: versions[i],
      description: descriptions[i],
      appliedAt: new Date(appliedAt[i] === "" ? NaN : Number(appliedAt[i])),
      checksum: checksums[i],
      executionMs: executionMs[i] === "" ? null : Number(executionMs[i]),
      appliedBy: by === "" ? null : by.slice(1),
    };
  }
  return { rows: inVersionOrder(rows), current: withBy && rows.length > 0 };
}

/** The history as asked for: with `applied_by`, or without it. */
function withoutNames(history: History | null, withBy: boolean): History | null {
  if (history === null || withBy) return history;
  return { rows: history.rows.map((r) => ({ ...r, appliedBy: null })), current: false };
}

/**
 * Rows sorted by version. The aggregates read the table as stored (which is
 * the order applied): sorting it on the server first cost a new session
 * ~0.4 ms, a quarter of the query; a check here costs microseconds.
 */
function inVersionOrder<T extends { version: string }>(rows: T[]): T[] {
  for (let i = 1; i < rows.length; i++) {
    if (rows[i - 1].version > rows[i].version) {
      return rows.sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
    }
  }
  return rows;
}

/** The tracking table read row by row: for tables whose values the aggregate cannot carry. */
async function readHistoryRows(db: Queryable, table: TableName): Promise<History | null> {
  let rows: Record<string, unknown>[];
  try {
    rows = await db.query(`SELECT * FROM ${qualifiedName(table)} ORDER BY version`);
  } catch (error) {
    if (absent(error)) return null;
    throw error;
  }
  const first = rows[0];
  return {
    rows: rows.map(toHistoryRow),
    current: first !== undefined && "execution_ms" in first && "applied_by" in first,
  };
}

/** One row of {@link aggregated}: the row count `n` and each column as one text, `c0`, `c1`, ... */
type Aggregated = Record<string, string | number | null>;

/**
 * The history reads are reads: a session still logging in sends its first
 * one with the password (see QueryOptions.early).
 */
const EARLY: QueryOptions = { early: true };

/** The columns of the tracking table as `readHistory` reads them, as text. */
const HISTORY_COLUMNS = [
  "version::text",
  "coalesce(description::text, '')",
  // Milliseconds since 1970, exactly: truncated to the millisecond before the
  // double arithmetic, so rounding cannot move it to the next one.
  "coalesce(round(date_part('epoch', date_trunc('milliseconds', applied_at)) * 1000)::text, '')",
  "checksum::text",
  "coalesce(execution_ms::text, '')",
  // A prefix tells NULL ('') from an empty name ('=').
  "coalesce('=' || applied_by::text, '')",
];

/**
 * A query of one row: the table's row count and, for each expression, its
 * values joined in one text by line breaks. One row to decode instead of
 * one a migration (decoding 1,000 rows of six columns cost `status` ~1.5 ms
 * in the compiled binary's interpreter; a split, ~0.1 ms). All columns are
 * aggregated in one pass over the same rows, so their values line up; in
 * the order the table stores them, which the caller sorts by version (see
 * {@link inVersionOrder}). The line break is `string_agg`'s delimiter, not
 * appended to each value: a new session's first query of six columns took
 * ~0.2 ms less on the server.
 *
 * @param extra More of the select list, after the columns.
 */
function aggregated(table: TableName, expressions: readonly string[], extra = ""): string {
  const texts = expressions.map((e, i) => `string_agg(${e}, E'\\n') AS c${i}`);
  return `SELECT count(*)::int AS n, ${texts.join(", ")}${extra} FROM ${qualifiedName(table)}`;
}

/**
 * The aggregated columns split into their values, or `null` when a column
 * does not hold exactly `n` values (one held a line break, or was NULL,
 * which the aggregate leaves out).
 */
function columns(row: Aggregated | undefined, count: number): string[][] | null {
  if (row === undefined) return null;
  const n = Number(row.n);
  const out: string[][] = [];
  for (let i = 0; i < count; i++) {
    const text = row[`c${i}`];
    if (n === 0) {
      out.push([]);
      continue;
    }
    if (typeof text !== "string") return null;
    const values = text.split("\n");
    if (values.length !== n) return null;
    out.push(values);
  }
  return out;
}

function isCode(error: unknown, code: string): boolean {
  return error instanceof DatabaseError && error.pgCode === code;
}

/** The table (or its schema) does not exist. */
function absent(error: unknown): boolean {
  return isCode(error, "42P01") || isCode(error, "3F000");
}

/**
 * The tracking table as a run found it: not there, made by earlier tools
 * (without `execution_ms` or `applied_by`), or current.
 */
export type HistoryState = "missing" | "incomplete" | "current";

/** What a no-op run reads of the tracking table: versions and checksums. */
export interface RecordedChecksums {
  /** `{ version, checksum }` in version order. */
  rows: { version: string; checksum: string }[];
  /** `false` when the table lacks `execution_ms` or `applied_by`. */
  current: boolean;
}

/**
 * Reads only the versions and checksums of the tracking table, and whether
 * it has every current column: what deciding that `apply` has nothing to do
 * needs (a third of the data of {@link readHistory}, no dates to decode).
 * One statement; a second only for a table of earlier tools.
 *
 * @param db Where to read.
 * @param table The table.
 * @returns The checksums, or `null` when the table does not exist.
 * @throws {DatabaseError} For any other database error.
 * @example
 * ```ts
 * import type { Queryable } from "./driver.ts";
 * import { readChecksums } from "./history.ts";
 * async function recordedCount(db: Queryable): Promise<number> {
 *   return (await readChecksums(db, { schema: null, name: "_migrations" }))?.rows.length ?? 0;
 * }
 * ```
 */
export async function readChecksums(
  db: Queryable,
  table: TableName,
): Promise<RecordedChecksums | null> {
  const wanted = ["version::text", "checksum::text"];
  let row: Aggregated | undefined;
  let current = true;
  try {
    // Naming the two newer columns is what tells a current table: one
    // statement, where a probe of its own cost a new session ~0.2 ms more.
    [row] = await db.query<Aggregated>(
      aggregated(table, wanted, ", count(execution_ms) + count(applied_by) AS current"),
      [],
      EARLY,
    );
  } catch (error) {
    if (absent(error)) return null;
    if (!isCode(error, "42703")) throw error;
    // A table made by an earlier tool (no execution_ms or applied_by).
    current = false;
    try {
      [row] = await db.query<Aggregated>(aggregated(table, wanted));
    } catch (again) {
      if (absent(again)) return null;
      throw again;
    }
  }
  const cols = columns(row, 2);
  if (cols === null) {
    // A version or checksum holding a line break, or NULL: read row by row.
    const history = await readHistoryRows(db, table);
    if (history === null) return null;
    return {
      rows: history.rows.map((r) => ({ version: r.version, checksum: r.checksum })),
      current,
    };
  }
  const [versions, checksums] = cols;
  const rows: { version: string; checksum: string }[] = new Array(versions.length);
  for (let i = 0; i < versions.length; i++) {
    rows[i] = { version: versions[i], checksum: checksums[i] };
  }
  return { rows: inVersionOrder(rows), current };
}

function toHistoryRow(row: Record<string, unknown>): HistoryRow {
  const ms = row.execution_ms;
  return {
    version: String(row.version),
    description: String(row.description ?? ""),
    appliedAt: row.applied_at instanceof Date ? row.applied_at : new Date(String(row.applied_at)),
    checksum: String(row.checksum),
    executionMs: ms === null || ms === undefined ? null : Number(ms),
    appliedBy: row.applied_by === null || row.applied_by === undefined
      ? null
      : String(row.applied_by),
  };
}

const REQUIRED_COLUMNS = ["version", "description", "applied_at", "checksum"];

/**
 * Creates the tracking table (and its schema) when missing, and adds the
 * `execution_ms` and `applied_by` columns to a four-column table made by
 * earlier tools, keeping its rows. Does nothing when all is in place, and
 * needs no privilege beyond what the missing pieces need.
 *
 * @param db Where to create it.
 * @param table The table.
 * @throws {ValidationError} `INVALID_MIGRATION` when a table of that name
 *   exists without the columns of a tracking table.
 * @throws {RuntimeError} `PERMISSION_DENIED` when the user may not create
 *   the schema or table (SQLSTATE 42501).
 * @example
 * ```ts
 * import type { Queryable } from "./driver.ts";
 * import { ensureHistoryTable } from "./history.ts";
 * async function prepare(db: Queryable): Promise<void> {
 *   await ensureHistoryTable(db, { schema: "audit", name: "schema_history" });
 * }
 * ```
 */
export async function ensureHistoryTable(db: Queryable, table: TableName): Promise<void> {
  const name = qualifiedName(table);
  if (table.schema !== null) {
    const [schema] = await db.query<{ exists: boolean }>(
      "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS exists",
      [table.schema],
    );
    if (!schema.exists) {
      await ddl(
        db,
        schemaSql(table.schema),
        `the schema ${quoteIdent(table.schema)} for the tracking table`,
        `create it first (CREATE SCHEMA ${
          quoteIdent(table.schema)
        } AUTHORIZATION <this user>), or name in --table a schema this user owns`,
      );
    }
  }
  const columns = await db.query<{ name: string }>(
    "SELECT attname::text AS name FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped",
    [name],
  );
  if (columns.length === 0) {
    await ddl(
      db,
      historyTableSql(table),
      `the tracking table ${name}`,
      "name in --table a schema this user owns or may create in (--table SCHEMA._migrations)",
    );
    return;
  }
  const have = new Set(columns.map((c) => c.name));
  const lacking = REQUIRED_COLUMNS.filter((c) => !have.has(c));
  if (lacking.length) {
    throw new ValidationError(
      "INVALID_MIGRATION",
      `table ${name} exists but is not a migrations table (no column ${
        lacking.join(", ")
      }); choose another --table`,
    );
  }
  const missing = (["execution_ms", "applied_by"] as const).filter((c) => !have.has(c));
  if (missing.length) {
    await ddl(
      db,
      historyColumnsSql(table, missing),
      `the columns execution_ms and applied_by of ${name}`,
      "run once as the table's owner",
    );
  }
}

/**
 * The statement creating a schema for the tracking table, when missing.
 *
 * @param schema The schema's name.
 * @returns `CREATE SCHEMA IF NOT EXISTS ...`.
 * @example
 * ```ts
 * import { schemaSql } from "./history.ts";
 * console.log(schemaSql("audit")); // CREATE SCHEMA IF NOT EXISTS "audit"
 * ```
 */
export function schemaSql(schema: string): string {
  return `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`;
}

/**
 * The statement creating the tracking table, when missing.
 *
 * @param table The table.
 * @returns `CREATE TABLE IF NOT EXISTS ...` with the six columns.
 * @example
 * ```ts
 * import { historyTableSql } from "./history.ts";
 * console.log(historyTableSql({ schema: null, name: "_migrations" }).split("\n")[0]);
 * // CREATE TABLE IF NOT EXISTS "_migrations" (
 * ```
 */
export function historyTableSql(table: TableName): string {
  return `CREATE TABLE IF NOT EXISTS ${qualifiedName(table)} (
  version VARCHAR(255) PRIMARY KEY,
  description TEXT NOT NULL,
  applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  checksum VARCHAR(64) NOT NULL,
  execution_ms INTEGER,
  applied_by TEXT DEFAULT current_user
)`;
}

/**
 * The statement adding `execution_ms` and `applied_by` to a four-column
 * tracking table of earlier tools (each only when missing).
 *
 * @param table The table.
 * @param missing The columns to add (default both).
 * @returns `ALTER TABLE ... ADD COLUMN IF NOT EXISTS ...`.
 * @example
 * ```ts
 * import { historyColumnsSql } from "./history.ts";
 * console.log(historyColumnsSql({ schema: null, name: "_migrations" }).startsWith("ALTER TABLE")); // true
 * ```
 */
export function historyColumnsSql(
  table: TableName,
  missing: readonly ("execution_ms" | "applied_by")[] = ["execution_ms", "applied_by"],
): string {
  const add = missing.map((column) =>
    column === "execution_ms"
      ? "ADD COLUMN IF NOT EXISTS execution_ms INTEGER"
      : "ADD COLUMN IF NOT EXISTS applied_by TEXT DEFAULT current_user"
  );
  return `ALTER TABLE ${qualifiedName(table)} ${add.join(", ")}`;
}

/**
 * Runs DDL of data-bridge's own; a lack of privilege is said as such, not
 * as a failed migration.
 */
async function ddl(db: Queryable, sql: string, what: string, advice: string): Promise<void> {
  try {
    await db.exec(sql);
  } catch (error) {
    if (!(error instanceof DatabaseError) || error.pgCode !== "42501") throw error;
    throw new RuntimeError(
      "PERMISSION_DENIED",
      `cannot create ${what}: ${error.message} (SQLSTATE 42501); ${advice}`,
      { pgCode: "42501", cause: error },
    );
  }
}

/**
 * The statement recording an applied migration. Parameters: version,
 * description, checksum, execution time in ms or `NULL` to measure it in
 * the server from the start of the transaction.
 *
 * @param table The table.
 * @returns SQL with `$1`..`$4`.
 * @example
 * ```ts
 * import { insertHistorySql } from "./history.ts";
 * console.log(insertHistorySql({ schema: null, name: "_migrations" }).startsWith("INSERT")); // true
 * ```
 */
export function insertHistorySql(table: TableName): string {
  return `INSERT INTO ${qualifiedName(table)} (version, description, checksum, execution_ms) ` +
    "VALUES ($1, $2, $3, COALESCE($4::integer, " +
    "(extract(epoch FROM clock_timestamp() - now()) * 1000)::integer))";
}

/**
 * Keeps a migration's start when several share a transaction
 * (`--single-transaction`), where `now()` is the start of them all: an
 * expression setting a setting of the transaction, which
 * {@link insertTimedHistorySql} reads.
 */
export const MIGRATION_START = "set_config('data_bridge.started', clock_timestamp()::text, true)";

/**
 * The statement recording an applied migration that shares its transaction
 * with others: its time is measured from {@link MIGRATION_START}, run
 * before its section. Parameters: version, description, checksum.
 *
 * @param table The table.
 * @returns SQL with `$1`..`$3`.
 * @example
 * ```ts
 * import { insertTimedHistorySql } from "./history.ts";
 * console.log(insertTimedHistorySql({ schema: null, name: "_migrations" }).includes("data_bridge.started")); // true
 * ```
 */
export function insertTimedHistorySql(table: TableName): string {
  return `INSERT INTO ${qualifiedName(table)} (version, description, checksum, execution_ms) ` +
    "VALUES ($1, $2, $3, (extract(epoch FROM clock_timestamp() - " +
    "current_setting('data_bridge.started')::timestamptz) * 1000)::integer)";
}

/**
 * The statement forgetting a reverted migration. Parameter: version.
 * Returns the deleted version, so a caller sees whether the row existed.
 *
 * @param table The table.
 * @param returning `false` leaves `RETURNING` out (a script checks the row first).
 * @returns SQL with `$1`.
 * @example
 * ```ts
 * import { deleteHistorySql } from "./history.ts";
 * console.log(deleteHistorySql({ schema: null, name: "_migrations" }).startsWith("DELETE")); // true
 * ```
 */
export function deleteHistorySql(table: TableName, returning = true): string {
  return `DELETE FROM ${qualifiedName(table)} WHERE version = $1${
    returning ? " RETURNING version" : ""
  }`;
}

/**
 * The statement that sets a recorded checksum (used by `repair`).
 * Parameters: version, checksum.
 *
 * @param table The table.
 * @returns SQL with `$1`, `$2`.
 * @example
 * ```ts
 * import { updateChecksumSql } from "./history.ts";
 * console.log(updateChecksumSql({ schema: null, name: "_migrations" }).startsWith("UPDATE")); // true
 * ```
 */
export function updateChecksumSql(table: TableName): string {
  return `UPDATE ${qualifiedName(table)} SET checksum = $2 WHERE version = $1`;
}

/**
 * The statement recording a migration as applied without running it (used
 * by `baseline`): `execution_ms` stays NULL. Parameters: version,
 * description, checksum.
 *
 * @param table The table.
 * @returns SQL with `$1`..`$3`.
 * @example
 * ```ts
 * import { baselineHistorySql } from "./history.ts";
 * console.log(baselineHistorySql({ schema: null, name: "_migrations" }).includes("NULL")); // true
 * ```
 */
export function baselineHistorySql(table: TableName): string {
  return `INSERT INTO ${qualifiedName(table)} (version, description, checksum, execution_ms) ` +
    "VALUES ($1, $2, $3, NULL)";
}

/**
 * The lock table of `--lock-mode table`: `<table>_lock` next to the tracking
 * table.
 *
 * @param table The tracking table.
 * @returns The lock table's name.
 * @example
 * ```ts
 * import { lockTableName } from "./history.ts";
 * console.log(lockTableName({ schema: "audit", name: "history" })); // { schema: "audit", name: "history_lock" }
 * ```
 */
export function lockTableName(table: TableName): TableName {
  return { schema: table.schema, name: `${table.name.slice(0, 58)}_lock` };
}

/**
 * The tracking table with its schema: a name without one is looked up as
 * the session's `search_path` finds it now (not there yet: the schema it
 * will be created in), so that the statements sent after a migration's SQL
 * reach the same table when that SQL changes the `search_path` (`SET
 * search_path`, or pg_dump's `set_config('search_path', '', false)`). A
 * name with a schema, or with none to be found, is returned as it is.
 *
 * @param db A session, before any migration of the run.
 * @param table The tracking table.
 * @returns The table, schema-qualified.
 * @throws {DatabaseError} When the lookup fails.
 * @example
 * ```ts
 * import type { Driver } from "./driver.ts";
 * import { resolveTable } from "./history.ts";
 * async function where(driver: Driver): Promise<string | null> {
 *   return (await resolveTable(driver, { schema: null, name: "_migrations" })).schema; // "public"
 * }
 * ```
 */
export async function resolveTable(db: Queryable, table: TableName): Promise<TableName> {
  if (table.schema !== null) return table;
  const [row] = await db.query<{ schema: string | null }>(
    "SELECT coalesce((SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON " +
      "n.oid = c.relnamespace WHERE c.oid = to_regclass($1)), current_schema())::text AS schema",
    [qualifiedName(table)],
  );
  return row?.schema ? { schema: row.schema, name: table.name } : table;
}

/**
 * Creates the lock table of `--lock-mode table` with its single row, when
 * missing.
 *
 * @param db Where to create it.
 * @param table The tracking table (the lock table sits next to it).
 * @throws {RuntimeError} `PERMISSION_DENIED` when the user may not create it.
 * @example
 * ```ts
 * import type { Queryable } from "./driver.ts";
 * import { ensureLockTable } from "./history.ts";
 * async function prepare(db: Queryable): Promise<void> {
 *   await ensureLockTable(db, { schema: null, name: "_migrations" });
 * }
 * ```
 */
export async function ensureLockTable(db: Queryable, table: TableName): Promise<void> {
  const name = qualifiedName(lockTableName(table));
  await ddl(
    db,
    lockTableSql(lockTableName(table)),
    `the lock table ${name} of --lock-mode table`,
    "name in --table a schema this user owns or may create in (--table SCHEMA._migrations)",
  );
}

/**
 * The statements creating the lock table of `--lock-mode table` and its one
 * row, when missing.
 *
 * @param lockTable The lock table (see {@link lockTableName}).
 * @returns Two statements, `;`-separated.
 * @example
 * ```ts
 * import { lockTableSql } from "./history.ts";
 * console.log(lockTableSql({ schema: null, name: "_migrations_lock" }).includes("ON CONFLICT DO NOTHING")); // true
 * ```
 */
export function lockTableSql(lockTable: TableName): string {
  const name = qualifiedName(lockTable);
  return `CREATE TABLE IF NOT EXISTS ${name} (id INTEGER PRIMARY KEY CHECK (id = 1));
INSERT INTO ${name} (id) VALUES (1) ON CONFLICT DO NOTHING`;
}
