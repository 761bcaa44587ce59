/**
 * Where and as whom the wire client connects: a `postgres://` URL, or the
 * libpq environment variables, read as libpq reads them. Connections the
 * wire client does not make itself (TLS, several hosts,
 * `target_session_attrs`) are left to postgres.js: for those this returns
 * `null`.
 *
 * @module
 */
import { DEFAULTS } from "./config.ts";
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
  let sslMode = env("PGSSLMODE");
  let rootCert = env("PGSSLROOTCERT");
  let sessionAttrs = env("PGTARGETSESSIONATTRS") ?? env("PGTARGET_SESSION_ATTRS");
  const parameters: Record<string, string> = {};
  const appName = env("PGAPPNAME");
  if (appName !== undefined) parameters.application_name = appName;
  if (url) {
    const authority = url.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, "").split(/[/?#]/)[0];
    if (authority.slice(authority.lastIndexOf("@") + 1).includes(",")) return null;
    const parsed = new URL(url);
    if (parsed.hostname) host = decode(parsed.hostname.replace(/^\[(.*)\]$/, "$1"));
    if (parsed.port) port = parsed.port;
    if (parsed.username) user = decode(parsed.username);
    if (parsed.password) pass = decode(parsed.password);
    const path = decode(parsed.pathname.slice(1));
    if (path) database = path;
    for (const [key, value] of parsed.searchParams) {
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
        case "sslmode":
          sslMode = value;
          break;
        case "sslrootcert":
          rootCert = value;
          break;
        case "target_session_attrs":
          sessionAttrs = value;
          break;
        default:
          if (!CLIENT_OPTIONS.has(key)) parameters[key] = value;
      }
    }
  }
  if (sessionAttrs !== undefined || env("PGSSL") !== undefined) return null;
  if (rootCert !== undefined || (sslMode !== undefined && sslMode !== "disable")) return null;
  host ??= "localhost";
  if (host.includes(",")) return null;
  user ??= osUser(env);
  const portNumber = Number(port ?? DEFAULTS.postgresPort);
  return {
    host,
    port: portNumber,
    socket: host.startsWith("/") ? `${host.replace(/\/$/, "")}/.s.PGSQL.${portNumber}` : null,
    user,
    password: password ?? pass,
    database: database ?? user,
    parameters,
  };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
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
