/**
 * The driver for PostgreSQL servers, on postgres.js. It owns one connection
 * (or one reserved from a pool the caller passes) for the whole session, so
 * the session advisory lock covers everything done through it.
 *
 * @module
 */
import postgres from "postgres";
import { readFileSync } from "node:fs";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import { ADVISORY_LOCK_KEY, DEFAULTS } from "./config.ts";
import {
  DatabaseError,
  DataBridgeError,
  RuntimeError,
  type ServerErrorFields,
  UsageError,
} from "./errors.ts";
import {
  type Driver,
  type DriverOptions,
  type Queryable,
  type Row,
  sendAll,
  type TransactionStatement,
} from "./driver.ts";
import { describeTarget } from "./target.ts";
import { env } from "./runtime.ts";

type Sql = postgres.Sql<Record<string, never>>;
type ReservedSql = postgres.ReservedSql<Record<string, never>>;
/** A query postgres.js has queued or sent, which can be cancelled. */
type Pending = Promise<unknown> & { cancel(): unknown };

/** Errors raised while no connection could be made, or after it broke. */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ECONNRESET",
  "EPIPE",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
]);

/** SQLSTATEs that mean the server refused or dropped the session. */
const SESSION_SQLSTATES = /^(08|28|3D000|53300|57P)/;

const LOCK_KEY = ADVISORY_LOCK_KEY.toString();

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

  constructor(url: string, options: DriverOptions, reserved?: ReservedSql) {
    this.#url = url;
    this.#options = options;
    this.target = describeTarget({ kind: "postgres", url, source: "api" }, env);
    this.#owned = reserved === undefined;
    this.#sql = reserved ?? this.#connect();
    if (reserved) this.#established = true;
  }

  #connect(): Sql {
    const { url, ssl, mode } = sslOptions(this.#url);
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
      ...(this.#options.password === undefined ? {} : { password: this.#options.password }),
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

  /** Seconds, at most what a timer can hold (about 24 days); longer would fire at once. */
  #connectTimeout(): number {
    const seconds = this.#options.connectTimeoutSeconds ?? DEFAULTS.connectTimeoutSeconds;
    return Math.min(seconds, Math.floor((2 ** 31 - 1) / 1000));
  }

  async #run<T>(
    work: (sql: Sql | ReservedSql) => Pending,
  ): Promise<T> {
    if (this.#lost) throw this.#lostError();
    for (;;) {
      const pending = work(this.#sql);
      this.#running.add(pending);
      try {
        const rows = this.#established ? await pending : await this.#connecting(pending);
        this.#established = true;
        return rows as unknown as T;
      } catch (error) {
        if (!this.#established && this.#checkInterval && isUnknownCheckInterval(error)) {
          // PostgreSQL before 14 has no client_connection_check_interval.
          this.#checkInterval = false;
          await (this.#sql as Sql).end({ timeout: 0 }).catch(() => {});
          this.#sql = this.#connect();
          continue;
        }
        throw this.#translate(error);
      } finally {
        this.#running.delete(pending);
      }
    }
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
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        if (this.#sessionStarted) return;
        reject(Object.assign(new Error("connect timeout"), { code: "CONNECT_TIMEOUT" }));
        (this.#sql as Sql).end({ timeout: 0 }).catch(() => {});
      }, seconds * 1000);
    });
    try {
      return await Promise.race([pending, deadline]);
    } finally {
      clearTimeout(timer);
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

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    // BEGIN is not awaited first: it is pipelined with the work's queries.
    const begin = this.exec("BEGIN");
    begin.catch(() => {});
    let result: T;
    try {
      result = await fn(this);
      await begin;
    } catch (error) {
      if (!this.#lost) await this.exec("ROLLBACK").catch(() => {});
      throw error;
    }
    await this.exec("COMMIT");
    return result;
  }

  async atomic(statements: readonly TransactionStatement[]): Promise<Row[][]> {
    // Before PostgreSQL 14 the server cannot notice a dead client while a
    // statement runs, so COMMIT waits for the answers: a killed client's
    // migration is rolled back rather than committed from the socket buffer.
    if (!this.#checkInterval) return await this.transaction((tx) => sendAll(tx, statements));
    // Everything is written before any answer is read: one round trip. A
    // client killed meanwhile: client_connection_check_interval makes the
    // server abort the statement running (and so the transaction) within
    // its interval; either way the section and its row commit together.
    const rows = await sendAll(this, [
      { sql: "BEGIN", script: true },
      ...statements,
      { sql: "COMMIT", script: true },
    ]);
    return rows.slice(1, -1);
  }

  async tryLock(): Promise<boolean> {
    const [row] = await this.query<{ locked: boolean }>(
      "SELECT pg_try_advisory_lock($1::bigint) AS locked",
      [LOCK_KEY],
    );
    return row.locked === true;
  }

  async unlock(): Promise<void> {
    if (this.#lost) return;
    await this.query("SELECT pg_advisory_unlock($1::bigint)", [LOCK_KEY]);
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
    // Terminate is sent and the socket closed at once: waiting for the
    // server to close its end too costs ~15 ms of every run and adds nothing.
    if (this.#owned) await (this.#sql as Sql).end({ timeout: 0 });
    else (this.#sql as ReservedSql).release();
  }

  #lostError(): RuntimeError {
    return new RuntimeError(
      "CONNECTION_LOST",
      `the connection to ${this.target} was lost; the server ended the session or the network failed`,
    );
  }

  #translate(error: unknown): DataBridgeError {
    if (error instanceof DataBridgeError) return error;
    const e = error as ServerErrorFields;
    const code = typeof e.code === "string" ? e.code : "";
    const isServerError = e.severity !== undefined && /^[0-9A-Z]{5}$/.test(code);
    if (isServerError && !SESSION_SQLSTATES.test(code)) return DatabaseError.from(e);
    if (isServerError || CONNECTION_CODES.has(code) || TLS_CODES.test(code)) {
      if (this.#established || this.#lost) {
        this.#lost = true;
        const why = isServerError ? `: ${e.message} (SQLSTATE ${code})` : "";
        return new RuntimeError(
          "CONNECTION_LOST",
          `the connection to ${this.target} was lost${why}`,
          { pgCode: isServerError ? code : undefined, cause: error },
        );
      }
      return new RuntimeError(
        "CONNECTION_FAILED",
        `cannot connect to ${this.target}: ${
          connectionAdvice(code, e.message ?? "", this.target, {
            seconds: this.#options.connectTimeoutSeconds ?? DEFAULTS.connectTimeoutSeconds,
            sslMode: this.#sslMode,
          })
        }`,
        { pgCode: isServerError ? code : undefined, cause: error },
      );
    }
    return new RuntimeError("INTERNAL", `${e.message ?? String(error)}`, { cause: error });
  }
}

/** Error codes of Node-compatible TLS stacks for a certificate that fails verification. */
const TLS_CODES =
  /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|HOSTNAME_MISMATCH)/;

/** What the connection attempt knew, for advice. */
interface AttemptContext {
  /** The connect timeout in seconds. */
  seconds: number;
  /** The sslmode in force, when one was given. */
  sslMode?: string;
}

function connectionAdvice(
  code: string,
  message: string,
  target: string,
  context: AttemptContext,
): string {
  const where = hostOf(target);
  if (TLS_CODES.test(code)) return tlsAdvice(code, message, where);
  switch (code) {
    case "ECONNREFUSED":
      return `connection refused at ${where}; check that PostgreSQL is running there and accepts TCP connections`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `host of ${where} not found; check the host name`;
    case "CONNECT_TIMEOUT":
    case "ETIMEDOUT":
      return `no PostgreSQL session with ${where} within ${context.seconds}s (--connect-timeout): ` +
        "nothing answered, or something there accepted the connection and closed it; " +
        "check the host, the port (is PostgreSQL listening there?) and firewalls";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `${where} is unreachable; check the network`;
    case "ECONNRESET":
    case "EPIPE":
      if (context.sslMode !== undefined && /TLS|SSL|secure/i.test(message)) {
        return `TLS problem: ${where} closed the connection during the TLS handshake (${message}); ` +
          `the server may not accept TLS (ssl = off): check sslmode=${context.sslMode} and the server's ssl setting`;
      }
      return `${where} closed the connection before the session started (${message || code}); ` +
        "check that PostgreSQL, not another service, listens at that port, and the server's logs";
    case "28P01":
      return `${message}; check the user name and password`;
    case "28000":
      if (/no encryption/i.test(message)) {
        return `${message}; the server accepts only TLS connections from here: use sslmode=require or verify-full, not sslmode=disable`;
      }
      if (/pg_hba\.conf/i.test(message)) {
        return `${message}; the server's pg_hba.conf admits no such connection: check the user, database and TLS settings, or ask its administrator`;
      }
      return `${message}; check the user name and password`;
    case "3D000":
      return `${message}; create the database or fix the URL`;
    default:
      return `${message || code}; check the URL, that the server at ${where} is up, and its logs`;
  }
}

function tlsAdvice(code: string, message: string, where: string): string {
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID" || code === "HOSTNAME_MISMATCH") {
    return `TLS certificate problem: the server's certificate is not valid for the host connected to (${message}); ` +
      "connect with a host name the certificate names, or use sslmode=verify-ca to check only the CA";
  }
  if (code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID") {
    return `TLS certificate problem: ${message}; renew the server's certificate (or fix the clock)`;
  }
  return `TLS certificate problem: the certificate of ${where} could not be verified (${message}); ` +
    "check that sslrootcert names the CA that signed the server's certificate";
}

/** `host:port` of a target as shown (password already masked). */
function hostOf(target: string): string {
  const authority = target.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, "").split(/[/?#]/)[0];
  return authority.slice(authority.lastIndexOf("@") + 1) || "the server";
}

function isUnknownCheckInterval(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return e.code === "42704" && /client_connection_check_interval/.test(e.message ?? "");
}

type SslOption = boolean | "prefer" | "require" | {
  ca?: string;
  rejectUnauthorized: boolean;
  checkServerIdentity: (hostname: string, cert: PeerCertificate) => Error | undefined;
};

/**
 * libpq's `sslmode` and `sslrootcert` as postgres.js `ssl` options. Removes
 * them from the URL so postgres.js does not send them to the server.
 */
function sslOptions(url: string): { url: string; ssl?: SslOption; mode?: string } {
  let mode = env("PGSSLMODE");
  let modeFrom = "PGSSLMODE";
  let rootCert = env("PGSSLROOTCERT");
  let cleaned = url;
  if (url) {
    const parsed = new URL(url);
    if (parsed.searchParams.has("sslmode")) {
      mode = parsed.searchParams.get("sslmode") ?? undefined;
      modeFrom = "the database URL's sslmode";
    }
    rootCert = parsed.searchParams.get("sslrootcert") ?? rootCert;
    if (parsed.searchParams.has("sslmode") || parsed.searchParams.has("sslrootcert")) {
      parsed.searchParams.delete("sslmode");
      parsed.searchParams.delete("sslrootcert");
      cleaned = parsed.toString();
    }
  }
  if (mode === undefined && rootCert === undefined) return { url: cleaned };
  const effective = mode ?? "verify-full";
  if (!["disable", "allow", "prefer", "require", "verify-ca", "verify-full"].includes(effective)) {
    throw new UsageError(
      "INVALID_URL",
      `${modeFrom} '${mode}' is not known; use disable, prefer, require, verify-ca or verify-full`,
    );
  }
  const ca = rootCert === undefined || rootCert === "system" ? undefined : readCert(rootCert);
  const anyHost = () => undefined;
  switch (effective) {
    case "disable":
      return { url: cleaned, ssl: false, mode: effective };
    case "allow":
    case "prefer":
      return { url: cleaned, ssl: "prefer", mode: effective };
    case "require":
      // As libpq: with a root certificate, require verifies the CA.
      return {
        url: cleaned,
        ssl: ca === undefined
          ? "require"
          : { ca, rejectUnauthorized: true, checkServerIdentity: anyHost },
        mode: effective,
      };
    case "verify-ca":
      return {
        url: cleaned,
        ssl: { ca, rejectUnauthorized: true, checkServerIdentity: anyHost },
        mode: effective,
      };
    default:
      return {
        url: cleaned,
        ssl: { ca, rejectUnauthorized: true, checkServerIdentity: identityCheck(hostsOf(url)) },
        mode: effective,
      };
  }
}

/** The hosts a URL (or, without one, `PGHOST`) names, without ports or brackets. */
function hostsOf(url: string): string[] {
  let list = env("PGHOST") ?? "localhost";
  if (url) {
    const authority = url.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, "").split(/[/?#]/)[0];
    list = authority.slice(authority.lastIndexOf("@") + 1) || list;
  }
  return list.split(",").map((h) =>
    h.startsWith("[") ? h.slice(1, h.indexOf("]")) : decodeHost(h.replace(/:\d*$/, ""))
  );
}

function decodeHost(host: string): string {
  try {
    return decodeURIComponent(host);
  } catch {
    return host;
  }
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

function readCert(path: string): string {
  let content: string;
  try {
    content = readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(
      "INVALID_URL",
      `sslrootcert=${path} cannot be read: ${(error as { code?: string }).code ?? "error"}`,
    );
  }
  if (!content.includes("-----BEGIN CERTIFICATE-----")) {
    throw new UsageError(
      "INVALID_URL",
      `sslrootcert=${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----); name the CA certificate file`,
    );
  }
  return content;
}
