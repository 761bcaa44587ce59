/**
 * The migration lock: one data-bridge run at a time per database. Waiters
 * poll `pg_try_advisory_lock` with a short sleep instead of blocking in
 * `pg_advisory_lock`: a blocked waiter would hold a virtual transaction that
 * a `CREATE INDEX CONCURRENTLY` run by the holder must wait for, a deadlock
 * other tools are known for.
 *
 * @module
 */
import { ADVISORY_LOCK_KEY, DEFAULTS } from "./config.ts";
import { interruptedError, RuntimeError } from "./errors.ts";
import type { Driver } from "./driver.ts";
import { sleep } from "./sleep.ts";

/** Who holds the lock, as `pg_stat_activity` shows it. */
export interface LockHolder {
  /** Backend process id. */
  pid: number;
  /** Its `application_name`. */
  applicationName: string;
  /** When its session started. */
  since: Date | null;
}

/** Options of {@link withLock}. */
export interface LockOptions {
  /** Seconds to wait; `Infinity` waits for ever. */
  waitSeconds?: number;
  /** Milliseconds between attempts. */
  pollMs?: number;
  /**
   * Called once when the lock has been busy for `noticeMs`, with its holder
   * when known.
   */
  onWait?: (holder: LockHolder | null) => void;
  /** Milliseconds of waiting before `onWait` is called (default 500). */
  noticeMs?: number;
  /** Stops waiting (SIGINT, SIGTERM). */
  signal?: AbortSignal;
}

/**
 * Runs `fn` holding the migration lock, released in `finally`.
 *
 * @param driver The session to lock.
 * @param fn Work to do under the lock.
 * @param options Wait limit and callback.
 * @returns What `fn` returns.
 * @throws {RuntimeError} `LOCK_TIMEOUT` when the wait limit passes,
 *   `INTERRUPTED` when the signal aborts the wait.
 * @example
 * ```ts
 * import type { Driver } from "./driver.ts";
 * import { withLock } from "./lock.ts";
 * async function exclusively(driver: Driver): Promise<void> {
 *   await withLock(driver, async () => {
 *     // only one data-bridge run at a time gets here
 *   }, { waitSeconds: 30, onWait: (holder) => console.log("waiting for", holder) });
 * }
 * ```
 */
export async function withLock<T>(
  driver: Driver,
  fn: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const waitMs = (options.waitSeconds ?? DEFAULTS.lockWaitSeconds) * 1000;
  const pollMs = options.pollMs ?? DEFAULTS.lockPollMs;
  const started = Date.now();
  let told = false;
  while (!(await driver.tryLock())) {
    if (!told && Date.now() - started >= (options.noticeMs ?? DEFAULTS.lockNoticeMs)) {
      told = true;
      options.onWait?.(await lockHolder(driver));
    }
    if (Date.now() - started >= waitMs) {
      const holder = await lockHolder(driver);
      throw new RuntimeError(
        "LOCK_TIMEOUT",
        `gave up after ${waitMs / 1000}s waiting for the migration lock on ${driver.target}` +
          (holder ? `, held by ${describeHolder(holder)}` : "") +
          "; wait for that run to finish or raise --lock-wait",
      );
    }
    if (options.signal?.aborted) {
      throw interruptedError(
        options.signal,
        "while waiting for the migration lock; nothing was changed",
      );
    }
    await sleep(pollMs, options.signal);
  }
  try {
    return await fn();
  } finally {
    await driver.unlock().catch(() => {});
  }
}

/**
 * Who holds the migration lock now.
 *
 * @param driver A session on the database.
 * @returns The holder, or `null` when nobody (or nobody visible) holds it.
 * @example
 * ```ts
 * import type { Driver } from "./driver.ts";
 * import { describeHolder, lockHolder } from "./lock.ts";
 * async function whoHolds(driver: Driver): Promise<string> {
 *   const holder = await lockHolder(driver);
 *   return holder ? describeHolder(holder) : "nobody";
 * }
 * ```
 */
export async function lockHolder(driver: Driver): Promise<LockHolder | null> {
  const high = Number(ADVISORY_LOCK_KEY >> 32n);
  const low = Number(ADVISORY_LOCK_KEY & 0xffffffffn);
  const rows = await driver.query<{ pid: number; app: string | null; since: Date | null }>(
    `SELECT a.pid, a.application_name AS app, a.backend_start AS since
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::oid
        AND l.objid = $2::oid AND l.objsubid = 1 AND l.pid <> pg_backend_pid()`,
    [high, low],
  ).catch(() => []);
  const row = rows[0];
  return row
    ? { pid: Number(row.pid), applicationName: row.app ?? "", since: row.since ?? null }
    : null;
}

/**
 * A holder as words.
 *
 * @param holder The holder.
 * @returns E.g. `pid 4242 (data-bridge) since 2025-01-28T12:00:00.000Z`.
 * @example
 * ```ts
 * import { describeHolder } from "./lock.ts";
 * console.log(describeHolder({ pid: 1, applicationName: "data-bridge", since: null }));
 * ```
 */
export function describeHolder(holder: LockHolder): string {
  const since = holder.since ? ` since ${new Date(holder.since).toISOString()}` : "";
  return `pid ${holder.pid} (${holder.applicationName || "no application_name"})${since}`;
}
