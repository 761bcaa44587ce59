/**
 * The migration runner: status, apply and rollback against one database.
 * Each command does its I/O once, around pure planning: read the files,
 * lock, read the history, classify, refuse, run, unlock.
 *
 * @module
 */
import type postgres from "postgres";
import {
  classify,
  historyProblems,
  type MigrationState,
  type MigrationStatusEntry,
  planApply,
  planRollback,
} from "./classify.ts";
import { DEFAULTS } from "./config.ts";
import { connect } from "./connect.ts";
import type { Driver, DriverOptions } from "./driver.ts";
import {
  DatabaseError,
  DataBridgeError,
  ExitCode,
  MigrationError,
  RuntimeError,
  ValidationError,
} from "./errors.ts";
import { deleteHistorySql, ensureHistoryTable, insertHistorySql, readHistory } from "./history.ts";
import { parseTableName, qualifiedName, type TableName } from "./ident.ts";
import { splitStatements } from "./lexer.ts";
import { loadMigrations, type LoadOptions } from "./load.ts";
import { locate, offsetOfPosition } from "./location.ts";
import { type LockHolder, withLock } from "./lock.ts";
import type { Migration } from "./migration.ts";
import { parseTarget, type Target } from "./target.ts";

/** Something the runner reports while it works. */
export type RunEvent =
  | { type: "info"; message: string }
  | { type: "warning"; message: string }
  | { type: "notice"; severity: string; message: string }
  | { type: "lock_wait"; holder: LockHolder | null }
  | { type: "start"; direction: "up" | "down"; migration: Migration }
  | { type: "done"; direction: "up" | "down"; migration: Migration; ms: number }
  | {
    type: "retry";
    direction: "up" | "down";
    migration: Migration;
    attempt: number;
    delayMs: number;
    reason: string;
  };

/** Options of {@link MigrationRunner}. */
export interface RunnerOptions {
  /** Tracking table, optionally `schema.table`. Default `_migrations`. */
  migrationsTable?: string;
  /** Seconds to wait for the migration lock. Default: for ever. */
  lockWaitSeconds?: number;
  /** PostgreSQL `lock_timeout` inside each migration. Default `5s`; `0` disables. */
  lockTimeout?: string;
  /** Retries of a migration that hit `lock_timeout`. Default 3. */
  lockRetries?: number;
  /** PostgreSQL `statement_timeout` inside each migration. Default `0` (none). */
  statementTimeout?: string;
  /** Receives progress, warnings and notices. */
  onEvent?: (event: RunEvent) => void;
  /** Options for the connection the runner opens itself. */
  driver?: DriverOptions;
  /** Limits for reading migration files. */
  load?: LoadOptions;
}

/** Options of {@link MigrationRunner.apply}. */
export interface ApplyOptions {
  /** Apply no migration after this version. */
  to?: string;
  /** Only report what would be applied. */
  dryRun?: boolean;
  /** Stops the run: the migration in progress is cancelled and rolled back. */
  signal?: AbortSignal;
}

/** Options of {@link MigrationRunner.rollback}. */
export interface RollbackOptions {
  /** How many migrations to revert, most recently applied first. Default 1. */
  steps?: number;
  /** Revert every applied migration with a later version (`"0"`: all). */
  to?: string;
  /** Only report what would be reverted. */
  dryRun?: boolean;
  /** Stops the run: the migration in progress is cancelled and rolled back. */
  signal?: AbortSignal;
}

/** One migration in a {@link StatusReport}. */
export interface MigrationStatus {
  /** Version. */
  version: string;
  /** Description. */
  description: string;
  /** File, `null` when missing or built in code. */
  file: string | null;
  /** State. */
  state: MigrationState;
  /** When it was applied. */
  appliedAt: Date | null;
  /** Checksum of the file (of the row when missing). */
  checksum: string;
  /** Recorded execution time. */
  executionMs: number | null;
}

/** What `status` returns. */
export interface StatusReport {
  /** Versions recorded as applied (including modified and missing ones). */
  applied: string[];
  /** Versions not yet applied. */
  pending: string[];
  /** Every migration, by version. */
  migrations: MigrationStatus[];
}

/** Where migrations come from: a directory, or migrations built in code. */
export type MigrationSource = string | Migration | readonly Migration[];

/** What a runner talks to. */
export type DatabaseSource = string | Target | Driver | postgres.Sql;

/**
 * Runs migrations against one database.
 *
 * @example
 * ```ts
 * import { MigrationRunner } from "./runner.ts";
 * import { Migration } from "./migration.ts";
 * // A server URL works the same: "postgres://localhost/mydb".
 * const runner = new MigrationRunner("pglite:memory", { migrationsTable: "_migrations" });
 * const users = await Migration.new({
 *   version: "20250128_120000",
 *   name: "create users",
 *   up: "CREATE TABLE users (id SERIAL PRIMARY KEY);",
 *   down: "DROP TABLE users;",
 * });
 * try {
 *   console.log(await runner.apply([users])); // ["20250128_120000"]
 *   console.log((await runner.status([users])).applied); // ["20250128_120000"]
 *   console.log(await runner.rollback([users], 1)); // ["20250128_120000"]
 * } finally {
 *   await runner.close();
 * }
 * ```
 */
export class MigrationRunner {
  readonly #source: DatabaseSource;
  readonly #table: TableName;
  readonly #options: RunnerOptions;
  #driver: Driver | null = null;

  /**
   * @param source A URL (`postgres://...` or `pglite:PATH`), a target, an
   *   open {@link Driver}, or a postgres.js instance (one of its connections
   *   is reserved for each command).
   * @param options Table name, timeouts, event handler.
   * @throws {UsageError} `INVALID_TABLE_NAME` or `INVALID_URL`.
   */
  constructor(source: DatabaseSource, options: RunnerOptions = {}) {
    this.#table = parseTableName(options.migrationsTable ?? DEFAULTS.table, "migrationsTable");
    this.#options = options;
    this.#source = typeof source === "string" ? parseTarget(source, "api", "url") : source;
  }

  /**
   * Creates the tracking table when missing (idempotent).
   *
   * @throws {DataBridgeError} When the database cannot be reached or refuses.
   */
  async init(): Promise<void> {
    await this.#session((driver) =>
      withLock(driver, () => ensureHistoryTable(driver, this.#table), this.#lockOptions())
    );
  }

  /**
   * The state of every migration. Read-only: a database without the
   * tracking table has everything pending and is left as it is.
   *
   * @param source Directory or migrations.
   * @returns Applied and pending versions and every migration's state.
   * @throws {ValidationError} When a migration file is invalid.
   */
  async status(source: MigrationSource): Promise<StatusReport> {
    const migrations = await this.#migrations(source);
    const history = await this.#session((driver) => this.#readHistory(driver));
    return statusReport(classify(migrations, history?.rows ?? []));
  }

  /**
   * Applies pending migrations in version order, each in its own
   * transaction with its history row. Stops at the first failure, which is
   * rolled back; migrations applied before it stay applied.
   *
   * @param source Directory or migrations.
   * @param options `to`, `dryRun`, `signal`.
   * @returns Versions applied (or that would be, with `dryRun`).
   * @throws {ValidationError} For invalid files, or when an applied migration
   *   was modified or is missing (nothing runs).
   * @throws {MigrationError} When a migration fails; `completed` lists the
   *   versions applied before it.
   */
  async apply(source: MigrationSource, options: ApplyOptions = {}): Promise<string[]> {
    const migrations = await this.#migrations(source);
    return await this.#session((driver) =>
      withLock(driver, async () => {
        const entries = await this.#entries(driver, migrations, !options.dryRun);
        const plan = planApply(entries, { to: options.to });
        if (options.dryRun) return plan.pending.map((m) => m.version);
        const newest = entries.filter((e) => e.row).at(-1)?.version;
        for (const m of plan.outOfOrder) {
          this.#emit({
            type: "warning",
            message: `${
              m.file ?? m.version
            } is older than the newest applied migration ${newest}; applying it anyway (merged from another branch?)`,
          });
        }
        return await this.#run(driver, "up", plan.pending, options.signal);
      }, this.#lockOptions())
    );
  }

  /**
   * Reverts applied migrations, most recently applied first, each DOWN in
   * its own transaction with the deletion of its history row.
   *
   * @param source Directory or migrations.
   * @param stepsOrOptions Number of steps (default 1), or options.
   * @returns Versions reverted (or that would be, with `dryRun`).
   * @throws {ValidationError} For invalid files, a modified or missing
   *   migration, or an irreversible one among those selected (nothing runs).
   * @throws {MigrationError} When a DOWN fails.
   */
  async rollback(
    source: MigrationSource,
    stepsOrOptions: number | RollbackOptions = DEFAULTS.rollbackSteps,
  ): Promise<string[]> {
    const options = typeof stepsOrOptions === "number" ? { steps: stepsOrOptions } : stepsOrOptions;
    const migrations = await this.#migrations(source);
    return await this.#session((driver) =>
      withLock(driver, async () => {
        const entries = await this.#entries(driver, migrations, false);
        const steps = planRollback(entries, options);
        if (options.dryRun) return steps.map((s) => s.migration.version);
        return await this.#run(driver, "down", steps.map((s) => s.migration), options.signal);
      }, this.#lockOptions())
    );
  }

  /** Closes the connection the runner opened, if any. */
  async close(): Promise<void> {
    const driver = this.#driver;
    this.#driver = null;
    await driver?.close();
  }

  async #migrations(source: MigrationSource): Promise<Migration[]> {
    if (typeof source === "string") return await loadMigrations(source, this.#options.load);
    const list = Array.isArray(source) ? [...source] : [source as Migration];
    const seen = new Map<string, Migration>();
    for (const m of list) {
      if (seen.has(m.version)) {
        throw new ValidationError(
          "DUPLICATE_VERSION",
          `two migrations have the version ${m.version}`,
          { version: m.version },
        );
      }
      seen.set(m.version, m);
    }
    return list.sort((a, b) => (a.version < b.version ? -1 : 1));
  }

  /** Reads history under the lock, creating the table when `create`, and refuses a bad history. */
  async #entries(
    driver: Driver,
    migrations: Migration[],
    create: boolean,
  ): Promise<MigrationStatusEntry[]> {
    let history = await this.#readHistory(driver);
    if (create && (history === null || !history.current)) {
      await ensureHistoryTable(driver, this.#table);
      history ??= { rows: [], current: true };
    }
    const entries = classify(migrations, history?.rows ?? []);
    const problems = historyProblems(entries);
    if (problems.length) throw ValidationError.of(problems);
    return entries;
  }

  async #readHistory(driver: Driver) {
    const history = await readHistory(driver, this.#table);
    const table = qualifiedName(this.#table);
    this.#emit({
      type: "info",
      message: history === null
        ? `${driver.target}: no tracking table ${table} yet`
        : `${driver.target}: ${history.rows.length} migrations recorded in ${table}`,
    });
    return history;
  }

  async #run(
    driver: Driver,
    direction: "up" | "down",
    migrations: Migration[],
    signal: AbortSignal | undefined,
  ): Promise<string[]> {
    const done: string[] = [];
    const cancel = () => void driver.cancel().catch(() => {});
    signal?.addEventListener("abort", cancel);
    try {
      for (const migration of migrations) {
        if (signal?.aborted) throw interrupted(signal, migration, done, false);
        for (const message of migration.warnings) this.#emit({ type: "warning", message });
        this.#emit({ type: "start", direction, migration });
        let ms: number;
        try {
          ms = await this.#runOne(driver, direction, migration);
        } catch (error) {
          if (signal?.aborted) throw interrupted(signal, migration, done, true);
          throw failure(error, direction, migration, done);
        }
        done.push(migration.version);
        this.#emit({ type: "done", direction, migration, ms });
      }
      return done;
    } finally {
      signal?.removeEventListener("abort", cancel);
    }
  }

  async #runOne(driver: Driver, direction: "up" | "down", m: Migration): Promise<number> {
    const started = performance.now();
    if (!m.transactional) {
      await runStatements(driver, direction, m);
      const record = direction === "up"
        ? driver.query(insertHistorySql(this.#table), [
          m.version,
          m.description,
          m.checksum,
          Math.round(performance.now() - started),
        ])
        : driver.query(deleteHistorySql(this.#table), [m.version]);
      await record;
      return performance.now() - started;
    }
    const retries = this.#options.lockRetries ?? DEFAULTS.lockRetries;
    for (let attempt = 0;; attempt++) {
      const t0 = performance.now();
      try {
        await driver.transaction(async (tx) => {
          // Issued together: one round trip for settings, SQL and history row.
          const results = await Promise.allSettled([
            tx.query(
              "SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)",
              [
                this.#options.lockTimeout ?? DEFAULTS.lockTimeout,
                this.#options.statementTimeout ?? DEFAULTS.statementTimeout,
              ],
            ),
            tx.exec(direction === "up" ? m.up : m.down),
            direction === "up"
              ? tx.query(insertHistorySql(this.#table), [
                m.version,
                m.description,
                m.checksum,
                null,
              ])
              : tx.query(deleteHistorySql(this.#table), [m.version]),
          ]);
          const failed = results.find((r) => r.status === "rejected");
          if (failed) throw (failed as PromiseRejectedResult).reason;
          const record = results[2] as PromiseFulfilledResult<unknown[]>;
          if (direction === "down" && record.value.length !== 1) {
            throw new RuntimeError(
              "INTERNAL",
              `the history row of ${m.version} disappeared while reverting it; nothing was changed`,
            );
          }
        });
        return performance.now() - t0;
      } catch (error) {
        if (
          error instanceof DatabaseError && error.pgCode === "55P03" && attempt < retries
        ) {
          const delayMs = 500 * 2 ** attempt;
          this.#emit({
            type: "retry",
            direction,
            migration: m,
            attempt: attempt + 1,
            delayMs,
            reason: `lock_timeout: ${error.message}`,
          });
          await new Promise((resolve) => setTimeout(resolve, delayMs));
          continue;
        }
        throw error;
      }
    }
  }

  async #session<T>(fn: (driver: Driver) => Promise<T>): Promise<T> {
    const source = this.#source;
    if (isDriver(source)) return await fn(source);
    if (typeof source === "function") {
      const { postgresDriverFromSql } = await import("./postgres_driver.ts");
      const driver = await postgresDriverFromSql(source);
      try {
        return await fn(driver);
      } finally {
        await driver.close();
      }
    }
    this.#driver ??= await connect(source as Target, {
      lockWaitSeconds: this.#options.lockWaitSeconds,
      ...this.#options.driver,
      onNotice: (notice) => {
        this.#options.driver?.onNotice?.(notice);
        this.#emit({ type: "notice", ...notice });
      },
    });
    try {
      return await fn(this.#driver);
    } catch (error) {
      if (error instanceof DataBridgeError && error.code === "CONNECTION_LOST") await this.close();
      throw error;
    }
  }

  #lockOptions() {
    return {
      waitSeconds: this.#options.lockWaitSeconds,
      onWait: (holder: LockHolder | null) => this.#emit({ type: "lock_wait", holder }),
    };
  }

  #emit(event: RunEvent): void {
    this.#options.onEvent?.(event);
  }
}

function isDriver(source: DatabaseSource): source is Driver {
  return typeof source === "object" && typeof (source as Driver).transaction === "function";
}

/** Runs a section statement by statement, outside any transaction of ours. */
async function runStatements(driver: Driver, direction: "up" | "down", m: Migration) {
  const sql = direction === "up" ? m.up : m.down;
  const statements = splitStatements(sql);
  for (let k = 0; k < statements.length; k++) {
    const { start, end } = statements[k];
    const text = sql.slice(start, end);
    try {
      await driver.exec(text);
    } catch (error) {
      // The file may have opened a transaction of its own: end it.
      await driver.exec("ROLLBACK").catch(() => {});
      if (!(error instanceof DatabaseError)) throw error;
      const offset = error.position === undefined
        ? start
        : start + offsetOfPosition(text, error.position);
      const before = k === 0
        ? "no statement before it ran"
        : `statements 1..${k} were committed and were not rolled back`;
      throw located(error, direction, m, offset, {
        prefix: `statement ${k + 1} of ${statements.length} failed`,
        suffix: `${before}; nothing was recorded, so after fixing the file apply runs it again ` +
          "(make its statements re-runnable with IF NOT EXISTS / IF EXISTS)",
      });
    }
  }
}

function statusReport(entries: MigrationStatusEntry[]): StatusReport {
  return {
    applied: entries.filter((e) => e.row).map((e) => e.version),
    pending: entries.filter((e) => e.state === "pending").map((e) => e.version),
    migrations: entries.map((e) => ({
      version: e.version,
      description: e.description,
      file: e.file,
      state: e.state,
      appliedAt: e.appliedAt,
      checksum: e.checksum,
      executionMs: e.executionMs,
    })),
  };
}

/** A database error inside a migration, with its place in the file. */
function located(
  error: DatabaseError,
  direction: "up" | "down",
  m: Migration,
  offset: number | undefined,
  words: { prefix?: string; suffix?: string } = {},
): MigrationError {
  const sql = direction === "up" ? m.up : m.down;
  const where = offset === undefined
    ? undefined
    : locate(sql, offset, direction === "up" ? m.upLine : m.downLine);
  const file = m.file ?? `migration ${m.version}`;
  const place = where ? `${file}:${where.line}:${where.column}` : file;
  const what = direction === "up" ? `migration ${m.version}` : `rollback of migration ${m.version}`;
  const head = words.prefix ? `${what}: ${words.prefix}` : `${what} failed`;
  const tail = words.suffix ??
    (direction === "up" ? "it was rolled back" : "it was rolled back; the migration stays applied");
  return new MigrationError(
    `${place}: ${head}: ${error.message} (SQLSTATE ${error.pgCode}); ${tail}`,
    [],
    {
      file: m.file ?? undefined,
      line: where?.line,
      column: where?.column,
      version: m.version,
      pgCode: error.pgCode,
      detail: error.detail,
      hint: error.hint,
      excerpt: where?.excerpt,
      cause: error,
    },
  );
}

function failure(
  error: unknown,
  direction: "up" | "down",
  m: Migration,
  done: string[],
): DataBridgeError {
  let result: DataBridgeError;
  if (error instanceof MigrationError) {
    result = error;
  } else if (error instanceof DatabaseError) {
    const offset = error.position === undefined
      ? undefined
      : offsetOfPosition(direction === "up" ? m.up : m.down, error.position);
    result = located(error, direction, m, offset);
  } else if (error instanceof DataBridgeError && error.code === "CONNECTION_LOST") {
    const file = m.file ?? `migration ${m.version}`;
    result = new RuntimeError(
      "CONNECTION_LOST",
      `${file}: ${
        direction === "up" ? "migration" : "rollback of migration"
      } ${m.version} did not complete: ${error.message}; ` +
        (m.transactional
          ? "PostgreSQL rolled its transaction back, so nothing of it was applied; run the command again"
          : "it ran outside a transaction, so some statements may have run; check before running it again"),
      { file: m.file ?? undefined, version: m.version, pgCode: error.pgCode, cause: error },
    );
  } else if (error instanceof DataBridgeError) {
    result = error;
  } else {
    throw error;
  }
  result.completed = [...done];
  return result;
}

function interrupted(
  signal: AbortSignal,
  m: Migration,
  done: string[],
  during: boolean,
): RuntimeError {
  const exitCode = signal.reason === "SIGTERM" ? ExitCode.SIGTERM : ExitCode.SIGINT;
  const by = signal.reason === "SIGTERM" ? "SIGTERM" : "SIGINT";
  const file = m.file ?? "in code";
  const message = !during
    ? `interrupted by ${by} before migration ${m.version}; nothing was in progress`
    : m.transactional
    ? `interrupted by ${by} during migration ${m.version} (${file}); it was rolled back`
    : `interrupted by ${by} during migration ${m.version} (${file}), which runs outside a transaction: ` +
      "statements that completed stay committed and nothing was recorded";
  const error = new RuntimeError("INTERRUPTED", message, { version: m.version }, exitCode);
  error.completed = [...done];
  return error;
}
