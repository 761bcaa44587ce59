/**
 * Running one migration's section against the database: in one transaction
 * with its history row, or statement by statement for migrations that
 * cannot run in a transaction; retrying a transaction that hit
 * `lock_timeout`; and turning failures into errors that point at the file.
 *
 * @module
 */
import { DEFAULTS } from "./config.ts";
import { type Driver, type Queryable, sendAll, type TransactionStatement } from "./driver.ts";
import {
  DatabaseError,
  DataBridgeError,
  MigrationError,
  RuntimeError,
  ValidationError,
} from "./errors.ts";
import {
  deleteHistorySql,
  insertHistorySql,
  insertTimedHistorySql,
  MIGRATION_START,
} from "./history.ts";
import { qualifiedName, type TableName } from "./ident.ts";
import { splitStatements } from "./lexer.ts";
import { statementKind } from "./statement_kind.ts";
import { locate, offsetOfPosition } from "./location.ts";
import type { Migration } from "./migration.ts";
import { sleep } from "./sleep.ts";

/** Which way a migration runs. */
export type Direction = "up" | "down";

/** How {@link executeMigration} runs a migration. */
export interface ExecuteSettings {
  /** The tracking table. */
  table: TableName;
  /** `lock_timeout` inside each transaction. */
  lockTimeout?: string;
  /** `statement_timeout` inside each transaction. */
  statementTimeout?: string;
  /** Retries of a transaction that hit `lock_timeout`. */
  lockRetries?: number;
  /**
   * With `--lock-mode table`: the lock row's table. Each transaction then
   * takes the row with `FOR UPDATE` and checks the history again, which
   * works through transaction-pooling connection poolers.
   */
  lockTable?: TableName;
  /** Seconds to wait for the lock row. */
  lockWaitSeconds?: number;
  /**
   * The session lock is held, so no other run changes the history meanwhile:
   * a DOWN and the deletion of its row can be committed without the client
   * first checking that the row was there.
   */
  sessionLock?: boolean;
  /**
   * The run's session state of the limits: when given, `lock_timeout` and
   * `statement_timeout` are set on the session (in the first migration's
   * transaction, so a rollback undoes them too) and only set again after a
   * migration that may have changed them, instead of in every transaction.
   * Without it, each transaction sets them with `SET LOCAL` semantics.
   */
  sessionLimits?: SessionLimits;
  /** Called before each retry. */
  onRetry?: (attempt: number, delayMs: number, reason: string) => void;
  /** Called once when the lock row is busy. */
  onLockWait?: () => void;
}

/** A session's `search_path` and role (`none` when no `SET ROLE` is in force). */
export interface SessionState {
  /** `current_setting('search_path')`. */
  searchPath: string;
  /** `current_setting('role')`. */
  role: string;
}

/** What SQL that may change the session's `search_path` or role mentions. */
const SESSION_CHANGES =
  /search_path|\bschema\b|\brole\b|set_config|session_authorization|\breset\b|\bdiscard\b/i;

/**
 * Whether a migration's SQL may change the session's `search_path` or role
 * (`SET search_path`, `SET SCHEMA`, `SET ROLE`, `set_config`, `RESET`...):
 * then they are kept before it and restored after it, before its history
 * row, so that no migration runs in what an earlier one of the run left and
 * the row is written as and where the run's user would.
 *
 * @param sql A section's SQL.
 * @returns `true` when it mentions any of them.
 * @example
 * ```ts
 * import { mayChangeSession } from "./execute.ts";
 * console.log(mayChangeSession("SET search_path TO app;"), mayChangeSession("CREATE TABLE t (id int);")); // true false
 * ```
 */
export function mayChangeSession(sql: string): boolean {
  return SESSION_CHANGES.test(sql);
}

/** What SQL that may create temporary tables mentions. */
const TEMP_TABLES = /\btemp(orary)?\b/i;

/**
 * Whether a migration's SQL may create temporary tables (`CREATE TEMP
 * TABLE`): they are dropped after it (`DISCARD TEMP`), before its history
 * row, so that the next migration of the run does not find them, as it
 * would not if it ran alone.
 *
 * @param sql A section's SQL.
 * @returns `true` when it mentions `TEMP` or `TEMPORARY`.
 * @example
 * ```ts
 * import { mayMakeTempTables } from "./execute.ts";
 * console.log(mayMakeTempTables("CREATE TEMP TABLE map AS SELECT 1;")); // true
 * ```
 */
export function mayMakeTempTables(sql: string): boolean {
  return TEMP_TABLES.test(sql);
}

/** What SQL that may release the session's advisory locks mentions. */
const LOCK_RELEASES = /\bdiscard\b|advisory_unlock/i;

/**
 * Whether a migration's SQL may release the session's migration lock
 * (`DISCARD ALL`, `pg_advisory_unlock_all()`, `pg_advisory_unlock(...)`):
 * then the run makes sure it holds the lock before it goes on.
 *
 * @param sql A section's SQL.
 * @returns `true` when it mentions any of them.
 * @example
 * ```ts
 * import { mayReleaseLock } from "./execute.ts";
 * console.log(mayReleaseLock("DISCARD ALL;"), mayReleaseLock("CREATE TABLE t (id int);")); // true false
 * ```
 */
export function mayReleaseLock(sql: string): boolean {
  return LOCK_RELEASES.test(sql);
}

/**
 * Reads the session's `search_path` and role, to restore them after a
 * migration outside a transaction that may change them.
 *
 * @param db The run's session.
 * @returns Its state now.
 * @throws {DatabaseError} When the query fails.
 * @example
 * ```ts
 * import type { Driver } from "./driver.ts";
 * import { sessionState } from "./execute.ts";
 * async function path(driver: Driver): Promise<string> {
 *   return (await sessionState(driver)).searchPath; // e.g. "\"$user\", public"
 * }
 * ```
 */
export async function sessionState(db: Queryable): Promise<SessionState> {
  const [row] = await db.query<{ search_path: string; role: string }>(
    "SELECT current_setting('search_path') AS search_path, current_setting('role') AS role",
  );
  return { searchPath: row.search_path, role: row.role };
}

/** In a migration's transaction, before its section: the session's state, kept for the transaction. */
const KEEP_SESSION =
  "SELECT set_config('data_bridge.search_path', current_setting('search_path'), " +
  "true), set_config('data_bridge.role', current_setting('role'), true)";

/** After the section: the state kept, back on the session (as it is, should the section have reset all). */
const RESTORE_SESSION = "SELECT set_config('search_path', coalesce(current_setting(" +
  "'data_bridge.search_path', true), current_setting('search_path')), false), set_config('role', " +
  "coalesce(current_setting('data_bridge.role', true), current_setting('role')), false)";

/** The statement that sets a session's state back to `state`. */
const SET_SESSION = "SELECT set_config('search_path', $1, false), set_config('role', $2, false)";

/** Whether the run's limits are in force on the session (see {@link ExecuteSettings.sessionLimits}). */
export interface SessionLimits {
  /** `true` once set and not changed since, as far as the SQL run shows. */
  inForce: boolean;
  /** They were set on the session and not reset since: RESET them to leave it as found. */
  set: boolean;
}

/**
 * Whether SQL may change `lock_timeout` or `statement_timeout` for the rest
 * of the session (`SET`, `RESET`, `set_config`, `DISCARD`): then the limits
 * are set again before the next migration. A text match, so it errs on the
 * side of setting them again.
 *
 * @param sql A migration's section.
 * @returns `true` when it may.
 * @example
 * ```ts
 * import { mayChangeLimits } from "./execute.ts";
 * console.log(mayChangeLimits("SET lock_timeout = '1min';"), mayChangeLimits("CREATE TABLE t ();")); // true false
 * ```
 */
export function mayChangeLimits(sql: string): boolean {
  return LIMIT_CHANGES.test(sql);
}

const LIMIT_CHANGES = /lock_timeout|statement_timeout|reset|set_config|discard/i;

/** What running a migration did. */
export interface ExecuteResult {
  /** Milliseconds it took. */
  ms: number;
  /** `true` when another run had already done it (`--lock-mode table`). */
  skipped: boolean;
}

/**
 * Runs a migration's UP (or DOWN) and records (or forgets) it.
 *
 * @param driver The session.
 * @param direction `up` or `down`.
 * @param m The migration.
 * @param settings Table, timeouts, lock mode.
 * @param ahead `m`'s transaction if {@link sendAhead} sent it already: its
 *   answer is awaited instead of sending it (again, should its guard have
 *   stopped it).
 * @returns Time taken and whether it was skipped.
 * @throws {DataBridgeError} The database's error, or `LOCK_TIMEOUT`; pass it
 *   to {@link describeFailure} for a message pointing at the file.
 * @example
 * ```ts
 * import type { Driver } from "./driver.ts";
 * import type { Migration } from "./migration.ts";
 * import { executeMigration } from "./execute.ts";
 * async function applyOne(driver: Driver, migration: Migration): Promise<number> {
 *   const table = { schema: null, name: "_migrations" };
 *   return (await executeMigration(driver, "up", migration, { table })).ms;
 * }
 * ```
 */
export async function executeMigration(
  driver: Driver,
  direction: Direction,
  m: Migration,
  settings: ExecuteSettings,
  ahead?: Ahead,
): Promise<ExecuteResult> {
  if (!m.transactional) return await runStatements(driver, direction, m, settings);
  const tries: Tries = { waitingSince: null };
  let sent = ahead?.migration === m ? ahead : undefined;
  for (let attempt = 0;; attempt++) {
    const started = performance.now();
    try {
      if (sent) {
        const outcome = sent.outcome;
        sent = undefined; // a retry sends it again
        if (await outcome) {
          limitsStand(direction, m, settings);
          return { ms: performance.now() - started, skipped: false };
        }
        // Its guard stopped it: the migration before failed first, then
        // committed when retried. Now that it has, send this one again.
        attempt--;
        continue;
      }
      if (canPipeline(direction, settings)) {
        await driver.atomic(statements(direction, m, settings).list);
        limitsStand(direction, m, settings);
        return { ms: performance.now() - started, skipped: false };
      }
      const skipped = await driver.transaction(async (tx) => {
        if (settings.lockTable) {
          const state = await lockRow(tx, direction, m, settings);
          if (state === "busy") throw new LockBusy();
          if (state === "done") return true;
        }
        await runInTransaction(tx, direction, m, settings);
        return false;
      });
      if (!skipped) limitsStand(direction, m, settings);
      return { ms: performance.now() - started, skipped };
    } catch (error) {
      if ((await nextAttempt(error, attempt, tries, settings)) === "wait") attempt--;
    }
  }
}

/** Callbacks of {@link executeTogether}. */
export interface TogetherEvents {
  /** A migration's section is about to be sent (again, when the transaction is retried). */
  onStart?: (m: Migration) => void;
  /** A migration's section and history row ran; the transaction is not committed yet. */
  onRan?: (m: Migration, result: ExecuteResult) => void;
}

/**
 * Runs several migrations' UP (or DOWN) sections and their history rows in
 * one transaction, committed once at the end: all of them or none
 * (`--single-transaction`). Each sets its limits for itself (`SET LOCAL`).
 * A transaction that hits `lock_timeout` is rolled back and retried whole,
 * with backoff; with the lock row (`--lock-mode table`) it is taken first,
 * waiting while another run holds it, and a migration another run did
 * meanwhile is skipped. Every migration must run in a transaction.
 *
 * @param driver The session.
 * @param direction `up` or `down`.
 * @param migrations The migrations, in the order they run.
 * @param settings Table, timeouts, lock mode (`sessionLimits` is not used).
 * @param events Told of each migration as it runs; `onStart` says which
 *   one an error belongs to.
 * @returns What each migration took (its share of the transaction) and
 *   whether it was skipped, once all committed.
 * @throws {DataBridgeError} The database's error (from the migration last
 *   started), or `LOCK_TIMEOUT`; nothing was committed.
 * @example
 * ```ts
 * import type { Driver } from "./driver.ts";
 * import { executeTogether } from "./execute.ts";
 * import type { Migration } from "./migration.ts";
 * async function allOrNothing(driver: Driver, migrations: Migration[]): Promise<number> {
 *   const table = { schema: null, name: "_migrations" };
 *   return (await executeTogether(driver, "up", migrations, { table })).length;
 * }
 * ```
 */
export async function executeTogether(
  driver: Driver,
  direction: Direction,
  migrations: readonly Migration[],
  settings: ExecuteSettings,
  events: TogetherEvents = {},
): Promise<ExecuteResult[]> {
  const own: ExecuteSettings = { ...settings, sessionLimits: undefined };
  const tries: Tries = { waitingSince: null };
  for (let attempt = 0;; attempt++) {
    try {
      return await driver.transaction(async (tx) => {
        const results: ExecuteResult[] = [];
        for (const m of migrations) {
          events.onStart?.(m);
          const started = performance.now();
          if (own.lockTable) {
            // The first call takes the lock row for the whole transaction.
            const state = await lockRow(tx, direction, m, own);
            if (state === "busy") throw new LockBusy();
            if (state === "done") {
              const result = { ms: performance.now() - started, skipped: true };
              events.onRan?.(m, result);
              results.push(result);
              continue;
            }
          }
          await runInTransaction(tx, direction, m, own, true);
          const result = { ms: performance.now() - started, skipped: false };
          events.onRan?.(m, result);
          results.push(result);
        }
        return results;
      });
    } catch (error) {
      if ((await nextAttempt(error, attempt, tries, settings)) === "wait") attempt--;
    }
  }
}

/**
 * Refuses, for `--single-transaction`, a migration that must run outside a
 * transaction (`-- Transaction: none`, or a file with its own `BEGIN`):
 * before anything changes.
 *
 * @param migrations The migrations of the run.
 * @throws {ValidationError} `SINGLE_TRANSACTION`, naming the first such file.
 * @example
 * ```ts
 * import { refuseOutsideTransaction } from "./execute.ts";
 * import { Migration } from "./migration.ts";
 * const m = await Migration.new({ version: "20250128_120000", name: "i", up: "SELECT 1;", transactional: false });
 * try {
 *   refuseOutsideTransaction([m]);
 * } catch (error) {
 *   console.log((error as { code: string }).code); // SINGLE_TRANSACTION
 * }
 * ```
 */
export function refuseOutsideTransaction(migrations: readonly Migration[]): void {
  const loose = migrations.find((m) => !m.transactional);
  if (!loose) return;
  throw new ValidationError(
    "SINGLE_TRANSACTION",
    `${
      loose.file ?? loose.version
    } runs outside a transaction (-- Transaction: none), which --single-transaction cannot hold; ` +
      "give it a run of its own (--to VERSION, --steps N) or drop --single-transaction; nothing was changed",
    { file: loose.file ?? undefined, version: loose.version },
  );
}

/**
 * A migration's transaction sent while the one before it still runs on the
 * session, by {@link sendAhead}.
 */
export interface Ahead {
  /** The migration sent. */
  migration: Migration;
  /**
   * `true` once it committed; `false` when its guard stopped it because the
   * migration before did not commit (nothing of it ran). Rejects with its
   * own error otherwise.
   */
  outcome: Promise<boolean>;
}

/**
 * Whether `m` may be sent before `previous` has answered: both run in a
 * transaction sent whole at once, under the session lock, on a session
 * whose `atomic` calls run in the order issued (see
 * {@link Driver.pipelinesAtomic}).
 *
 * @param driver The session.
 * @param previous The migration running before it.
 * @param m The next one.
 * @param settings The run's settings.
 * @returns `true` when {@link sendAhead} may send `m`.
 * @example
 * ```ts
 * import type { Driver } from "./driver.ts";
 * import { canSendAhead } from "./execute.ts";
 * import type { Migration } from "./migration.ts";
 * function pipelined(driver: Driver, a: Migration, b: Migration): boolean {
 *   const table = { schema: null, name: "_migrations" };
 *   return canSendAhead(driver, a, b, { table, sessionLock: true });
 * }
 * ```
 */
export function canSendAhead(
  driver: Driver,
  previous: Migration,
  m: Migration,
  settings: ExecuteSettings,
): boolean {
  // Only under the session lock: on one session of this run's own, never
  // through a transaction pooler (--lock-mode none or table).
  return driver.pipelinesAtomic && settings.sessionLock === true && !settings.lockTable &&
    previous.transactional && m.transactional;
}

/**
 * Sends `m`'s transaction now, behind `previous`'s, which is still running:
 * the server goes from one migration to the next without waiting for the
 * client (on 1,000 migrations a tenth of the run was the server waiting).
 * Its first statement makes the transaction fail, so that nothing of `m`
 * runs, unless `previous` committed: its history row is there (UP) or gone
 * (DOWN). The limits are set in it as they stand once `previous` has
 * committed. Check {@link canSendAhead} first; hand the result to
 * {@link executeMigration} for `m`.
 *
 * @param driver The session.
 * @param direction `up` or `down`.
 * @param m The migration to send.
 * @param previous The migration sent before it, not yet answered.
 * @param settings The run's settings.
 * @returns What was sent; its outcome is never an unhandled rejection.
 * @example
 * ```ts
 * import type { Driver } from "./driver.ts";
 * import { executeMigration, sendAhead } from "./execute.ts";
 * import type { Migration } from "./migration.ts";
 * async function applyTwo(driver: Driver, a: Migration, b: Migration): Promise<void> {
 *   const settings = { table: { schema: null, name: "_migrations" }, sessionLock: true };
 *   const first = executeMigration(driver, "up", a, settings);
 *   const ahead = sendAhead(driver, "up", b, a, settings);
 *   await first;
 *   await executeMigration(driver, "up", b, settings, ahead);
 * }
 * ```
 */
export function sendAhead(
  driver: Driver,
  direction: Direction,
  m: Migration,
  previous: Migration,
  settings: ExecuteSettings,
): Ahead {
  const limits = settings.sessionLimits;
  const after: ExecuteSettings = limits
    ? {
      ...settings,
      sessionLimits: { inForce: !mayChangeLimits(sectionOf(direction, previous)), set: true },
    }
    : settings;
  const { list } = statements(direction, m, after, { after: previous });
  const outcome = driver.atomic(list).then(
    () => true,
    (error) => {
      if (isGuardError(error)) return false;
      throw error;
    },
  );
  outcome.catch(() => {});
  return { migration: m, outcome };
}

/** The text the guard of {@link sendAhead} fails with: its error names it. */
const AHEAD_GUARD = "data-bridge: the migration before this one did not commit";

/**
 * An expression that fails (casting the guard's text, parameter `$n+1`, to
 * an integer) unless the migration `$n` is recorded (UP) or no longer
 * recorded (DOWN). The cast is of the CASE's result, computed when the query
 * runs: no constant to fold when it is planned.
 */
function guardExpression(direction: Direction, table: TableName, n: number): string {
  const recorded = `EXISTS (SELECT FROM ${qualifiedName(table)} WHERE version = $${n})`;
  return `CAST(CASE WHEN ${direction === "up" ? "" : "NOT "}${recorded} ` +
    `THEN '0' ELSE $${n + 1}::text END AS integer)`;
}

/**
 * The guard of {@link sendAhead}, the first statement of `m`'s transaction:
 * for an UP a query of its own; for a DOWN its history row's `DELETE`, which
 * deletes nothing and fails unless `previous` committed (its condition does
 * not depend on the row: PostgreSQL checks it once, before it looks for
 * rows). One statement fewer a migration reverted.
 */
function guardStatement(
  direction: Direction,
  m: Migration,
  previous: Migration,
  table: TableName,
): TransactionStatement {
  if (direction === "up") {
    return {
      sql: `SELECT ${guardExpression(direction, table, 1)} AS ok`,
      params: [previous.version, AHEAD_GUARD],
    };
  }
  return {
    sql: `DELETE FROM ${qualifiedName(table)} WHERE version = $1 AND ${
      guardExpression(direction, table, 2)
    } = 0 RETURNING version`,
    params: [m.version, previous.version, AHEAD_GUARD],
  };
}

function isGuardError(error: unknown): boolean {
  return error instanceof DatabaseError && error.pgCode === "22P02" &&
    error.message.includes(AHEAD_GUARD);
}

function sectionOf(direction: Direction, m: Migration): string {
  return direction === "up" ? m.up : m.down;
}

/**
 * Whether the whole transaction, COMMIT included, can be sent at once: an
 * UP's history row either is inserted or fails in the server; a DOWN's row
 * can only vanish meanwhile without the session lock. With the lock row
 * (`--lock-mode table`) the client decides inside the transaction.
 */
function canPipeline(direction: Direction, settings: ExecuteSettings): boolean {
  return !settings.lockTable && (direction === "up" || settings.sessionLock === true);
}

/** After a committed migration: the session's limits stand unless its SQL may have changed them. */
function limitsStand(direction: Direction, m: Migration, settings: ExecuteSettings): void {
  const limits = settings.sessionLimits;
  if (!limits) return;
  limits.set = true;
  limits.inForce = !mayChangeLimits(sectionOf(direction, m));
}

/**
 * The transaction's statements: with `after`, the guard of {@link sendAhead}
 * first; its limits (unless already in force on the session); a DOWN's
 * history row deleted (nothing else of its transaction runs when it was
 * not there: the DOWN's SQL cannot remove it first); the section; an UP's
 * history row. `shared`: the transaction holds other migrations too.
 * `record` is the index of the statement of the history row.
 */
function statements(
  direction: Direction,
  m: Migration,
  settings: ExecuteSettings,
  { shared = false, after }: { shared?: boolean; after?: Migration } = {},
): { list: TransactionStatement[]; record: number } {
  const limits = settings.sessionLimits;
  const list: TransactionStatement[] = [];
  const guard = after ? guardStatement(direction, m, after, settings.table) : undefined;
  if (guard && direction === "up") list.push(guard);
  if (!limits?.inForce) {
    // is_local: for the transaction only, unless the run keeps them on the session.
    const local = limits ? "false" : "true";
    list.push({
      sql:
        `SELECT set_config('lock_timeout', $1, ${local}), set_config('statement_timeout', $2, ${local})`,
      params: [
        settings.lockTimeout ?? DEFAULTS.lockTimeout,
        settings.statementTimeout ?? DEFAULTS.statementTimeout,
      ],
    });
  }
  // In a transaction shared with other migrations, now() is the start of
  // them all: the migration's own start is kept for its history row.
  if (shared && direction === "up") list.push({ sql: `SELECT ${MIGRATION_START}` });
  let record = -1;
  if (direction === "down") {
    record = list.push(guard ?? { sql: deleteHistorySql(settings.table), params: [m.version] }) - 1;
  }
  const section = sectionOf(direction, m);
  const keep = mayChangeSession(section);
  if (keep) list.push({ sql: KEEP_SESSION });
  list.push({ sql: section, script: true });
  if (keep) list.push({ sql: RESTORE_SESSION });
  if (mayMakeTempTables(section)) list.push({ sql: "DISCARD TEMP" });
  if (direction === "up") {
    record = list.push(
      shared
        ? {
          sql: insertTimedHistorySql(settings.table),
          params: [m.version, m.description, m.checksum],
        }
        : {
          sql: insertHistorySql(settings.table),
          params: [m.version, m.description, m.checksum, null],
        },
    ) - 1;
  }
  return { list, record };
}

/**
 * The section, its settings and its history row, sent together; COMMIT after
 * a check. `shared`: the transaction holds other migrations too.
 */
async function runInTransaction(
  tx: Queryable,
  direction: Direction,
  m: Migration,
  settings: ExecuteSettings,
  shared = false,
): Promise<void> {
  const { list, record } = statements(direction, m, settings, { shared });
  const results = await sendAll(tx, list);
  if (direction === "down" && results[record].length !== 1) {
    throw new RuntimeError(
      "INTERNAL",
      `the history row of ${m.version} disappeared while reverting it; nothing was changed`,
    );
  }
}

/** Thrown inside a transaction when the lock row is taken: roll back, wait, retry. */
class LockBusy extends Error {}

/** A transaction's attempts so far: since when it waits for the lock row. */
interface Tries {
  waitingSince: number | null;
}

/**
 * After an attempt at a transaction failed: `"wait"` once the lock row,
 * which another run held, is worth asking for again (the same attempt);
 * `"retry"` after a `lock_timeout` with retries left, once its backoff has
 * passed. Throws anything else, the wait for the lock row that ran out,
 * and the last `lock_timeout` (with its number of attempts).
 */
async function nextAttempt(
  error: unknown,
  attempt: number,
  tries: Tries,
  settings: ExecuteSettings,
): Promise<"wait" | "retry"> {
  if (error instanceof LockBusy) {
    if (tries.waitingSince === null) {
      tries.waitingSince = Date.now();
      settings.onLockWait?.();
    }
    const limit = (settings.lockWaitSeconds ?? DEFAULTS.lockWaitSeconds) * 1000;
    if (Date.now() - tries.waitingSince >= limit) {
      throw new RuntimeError(
        "LOCK_TIMEOUT",
        `gave up after ${limit / 1000}s waiting for the lock row in ${
          qualifiedName(settings.lockTable!)
        }, held by another run; wait for it to finish or raise --lock-wait`,
      );
    }
    await sleep(DEFAULTS.lockPollMs);
    return "wait";
  }
  if (!(error instanceof DatabaseError && error.pgCode === "55P03")) throw error;
  if (attempt >= (settings.lockRetries ?? DEFAULTS.lockRetries)) {
    throw Object.assign(error, { attempts: attempt + 1 });
  }
  const delayMs = 500 * 2 ** attempt;
  settings.onRetry?.(attempt + 1, delayMs, `lock_timeout: ${error.message}`);
  await sleep(delayMs);
  return "retry";
}

/**
 * `--lock-mode table`: tries to take the lock row without waiting, and
 * tells whether another run already did this migration.
 */
async function lockRow(
  tx: Queryable,
  direction: Direction,
  m: Migration,
  settings: ExecuteSettings,
): Promise<"busy" | "done" | "todo"> {
  const [locked, recorded] = await Promise.all([
    tx.query(
      `SELECT id FROM ${qualifiedName(settings.lockTable!)} WHERE id = 1 FOR UPDATE SKIP LOCKED`,
    ),
    tx.query(`SELECT 1 FROM ${qualifiedName(settings.table)} WHERE version = $1`, [m.version]),
  ]);
  if (locked.length === 0) return "busy";
  const done = direction === "up" ? recorded.length > 0 : recorded.length === 0;
  return done ? "done" : "todo";
}

/** First words of the statements that end a transaction block (`ROLLBACK TO` does not). */
const ENDS_TRANSACTION = new Set(["COMMIT", "END", "ROLLBACK", "ABORT", "PREPARE"]);

/** Runs a section statement by statement, outside any transaction of ours. */
async function runStatements(
  driver: Driver,
  direction: Direction,
  m: Migration,
  settings: ExecuteSettings,
): Promise<ExecuteResult> {
  const started = performance.now();
  // Outside a transaction of ours there are no limits (a CREATE INDEX
  // CONCURRENTLY stopped by lock_timeout would leave an invalid index):
  // the session's own values are restored first.
  const limits = settings.sessionLimits;
  if (limits?.set) {
    await driver.exec("RESET lock_timeout; RESET statement_timeout");
    limits.set = false;
    limits.inForce = false;
  }
  const sql = sectionOf(direction, m);
  const statements = splitStatements(sql);
  const state = mayChangeSession(sql) ? await sessionState(driver) : null;
  // Whether the file has opened a transaction of its own (BEGIN ... COMMIT).
  let inBlock = false;
  for (let k = 0; k < statements.length; k++) {
    const { start, end, words } = statements[k];
    const text = sql.slice(start, end);
    const ends = ENDS_TRANSACTION.has(words[0]) && words[1] !== "TO" &&
      !(words[0] === "PREPARE" && words[1] !== "TRANSACTION");
    // Loaded for a CREATE INDEX CONCURRENTLY only: no deploy's start pays for it.
    const index = words[0] === "CREATE" && statementKind(statements[k]) === "no_transaction"
      ? await import("./invalid_index.ts")
      : null;
    const built = index?.concurrentIndex(text) ?? null;
    const before = k === 0
      ? "no statement before it ran"
      : `statements 1..${k} were committed and were not rolled back`;
    try {
      await driver.exec(text);
    } catch (error) {
      // A statement that failed in the file's own transaction left it open, aborted: end it.
      if (inBlock && !ends) await driver.exec("ROLLBACK").catch(() => {});
      if (!(error instanceof DatabaseError)) throw error;
      const offset = error.position === undefined
        ? start
        : start + offsetOfPosition(text, error.position);
      const left = built &&
        await index!.failedBuildAdvice(driver, built, error.pgCode).catch(() => null);
      throw located(error, direction, m, offset, {
        prefix: `statement ${k + 1} of ${statements.length} failed`,
        suffix: `${before}; nothing was recorded, so after fixing the file apply runs it again` +
          (left
            ? `; ${left}`
            : " (make its statements re-runnable with IF NOT EXISTS / IF EXISTS)"),
      });
    }
    if (ends) inBlock = false;
    else if (words[0] === "BEGIN" || (words[0] === "START" && words[1] === "TRANSACTION")) {
      inBlock = true;
    }
    const skipped = built && await index!.skippedInvalid(driver, built);
    if (skipped) {
      const where = locate(sql, start, direction === "up" ? m.upLine : m.downLine);
      throw new MigrationError(
        `${m.file ?? `migration ${m.version}`}:${where.line}:${where.column}: ${
          direction === "up" ? "migration" : "rollback of migration"
        } ${m.version}: statement ${k + 1} of ${statements.length}: ${skipped}; ` +
          `${before}; ${
            direction === "up" ? "nothing was recorded" : "the migration stays applied"
          }`,
        [],
        { file: m.file ?? undefined, line: where.line, column: where.column, version: m.version },
      );
    }
  }
  if (state) await driver.query(SET_SESSION, [state.searchPath, state.role]);
  if (mayMakeTempTables(sql)) await driver.exec("DISCARD TEMP");
  await (direction === "up"
    ? driver.query(insertHistorySql(settings.table), [
      m.version,
      m.description,
      m.checksum,
      Math.round(performance.now() - started),
    ])
    : driver.query(deleteHistorySql(settings.table), [m.version]));
  return { ms: performance.now() - started, skipped: false };
}

/**
 * The error to report for a migration that failed: with the file, line,
 * column and failing line when PostgreSQL gave a position, and advice for
 * timeouts and lost connections.
 *
 * @param error What {@link executeMigration} threw.
 * @param direction `up` or `down`.
 * @param m The migration.
 * @param settings The settings it ran with (named in timeout advice).
 * @returns The error to throw.
 * @example
 * ```ts
 * import { describeFailure } from "./execute.ts";
 * import { DatabaseError } from "./errors.ts";
 * import { Migration } from "./migration.ts";
 * const m = await Migration.new({ version: "20250101_000000", name: "x", up: "SELECT nope;" });
 * const error = describeFailure(
 *   new DatabaseError('column "nope" does not exist', { pgCode: "42703", position: 8 }),
 *   "up",
 *   m,
 *   { table: { schema: null, name: "_migrations" } },
 * );
 * console.log(error.line, error.column); // 5 8
 * ```
 */
export function describeFailure(
  error: unknown,
  direction: Direction,
  m: Migration,
  settings: ExecuteSettings,
): DataBridgeError {
  if (error instanceof MigrationError) return error;
  if (error instanceof DatabaseError) {
    const offset = error.position === undefined
      ? undefined
      : offsetOfPosition(sectionOf(direction, m), error.position);
    return located(error, direction, m, offset, {
      suffix: timeoutAdvice(error, direction, settings),
    });
  }
  if (error instanceof DataBridgeError && error.code === "CONNECTION_LOST") {
    const file = m.file ?? `migration ${m.version}`;
    return new RuntimeError(
      "CONNECTION_LOST",
      `${file}: ${direction === "up" ? "migration" : "rollback of migration"} ${m.version} ` +
        `did not complete: ${error.message}; ` +
        (m.transactional
          // BEGIN, the section, the history row and COMMIT travel together:
          // whether the server reached COMMIT before the session ended is
          // unknown (it did not when it ended the session itself).
          ? "PostgreSQL did not confirm its COMMIT; its changes and its history row were committed " +
            "together or not at all: run status to see which, then run the command again"
          : "it ran outside a transaction, so some statements may have run; check before running it again"),
      { file: m.file ?? undefined, version: m.version, pgCode: error.pgCode, cause: error },
    );
  }
  if (error instanceof DataBridgeError) return error;
  throw error;
}

function timeoutAdvice(
  error: DatabaseError,
  direction: Direction,
  settings: ExecuteSettings,
): string | undefined {
  const undone = direction === "up"
    ? "it was rolled back"
    : "it was rolled back; the migration stays applied";
  if (error.pgCode === "55P03") {
    const attempts = (error as { attempts?: number }).attempts ?? 1;
    return `${undone}; lock_timeout (--lock-timeout ${
      settings.lockTimeout ?? DEFAULTS.lockTimeout
    }) fired ${
      attempts === 1 ? "once" : `on all ${attempts} attempts`
    }: another session holds a lock ` +
      "this migration needs (see pg_locks and pg_stat_activity); run it when that session is done, " +
      "or raise --lock-timeout";
  }
  if (error.pgCode === "57014" && /statement timeout/.test(error.message)) {
    return `${undone}; statement_timeout (--statement-timeout ${
      settings.statementTimeout ?? DEFAULTS.statementTimeout
    }) fired: a statement ran longer than allowed; raise --statement-timeout or make it faster`;
  }
  return undefined;
}

/** A database error inside a migration, with its place in the file. */
function located(
  error: DatabaseError,
  direction: Direction,
  m: Migration,
  offset: number | undefined,
  words: { prefix?: string; suffix?: string } = {},
): MigrationError {
  const sql = sectionOf(direction, m);
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
