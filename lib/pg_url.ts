/**
 * `postgres://` URLs read as libpq reads them:
 * `postgresql://[user[:password]@][host][:port][,...][/dbname][?param=value&...]`.
 * The web's URL parser refuses some of what libpq takes and its users
 * write: several hosts each with its port (`h1:5432,h2:5433`), a user with
 * no host (`app@/db?host=/var/run/postgresql`), a `#` in a password.
 *
 * @module
 */

/** One host of a URL's list. */
export interface PgHost {
  /** Name, address (IPv6 without its brackets) or socket directory; `""` when not given. */
  host: string;
  /** Port as written; `""` when not given. */
  port: string;
}

/**
 * Why {@link parsePgUrl} refused a URL: `port` (not a number from 1 to
 * 65535, in `value`), `escape` (a `%` that starts no `%XX`) or `form`
 * (anything else). The message says it in words.
 */
export class PgUrlError extends Error {
  /** Which part is wrong. */
  readonly part: "port" | "escape" | "form";
  /** The port as written, for `port`. */
  readonly value?: string;

  /**
   * @param message What is wrong.
   * @param part Which part.
   * @param value The port as written, for `port`.
   */
  constructor(message: string, part: PgUrlError["part"], value?: string) {
    super(message);
    this.name = "PgUrlError";
    this.part = part;
    if (value !== undefined) this.value = value;
  }
}

/** A URL's parts, percent-decoded. */
export interface PgUrl {
  /** `postgres` or `postgresql`, as written. */
  scheme: string;
  /** User name, when given before an `@`. */
  user?: string;
  /** Password, when given after the user name and a `:`. */
  password?: string;
  /** The hosts, in order; one with an empty name when the URL names none. */
  hosts: PgHost[];
  /** Database name, when given. */
  database?: string;
  /** Query parameters, in order. */
  params: [string, string][];
}

/**
 * Reads a `postgres://` or `postgresql://` URL as libpq does.
 *
 * @param url The URL.
 * @returns Its parts.
 * @throws {PgUrlError} When it is not such a URL, a `%` does not start a
 *   `%XX` escape, an IPv6 address lacks its `]`, a port is not a number from
 *   1 to 65535, or a parameter has no `=`; the message says which.
 * @example
 * ```ts
 * import { parsePgUrl } from "./pg_url.ts";
 * const u = parsePgUrl("postgres://app:s%40cret@db1:5432,db2:5433/prod?sslmode=require");
 * console.log(u.password, u.hosts, u.database); // "s@cret" [{ host: "db1", port: "5432" }, ...] "prod"
 * ```
 */
export function parsePgUrl(url: string): PgUrl {
  const m = /^(postgres(?:ql)?):\/\//i.exec(url);
  if (!m) throw new PgUrlError("it does not start with postgres:// or postgresql://", "form");
  const result: PgUrl = { scheme: m[1], hosts: [], params: [] };
  let at = m[0].length;
  // User and password: up to an '@' before the first '/' (libpq's rule).
  const slash = url.indexOf("/", at);
  const end = slash === -1 ? url.length : slash;
  const credentials = url.lastIndexOf("@", end - 1);
  if (credentials >= at) {
    const userinfo = url.slice(at, credentials);
    const colon = userinfo.indexOf(":");
    const what = "user name or password";
    result.user = decode(colon === -1 ? userinfo : userinfo.slice(0, colon), what);
    if (colon !== -1) result.password = decode(userinfo.slice(colon + 1), what);
    at = credentials + 1;
  }
  // Hosts, each with an optional port, up to the path or the query.
  for (;;) {
    let host: string;
    if (url[at] === "[") {
      const close = url.indexOf("]", at);
      if (close === -1) {
        throw new PgUrlError(`the IPv6 address ${url.slice(at)} lacks its ']'`, "form");
      }
      host = url.slice(at + 1, close);
      at = close + 1;
    } else {
      const stop = findAny(url, ":/?,", at);
      host = decode(url.slice(at, stop), "host");
      at = stop;
    }
    let port = "";
    if (url[at] === ":") {
      const stop = findAny(url, "/?,", at + 1);
      port = decode(url.slice(at + 1, stop), "port");
      at = stop;
      if (!/^\d+$/.test(port) || !(Number(port) >= 1 && Number(port) <= 65535)) {
        throw new PgUrlError(`port ${port} is not a number from 1 to 65535`, "port", port);
      }
    } else if (at < url.length && !"/?,".includes(url[at])) {
      throw new PgUrlError(`unexpected '${url[at]}' after the host ${host}`, "form");
    }
    result.hosts.push({ host, port });
    if (url[at] !== ",") break;
    at++;
  }
  if (url[at] === "/") {
    const stop = findAny(url, "?", at + 1);
    const database = decode(url.slice(at + 1, stop), "database name");
    if (database !== "") result.database = database;
    at = stop;
  }
  if (url[at] === "?") {
    for (const pair of url.slice(at + 1).split("&")) {
      if (pair === "") continue;
      const eq = pair.indexOf("=");
      if (eq === -1) throw new PgUrlError(`the parameter ${pair} has no '=value'`, "form");
      result.params.push([
        decode(pair.slice(0, eq), "parameter name"),
        decode(pair.slice(eq + 1), `value of ${pair.slice(0, eq)}`),
      ]);
    }
  }
  return result;
}

/**
 * Writes a URL back from its parts, each encoded where needed, which
 * {@link parsePgUrl} (and postgres.js) read back as the same parts.
 *
 * @param url The parts.
 * @returns The URL.
 * @example
 * ```ts
 * import { formatPgUrl, parsePgUrl } from "./pg_url.ts";
 * const u = parsePgUrl("postgres://app@db/prod?sslmode=require");
 * console.log(formatPgUrl({ ...u, database: "scratch", params: [] })); // "postgres://app@db/scratch"
 * ```
 */
export function formatPgUrl(url: PgUrl): string {
  let out = `${url.scheme}://`;
  if (url.user !== undefined) {
    out += encode(url.user);
    if (url.password !== undefined) out += `:${encode(url.password)}`;
    out += "@";
  }
  out += url.hosts
    .map(({ host, port }) =>
      (host.includes(":") ? `[${host}]` : encode(host)) + (port === "" ? "" : `:${port}`)
    )
    .join(",");
  if (url.database !== undefined) out += `/${encode(url.database)}`;
  if (url.params.length) {
    out += `?${url.params.map(([k, v]) => `${encode(k)}=${encode(v)}`).join("&")}`;
  }
  return out;
}

function findAny(text: string, chars: string, from: number): number {
  for (let i = from; i < text.length; i++) if (chars.includes(text[i])) return i;
  return text.length;
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new PgUrlError(
      `the ${what} holds a '%' that does not start a %XX escape; write a literal % as %25`,
      "escape",
    );
  }
}

function encode(text: string): string {
  return encodeURIComponent(text);
}
