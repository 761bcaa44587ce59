/**
 * The migration runner: status, apply and rollback against one database.
 * Each command does its I/O once, around pure planning: read the files,
 * lock, read the history, classify, refuse, run, unlock.
 *
 * @module
 */
import type postgres from "postgres";
import {
  type Classifiable,
  classify,
  historyProblems,
  type HistoryRow,
  type MigrationState,
  type MigrationStatusEntry,
  nothingToApply,
  outOfOrderProblems,
  pairRows,
  planApply,
  planBaseline,
  planRepair,
  planRollback,
  recordedAsIs,
  type RepairChange,
  selectRollback,
} from "./classify.ts";
import { DEFAULTS, SETUP_LOCK_KEY } from "./config.ts";
import { connect } from "./connect.ts";
import type { Driver, DriverOptions } from "./driver.ts";
import {
  DataBridgeError,
  interruptedError,
  RuntimeError,
  UsageError,
  ValidationError,
} from "./errors.ts";
import {
  type Ahead,
  canSendAhead,
  describeFailure,
  type Direction,
  executeMigration,
  type ExecuteSettings,
  executeTogether,
  mayReleaseLock,
  refuseOutsideTransaction,
  sendAhead,
} from "./execute.ts";
import {
  baselineHistorySql,
  deleteHistorySql,
  ensureHistoryTable,
  ensureLockTable,
  type History,
  type HistoryState,
  lockTableName,
  readChecksums,
  readHistory,
  type ReadHistoryOptions,
  type RecordedChecksums,
  resolveTable,
  updateChecksumSql,
} from "./history.ts";
import { parseTableName, qualifiedName, type TableName } from "./ident.ts";
import {
  loadMigrations,
  type LoadOptions,
  parseAhead,
  parseFiles,
  readMigrations,
  type ReadResult,
  scanMigrations,
} from "./load.ts";
import { type LockHolder, withLock } from "./lock.ts";
import {
  dropParsedSources,
  isParsed,
  type Migration,
  type MigrationFile,
  parseMigrationFile,
} from "./migration.ts";
import { collectGarbageSoon, longWork } from "./runtime.ts";
import { parseTarget, readOnlyTarget, type Target } from "./target.ts";

/** Something the runner reports while it works. */
export type RunEvent =
  | { type: "info"; message: string }
  | { type: "warning"; message: string }
  | { type: "notice"; severity: string; message: string }
  | { type: "lock_wait"; holder: LockHolder | null }
  | { type: "database_created"; database: string }
  | { type: "start"; direction: Direction; migration: Migration }
  | { type: "done"; direction: Direction; migration: Migration; ms: number; skipped: boolean }
  | {
    type: "retry";
    direction: Direction;
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
  /**
   * How concurrent runs are kept apart. `session` (default): a session
   * advisory lock, which needs a session-pooled connection. `table`: a lock
   * row in `<table>_lock` taken with `FOR UPDATE` inside each migration's
   * transaction, which works through transaction pooling. `none`: no lock.
   */
  lockMode?: LockMode;
  /** Receives progress, warnings and notices. */
  onEvent?: (event: RunEvent) => void;
  /** Options for the connection the runner opens itself. */
  driver?: DriverOptions;
  /** Limits for reading migration files. */
  load?: LoadOptions;
  /**
   * Ends the session the runner opened itself as soon as `status` has read
   * the history, or `apply` has found in it nothing to do, rather than at
   * {@link MigrationRunner.close}: the server's backend exits while the
   * history is decoded and the report made, not beside this process's own
   * exit (a CLI `status` of 1000 applied ~0.7 ms sooner, 650 paired runs; a
   * no-op `apply` ~0.3 ms, 250).
   * A later operation connects again. Default `false`; the CLI sets it.
   */
  endSessionAfterRead?: boolean;
}

/** Options of {@link MigrationRunner.apply}. */
export interface ApplyOptions {
  /** Apply no migration after this version. */
  to?: string;
  /** Only report what would be applied. */
  dryRun?: boolean;
  /** Stops the run: the migration in progress is cancelled and rolled back. */
  signal?: AbortSignal;
  /**
   * Called with the migrations about to be applied, and the version, file
   * and checksum of every migration (applied files that are unchanged are
   * not parsed again), before anything changes, not even the creation of
   * the tracking table; throwing refuses the run. The CLI lints them and
   * checks the sum file here, for a dry run too. Without `to`, it starts
   * on what the first history read left pending, while the lock is asked
   * for; when the history under the lock plans something else (another run
   * applied migrations meanwhile), it is called again with that plan, once
   * the first call has settled, and only that outcome counts. When the
   * history read first shows nothing to apply, it is called with no
   * pending migration and the lock is not taken. While it runs, each parsed
   * file keeps the text it was parsed from (`parsedSource`, what
   * `lintMigrations` lints); it is let go when the check returns.
   */
  check?: (pending: readonly Migration[], all: readonly Classifiable[]) => void | Promise<void>;
  /**
   * Called in a dry run, once the checks have passed, with what the run
   * would do (`apply --sql` writes its script from it). Not called when the
   * first history read shows nothing to apply.
   */
  onPlan?: (plan: RunPlan) => void;
  /**
   * Applies every pending migration in one transaction, committed at the
   * end: a failure leaves none of them applied. Refused (nothing runs) when
   * one of them must run outside a transaction.
   */
  singleTransaction?: boolean;
  /**
   * Creates the server's database when the session is refused because it
   * does not exist (SQLSTATE 3D000), then runs: from a session on the
   * `postgres` (else `template1`) database with the same user and
   * settings. Emits `database_created`. Not in a dry run.
   */
  createDatabase?: boolean;
  /**
   * A pending migration older than the newest applied one (a branch merged
   * late): `allow` (default) applies it with a `warning` event; `refuse`
   * throws `OUT_OF_ORDER` naming each, before anything changes.
   */
  outOfOrder?: "allow" | "refuse";
}

/** What a dry run of {@link MigrationRunner.apply} or {@link MigrationRunner.rollback} would do. */
export interface RunPlan {
  /** The migrations it would run, parsed, in the order it would run them. */
  migrations: Migration[];
  /** The tracking table as the run found it. */
  history: HistoryState;
  /** How many rows it held. */
  recorded: number;
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
  /** Called in a dry run with what the run would do (`rollback --sql` writes its script from it). */
  onPlan?: (plan: RunPlan) => void;
  /** Reverts the migrations in one transaction: a failure leaves all of them applied. */
  singleTransaction?: boolean;
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

/** How concurrent runs are kept apart; see {@link RunnerOptions.lockMode}. */
export type LockMode = "session" | "table" | "none";

/** Options of {@link MigrationRunner.repair}. */
export interface RepairOptions {
  /** Also delete rows whose file is gone. */
  removeMissing?: boolean;
  /** Only report what would change. */
  dryRun?: boolean;
  /** Asked with the planned changes before any is made; `false` changes nothing. */
  confirm?: (changes: RepairChange[]) => Promise<boolean> | boolean;
}

/** What {@link MigrationRunner.validate} found. */
export interface ValidationReport {
  /** `true` when there is no problem. */
  valid: boolean;
  /** Every problem: bad files, duplicates, and with a database, modified and missing migrations. */
  problems: ValidationError[];
  /** Number of valid migration files. */
  migrations: number;
  /** Whether the database's history was checked. */
  checkedDatabase: boolean;
  /** Versions applied, when checked. */
  applied: string[];
  /** Versions pending, when checked. */
  pending: string[];
}

/** Where migrations come from: a directory, or migrations built in code. */
export type MigrationSource = string | Migration | readonly Migration[];

/**
 * A postgres.js instance (`postgres(url)`), as the runner accepts it: one of
 * its connections is reserved for each command and released after.
 */
export type PostgresJsSql = postgres.Sql;

/** What a runner talks to. */
export type DatabaseSource = string | Target | Driver | PostgresJsSql;

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
  readonly #lockMode: LockMode;
  #driver: Driver | null = null;

  /**
   * Creates a runner. A URL or target is connected lazily, on the first command,
   * and the connection kept until `close()`.
   *
   * @param source A URL (`postgres://...` or `pglite:PATH`), a target, an
   *   open {@link Driver}, or a postgres.js instance (one of its connections
   *   is reserved for each command).
   * @param options Table name, timeouts, lock mode, event handler.
   * @throws {UsageError} `INVALID_TABLE_NAME`, `INVALID_URL` or `USAGE` (lock mode).
   */
  constructor(source: DatabaseSource, options: RunnerOptions = {}) {
    this.#table = parseTableName(options.migrationsTable ?? DEFAULTS.table, "migrationsTable");
    this.#options = options;
    this.#lockMode = options.lockMode ?? "session";
    if (!["session", "table", "none"].includes(this.#lockMode)) {
      throw new UsageError(
        "USAGE",
        `--lock-mode ${this.#lockMode}: use session, table or none`,
      );
    }
    this.#source = typeof source === "string" ? parseTarget(source, "api", "url") : source;
  }

  /**
   * Creates the tracking table when missing (idempotent).
   *
   * @param options `createDatabase`: as {@link ApplyOptions.createDatabase}.
   * @throws {DataBridgeError} When the database cannot be reached or refuses.
   */
  async init(options: { createDatabase?: boolean } = {}): Promise<void> {
    await this.#creatingDatabase(
      options.createDatabase === true,
      () =>
        this.#session((driver) => this.#guard(driver, undefined, () => this.#ensureTables(driver))),
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
    return await this.#withFiles(
      () => this.#scan(source),
      (files) =>
        this.#session(async (driver) => {
          // No names in a status: applied_by is not read. With
          // endSessionAfterRead, the session ends once the history is in,
          // while its rows are decoded.
          const end = this.#options.endSessionAfterRead === true;
          let ended: Promise<void> | null = null;
          const history = await this.#readHistory(driver, {
            appliedBy: false,
            onRead: end
              ? () => {
                ended = this.close();
                ended.catch(() => {}); // awaited below, once the rows are decoded
              }
              : undefined,
          });
          if (end) await (ended ?? this.close());
          const rows = history?.rows ?? [];
          const list = await files;
          // Every file applied as it is, none missing (a deploy's usual state): one pass.
          if (recordedAsIs(list, rows)) return appliedReport(list, rows);
          return statusReport(classify(parseChanged(list, rows), rows));
        }, true),
    );
  }

  /**
   * Applies pending migrations in version order, each in its own
   * transaction with its history row. Stops at the first failure, which is
   * rolled back; migrations applied before it stay applied.
   *
   * @param source Directory or migrations.
   * @param options `to`, `dryRun`, `signal`, `check`, `createDatabase`, `outOfOrder`.
   * @returns Versions applied (or that would be, with `dryRun`).
   * @throws {ValidationError} For invalid files, when an applied migration
   *   was modified or is missing, or, with `outOfOrder: "refuse"`, when one
   *   is older than the newest applied (nothing runs).
   * @throws {MigrationError} When a migration fails; `completed` lists the
   *   versions applied before it.
   * @throws {RuntimeError} `CONNECTION_FAILED` when the server cannot be
   *   reached or the database does not exist (without `createDatabase`).
   */
  async apply(source: MigrationSource, options: ApplyOptions = {}): Promise<string[]> {
    return await this.#creatingDatabase(
      options.createDatabase === true && options.dryRun !== true,
      () => this.#apply(source, options),
    );
  }

  /**
   * Runs `fn`; when `create` is set and the server refused the session
   * because the database does not exist, creates it and runs `fn` again.
   */
  async #creatingDatabase<T>(create: boolean, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      const target = this.#source;
      if (
        !create || isDriver(target) || typeof target === "function" ||
        !(error instanceof DataBridgeError)
      ) throw error;
      const { createDatabase, isMissingDatabase } = await import("./create_database.ts");
      if (!isMissingDatabase(error)) throw error;
      // The session was refused before anything ran: made, the database
      // gets the whole run again.
      await this.close();
      const created = await createDatabase(target as Target, this.#driverOptions());
      if (created !== null) this.#emit({ type: "database_created", database: created });
      return await fn();
    }
  }

  async #apply(source: MigrationSource, options: ApplyOptions): Promise<string[]> {
    return await this.#withFiles(
      () => this.#scan(source),
      (files) =>
        this.#session(async (driver) => {
          // With a check to run (the CLI's lint), each parsed file keeps its
          // text for it until it returns.
          const keep = options.check !== undefined;
          const early = await this.#parseEarly(driver, files, (scanned) => {
            // An unknown --to is refused before the lock is even asked for.
            if (options.to !== undefined) planApply(classify(scanned, []), { to: options.to });
          }, keep);
          if (upToDate(early, options.to)) {
            // Nothing to do as of the history just read, which every
            // migration commits to with its row: no lock, no second read.
            // With endSessionAfterRead, the session ends now: the server's
            // backend exits while the check runs and the run is reported.
            const ended = this.#options.endSessionAfterRead === true ? this.close() : null;
            ended?.catch(() => {}); // awaited below, once the check has run
            this.#reportHistory(driver, early.history);
            await options.check?.([], early.migrations);
            if (!early.asRecorded) dropParsedSources(early.migrations.filter(isParsed));
            await ended;
            return [];
          }
          // The check starts on what the early read left pending, while the
          // lock and the second read are on their way; it stands when the
          // plan under the lock is the same.
          const ahead = options.check && options.to === undefined
            ? checkAhead(options.check, early.migrations)
            : null;
          const check = async (pending: Migration[], all: (Migration | MigrationFile)[]) => {
            if (ahead && sameItems(ahead.pending, pending) && sameItems(ahead.all, all)) {
              return await ahead.outcome;
            }
            await ahead?.outcome.catch(() => {});
            await options.check?.(pending, all);
          };
          return await this.#guard(driver, options.signal, async () => {
            // The table's schema is looked up beside the read (see #run).
            const [history, table] = await Promise.all([
              this.#readHistory(driver),
              resolveTable(driver, this.#table),
            ]);
            // Another run may have changed the history since the early read.
            const migrations = parseChanged(early.migrations, history?.rows ?? [], keep);
            const entries = checkedEntries(migrations, history);
            const plan = planApply(entries, { to: options.to });
            if ((options.outOfOrder ?? DEFAULTS.outOfOrder) === "refuse") {
              const late = outOfOrderProblems(entries, { to: options.to });
              if (late.length) throw ValidationError.of(late);
            }
            const pending = plan.pending.map(parsed);
            if (options.singleTransaction) refuseOutsideTransaction(pending);
            // Table mode also needs its lock table, which a history made in session mode lacks.
            const tables = !options.dryRun &&
              (history === null || !history.current || this.#lockMode === "table");
            if (tables && options.check) {
              // The tables are made while the check runs, in a transaction
              // that commits only when it passes: the server's work overlaps
              // the lint's, and a failed check leaves no table behind.
              let pass = () => {}, fail = (_: unknown) => {};
              const verdict = new Promise<void>((resolve, reject) => {
                pass = resolve;
                fail = reject;
              });
              verdict.catch(() => {});
              const ensuring = this.#ensureTables(driver, verdict);
              ensuring.catch(() => {});
              try {
                await check(pending, migrations);
              } catch (error) {
                fail(error);
                await ensuring.catch(() => {});
                throw error;
              }
              pass();
              dropParsedSources(migrations.filter(isParsed));
              await ensuring;
            } else {
              await check(pending, migrations);
              dropParsedSources(migrations.filter(isParsed));
              if (options.dryRun) {
                options.onPlan?.({ migrations: pending, ...historyState(history) });
                return pending.map((m) => m.version);
              }
              if (tables) await this.#ensureTables(driver);
            }
            const newest = entries.filter((e) => e.row).at(-1)?.version;
            for (const m of plan.outOfOrder.map(parsed)) {
              this.#emit({
                type: "warning",
                message: `${
                  m.file ?? m.version
                } is older than the newest applied migration ${newest}; applying it anyway (merged from another branch?)`,
              });
            }
            return await this.#run(driver, "up", pending, options, table);
          });
        }, options.dryRun === true),
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
    return await this.#withFiles(
      () => this.#scan(source),
      (files) =>
        this.#lockedSession(
          files,
          options.signal,
          async (driver, early: EarlyRead) => {
            const [history, table] = await Promise.all([
              this.#readHistory(driver),
              resolveTable(driver, this.#table),
            ]);
            const entries = checkedEntries(
              parseChanged(early.migrations, history?.rows ?? [], false, early.ahead),
              history,
            );
            const steps = planRollback(
              withParsed(entries, selectRollback(entries, options), early.ahead),
              options,
            );
            if (options.singleTransaction) refuseOutsideTransaction(steps.map((s) => s.migration));
            if (options.dryRun) {
              const migrations = steps.map((s) => s.migration);
              options.onPlan?.({ migrations, ...historyState(history) });
              return migrations.map((m) => m.version);
            }
            // A history made in session mode has no lock table yet.
            if (this.#lockMode === "table" && steps.length) {
              await this.#ensureTables(driver);
            }
            return await this.#run(driver, "down", steps.map((s) => s.migration), options, table);
          },
          (driver, files) => this.#parseEarly(driver, files),
          options.dryRun === true,
        ),
    );
  }

  /**
   * Checks the files (names, format, duplicates) and, when `database` is
   * set, the history (checksums, missing files; with `outOfOrder:
   * "refuse"`, migrations merged late, as `apply` would refuse them).
   * Changes nothing. Lists every problem, not just the first.
   *
   * @param source Directory or migrations.
   * @param options `database: false` checks only the files; `outOfOrder`.
   * @returns The report; `valid` is `false` when anything is wrong.
   * @throws {ValidationError} `DIRECTORY_NOT_FOUND` when the directory cannot be listed.
   */
  async validate(
    source: MigrationSource,
    options: { database?: boolean; outOfOrder?: "allow" | "refuse" } = {},
  ): Promise<ValidationReport> {
    const read = (): Promise<ReadResult> =>
      typeof source === "string"
        ? readMigrations(source, this.#options.load)
        : this.#migrations(source).then((migrations) => ({
          migrations,
          problems: [],
          brokenVersions: [],
        }));
    const report = (files: ReadResult): ValidationReport => ({
      valid: files.problems.length === 0,
      problems: files.problems,
      migrations: files.migrations.length,
      checkedDatabase: false,
      applied: [],
      pending: [],
    });
    if (options.database === false) return report(await read());
    return await this.#withFiles(read, (files) =>
      this.#session(async (driver) => {
        const history = await this.#readHistory(driver);
        const read = await files;
        const broken = new Set(read.brokenVersions);
        const rows = (history?.rows ?? []).filter((row) => !broken.has(row.version));
        const entries = classify(read.migrations, rows);
        const problems = [...read.problems, ...historyProblems(entries)];
        // What apply --out-of-order refuse would stop.
        if ((options.outOfOrder ?? DEFAULTS.outOfOrder) === "refuse") {
          problems.push(...outOfOrderProblems(entries));
        }
        return {
          ...report({ ...read, problems }),
          checkedDatabase: true,
          applied: entries.filter((e) => e.row).map((e) => e.version),
          pending: entries.filter((e) => e.state === "pending").map((e) => e.version),
        };
      }));
  }

  /**
   * Makes the history agree with the files: recorded checksums of modified
   * migrations are set to the files' current ones and, with
   * `removeMissing`, rows without a file are deleted. All in one
   * transaction, under the lock.
   *
   * @param source Directory or migrations.
   * @param options `removeMissing`, `dryRun`, `confirm`.
   * @returns The changes made (or planned, with `dryRun` or when `confirm` says no).
   * @throws {ValidationError} When a migration file is invalid.
   */
  async repair(source: MigrationSource, options: RepairOptions = {}): Promise<RepairChange[]> {
    return await this.#withFiles(
      () => this.#migrations(source),
      (files) =>
        this.#lockedSession(files, undefined, async (driver, loaded) => {
          const history = await this.#readHistory(driver);
          const changes = planRepair(classify(loaded, history?.rows ?? []), options);
          if (options.dryRun || changes.length === 0) return changes;
          if (options.confirm && !(await options.confirm(changes))) return [];
          await driver.transaction(async (tx) => {
            for (const change of changes) {
              await (change.action === "checksum"
                ? tx.query(updateChecksumSql(this.#table), [change.version, change.to])
                : tx.query(deleteHistorySql(this.#table), [change.version]));
            }
          });
          return changes;
        }),
    );
  }

  /**
   * Records every migration up to `version` as applied without running it,
   * for a database that already has their schema. `execution_ms` stays NULL.
   *
   * @param source Directory or migrations.
   * @param version The last version to record.
   * @returns The versions recorded.
   * @throws {UsageError} `UNKNOWN_VERSION` when no migration has `version`.
   * @throws {ValidationError} `ALREADY_APPLIED` when any of them is recorded.
   */
  async baseline(source: MigrationSource, version: string): Promise<string[]> {
    return await this.#withFiles(
      () => this.#migrations(source),
      (files) =>
        this.#lockedSession(files, undefined, async (driver, loaded) => {
          const history = await this.#readHistory(driver);
          const selected = planBaseline(classify(loaded, history?.rows ?? []), version);
          if (history === null || !history.current) await this.#ensureTables(driver);
          await driver.transaction(async (tx) => {
            const sql = baselineHistorySql(this.#table);
            await Promise.all(
              selected.map((m) => tx.query(sql, [m.version, m.description, m.checksum])),
            );
          });
          return selected.map((m) => m.version);
        }),
    );
  }

  /**
   * The tracking table's rows in the order they were applied.
   *
   * @returns The rows; empty when the table does not exist.
   * @throws {DataBridgeError} When the database cannot be reached.
   */
  async history(): Promise<HistoryRow[]> {
    const history = await this.#session((driver) => this.#readHistory(driver), true);
    return [...(history?.rows ?? [])].sort((a, b) =>
      a.appliedAt.getTime() - b.appliedAt.getTime() || (a.version < b.version ? -1 : 1)
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
    const seen = new Set<string>();
    for (const m of list) {
      if (seen.has(m.version)) {
        throw new ValidationError(
          "DUPLICATE_VERSION",
          `two migrations have the version ${m.version}`,
          { version: m.version },
        );
      }
      seen.add(m.version);
    }
    return list.sort((a, b) => (a.version < b.version ? -1 : 1));
  }

  /**
   * Runs `work`, which starts on the database at once (connecting, locking,
   * reading the history), while the files are read: the two overlap. A
   * problem in the files is reported without waiting for the database, and
   * wins over the database's own error.
   */
  async #withFiles<F, T>(
    load: () => Promise<F>,
    work: (files: Promise<F>) => Promise<T>,
  ): Promise<T> {
    let hand!: (files: Promise<F>) => void;
    const files = new Promise<F>((resolve) => (hand = resolve));
    files.catch(() => {}); // reported below, whether or not `work` reaches it
    const running = work(files);
    running.catch(() => {});
    const loading = load();
    hand(loading);
    try {
      await loading;
    } catch (problem) {
      // Stop waiting for a database that may not answer; `work` sees the
      // same problem when it reaches the files.
      if (this.#driver) await this.close();
      await running.catch(() => {});
      throw problem;
    }
    return await running;
  }

  /**
   * The session, connected while the files are read, then the lock, taken
   * only once `prepare` is done with the files: bad files never hold the
   * lock or wait for it. File problems are reported before connection
   * problems. `prepare` is handed the files before they are read, so that
   * its first query overlaps the reading; by default that query is
   * `SELECT 1`, and the files are passed on as they are.
   */
  #lockedSession<F, T, G = F>(
    files: Promise<F>,
    signal: AbortSignal | undefined,
    fn: (driver: Driver, ready: G) => Promise<T>,
    prepare: (driver: Driver, files: Promise<F>) => Promise<G> = connectWhileReading<F, G>,
    readOnly = false,
  ): Promise<T> {
    return this.#session(async (driver) => {
      const ready = await prepare(driver, files);
      return await this.#guard(driver, signal, () => fn(driver, ready));
    }, readOnly);
  }

  /**
   * The files, parsed where they differ from the history: the `prepare` of
   * apply and rollback. Bad files are reported before the lock is asked
   * for, so they never wait for it; the history is read while the files
   * are, as the connection's first query (and again under the lock).
   */
  async #parseEarly(
    driver: Driver,
    files: Promise<(Migration | MigrationFile)[]>,
    check?: (scanned: (Migration | MigrationFile)[]) => void,
    keepSources = false,
  ): Promise<EarlyRead> {
    // Versions and checksums are all this read needs: no dates or descriptions to decode.
    const early = readChecksums(driver, this.#table);
    early.catch(() => {});
    const scanned = await files;
    check?.(scanned);
    // While the history is on its way, the newest files are parsed ahead.
    const ahead = await parseAhead(scanned, early, { keepSource: keepSources });
    const history = await early;
    const rows = history?.rows ?? [];
    // Told once, for the parse and for upToDate: a run with nothing to do parses nothing.
    const asRecorded = recordedAsIs(scanned, rows);
    return {
      history,
      migrations: asRecorded ? scanned.slice() : parseChanged(scanned, rows, keepSources, ahead),
      ahead,
      asRecorded,
    };
  }

  /** Reads migrations from a directory without parsing them, or takes them from code. */
  async #scan(source: MigrationSource): Promise<(Migration | MigrationFile)[]> {
    if (typeof source !== "string") return await this.#migrations(source);
    const { files, problems } = await scanMigrations(source, this.#options.load);
    if (problems.length) throw ValidationError.of(problems);
    return files;
  }

  async #readHistory(driver: Driver, options?: ReadHistoryOptions): Promise<History | null> {
    const history = await readHistory(driver, this.#table, options);
    this.#reportHistory(driver, history);
    return history;
  }

  #reportHistory(driver: Driver, history: { rows: readonly unknown[] } | null): void {
    const table = qualifiedName(this.#table);
    this.#emit({
      type: "info",
      message: history === null
        ? `${driver.target}: no tracking table ${table} yet`
        : `${driver.target}: ${history.rows.length} migrations recorded in ${table}`,
    });
  }

  /**
   * Creates the tracking (and lock) table in one transaction holding a
   * transaction-level advisory lock, so concurrent first runs do not race
   * even without the session lock (`--lock-mode table` or `none`). With
   * `before`, the transaction commits once it resolves, and rolls back if
   * it rejects.
   */
  async #ensureTables(driver: Driver, before?: Promise<void>): Promise<void> {
    await driver.transaction(async (tx) => {
      // Idle while the check runs: a server's idle_in_transaction_session_timeout must not end it.
      if (before) await tx.exec("SET LOCAL idle_in_transaction_session_timeout = 0");
      await tx.query("SELECT pg_advisory_xact_lock($1::bigint)", [SETUP_LOCK_KEY.toString()]);
      await ensureHistoryTable(tx, this.#table);
      if (this.#lockMode === "table") await ensureLockTable(tx, this.#table);
      await before;
    });
  }

  /** Runs `fn` under the lock the lock mode asks for. */
  async #guard<T>(
    driver: Driver,
    signal: AbortSignal | undefined,
    fn: () => Promise<T>,
  ): Promise<T> {
    if (this.#lockMode !== "session") return await fn();
    return await withLock(driver, fn, {
      waitSeconds: this.#options.lockWaitSeconds,
      signal,
      onWait: (holder: LockHolder | null) => this.#emit({ type: "lock_wait", holder }),
    });
  }

  /**
   * Runs migrations in the session. `table` is the tracking table named
   * with its schema: the statements sent after a migration's SQL reach it
   * even when that SQL moved the search_path.
   */
  async #run(
    driver: Driver,
    direction: Direction,
    migrations: Migration[],
    options: { signal?: AbortSignal; singleTransaction?: boolean },
    table: TableName,
  ): Promise<string[]> {
    const signal = options.signal;
    if (this.#lockMode === "table") {
      const loose = migrations.find((m) => !m.transactional);
      if (loose) {
        throw new ValidationError(
          "LOCK_MODE",
          `${
            loose.file ?? loose.version
          } runs outside a transaction, which --lock-mode table cannot guard; run it with --lock-mode session`,
          { file: loose.file ?? undefined, version: loose.version },
        );
      }
    }
    const settings: ExecuteSettings = {
      table,
      lockTimeout: this.#options.lockTimeout,
      statementTimeout: this.#options.statementTimeout,
      lockRetries: this.#options.lockRetries,
      // The lock row is taken before the migration's SQL runs: named as given (in messages too).
      lockTable: this.#lockMode === "table" ? lockTableName(this.#table) : undefined,
      sessionLock: this.#lockMode === "session",
      lockWaitSeconds: this.#options.lockWaitSeconds,
      // With the session lock, the limits are set on the session once, not
      // in each transaction (a session not the runner's own gets its values
      // back at the end); through a transaction pooler (--lock-mode table or
      // none) a session setting could reach other clients, so there each
      // transaction sets them for itself.
      sessionLimits: this.#lockMode === "session" ? { inForce: false, set: false } : undefined,
    };
    if (options.singleTransaction) {
      return await this.#runTogether(driver, direction, migrations, settings, signal);
    }
    const done: string[] = [];
    const cancel = () => void driver.cancel().catch(() => {});
    signal?.addEventListener("abort", cancel);
    // The next migration, sent while the one before it runs (see sendAhead).
    let ahead: Ahead | undefined;
    try {
      for (const [n, migration] of migrations.entries()) {
        if (n > 0 && n % DEFAULTS.gcEveryMigrations === 0) collectGarbageSoon();
        const sent = ahead?.migration === migration ? ahead : undefined;
        ahead = undefined;
        if (signal?.aborted) {
          // Sent before the interruption, it may have committed meanwhile.
          const waited = performance.now();
          if (!sent || !(await sent.outcome.catch(() => false))) {
            throw interrupted(
              signal,
              sent
                ? duringMessage(migration)
                : `before migration ${migration.version}; nothing was in progress`,
              done,
            );
          }
          this.#emit({ type: "start", direction, migration });
          done.push(migration.version);
          const ms = performance.now() - waited;
          this.#emit({ type: "done", direction, migration, ms, skipped: false });
          continue;
        }
        for (const message of migration.warnings) this.#emit({ type: "warning", message });
        this.#emit({ type: "start", direction, migration });
        // After SQL that may release the lock, nothing runs before it is held again.
        const releases = settings.sessionLock === true &&
          mayReleaseLock(direction === "up" ? migration.up : migration.down);
        let result;
        try {
          const running = executeMigration(driver, direction, migration, {
            ...settings,
            onRetry: (attempt, delayMs, reason) =>
              this.#emit({ type: "retry", direction, migration, attempt, delayMs, reason }),
            onLockWait: () => this.#emit({ type: "lock_wait", holder: null }),
          }, sent);
          const next = migrations[n + 1];
          if (next && !releases && canSendAhead(driver, migration, next, settings)) {
            ahead = sendAhead(driver, direction, next, migration, settings);
          }
          result = await running;
        } catch (error) {
          if (signal?.aborted) throw interrupted(signal, duringMessage(migration), done);
          const failure = describeFailure(error, direction, migration, settings);
          failure.completed = [...done];
          throw failure;
        }
        if (!result.skipped) done.push(migration.version);
        this.#emit({ type: "done", direction, migration, ms: result.ms, skipped: result.skipped });
        if (releases && !(await driver.keepLock())) {
          const lost = new RuntimeError(
            "LOCK_LOST",
            `migration ${migration.version} released the migration lock (its SQL runs DISCARD ALL ` +
              "or pg_advisory_unlock_all()), and another run took it meanwhile: stopped after it, " +
              "to keep the runs apart; run the command again once the other run is done",
            { file: migration.file ?? undefined, version: migration.version },
          );
          lost.completed = [...done];
          throw lost;
        }
      }
      return done;
    } finally {
      signal?.removeEventListener("abort", cancel);
      if (settings.sessionLimits?.set && driver !== this.#driver) {
        await driver.exec("RESET lock_timeout; RESET statement_timeout").catch(() => {});
      }
    }
  }

  /**
   * `singleTransaction`: the migrations in one transaction. Each is
   * reported as it runs; a failure rolls back every one of them, and the
   * error says so.
   */
  async #runTogether(
    driver: Driver,
    direction: Direction,
    migrations: Migration[],
    settings: ExecuteSettings,
    signal: AbortSignal | undefined,
  ): Promise<string[]> {
    if (migrations.length === 0) return [];
    const cancel = () => void driver.cancel().catch(() => {});
    signal?.addEventListener("abort", cancel);
    let current = migrations[0];
    try {
      const results = await executeTogether(driver, direction, migrations, {
        ...settings,
        onRetry: (attempt, delayMs, reason) =>
          this.#emit({ type: "retry", direction, migration: current, attempt, delayMs, reason }),
        onLockWait: () => this.#emit({ type: "lock_wait", holder: null }),
      }, {
        onStart: (m) => {
          current = m;
          for (const message of m.warnings) this.#emit({ type: "warning", message });
          this.#emit({ type: "start", direction, migration: m });
        },
        onRan: (m, result) =>
          this.#emit({
            type: "done",
            direction,
            migration: m,
            ms: result.ms,
            skipped: result.skipped,
          }),
      });
      return migrations.filter((_, i) => !results[i].skipped).map((m) => m.version);
    } catch (error) {
      const before = migrations.indexOf(current);
      const note = `the run was one transaction (--single-transaction): ${
        before === 0
          ? ""
          : `the ${before} migration${before === 1 ? "" : "s"} before it ${
            before === 1 ? "was" : "were"
          } rolled back too, `
      }nothing was ${direction === "up" ? "applied" : "reverted"}`;
      if (signal?.aborted) {
        throw interrupted(
          signal,
          `during migration ${current.version} (${current.file ?? "built in code"}); ${note}`,
          [],
        );
      }
      const failure = describeFailure(error, direction, current, settings);
      // A session lost may have reached COMMIT: then all of the run committed.
      failure.message = failure.code === "CONNECTION_LOST"
        ? `${failure.message} (the run was one transaction, --single-transaction: all of its ` +
          "migrations committed together or none did)"
        : `${failure.message}; ${note}`;
      failure.completed = [];
      throw failure;
    } finally {
      signal?.removeEventListener("abort", cancel);
    }
  }

  /**
   * Runs `fn` on the session: the driver given, or one the runner opens and
   * keeps. `readOnly` (status, history, dry runs) makes no embedded
   * database that does not exist yet.
   */
  async #session<T>(fn: (driver: Driver) => Promise<T>, readOnly = false): Promise<T> {
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
    const target = source as Target;
    const read = readOnly && !this.#driver ? readOnlyTarget(target) : target;
    if (read !== target) {
      // An embedded database not made yet has nothing applied: read as
      // an empty one in memory, and make none on disk.
      const empty = await connect(read, this.#driverOptions());
      try {
        return await fn(empty);
      } finally {
        await empty.close();
      }
    }
    this.#driver ??= await connect(target, this.#driverOptions());
    try {
      return await fn(this.#driver);
    } catch (error) {
      if (error instanceof DataBridgeError && error.code === "CONNECTION_LOST") await this.close();
      throw error;
    }
  }

  #driverOptions(): DriverOptions {
    return {
      lockWaitSeconds: this.#options.lockWaitSeconds,
      ...this.#options.driver,
      onNotice: (notice) => {
        this.#options.driver?.onNotice?.(notice);
        // The driver's own words are progress or warnings, PostgreSQL's are notices.
        if (!notice.client) {
          this.#emit({ type: "notice", severity: notice.severity, message: notice.message });
        } else if (notice.severity === "WARNING") {
          this.#emit({ type: "warning", message: notice.message });
        } else this.#emit({ type: "info", message: notice.message });
      },
    };
  }

  #emit(event: RunEvent): void {
    this.#options.onEvent?.(event);
  }
}

/** Classifies, refusing a history that disagrees with the files (modified or missing). */
function checkedEntries<M extends Classifiable>(
  migrations: M[],
  history: History | null,
): MigrationStatusEntry<M>[] {
  const entries = classify(migrations, history?.rows ?? []);
  const problems = historyProblems(entries);
  if (problems.length) throw ValidationError.of(problems);
  return entries;
}

/** The default `prepare` of `#lockedSession`: `SELECT 1` while the files are read. */
async function connectWhileReading<F, G>(driver: Driver, files: Promise<F>): Promise<G> {
  const connected = driver.query("SELECT 1", [], { early: true });
  connected.catch(() => {});
  const loaded = await files;
  await connected;
  return loaded as unknown as G;
}

/**
 * Parses every file whose checksum is not the one recorded for its
 * version. A file recorded with its current checksum is left unparsed: it is
 * the file that was applied, it will not run again, and `status` and
 * `apply` need only its checksum (`validate` parses every file).
 *
 * @throws {ValidationError} Listing every problem of the files parsed.
 */
function parseChanged(
  list: readonly (Migration | MigrationFile)[],
  rows: readonly { version: string; checksum: string }[],
  keepSource = false,
  ahead?: ReadonlyMap<MigrationFile, Migration | ValidationError>,
): (Migration | MigrationFile)[] {
  const { paired } = pairRows(list, rows);
  const { parsed, problems } = parseFiles(
    list,
    (f, i) => paired[i]?.checksum === f.checksum,
    { keepSource, ahead },
  );
  if (problems.length) throw ValidationError.of(problems);
  return parsed;
}

/** The history read as the connection's first query, and the files parsed against it. */
interface EarlyRead {
  history: RecordedChecksums | null;
  migrations: (Migration | MigrationFile)[];
  /** The files parsed while the history was read, for the later parses to take. */
  ahead: ReadonlyMap<MigrationFile, Migration | ValidationError>;
  /** Whether the history is the files as they are (`recordedAsIs`): none was parsed. */
  asRecorded: boolean;
}

/**
 * `check` started on the files the early read left to parse: with no
 * applied file modified (which the plan under the lock refuses), what is
 * pending. Its outcome is awaited only when that plan is the same.
 */
function checkAhead(
  check: NonNullable<ApplyOptions["check"]>,
  all: (Migration | MigrationFile)[],
): { pending: Migration[]; all: (Migration | MigrationFile)[]; outcome: Promise<void> } {
  const pending = all.filter(isParsed);
  const outcome = (async () => await check(pending, all))();
  outcome.catch(() => {}); // awaited under the lock, or let go
  return { pending, all, outcome };
}

/** Whether two lists hold the same items in the same order. */
function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Whether `apply` has nothing to do as of the early read: the tracking
 * table exists in its current form, no applied migration was modified or
 * lost, and nothing up to `to` is pending.
 */
function upToDate(early: EarlyRead, to: string | undefined): early is EarlyRead & {
  history: RecordedChecksums;
} {
  if (early.history === null || !early.history.current) return false;
  return early.asRecorded || nothingToApply(early.migrations, early.history.rows, to);
}

/**
 * The entries with the files of `selected` parsed (their DOWN is about to
 * run); other files left unparsed count as having none, which only the
 * selected entries' checks could notice.
 *
 * @throws {ValidationError} When a selected file does not parse.
 */
function withParsed(
  entries: readonly MigrationStatusEntry<Migration | MigrationFile>[],
  selected: readonly MigrationStatusEntry<Migration | MigrationFile>[],
  ahead?: ReadonlyMap<MigrationFile, Migration | ValidationError>,
): MigrationStatusEntry[] {
  const chosen = new Set(selected.map((e) => e.version));
  // Reverting 1000 small migrations parses 1000 files: long work.
  const work = longWork();
  try {
    return entries.map((e) => {
      const m = e.migration;
      if (m === undefined || isParsed(m)) return { ...e, migration: m };
      if (!chosen.has(e.version)) return { ...e, migration: undefined };
      // Parsed while the history was read (its error, if any, is the parse's own: raised again here).
      const before = ahead?.get(m);
      const parsedAhead = before instanceof ValidationError ? undefined : before;
      if (parsedAhead) return { ...e, migration: parsedAhead };
      work.add(m.text.length + DEFAULTS.longWorkFileChars);
      return { ...e, migration: parseMigrationFile(m) };
    });
  } finally {
    work.end();
  }
}

/** A migration `parseChanged` parsed: one not recorded with its checksum. */
function parsed(m: Migration | MigrationFile): Migration {
  if (!isParsed(m)) throw new Error(`internal error: migration ${m.version} was not parsed`);
  return m;
}

function isDriver(source: DatabaseSource): source is Driver {
  return typeof source === "object" && typeof (source as Driver).transaction === "function";
}

function statusReport<M extends Classifiable>(entries: MigrationStatusEntry<M>[]): StatusReport {
  // One pass: a status of thousands of migrations.
  const applied: string[] = [];
  const pending: string[] = [];
  const migrations: MigrationStatus[] = new Array(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e.row) applied.push(e.version);
    else if (e.state === "pending") pending.push(e.version);
    migrations[i] = {
      version: e.version,
      description: e.description,
      file: e.file,
      state: e.state,
      appliedAt: e.appliedAt,
      checksum: e.checksum,
      executionMs: e.executionMs,
    };
  }
  return { applied, pending, migrations };
}

/**
 * {@link statusReport} of {@link classify} where the rows are the files as
 * they are ({@link recordedAsIs}): each applied, with its row's time and
 * duration, built in one pass without the entries between.
 */
function appliedReport(
  list: readonly (Migration | MigrationFile)[],
  rows: readonly HistoryRow[],
): StatusReport {
  const applied: string[] = new Array(list.length);
  const migrations: MigrationStatus[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const m: Classifiable = list[i];
    const row = rows[i];
    applied[i] = m.version;
    migrations[i] = {
      version: m.version,
      description: m.description ?? row.description,
      file: m.file,
      state: "applied",
      appliedAt: row.appliedAt,
      checksum: m.checksum,
      executionMs: row.executionMs,
    };
  }
  return { applied, pending: [], migrations };
}

function duringMessage(m: Migration): string {
  const file = m.file ?? "built in code";
  return m.transactional
    ? `during migration ${m.version} (${file}); it was rolled back`
    : `during migration ${m.version} (${file}), which runs outside a transaction: ` +
      "statements that completed stay committed and nothing was recorded";
}

function interrupted(signal: AbortSignal, message: string, done: string[]) {
  const error = interruptedError(signal, message);
  error.completed = [...done];
  return error;
}

/** The tracking table as a history read found it (an empty table may be of earlier tools). */
function historyState(history: History | null): { history: HistoryState; recorded: number } {
  if (history === null) return { history: "missing", recorded: 0 };
  return { history: history.current ? "current" : "incomplete", recorded: history.rows.length };
}
