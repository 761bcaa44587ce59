/**
 * The SQL script of a run, for a person to review and run with psql
 * (`apply --sql`, `rollback --sql`): what `apply` or `rollback` would send,
 * migration by migration, each in its own transaction with its history row,
 * under the same lock, with a guard that stops the script when the
 * database is no longer in the state it was written for. Pure: the runner
 * plans the run (a dry run), this writes it out.
 *
 * Values are written as literals here, the one place data-bridge does so
 * (everywhere else they are parameters): through {@link quoteLiteral},
 * into the same statements the runner sends with parameters.
 *
 * @module
 */
import { ADVISORY_LOCK_KEY, DEFAULTS } from "./config.ts";
import {
  type Direction,
  mayChangeSession,
  mayMakeTempTables,
  refuseOutsideTransaction,
} from "./execute.ts";
import {
  baselineHistorySql,
  deleteHistorySql,
  historyColumnsSql,
  type HistoryState,
  historyTableSql,
  insertHistorySql,
  insertTimedHistorySql,
  lockTableName,
  lockTableSql,
  MIGRATION_START,
  schemaSql,
} from "./history.ts";
import { qualifiedName, quoteLiteral, type TableName } from "./ident.ts";
import { splitStatements } from "./lexer.ts";
import type { Migration } from "./migration.ts";
import type { LockMode } from "./runner.ts";

/** What {@link migrationScript} writes out. */
export interface ScriptOptions {
  /** `up` (apply) or `down` (rollback). */
  direction: Direction;
  /** The migrations the run would run, in the order it would run them. */
  migrations: readonly Migration[];
  /** The tracking table. */
  table: TableName;
  /** Its state: a missing table is created first, one of earlier tools gets its two columns. */
  history: HistoryState;
  /**
   * How many rows it held: each migration's guard expects that many, and
   * one more (UP) or one fewer (DOWN) for each migration before it.
   */
  recorded: number;
  /** How runs are kept apart (default `session`). */
  lockMode?: LockMode;
  /** `lock_timeout` in each transaction (default {@link DEFAULTS.lockTimeout}). */
  lockTimeout?: string;
  /** `statement_timeout` in each transaction (default {@link DEFAULTS.statementTimeout}). */
  statementTimeout?: string;
  /**
   * One transaction for every migration, committed at the end
   * (`--single-transaction`); each must run in a transaction.
   */
  singleTransaction?: boolean;
  /** Comments for the top of the script (what, for which database, when), each wrapped at 100 columns. */
  header?: readonly string[];
}

/**
 * Writes the script of a run. It starts with `\set ON_ERROR_STOP on`, so
 * psql stops at the first error, which rolls back the migration it was in
 * (the ones before it stay applied, as with `apply`). Each migration that
 * runs in a transaction gets `BEGIN`, its limits (`SET LOCAL`), a guard
 * that fails unless the history is as the script expects (UP: not yet
 * recorded; DOWN: recorded with this checksum), its section, its history
 * row and `COMMIT`; one with `-- Transaction: none` runs statement by
 * statement after the guard, then gets its row. With the session lock the
 * script takes data-bridge's advisory lock without waiting (failing when
 * another run holds it) and gives it back at the end; with the lock row
 * (`--lock-mode table`) each transaction takes it with `NOWAIT`. With
 * `singleTransaction`, one `BEGIN` before the first migration and one
 * `COMMIT` after the last hold them all.
 *
 * @param options The run.
 * @returns The script, ending in a line break.
 * @throws {ValidationError} `SINGLE_TRANSACTION` when `singleTransaction` is
 *   asked for and a migration must run outside a transaction.
 * @example
 * ```ts
 * import { Migration } from "./migration.ts";
 * import { migrationScript } from "./script.ts";
 * const m = await Migration.new({ version: "20250128_120000", name: "users", up: "CREATE TABLE users (id int);", down: "DROP TABLE users;" });
 * const sql = migrationScript({
 *   direction: "up",
 *   migrations: [m],
 *   table: { schema: null, name: "_migrations" },
 *   history: "current",
 *   recorded: 0,
 * });
 * console.log(sql.includes("CREATE TABLE users (id int);")); // true
 * ```
 */
export function migrationScript(options: ScriptOptions): string {
  const { direction, migrations, table } = options;
  const lockMode = options.lockMode ?? "session";
  if (options.singleTransaction) refuseOutsideTransaction(migrations);
  const out: string[] = [];
  for (const text of options.header ?? []) out.push(...wrapped(text).map(comment));
  out.push("\\set ON_ERROR_STOP on");
  if (migrations.length === 0) {
    out.push(comment(`Nothing to ${direction === "up" ? "apply" : "revert"}.`));
    return out.join("\n") + "\n";
  }
  out.push("");
  if (lockMode === "session") {
    out.push(guard([[
      `NOT pg_try_advisory_lock(${ADVISORY_LOCK_KEY})`,
      "another run holds the migration lock; run this script once it has finished",
    ]]));
  }
  out.push(...setup(options.history, table, lockMode));
  const together = options.singleTransaction === true;
  if (together) out.push("", ...opening(options, lockMode));
  for (let k = 0; k < migrations.length; k++) {
    const m = migrations[k];
    const rows = options.recorded + (direction === "up" ? k : -k);
    out.push("", comment(`${m.version} ${m.description}${m.file ? ` (${m.file})` : ""}`));
    out.push(...migrationStatements(direction, m, rows, options, lockMode, together));
  }
  if (together) out.push("", "COMMIT;");
  if (lockMode === "session") {
    out.push(
      "",
      `DO $unlock$ BEGIN PERFORM pg_advisory_unlock(${ADVISORY_LOCK_KEY}); END $unlock$;`,
    );
  }
  return out.join("\n") + "\n";
}

/** What the tracking table (and the lock table) need before the first migration. */
function setup(history: HistoryState, table: TableName, lockMode: LockMode): string[] {
  const out: string[] = [];
  if (history === "missing") {
    if (table.schema !== null) out.push(`${schemaSql(table.schema)};`);
    out.push(`${historyTableSql(table)};`);
  } else if (history === "incomplete") {
    out.push(`${historyColumnsSql(table)};`);
  }
  if (lockMode === "table") out.push(`${lockTableSql(lockTableName(table))};`);
  return out;
}

/** One migration's statements, as the runner sends them. */
function migrationStatements(
  direction: Direction,
  m: Migration,
  rows: number,
  options: ScriptOptions,
  lockMode: LockMode,
  together: boolean,
): string[] {
  const { table } = options;
  const name = qualifiedName(table);
  const version = quoteLiteral(m.version);
  // In a transaction shared with other migrations, the guard also keeps the
  // migration's start for its history row, as the runner does.
  const shared = together && direction === "up";
  const check = guard([
    direction === "up"
      ? [
        `EXISTS (SELECT FROM ${name} WHERE version = ${version})`,
        `migration ${m.version} is already applied; write the script again`,
      ]
      : [
        `NOT EXISTS (SELECT FROM ${name} WHERE version = ${version} AND checksum = ${
          quoteLiteral(m.checksum)
        })`,
        `migration ${m.version} is not applied with this file's checksum; write the script again`,
      ],
    [
      `(SELECT count(*) FROM ${name}) <> ${rows}`,
      `${name} has changed since this script was written (${rows} rows expected before ${m.version}); write the script again`,
    ],
  ], shared ? `PERFORM ${MIGRATION_START};` : "");
  const section = terminated(direction === "up" ? m.up : m.down);
  // The time is measured in the server from the start of the transaction,
  // as the runner does; a migration without one records none (NULL).
  const record = direction === "down"
    ? inline(deleteHistorySql(table, false), [m.version])
    : shared
    ? inline(insertTimedHistorySql(table), [m.version, m.description, m.checksum])
    : m.transactional
    ? inline(insertHistorySql(table), [m.version, m.description, m.checksum, null])
    : inline(baselineHistorySql(table), [m.version, m.description, m.checksum]);
  // As the runner does: the session's search_path and role back as they were,
  // for the history row and for the migrations after it.
  const sql = direction === "up" ? m.up : m.down;
  const restore = [
    ...(mayChangeSession(sql) ? ["RESET search_path;", "RESET ROLE;"] : []),
    ...(mayMakeTempTables(sql) ? ["DISCARD TEMP;"] : []),
  ];
  if (together || !m.transactional) return [check, section, ...restore, `${record};`];
  return [...opening(options, lockMode), check, section, ...restore, `${record};`, "COMMIT;"];
}

/** A transaction's start: `BEGIN`, its limits, and with `--lock-mode table` the lock row. */
function opening(options: ScriptOptions, lockMode: LockMode): string[] {
  const lines = [
    "BEGIN;",
    `SET LOCAL lock_timeout = ${quoteLiteral(options.lockTimeout ?? DEFAULTS.lockTimeout)};`,
    `SET LOCAL statement_timeout = ${
      quoteLiteral(options.statementTimeout ?? DEFAULTS.statementTimeout)
    };`,
  ];
  if (lockMode === "table") {
    lines.push(
      `SELECT id FROM ${
        qualifiedName(lockTableName(options.table))
      } WHERE id = 1 FOR UPDATE NOWAIT;`,
    );
  }
  return lines;
}

/**
 * A statement that raises the message of the first of `checks` whose
 * condition holds: a `DO` block, its dollar quote's tag chosen so that
 * nothing in it ends it early (a table name may hold `$`).
 */
function guard(
  checks: readonly (readonly [condition: string, message: string])[],
  then = "",
): string {
  const ifs = checks.map(([condition, message]) =>
    `  IF ${condition} THEN\n    RAISE EXCEPTION '%', ${
      quoteLiteral(`data-bridge: ${message}`)
    };\n  END IF;\n`
  );
  const body = `BEGIN\n${ifs.join("")}${then ? `  ${then}\n` : ""}END`;
  let tag = "$guard$";
  for (let i = 1; body.includes(tag); i++) tag = `$guard${i}$`;
  return `DO ${tag} ${body} ${tag};`;
}

/** A section whose last statement lacks its `;` gets one, before any comment after it. */
function terminated(sql: string): string {
  const statements = splitStatements(sql);
  const last = statements.at(-1);
  const text = last === undefined || last.terminated
    ? sql
    : `${sql.slice(0, last.end)};${sql.slice(last.end)}`;
  return text.trimEnd();
}

/** A statement of the runner's with its `$n` parameters written as literals. */
function inline(sql: string, params: readonly (string | null)[]): string {
  return sql.replace(/\$(\d+)/g, (_, n: string) => {
    const value = params[Number(n) - 1];
    return value === null ? "NULL" : quoteLiteral(value);
  });
}

/** A text in lines of at most 97 characters (a comment's `-- ` makes 100), broken between words. */
function wrapped(text: string): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== "" && line.length + 1 + word.length > 97) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") lines.push(line);
  return lines;
}

/** A comment line; a line break in what it says would end it. */
function comment(text: string): string {
  return `-- ${text.replace(/[\r\n]+/g, " ")}`.trimEnd();
}
