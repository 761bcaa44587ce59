/**
 * Where and as whom the wire client connects: a `postgres://` URL, or the
 * libpq environment variables, read as libpq reads them, `sslmode` and
 * `sslrootcert` included. Connections the wire client does not make itself
 * (several hosts, `target_session_attrs`, `sslmode=allow`, an sslmode it
 * does not know) are left to postgres.js: for those this returns `null`.
 *
 * @module
 */
import { DEFAULTS } from "./config.ts";
import { UsageError } from "./errors.ts";
import { parsePgUrl } from "./pg_url.ts";
import { builtin } from "./runtime.ts";

/** A connection the wire client can make. */
export interface ConnInfo {
  /** Host name or address (for messages when {@link ConnInfo.socket} is set). */
  host: string;
  /** Port. */
  port: number;
  /** Unix-domain socket path, when the host is a directory. */
  socket: string | null;
  /** User name. */
  user: string;
  /** Password, when one is known. */
  password: string | undefined;
  /** Database name. */
  database: string;
  /** Run-time parameters for the startup message (`application_name`, `options`, ...). */
  parameters: Record<string, string>;
  /** TLS as `sslmode` and `sslrootcert` ask for it, or `null` for none (`disable`, or neither given). */
  tls: TlsSettings | null;
  /** Seconds from the URL's `connect_timeout` or `PGCONNECT_TIMEOUT`, when given. */
  connectTimeout?: number;
}

/**
 * libpq's `connect_timeout`: the URL's, else `PGCONNECT_TIMEOUT`, in whole
 * seconds; 0 or less waits without end (as long as a timer can), 1 counts as
 * 2, as in libpq.
 *
 * @param query The URL's query, or `null`.
 * @param env Reads environment variables.
 * @returns Seconds, or `undefined` when neither gives one.
 * @throws {UsageError} `INVALID_URL` when the value is not a whole number.
 * @example
 * ```ts
 * import { connectTimeoutOf } from "./conninfo.ts";
 * console.log(connectTimeoutOf(new URLSearchParams("connect_timeout=3"), () => undefined)); // 3
 * ```
 */
export function connectTimeoutOf(
  query: URLSearchParams | null,
  env: (name: string) => string | undefined,
): number | undefined {
  const fromUrl = query?.get("connect_timeout") ?? undefined;
  const value = fromUrl ?? env("PGCONNECT_TIMEOUT");
  if (value === undefined || value === "") return undefined;
  if (!/^\s*-?\d+\s*$/.test(value)) {
    throw new UsageError(
      "INVALID_URL",
      `${
        fromUrl === undefined ? "PGCONNECT_TIMEOUT" : "the database URL's connect_timeout"
      } must be a whole number of seconds, got '${value}'`,
    );
  }
  const seconds = Number(value);
  return seconds <= 0 ? Math.floor((2 ** 31 - 1) / 1000) : Math.max(seconds, 2);
}

/** TLS as libpq's `sslmode` and `sslrootcert` ask for it. */
export interface TlsSettings {
  /** The sslmode in force (`verify-full` when only `sslrootcert` is given). */
  mode: "prefer" | "require" | "verify-ca" | "verify-full";
  /**
   * What the server's certificate is checked against: `none` (encryption
   * only: `prefer`, and `require` without a root certificate), `ca` (the
   * chain, not the host name: `verify-ca`, and `require` with one, as
   * libpq), or `full` (chain and host name).
   */
  verify: "none" | "ca" | "full";
  /** The root certificate file, or `undefined` for the runtime's own CAs (`sslrootcert=system`, or none). */
  rootCert: string | undefined;
  /**
   * The client's certificate and key files (`sslcert`, `sslkey`), and the
   * key's passphrase (`sslpassword`), for servers that authenticate
   * clients by certificate; absent when not given.
   */
  client?: { cert: string; key: string; passphrase?: string };
}

/** Query parameters that are postgres.js client options, never sent to the server. */
const CLIENT_OPTIONS = new Set([
  "max",
  "idle_timeout",
  "connect_timeout",
  "max_lifetime",
  "max_pipeline",
  "backoff",
  "keep_alive",
  "prepare",
  "debug",
  "fetch_types",
  "publications",
  "sslnegotiation",
]);

/**
 * Reads a target URL (or, for `""`, `PGHOST`, `PGPORT`, `PGUSER`,
 * `PGPASSWORD`, `PGDATABASE`) into connection parameters.
 *
 * @param url A `postgres://` URL that `parseTarget` accepted, or `""`.
 * @param env Reads environment variables.
 * @param password A password that overrides the URL's and `PGPASSWORD`.
 * @returns The parameters, or `null` when the connection needs TLS, names
 *   several hosts or sets `target_session_attrs` (postgres.js makes those).
 * @example
 * ```ts
 * import { connInfo } from "./conninfo.ts";
 * const info = connInfo("postgres://app:s3cret@db.example.com:6432/prod", () => undefined);
 * console.log(info?.host, info?.port, info?.user, info?.database); // db.example.com 6432 app prod
 * ```
 */
export function connInfo(
  url: string,
  env: (name: string) => string | undefined,
  password?: string,
): ConnInfo | null {
  let host = env("PGHOST");
  let port = env("PGPORT");
  let user = env("PGUSERNAME") ?? env("PGUSER");
  let pass = env("PGPASSWORD");
  let database = env("PGDATABASE");
  let sessionAttrs = env("PGTARGETSESSIONATTRS") ?? env("PGTARGET_SESSION_ATTRS");
  const parameters: Record<string, string> = {};
  const appName = env("PGAPPNAME");
  if (appName !== undefined) parameters.application_name = appName;
  let ssl = sslParameters(null, env);
  let connectTimeout = connectTimeoutOf(null, env);
  if (url) {
    const parsed = parsePgUrl(url);
    if (parsed.hosts.length > 1) return null;
    const [{ host: urlHost, port: urlPort }] = parsed.hosts;
    if (urlHost) host = urlHost;
    if (urlPort) port = urlPort;
    if (parsed.user) user = parsed.user;
    if (parsed.password) pass = parsed.password;
    if (parsed.database) database = parsed.database;
    const query = new URLSearchParams(parsed.params);
    ssl = sslParameters(query, env);
    connectTimeout = connectTimeoutOf(query, env);
    for (const [key, value] of parsed.params) {
      if (SSL_PARAMETERS.includes(key)) continue;
      switch (key) {
        case "host":
          host = value;
          break;
        case "port":
          port = value;
          break;
        case "user":
          user = value;
          break;
        case "password":
          pass = value;
          break;
        case "dbname":
          database = value;
          break;
        case "target_session_attrs":
          sessionAttrs = value;
          break;
        default:
          if (!CLIENT_OPTIONS.has(key)) parameters[key] = value;
      }
    }
  }
  // "any", libpq's default, asks for nothing the wire client does not do.
  if ((sessionAttrs !== undefined && sessionAttrs !== "any") || env("PGSSL") !== undefined) {
    return null;
  }
  let tls: TlsSettings | null = null;
  if (ssl.rootCert !== undefined || (ssl.mode !== undefined && ssl.mode !== "disable")) {
    tls = tlsSettings(ssl.mode ?? "verify-full", ssl.rootCert);
    if (tls === null) return null;
    if (ssl.cert !== undefined || ssl.key !== undefined) {
      // A certificate without its key (or the reverse) is left to postgres.js, which says so.
      if (ssl.cert === undefined || ssl.key === undefined) return null;
      tls.client = {
        cert: ssl.cert,
        key: ssl.key,
        ...(ssl.passphrase === undefined ? {} : { passphrase: ssl.passphrase }),
      };
    }
  }
  host ??= "localhost";
  if (host.includes(",")) return null;
  // TLS over a Unix-domain socket is left to postgres.js, as before.
  if (tls !== null && host.startsWith("/")) return null;
  user ??= osUser(env);
  const portNumber = Number(port ?? DEFAULTS.postgresPort);
  return {
    host,
    port: portNumber,
    socket: host.startsWith("/") ? socketPath(host, portNumber) : null,
    user,
    password: password ?? pass,
    database: database ?? user,
    parameters,
    tls,
    ...(connectTimeout === undefined ? {} : { connectTimeout }),
  };
}

/** The URL's query parameters that say how TLS is made (never sent to the server). */
export const SSL_PARAMETERS: readonly string[] = [
  "sslmode",
  "sslrootcert",
  "sslcert",
  "sslkey",
  "sslpassword",
];

/** TLS options as given, the URL's over libpq's variables. */
export interface SslParameters {
  /** `sslmode`, else `PGSSLMODE`. */
  mode: string | undefined;
  /** Where the sslmode came from, for messages. */
  modeFrom: string;
  /** `sslrootcert`, else `PGSSLROOTCERT`. */
  rootCert: string | undefined;
  /** `sslcert`, else `PGSSLCERT`. */
  cert: string | undefined;
  /** `sslkey`, else `PGSSLKEY`. */
  key: string | undefined;
  /** `sslpassword`. */
  passphrase: string | undefined;
}

/**
 * Reads the TLS options of a URL's query and the libpq variables, as
 * given: what both clients make of them is theirs.
 *
 * @param query The URL's query parameters, or `null` without a URL.
 * @param env Reads an environment variable.
 * @returns The options.
 * @example
 * ```ts
 * import { sslParameters } from "./conninfo.ts";
 * const query = new URL("postgres://h/d?sslmode=require").searchParams;
 * console.log(sslParameters(query, () => "verify-full").mode); // "require"
 * ```
 */
export function sslParameters(
  query: URLSearchParams | null,
  env: (name: string) => string | undefined,
): SslParameters {
  const given = (param: string, variable?: string) =>
    query?.get(param) ?? (variable === undefined ? undefined : env(variable));
  return {
    mode: given("sslmode", "PGSSLMODE"),
    modeFrom: query?.has("sslmode") ? "the database URL's sslmode" : "PGSSLMODE",
    rootCert: given("sslrootcert", "PGSSLROOTCERT"),
    cert: given("sslcert", "PGSSLCERT"),
    key: given("sslkey", "PGSSLKEY"),
    passphrase: given("sslpassword"),
  };
}

/** An sslmode (other than `disable`) as settings, or `null` for one left to postgres.js. */
function tlsSettings(mode: string, rootCert: string | undefined): TlsSettings | null {
  const file = rootCert === "system" ? undefined : rootCert;
  switch (mode) {
    case "prefer":
      return { mode, verify: "none", rootCert: file };
    case "require":
      return { mode, verify: file === undefined ? "none" : "ca", rootCert: file };
    case "verify-ca":
      return { mode, verify: "ca", rootCert: file };
    case "verify-full":
      return { mode, verify: "full", rootCert: file };
    default:
      // allow, and modes libpq does not know (postgres.js says which).
      return null;
  }
}

function osUser(env: (name: string) => string | undefined): string {
  try {
    // node:os is loaded only here: most URLs name their user.
    return builtin<typeof import("node:os")>("node:os").userInfo().username;
  } catch {
    return env("USER") ?? env("LOGNAME") ?? "postgres";
  }
}

/**
 * Reads an `sslrootcert` file: PEM certificates.
 *
 * @param path The file.
 * @returns Its text.
 * @throws {UsageError} `INVALID_URL` when it cannot be read or holds no certificate.
 * @example
 * ```ts
 * import { readRootCert } from "./conninfo.ts";
 * try {
 *   readRootCert("/nonexistent/ca.pem");
 * } catch (error) {
 *   console.log((error as Error).message); // sslrootcert=/nonexistent/ca.pem cannot be read: ENOENT
 * }
 * ```
 */
export function readRootCert(path: string): string {
  return readPem(path, "sslrootcert", "CERTIFICATE", "name the CA certificate file");
}

/**
 * Reads a PEM file named by a TLS option (`sslrootcert`, `sslcert`, `sslkey`).
 *
 * @param path The file.
 * @param option The option that names it, for messages.
 * @param kind What it must hold: `CERTIFICATE`, or `PRIVATE KEY` (any PEM key: RSA, EC, encrypted).
 * @param advice What to do when it holds none.
 * @returns Its text.
 * @throws {UsageError} `INVALID_URL` when it cannot be read or holds no such PEM block.
 * @example
 * ```ts
 * import { readPem } from "./conninfo.ts";
 * try {
 *   readPem("/nonexistent/client.key", "sslkey", "PRIVATE KEY");
 * } catch (error) {
 *   console.log((error as Error).message); // sslkey=/nonexistent/client.key cannot be read: ENOENT
 * }
 * ```
 */
export function readPem(
  path: string,
  option: string,
  kind: "CERTIFICATE" | "PRIVATE KEY",
  advice = `name the file of the ${kind === "CERTIFICATE" ? "certificate" : "key"}`,
): string {
  let content: string;
  try {
    content = builtin<typeof import("node:fs")>("node:fs").readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(
      "INVALID_URL",
      `${option}=${path} cannot be read: ${(error as { code?: string }).code ?? "error"}`,
    );
  }
  const block = kind === "CERTIFICATE"
    ? /-----BEGIN CERTIFICATE-----/
    : /-----BEGIN (?:[A-Z]+ )?(?:ENCRYPTED )?PRIVATE KEY-----/;
  if (!block.test(content)) {
    throw new UsageError(
      "INVALID_URL",
      `${option}=${path} holds no PEM ${kind.toLowerCase()} (-----BEGIN ${kind}-----); ${advice}`,
    );
  }
  return content;
}

/**
 * The Unix-domain socket a PostgreSQL server listens on in a directory, as
 * libpq names it.
 *
 * @param dir The socket directory (a host starting with `/`).
 * @param port The port.
 * @returns `DIR/.s.PGSQL.PORT`.
 * @example
 * ```ts
 * import { socketPath } from "./conninfo.ts";
 * console.log(socketPath("/run/postgresql/", 5432)); // "/run/postgresql/.s.PGSQL.5432"
 * ```
 */
export function socketPath(dir: string, port: number): string {
  return `${dir.replace(/\/$/, "")}/.s.PGSQL.${port}`;
}
