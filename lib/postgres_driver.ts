/**
 * The driver for PostgreSQL servers, on postgres.js. It owns one connection
 * (or one reserved from a pool the caller passes) for the whole session, so
 * the session advisory lock covers everything done through it.
 *
 * @module
 */
import postgres from "postgres";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import { DEFAULTS } from "./config.ts";
import { type DataBridgeError, interruptedError, type RuntimeError, UsageError } from "./errors.ts";
import {
  lostError,
  transientConnectError,
  translateDriverError,
  waitingNotice,
} from "./connection_errors.ts";
import {
  advisoryUnlock,
  atomicOnServer,
  type Driver,
  type DriverOptions,
  keepAdvisoryLock,
  type Queryable,
  type Row,
  runTransaction,
  type TransactionStatement,
  tryAdvisoryLock,
} from "./driver.ts";
import {
  connectTimeoutOf,
  readPem,
  readRootCert,
  SSL_PARAMETERS,
  sslParameters,
} from "./conninfo.ts";
import { formatPgUrl, parsePgUrl } from "./pg_url.ts";
import { sleep } from "./sleep.ts";
import { passwordFromFile } from "./pgpass.ts";
import { describeTarget } from "./target.ts";
import { env } from "./runtime.ts";

type Sql = postgres.Sql<Record<string, never>>;
type ReservedSql = postgres.ReservedSql<Record<string, never>>;
/** A query postgres.js has queued or sent, which can be cancelled. */
type Pending = Promise<unknown> & { cancel(): unknown };

/**
 * Opens a session on a PostgreSQL server.
 *
 * @param url A `postgres://` or `postgresql://` URL; `""` reads the libpq
 *   variables (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`).
 *   `sslmode` (`disable`, `prefer`, `require`, `verify-ca`, `verify-full`)
 *   and `sslrootcert` are understood as libpq does, also from `PGSSLMODE`
 *   and `PGSSLROOTCERT`.
 * @param options Timeouts, application name, notice handler, password.
 * @returns The driver. The connection is made by the first query.
 * @throws {UsageError} `INVALID_URL` when `sslrootcert` cannot be read.
 * @example
 * ```ts
 * import { openPostgres } from "./postgres_driver.ts";
 * // Nothing connects until the first query.
 * const driver = await openPostgres("postgres://app:secret@db.example.com:5432/app", {});
 * console.log(driver.target); // "postgres://app:***@db.example.com:5432/app"
 * await driver.close();
 * ```
 */
export function openPostgres(url: string, options: DriverOptions = {}): Promise<Driver> {
  return Promise.resolve(new PostgresDriver(url, options));
}

/**
 * A session on a connection reserved from a postgres.js pool the caller
 * owns; closing the driver releases the connection, not the pool.
 *
 * @param sql A postgres.js instance.
 * @returns The driver.
 * @example
 * ```ts
 * import type postgres from "postgres";
 * import { postgresDriverFromSql } from "./postgres_driver.ts";
 * async function serverVersion(sql: postgres.Sql): Promise<string> {
 *   const driver = await postgresDriverFromSql(sql);
 *   try {
 *     const [row] = await driver.query<{ v: string }>("SHOW server_version");
 *     return row.v;
 *   } finally {
 *     await driver.close(); // releases the connection, the pool stays open
 *   }
 * }
 * ```
 */
export async function postgresDriverFromSql(sql: postgres.Sql): Promise<Driver> {
  const reserved = await sql.reserve();
  const o = sql.options as { host?: string[]; port?: number[]; database?: string; user?: string };
  const target = `postgres://${o.user ?? ""}@${o.host?.[0] ?? "localhost"}:${o.port?.[0] ?? 5432}/${
    o.database ?? ""
  }`;
  return new PostgresDriver(target, {}, reserved as unknown as ReservedSql);
}

class PostgresDriver implements Driver {
  readonly kind = "postgres" as const;
  readonly target: string;
  #url: string;
  #options: DriverOptions;
  #sql: Sql | ReservedSql;
  #owned: boolean;
  #established = false;
  /** The server sent its parameters: authentication is over. */
  #sessionStarted = false;
  #sslMode?: string;
  #lost = false;
  #checkInterval = true;
  #running = new Set<Pending>();
  /** When the first connection attempt failed, for `connectWaitSeconds`. */
  #waitStarted: number | null = null;
  #retryDelay: number = DEFAULTS.connectRetryMs;
  #retried = false;
  #reconnecting: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(url: string, options: DriverOptions, reserved?: ReservedSql) {
    this.#url = url;
    this.#options = options;
    this.target = describeTarget({ kind: "postgres", url, source: "api" }, env);
    this.#owned = reserved === undefined;
    this.#sql = reserved ?? this.#connect();
    if (reserved) this.#established = true;
  }

  #connect(): Sql {
    const tls = sslOptions(this.#url);
    const { ssl, mode } = tls;
    const { url, moved } = forPostgresJs(tls.url);
    this.#sslMode = mode;
    const connection: Record<string, string> = {
      application_name: this.#options.applicationName ?? DEFAULTS.applicationName,
    };
    if (this.#checkInterval) {
      connection.client_connection_check_interval = DEFAULTS.clientConnectionCheckInterval;
    }
    const config = {
      max: 1,
      fetch_types: false,
      idle_timeout: 0,
      max_lifetime: null,
      connect_timeout: this.#connectTimeout(),
      connection,
      ...(ssl === undefined ? {} : { ssl }),
      ...moved,
      password: this.#options.password ?? moved.password ?? this.#passwordFromFile(url, moved),
      onnotice: (notice: postgres.Notice) => {
        this.#options.onNotice?.({
          severity: String(notice.severity ?? "NOTICE"),
          message: String(notice.message ?? ""),
        });
      },
      onparameter: () => {
        this.#sessionStarted = true;
      },
      onclose: () => {
        if (this.#established) this.#lost = true;
      },
    };
    try {
      // postgres.js reads PGHOST, PGUSER, ... itself when the URL is empty.
      return (url ? postgres(url, config) : postgres(config)) as unknown as Sql;
    } catch (error) {
      // Options postgres.js refuses (target_session_attrs=bogus) are plain
      // Errors; anything else is a defect, reported as such by the caller.
      if (!(error instanceof Error) || error.constructor !== Error) throw error;
      throw new UsageError(
        "INVALID_URL",
        `database URL ${this.target}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  /**
   * Without a password in the options, the URL or `PGPASSWORD`: the
   * password file's (libpq's `~/.pgpass`), looked up when the server asks,
   * for the first host postgres.js tries; else postgres.js's own default.
   */
  #passwordFromFile(
    url: string,
    moved: Record<string, string>,
  ): string | (() => string) | undefined {
    const parsed = url ? parsePgUrl(url) : null;
    if (parsed?.password !== undefined || env("PGPASSWORD") !== undefined) return undefined;
    const first = parsed?.hosts[0];
    const user = moved.username ?? parsed?.user ?? env("PGUSERNAME") ?? env("PGUSER");
    if (user === undefined) return undefined; // postgres.js takes the OS user; libpq would too
    const key = {
      host: moved.host ?? (first?.host || (env("PGHOST") ?? "localhost").split(",")[0]),
      port: moved.port ?? (first?.port || env("PGPORT") || DEFAULTS.postgresPort),
      database: moved.database ?? parsed?.database ?? env("PGDATABASE") ?? user,
      user,
    };
    return () =>
      passwordFromFile(
        key,
        env,
        (message) => this.#options.onNotice?.({ severity: "WARNING", client: true, message }),
      ) ?? "";
  }

  /** Seconds, at most what a timer can hold (about 24 days); longer would fire at once. */
  #connectTimeout(): number {
    const query = this.#url ? new URLSearchParams(parsePgUrl(this.#url).params) : null;
    const seconds = this.#options.connectTimeoutSeconds ?? connectTimeoutOf(query, env) ??
      DEFAULTS.connectTimeoutSeconds;
    return Math.min(seconds, Math.floor((2 ** 31 - 1) / 1000));
  }

  async #run<T>(
    work: (sql: Sql | ReservedSql) => Pending,
  ): Promise<T> {
    if (this.#lost) throw this.#lostError();
    for (;;) {
      const sql = this.#sql;
      const pending = work(sql);
      this.#running.add(pending);
      try {
        const rows = this.#established ? await pending : await this.#connecting(pending);
        this.#established = true;
        return rows as unknown as T;
      } catch (error) {
        if (!this.#established && this.#checkInterval && isUnknownCheckInterval(error)) {
          // PostgreSQL before 14 has no client_connection_check_interval.
          this.#checkInterval = false;
          await (sql as Sql).end({ timeout: 0 }).catch(() => {});
          this.#sql = this.#connect();
          continue;
        }
        if (!this.#established && this.#owned && await this.#retryConnect(sql, error)) continue;
        throw this.#translate(error);
      } finally {
        this.#running.delete(pending);
      }
    }
  }

  /**
   * After a failed first connection: whether to try again, as
   * `connectWaitSeconds` asks while the server comes up. Queries that failed
   * on the same pool share one pause and one new pool.
   */
  async #retryConnect(failed: Sql | ReservedSql, error: unknown): Promise<boolean> {
    if (this.#sql !== failed) {
      await this.#reconnecting;
      return !this.#closed;
    }
    const wait = this.#options.connectWaitSeconds ?? DEFAULTS.connectWaitSeconds;
    this.#waitStarted ??= Date.now();
    const left = this.#waitStarted + wait * 1000 - Date.now();
    if (this.#closed || left <= 0 || !transientConnectError(error)) return false;
    const signal = this.#options.signal;
    const pause = Math.min(this.#retryDelay, left);
    this.#retryDelay = Math.min(this.#retryDelay * 2, 1000);
    if (!this.#retried) this.#options.onNotice?.(waitingNotice(this.target, error, wait));
    this.#retried = true;
    this.#reconnecting = (async () => {
      await (failed as Sql).end({ timeout: 0 }).catch(() => {});
      await sleep(pause, signal);
      if (signal?.aborted) throw interruptedError(signal, "before the connection was made");
      if (!this.#closed) this.#sql = this.#connect();
    })();
    await this.#reconnecting;
    return !this.#closed;
  }

  /**
   * Bounds the first query by the connect timeout until the server has
   * accepted the session. postgres.js's own timer restarts on every attempt,
   * and it reconnects without end to a peer that accepts the TCP connection
   * and closes it (an HTTP port, a proxy, a wrong service).
   */
  async #connecting(pending: Pending): Promise<unknown> {
    const seconds = this.#connectTimeout();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const signal = this.#options.signal;
    let onAbort = () => {};
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        if (this.#sessionStarted) return;
        reject(Object.assign(new Error("connect timeout"), { code: "CONNECT_TIMEOUT" }));
        (this.#sql as Sql).end({ timeout: 0 }).catch(() => {});
      }, seconds * 1000);
      // Given up at once when the signal aborts before the session is made.
      onAbort = () => {
        reject(interruptedError(signal!, "before the connection was made"));
        (this.#sql as Sql).end({ timeout: 0 }).catch(() => {});
      };
      if (signal?.aborted) onAbort();
      else signal?.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return await Promise.race([pending, deadline]);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  async query<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    // postgres.js returns a Result (an Array subclass); callers get plain arrays.
    const rows = await this.#run<T[]>((s) =>
      params.length === 0
        ? s.unsafe(sql, [], { prepare: true })
        : s.unsafe(sql, params as postgres.ParameterOrJSON<never>[], { prepare: true })
    );
    return Array.from(rows);
  }

  async exec(script: string): Promise<void> {
    await this.#run((s) => s.unsafe(script).simple());
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return runTransaction(this, fn, () => !this.#lost);
  }

  atomic(statements: readonly TransactionStatement[]): Promise<Row[][]> {
    return atomicOnServer(this, statements, this.#checkInterval);
  }

  get pipelinesAtomic(): boolean {
    return this.#checkInterval;
  }

  tryLock(): Promise<boolean> {
    return tryAdvisoryLock(this);
  }

  keepLock(): Promise<boolean> {
    return keepAdvisoryLock(this);
  }

  async unlock(): Promise<void> {
    if (this.#lost) return;
    await advisoryUnlock(this);
  }

  async cancel(): Promise<void> {
    if (!this.#established) {
      // Nothing was sent yet: take every query out of the queue, so none
      // of them runs later on its own.
      await Promise.all([...this.#running].map((q) => q.cancel()));
      return;
    }
    // One cancel request stops whatever the session is running; statements
    // pipelined behind it fail in the aborted transaction and its COMMIT
    // becomes a rollback. (Cancelling each pipelined query too would make
    // postgres.js pair answers with the wrong queries.)
    const [oldest] = this.#running;
    await oldest?.cancel();
  }

  async close(): Promise<void> {
    this.#closed = true;
    // Terminate is sent and the socket closed at once: waiting for the
    // server to close its end too costs ~15 ms of every run and adds nothing.
    if (this.#owned) await (this.#sql as Sql).end({ timeout: 0 });
    else (this.#sql as ReservedSql).release();
  }

  #lostError(): RuntimeError {
    return lostError(this.target);
  }

  #translate(error: unknown): DataBridgeError {
    const { error: translated, lost } = translateDriverError(error, {
      target: this.target,
      established: this.#established,
      lost: this.#lost,
      seconds: this.#connectTimeout(),
      sslMode: this.#sslMode,
      waited: this.#retried && !this.#established && this.#waitStarted !== null
        ? (Date.now() - this.#waitStarted) / 1000
        : undefined,
    });
    if (lost) this.#lost = true;
    return translated;
  }
}

function isUnknownCheckInterval(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return e.code === "42704" && /client_connection_check_interval/.test(e.message ?? "");
}

type SslOption = boolean | "prefer" | "require" | {
  ca?: string;
  rejectUnauthorized: boolean;
  checkServerIdentity?: (hostname: string, cert: PeerCertificate) => Error | undefined;
  cert?: string;
  key?: string;
  passphrase?: string;
};

/**
 * libpq's `sslmode` and `sslrootcert` as postgres.js `ssl` options. Removes
 * them from the URL so postgres.js does not send them to the server.
 */
function sslOptions(url: string): { url: string; ssl?: SslOption; mode?: string } {
  const parsed = url ? parsePgUrl(url) : null;
  const query = parsed && new URLSearchParams(parsed.params);
  const cleaned = parsed && SSL_PARAMETERS.some((k) => query!.has(k))
    ? formatPgUrl({ ...parsed, params: parsed.params.filter(([k]) => !SSL_PARAMETERS.includes(k)) })
    : url;
  const { mode, modeFrom, rootCert, cert: certFile, key: keyFile, passphrase } = sslParameters(
    query,
    env,
  );
  if (mode === undefined && rootCert === undefined) return { url: cleaned };
  const effective = mode ?? "verify-full";
  if (!["disable", "allow", "prefer", "require", "verify-ca", "verify-full"].includes(effective)) {
    throw new UsageError(
      "INVALID_URL",
      `${modeFrom} '${mode}' is not known; use disable, prefer, require, verify-ca or verify-full`,
    );
  }
  const ca = rootCert === undefined || rootCert === "system" ? undefined : readRootCert(rootCert);
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError(
      "INVALID_URL",
      certFile === undefined
        ? "sslkey is given without sslcert; give the client certificate's file too"
        : "sslcert is given without sslkey; give the file of its private key too",
    );
  }
  // The client's certificate, for servers that authenticate clients by certificate.
  const client: { cert?: string; key?: string; passphrase?: string } =
    certFile === undefined || effective === "disable" ? {} : {
      cert: readPem(certFile, "sslcert", "CERTIFICATE"),
      key: readPem(keyFile!, "sslkey", "PRIVATE KEY"),
      ...(passphrase === undefined ? {} : { passphrase }),
    };
  const withClient = client.cert !== undefined;
  const anyHost = () => undefined;
  switch (effective) {
    case "disable":
      return { url: cleaned, ssl: false, mode: effective };
    case "allow":
    case "prefer":
      return {
        url: cleaned,
        ssl: withClient ? { rejectUnauthorized: false, ...client } : "prefer",
        mode: effective,
      };
    case "require":
      // As libpq: with a root certificate, require verifies the CA.
      return {
        url: cleaned,
        ssl: ca === undefined
          ? (withClient ? { rejectUnauthorized: false, ...client } : "require")
          : { ca, rejectUnauthorized: true, checkServerIdentity: anyHost, ...client },
        mode: effective,
      };
    case "verify-ca":
      return {
        url: cleaned,
        ssl: { ca, rejectUnauthorized: true, checkServerIdentity: anyHost, ...client },
        mode: effective,
      };
    default:
      return {
        url: cleaned,
        ssl: {
          ca,
          rejectUnauthorized: true,
          checkServerIdentity: identityCheck(hostsOf(url)),
          ...client,
        },
        mode: effective,
      };
  }
}

/**
 * A URL as postgres.js should get it, and what it must get as options
 * instead: postgres.js reads URLs as the web does, so it ignores the query's
 * `host`, `port`, `user`, `password` and `dbname` (libpq's, over the URL's
 * own), and refuses a user name with no host (`app@/db?host=/tmp`) and
 * `target_session_attrs=any` (libpq's default).
 */
function forPostgresJs(url: string): { url: string; moved: Record<string, string> } {
  if (!url) return { url, moved: {} };
  const parsed = parsePgUrl(url);
  const names: Record<string, string> = {
    host: "host",
    port: "port",
    user: "username",
    password: "password",
    dbname: "database",
  };
  const moved: Record<string, string> = {};
  const params = parsed.params.filter(([key, value]) => {
    // libpq's default, which postgres.js does not know by name.
    if (key === "target_session_attrs" && value === "any") return false;
    if (!(key in names)) return true;
    moved[names[key]] = value;
    return false;
  });
  let { user, password } = parsed;
  if (user !== undefined && parsed.hosts.every((h) => h.host === "")) {
    moved.username ??= user;
    if (password !== undefined) moved.password ??= password;
    user = password = undefined;
  }
  if (params.length === parsed.params.length && user === parsed.user) return { url, moved };
  return { url: formatPgUrl({ ...parsed, user, password, params }), moved };
}

/** The hosts a URL (or, without one, `PGHOST`) names, without ports or brackets. */
function hostsOf(url: string): string[] {
  const hosts = url ? parsePgUrl(url).hosts.map((h) => h.host).filter((h) => h !== "") : [];
  return hosts.length ? hosts : (env("PGHOST") ?? "localhost").split(",");
}

/**
 * Checks the server's certificate against the host connected to. TLS stacks
 * given only a socket check an IP address host as `localhost` (postgres.js
 * sends no server name for IP addresses), so the host is named here. With
 * several hosts, the certificate must be valid for the one the TLS stack
 * names, or, when it names none of them, for one of them.
 */
function identityCheck(hosts: string[]) {
  return (hostname: string, cert: PeerCertificate): Error | undefined => {
    const candidates = hosts.includes(hostname) ? [hostname] : hosts;
    let failure: Error | undefined;
    for (const host of candidates) {
      failure = checkServerIdentity(host, cert);
      if (failure === undefined) return undefined;
    }
    return failure;
  };
}
