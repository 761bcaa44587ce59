/**
 * The one interface between the engine and a database. A driver is one
 * database session: every call runs on the same connection, in order, so a
 * session-level lock taken through it guards everything done through it.
 * Two implementations exist, PostgreSQL servers through postgres.js and the
 * embedded PGlite; nothing above this interface knows which one it has.
 *
 * @module
 */
import { ADVISORY_LOCK_KEY } from "./config.ts";

/** A row as returned by a query: column name to value. */
export type Row = Record<string, unknown>;

/** What can run SQL: a driver, or a transaction opened on it. */
export interface Queryable {
  /**
   * Runs one statement with `$1`, `$2`, ... parameters.
   *
   * @param sql One SQL statement.
   * @param params Values for its parameters.
   * @param options `early` for a statement that only reads (see {@link QueryOptions}).
   * @returns The rows.
   * @throws {DatabaseError} When PostgreSQL reports an error.
   */
  query<T extends Row = Row>(
    sql: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<T[]>;
  /**
   * Runs a script of any number of statements, without parameters, as one
   * simple query: PostgreSQL error positions count from the script's start.
   *
   * @param script SQL text.
   * @throws {DatabaseError} When PostgreSQL reports an error.
   */
  exec(script: string): Promise<void>;
}

/** How {@link Queryable.query} may send a statement. */
export interface QueryOptions {
  /**
   * The statement only reads, so a session still logging in may send it
   * with its last authentication message (the SCRAM proof, or the
   * password), not after the server's ReadyForQuery: the server runs it the
   * moment the session is ready, whatever the client is doing then (a
   * `status` or no-op `apply` of 1000 files, whose history is read while the
   * files are, ~0.6 ms sooner in 120-150 pairs). Its answer is still read
   * only after the server has proved (with SCRAM) that it knows the
   * password. Only a read may ask for this: a statement sent so can still
   * run when the attempt is given up afterwards (a connect timeout).
   * Drivers that make no handshake of their own ignore it.
   */
  early?: boolean;
}

/** One statement of {@link Driver.atomic}. */
export interface TransactionStatement {
  /** SQL: one statement with `$n` parameters, or with `script` any number without. */
  sql: string;
  /** Values for the parameters. */
  params?: readonly unknown[];
  /** Run as a script (simple query, several statements, no parameters). */
  script?: boolean;
}

/** A database session. */
export interface Driver extends Queryable {
  /** What kind of database this is, for messages. */
  readonly kind: "postgres" | "pglite";
  /** The target as shown to users; never holds a password. */
  readonly target: string;
  /**
   * Runs `fn` between `BEGIN` and `COMMIT`; rolls back when it throws.
   * Queries `fn` issues without awaiting each other are pipelined where the
   * driver can.
   *
   * @param fn Work to do in the transaction.
   * @returns What `fn` returns.
   * @throws Whatever `fn` throws, after the rollback.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Runs statements in one transaction, all of them or none: `BEGIN`, the
   * statements and `COMMIT` go to the server together, in one round trip
   * where the driver can. When a statement fails, PostgreSQL turns the
   * `COMMIT` into a rollback and that statement's error is thrown.
   *
   * @param statements What to run, in order.
   * @returns Each statement's rows (empty for scripts).
   * @throws {DatabaseError} The first statement's error; the transaction
   *   was rolled back.
   */
  atomic(statements: readonly TransactionStatement[]): Promise<Row[][]>;
  /**
   * Whether each {@link Driver.atomic} call is written whole at once, so
   * that calls issued without awaiting each other run one after the other,
   * in the order issued, each its own transaction: a server session with
   * `client_connection_check_interval` (PostgreSQL 14 and later). `false`
   * for PGlite and for older servers, where `atomic` waits for answers
   * before its `COMMIT`.
   */
  readonly pipelinesAtomic: boolean;
  /**
   * Tries once to take the migration lock, without waiting.
   *
   * @returns `true` when this session now holds it.
   */
  tryLock(): Promise<boolean>;
  /**
   * Holds the migration lock again if the session no longer does (a
   * migration's `DISCARD ALL` or `pg_advisory_unlock_all()` released it),
   * without taking it twice.
   *
   * @returns `false` when another session took it meanwhile.
   */
  keepLock(): Promise<boolean>;
  /** Releases the migration lock. */
  unlock(): Promise<void>;
  /**
   * Cancels the statement running now, if any (used on Ctrl-C).
   */
  cancel(): Promise<void>;
  /** Ends the session and frees its resources. */
  close(): Promise<void>;
}

/** A notice of a session: PostgreSQL's, or the driver's own while it waits. */
export interface DriverNotice {
  /** PostgreSQL's severity (`NOTICE`, `WARNING`, ...), or `INFO`. */
  severity: string;
  /** The text. */
  message: string;
  /**
   * Said by data-bridge itself (waiting for a server to come up, or for
   * another process's hold on an embedded database), not by PostgreSQL.
   */
  client?: boolean;
}

/** Options every driver accepts. */
export interface DriverOptions {
  /** Seconds to wait for the connection. */
  connectTimeoutSeconds?: number;
  /**
   * Seconds to keep trying to connect while the server cannot be reached or
   * is starting up (`--connect-wait`); each attempt has the connect timeout.
   * Default 0: one attempt.
   */
  connectWaitSeconds?: number;
  /** `application_name` for `pg_stat_activity`. */
  applicationName?: string;
  /** Called with PostgreSQL notices and warnings raised by migrations. */
  onNotice?: (notice: DriverNotice) => void;
  /** Password that overrides the URL's (from `--password-file`). */
  password?: string;
  /** Seconds to wait for another process's hold on an embedded database. */
  lockWaitSeconds?: number;
  /**
   * Aborted (by SIGINT or SIGTERM in the CLI): a connection not made yet is
   * given up at once, its attempt and any wait between attempts ended, with
   * `INTERRUPTED`. A session already made is not touched (the runner
   * cancels what runs on it).
   */
  signal?: AbortSignal;
}

/**
 * Sends statements on a session without waiting between them (pipelined
 * where the driver can), then waits for every answer and throws the first
 * failure: the statement that failed, not those refused after it in the
 * aborted transaction.
 *
 * @param q Where to run them: a driver, or a transaction on one.
 * @param statements What to run, in order.
 * @returns Each statement's rows (empty for scripts).
 * @throws {DatabaseError} The first failing statement's error.
 * @example
 * ```ts
 * import { sendAll, type Queryable } from "./driver.ts";
 * async function countTwice(q: Queryable): Promise<number> {
 *   const [, rows] = await sendAll(q, [
 *     { sql: "CREATE TEMP TABLE t (id int)", script: true },
 *     { sql: "SELECT count(*)::int AS n FROM t" },
 *   ]);
 *   return Number(rows[0].n);
 * }
 * ```
 */
export async function sendAll(
  q: Queryable,
  statements: readonly TransactionStatement[],
): Promise<Row[][]> {
  const results = await Promise.allSettled(
    statements.map((s) => s.script ? q.exec(s.sql).then(() => []) : q.query(s.sql, s.params ?? [])),
  );
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return results.map((r) => (r as PromiseFulfilledResult<Row[]>).value);
}

/**
 * `BEGIN`, `fn`, then `COMMIT`, or `ROLLBACK` when `fn` throws: the
 * transaction of a server session. `BEGIN` is not awaited first, so it goes
 * out with the work's first queries.
 *
 * @param q The session.
 * @param fn Work to do in the transaction.
 * @param canRollback Whether the session can still take a `ROLLBACK` (not lost or closed).
 * @returns What `fn` returns.
 * @throws Whatever `fn` throws, after the rollback.
 * @example
 * ```ts
 * import { type Queryable, runTransaction } from "./driver.ts";
 * async function twoTables(q: Queryable): Promise<void> {
 *   await runTransaction(q, async (tx) => {
 *     await tx.exec("CREATE TABLE a (id int)");
 *     await tx.exec("CREATE TABLE b (id int)");
 *   }, () => true);
 * }
 * ```
 */
export async function runTransaction<T>(
  q: Queryable,
  fn: (tx: Queryable) => Promise<T>,
  canRollback: () => boolean,
): Promise<T> {
  const begin = q.exec("BEGIN");
  begin.catch(() => {});
  let result: T;
  try {
    result = await fn(q);
    await begin;
  } catch (error) {
    if (canRollback()) await q.exec("ROLLBACK").catch(() => {});
    throw error;
  }
  await q.exec("COMMIT");
  return result;
}

/**
 * {@link Driver.atomic} for a server session: `BEGIN`, the statements and
 * `COMMIT` written before any answer is read, one round trip. A client
 * killed meanwhile commits nothing: `client_connection_check_interval`
 * makes the server abort the running statement (and so the transaction)
 * within its interval; either way the statements commit together. Before
 * PostgreSQL 14, which cannot notice a dead client while a statement runs,
 * `COMMIT` waits for the answers instead (`checkInterval` false), so a
 * killed client's migration is rolled back, not committed from the socket
 * buffer.
 *
 * @param driver The session.
 * @param statements What to run.
 * @param checkInterval Whether the session has `client_connection_check_interval`.
 * @returns Each statement's rows.
 * @throws {DatabaseError} The first statement's error; nothing was committed.
 * @example
 * ```ts
 * import { atomicOnServer, type Driver } from "./driver.ts";
 * async function record(driver: Driver): Promise<void> {
 *   await atomicOnServer(driver, [{ sql: "CREATE TABLE t (id int)", script: true }], true);
 * }
 * ```
 */
export async function atomicOnServer(
  driver: Driver,
  statements: readonly TransactionStatement[],
  checkInterval: boolean,
): Promise<Row[][]> {
  if (!checkInterval) return await driver.transaction((tx) => sendAll(tx, statements));
  const rows = await sendAll(driver, [
    { sql: "BEGIN", script: true },
    ...statements,
    { sql: "COMMIT", script: true },
  ]);
  return rows.slice(1, -1);
}

/**
 * Tries once, without waiting, to take the session advisory lock that
 * serialises data-bridge runs on a database (key {@link ADVISORY_LOCK_KEY}).
 *
 * @param q The session.
 * @returns `true` when this session now holds it.
 * @example
 * ```ts
 * import { type Queryable, tryAdvisoryLock } from "./driver.ts";
 * async function busy(q: Queryable): Promise<boolean> {
 *   return !(await tryAdvisoryLock(q));
 * }
 * ```
 */
export async function tryAdvisoryLock(q: Queryable): Promise<boolean> {
  const [row] = await q.query<{ locked: boolean }>(
    "SELECT pg_try_advisory_lock($1::bigint) AS locked",
    [LOCK_KEY],
  );
  return row.locked === true;
}

/**
 * Takes the lock of {@link tryAdvisoryLock} again when the session does not
 * hold it any more (`pg_locks` says), in one statement; a session that still
 * holds it keeps its one hold.
 *
 * @param q The session.
 * @returns `true` when the session holds the lock now.
 * @example
 * ```ts
 * import { keepAdvisoryLock, type Queryable } from "./driver.ts";
 * async function stillOurs(q: Queryable): Promise<boolean> {
 *   return await keepAdvisoryLock(q);
 * }
 * ```
 */
export async function keepAdvisoryLock(q: Queryable): Promise<boolean> {
  const [row] = await q.query<{ held: boolean }>(
    "SELECT CASE WHEN EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' " +
      "AND pid = pg_backend_pid() AND granted AND objsubid = 1 " +
      "AND classid = ($1::bigint >> 32)::oid AND objid = ($1::bigint & 4294967295)::oid) " +
      "THEN true ELSE pg_try_advisory_lock($1::bigint) END AS held",
    [LOCK_KEY],
  );
  return row.held === true;
}

/**
 * Releases the lock of {@link tryAdvisoryLock}.
 *
 * @param q The session.
 * @example
 * ```ts
 * import { advisoryUnlock, type Queryable } from "./driver.ts";
 * async function release(q: Queryable): Promise<void> {
 *   await advisoryUnlock(q);
 * }
 * ```
 */
export async function advisoryUnlock(q: Queryable): Promise<void> {
  await q.query("SELECT pg_advisory_unlock($1::bigint)", [LOCK_KEY]);
}

const LOCK_KEY = ADVISORY_LOCK_KEY.toString();
