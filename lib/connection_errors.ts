/**
 * What a server driver throws when a session cannot be made or breaks:
 * one translation of client-library and socket errors into data-bridge's
 * errors, with advice, shared by the wire client and the postgres.js driver.
 *
 * @module
 */
import { DEFAULTS } from "./config.ts";
import { socketPath } from "./conninfo.ts";
import { DatabaseError, DataBridgeError, RuntimeError, type ServerErrorFields } from "./errors.ts";

/** Errors raised while no connection could be made, or after it broke. */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENOENT",
  "EACCES",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
  "ECONNRESET",
  "EPIPE",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
  "PROTOCOL",
  "AUTH_UNSUPPORTED",
]);

/**
 * Errors of a connection attempt that a server coming up gives: nothing
 * listens yet, its name is not in DNS yet, it closed the socket (restarting
 * after its first start), or it refused the session while starting up or
 * shutting down (57P03, 57P01) or full (53300).
 */
const TRANSIENT_CODES = new Set([
  "ECONNREFUSED",
  "ENOENT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ECONNRESET",
  "EPIPE",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "57P01",
  "57P03",
  "53300",
]);

/**
 * Whether a failed connection attempt may succeed when tried again soon,
 * as while a server starts: what `--connect-wait` retries. A wrong
 * password, a missing database, a TLS or protocol problem is not.
 *
 * @param error What the socket or client library threw while connecting.
 * @returns `true` for a refused, unresolved, timed-out or reset attempt, and
 *   for a server starting up, shutting down or full.
 * @example
 * ```ts
 * import { transientConnectError } from "./connection_errors.ts";
 * console.log(transientConnectError({ code: "ECONNREFUSED" })); // true
 * console.log(transientConnectError({ code: "28P01", severity: "FATAL" })); // false
 * ```
 */
export function transientConnectError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && TRANSIENT_CODES.has(code);
}

/**
 * The notice a driver gives when it starts waiting for a server to come up.
 *
 * @param target The target as shown (password masked).
 * @param error The failed attempt's error.
 * @param seconds How long it will keep trying.
 * @returns An `INFO` notice, for `DriverOptions.onNotice`.
 * @example
 * ```ts
 * import { waitingNotice } from "./connection_errors.ts";
 * const notice = waitingNotice("postgres://db:5432/app", { code: "ECONNREFUSED" }, 30);
 * console.log(notice.message); // "cannot connect to postgres://db:5432/app yet (ECONNREFUSED); ..."
 * ```
 */
export function waitingNotice(
  target: string,
  error: unknown,
  seconds: number,
): { severity: string; message: string; client: true } {
  const e = error as { code?: string; message?: string; severity?: string };
  const why = e.severity === undefined ? e.code ?? e.message : `${e.message} (SQLSTATE ${e.code})`;
  return {
    severity: "INFO",
    client: true,
    message: `cannot connect to ${target} yet (${why}); ` +
      `trying again for up to ${seconds}s (--connect-wait)`,
  };
}

/** SQLSTATEs that mean the server refused or dropped the session. */
const SESSION_SQLSTATES = /^(08|28|3D000|53300|57P)/;

/** Error codes of Node-compatible TLS stacks for a certificate that fails verification. */
const TLS_CODES =
  /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|HOSTNAME_MISMATCH)/;

/** What the driver knew when the error came. */
export interface SessionState {
  /** The target as shown (password masked). */
  target: string;
  /** A query has succeeded on this session. */
  established: boolean;
  /** The session was already lost. */
  lost: boolean;
  /** The connect timeout in seconds. */
  seconds: number;
  /** The sslmode in force, when one was given. */
  sslMode?: string;
  /** Seconds spent trying again to connect (`--connect-wait`), when it did. */
  waited?: number;
}

/**
 * The error to throw for what a driver caught: a server's error on a live
 * session stays a {@link DatabaseError}; a refused, failed or broken
 * session becomes `CONNECTION_FAILED` (with advice) or `CONNECTION_LOST`.
 *
 * @param error What the client library or socket threw.
 * @param state The session's state.
 * @returns The error, and whether the session is now lost.
 * @example
 * ```ts
 * import { translateDriverError } from "./connection_errors.ts";
 * const refused = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
 * const { error } = translateDriverError(refused, {
 *   target: "postgres://app@db:5432/app",
 *   established: false,
 *   lost: false,
 *   seconds: 10,
 * });
 * console.log(error.code); // "CONNECTION_FAILED"
 * ```
 */
export function translateDriverError(
  error: unknown,
  state: SessionState,
): { error: DataBridgeError; lost: boolean } {
  if (error instanceof DataBridgeError) return { error, lost: false };
  const e = error as ServerErrorFields;
  const code = typeof e.code === "string" ? e.code : "";
  const isServerError = e.severity !== undefined && /^[0-9A-Z]{5}$/.test(code);
  // FATAL ends the session whatever its SQLSTATE (an idle-in-transaction timeout: 25P03).
  const fatal = e.severity === "FATAL" || e.severity === "PANIC";
  if (isServerError && !fatal && !SESSION_SQLSTATES.test(code)) {
    return { error: DatabaseError.from(e), lost: false };
  }
  if (isServerError || CONNECTION_CODES.has(code) || TLS_CODES.test(code)) {
    if (state.established || state.lost) {
      const why = isServerError ? `: ${e.message} (SQLSTATE ${code})` : "";
      return {
        error: new RuntimeError(
          "CONNECTION_LOST",
          `the connection to ${state.target} was lost${why}`,
          { pgCode: isServerError ? code : undefined, cause: error },
        ),
        lost: true,
      };
    }
    return {
      error: new RuntimeError(
        "CONNECTION_FAILED",
        `cannot connect to ${state.target}: ${
          connectionAdvice(code, e.message ?? "", state.target, state)
        }${
          state.waited === undefined
            ? ""
            : ` (still so after trying for ${Math.round(state.waited * 10) / 10}s: --connect-wait)`
        }`,
        { pgCode: isServerError ? code : undefined, cause: error },
      ),
      lost: false,
    };
  }
  return {
    error: new RuntimeError("INTERNAL", `${e.message ?? String(error)}`, { cause: error }),
    lost: false,
  };
}

/**
 * The error for a query on a session that is gone.
 *
 * @param target The target as shown.
 * @returns `CONNECTION_LOST`.
 * @example
 * ```ts
 * import { lostError } from "./connection_errors.ts";
 * console.log(lostError("postgres://db/app").code); // "CONNECTION_LOST"
 * ```
 */
export function lostError(target: string): RuntimeError {
  return new RuntimeError(
    "CONNECTION_LOST",
    `the connection to ${target} was lost; the server ended the session or the network failed`,
  );
}

function connectionAdvice(
  code: string,
  message: string,
  target: string,
  context: SessionState,
): string {
  const where = hostOf(target);
  if (TLS_CODES.test(code)) return tlsAdvice(code, message, where);
  switch (code) {
    case "ECONNREFUSED":
      return `connection refused at ${where}; check that PostgreSQL is running there and accepts TCP connections`;
    case "ENOENT":
      return `no PostgreSQL socket at ${where} (${
        message || code
      }); check that the server runs and the socket directory and port`;
    case "EACCES":
      return `permission denied opening the socket at ${where}; check the socket directory's permissions`;
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
    case "EADDRNOTAVAIL":
      return `${where} is unreachable; check the network`;
    case "ECONNRESET":
    case "EPIPE":
    case "CONNECTION_CLOSED":
    case "CONNECTION_ENDED":
    case "PROTOCOL":
      if (context.sslMode !== undefined && /TLS|SSL|secure/i.test(message)) {
        return `TLS problem: ${where} closed the connection during the TLS handshake (${message}); ` +
          `the server may not accept TLS (ssl = off): check sslmode=${context.sslMode} and the server's ssl setting`;
      }
      return `${where} closed the connection before the session started (${message || code}); ` +
        "check that PostgreSQL, not another service, listens at that port, and the server's logs";
    case "AUTH_UNSUPPORTED":
      return `${message}; allow scram-sha-256, md5 or password for this user in the server's pg_hba.conf`;
    case "28P01":
      return `${message}; check the user name and password`;
    case "28000":
      if (/no encryption/i.test(message)) {
        return `${message}; the server accepts only TLS connections from here: use sslmode=require or verify-full, not sslmode=disable`;
      }
      if (/client certificate|certificate authentication/i.test(message)) {
        return `${message}; the server authenticates this user by certificate: give sslcert and sslkey, a certificate its CA signed with the user's name (CN)`;
      }
      if (/pg_hba\.conf/i.test(message)) {
        return `${message}; the server's pg_hba.conf admits no such connection: check the user, database and TLS settings, or ask its administrator`;
      }
      return `${message}; check the user name and password`;
    case "3D000":
      return `${message}; create the database (apply --create-database does) or fix the URL`;
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
/** Where the target points: its `host` parameter (a socket directory or a name) over the URL's host. */
function hostOf(target: string): string {
  const authority = target.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, "").split(/[/?#]/)[0];
  let params: URLSearchParams | null = null;
  try {
    params = new URL(target).searchParams;
  } catch {
    // Not a URL: its authority, as written.
  }
  const host = params?.get("host");
  if (host) {
    const port = params!.get("port") ?? /:(\d+)$/.exec(authority)?.[1];
    if (host.startsWith("/")) return socketPath(host, Number(port ?? DEFAULTS.postgresPort));
    return port ? `${host}:${port}` : host;
  }
  return authority.slice(authority.lastIndexOf("@") + 1) || "the server";
}
