/**
 * Which database a command talks to, and how it is shown without its
 * password.
 *
 * Order: `--database-url`, then `DATABASE_URL`, then the libpq variables
 * (`PGHOST` or `PGDATABASE` set selects a server), else the embedded
 * database at `.data-bridge/pglite`.
 *
 * @module
 */
import { DEFAULTS } from "./config.ts";
import { UsageError } from "./errors.ts";
import { parsePgUrl, type PgUrl, PgUrlError } from "./pg_url.ts";
import { fileExists } from "./runtime.ts";

/** A resolved target. */
export type Target =
  | {
    /** A PostgreSQL server. */
    kind: "postgres";
    /** The URL, or `""` when the libpq environment variables say everything. */
    url: string;
    /** Where it came from. */
    source: TargetSource;
  }
  | {
    /** The embedded database. */
    kind: "pglite";
    /** Folder of the data, or `null` for memory. */
    path: string | null;
    /** Where it came from. */
    source: TargetSource;
  };

/** Where a target came from. */
export type TargetSource = "flag" | "DATABASE_URL" | "PG environment" | "default" | "api";

/**
 * Parses a database URL.
 *
 * @param url `postgres://...`, `postgresql://...`, `pglite:PATH` or `pglite:memory`.
 * @param source Where it came from.
 * @param flag How errors name its origin (default `--database-url`).
 * @returns The target.
 * @throws {UsageError} `INVALID_URL` for an unknown scheme or malformed URL.
 * @example
 * ```ts
 * import { parseTarget } from "./target.ts";
 * console.log(parseTarget("pglite:memory", "api")); // { kind: "pglite", path: null, source: "api" }
 * ```
 */
export function parseTarget(
  url: string,
  source: TargetSource,
  flag = source === "DATABASE_URL" ? "DATABASE_URL" : "--database-url",
): Target {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
  if (scheme === "pglite") {
    const rest = url.slice("pglite:".length).replace(/^\/\//, "");
    if (rest === "") {
      throw new UsageError(
        "INVALID_URL",
        `${flag}: pglite: needs a folder (pglite:./data) or pglite:memory`,
      );
    }
    return { kind: "pglite", path: rest === "memory" ? null : rest, source };
  }
  if (scheme === "postgres" || scheme === "postgresql") {
    const invalid = (why: string) =>
      new UsageError(
        "INVALID_URL",
        `${flag}: ${
          maskUrl(url)
        } is not a valid URL (${why}); expected postgres://user:password@host:port/database`,
      );
    // What libpq reads, less what postgres.js (which reads URLs as the web
    // does) would read otherwise: blanks, and '#' or '?' before the '@'.
    if (/\s/.test(url)) throw invalid("it holds a blank; write it as %20");
    const slash = url.indexOf("/", url.indexOf("//") + 2);
    const credentials = url.lastIndexOf("@", slash === -1 ? url.length : slash - 1);
    const stray = /[#?]/.exec(url.slice(0, Math.max(credentials, 0)))?.[0];
    if (stray) {
      throw invalid(
        `the user name or password holds '${stray}'; write it as ${stray === "#" ? "%23" : "%3F"}`,
      );
    }
    let parsed: PgUrl;
    try {
      parsed = parsePgUrl(url);
    } catch (error) {
      if (!(error instanceof PgUrlError)) throw error;
      if (error.part === "port" && /^\d+$/.test(error.value ?? "")) {
        throw new UsageError("INVALID_URL", `${flag}: port ${error.value} is out of range`);
      }
      if (error.part === "escape") throw new UsageError("INVALID_URL", `${flag}: ${error.message}`);
      throw invalid(error.message);
    }
    if (parsed.hosts.length > 1 && parsed.hosts.some((h) => h.host.includes(":"))) {
      throw invalid("an IPv6 address in a list of several hosts; name them instead");
    }
    return { kind: "postgres", url, source };
  }
  const shown = scheme ? `scheme '${scheme}:'` : `value ${JSON.stringify(maskUrl(url))}`;
  throw new UsageError(
    "INVALID_URL",
    `${flag}: unknown ${shown}; use postgres://user@host:port/database or pglite:PATH`,
  );
}

/**
 * Picks the target from a flag, the environment, or the default.
 *
 * @param databaseUrl The `--database-url` flag, if given.
 * @param env Reads environment variables.
 * @returns The target.
 * @throws {UsageError} `INVALID_URL` when the chosen URL is invalid.
 * @example
 * ```ts
 * import { resolveTarget } from "./target.ts";
 * const target = resolveTarget(undefined, () => undefined);
 * console.log(target); // { kind: "pglite", path: ".data-bridge/pglite", source: "default" }
 * ```
 */
export function resolveTarget(
  databaseUrl: string | undefined,
  env: (name: string) => string | undefined,
): Target {
  if (databaseUrl !== undefined) return parseTarget(databaseUrl, "flag");
  const fromEnv = env("DATABASE_URL");
  if (fromEnv !== undefined) return parseTarget(fromEnv, "DATABASE_URL");
  if (env("PGHOST") !== undefined || env("PGDATABASE") !== undefined) {
    return { kind: "postgres", url: "", source: "PG environment" };
  }
  return { kind: "pglite", path: DEFAULTS.embeddedPath, source: "default" };
}

/**
 * A URL with its password replaced by `***`.
 *
 * @param url Any URL or connection string.
 * @returns The same without the password.
 * @example
 * ```ts
 * import { maskUrl } from "./target.ts";
 * console.log(maskUrl("postgres://app:s3cret@db:5432/prod")); // "postgres://app:***@db:5432/prod"
 * ```
 */
export function maskUrl(url: string): string {
  // A query password runs to the next '&': '#' may be part of it.
  const masked = url.replace(/([?&](?:password|pass)=)[^&]*/gi, "$1***");
  const m = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)(.*)$/s.exec(masked);
  if (!m) return masked;
  const rest = m[2];
  const end = rest.search(/[/?#]/);
  const authority = end === -1 ? rest : rest.slice(0, end);
  // An unencoded '/', '?' or '#' in the password ends the authority early
  // ("u:pa#ss@host"): with an '@' after the authority, hide up to the last
  // '@' in the URL, even if that hides more than the password.
  const at = end !== -1 && rest.slice(end).includes("@")
    ? rest.lastIndexOf("@")
    : authority.lastIndexOf("@");
  if (at === -1) return masked;
  const colon = rest.indexOf(":");
  if (colon === -1 || colon > at) return masked;
  return `${m[1]}${rest.slice(0, colon + 1)}***${rest.slice(at)}`;
}

/**
 * How a target is shown to users.
 *
 * @param target The target.
 * @param env Reads environment variables, for libpq-style targets.
 * @returns E.g. `postgres://app:***@db:5432/prod` or `pglite:.data-bridge/pglite`.
 * @example
 * ```ts
 * import { describeTarget } from "./target.ts";
 * console.log(describeTarget({ kind: "pglite", path: null, source: "api" })); // "pglite:memory"
 * ```
 */
export function describeTarget(
  target: Target,
  env: (name: string) => string | undefined = () => undefined,
): string {
  if (target.kind === "pglite") return `pglite:${target.path ?? "memory"}`;
  if (target.url) return maskUrl(target.url);
  const user = env("PGUSER") ?? "";
  const host = env("PGHOST") ?? "localhost";
  const port = env("PGPORT") ?? "5432";
  const db = env("PGDATABASE") ?? user;
  return `postgres://${user}${env("PGPASSWORD") ? ":***" : ""}${
    user ? "@" : ""
  }${host}:${port}/${db}`;
}

/**
 * The target to only read: an embedded database whose folder does not exist
 * yet has nothing in it, so it is read as an empty one in memory and none
 * is made on disk (`status`, dry runs, `drift`). Any other target as given.
 *
 * @param target The target.
 * @returns It, or `pglite:memory` for an embedded folder not made yet.
 * @example
 * ```ts
 * import { parseTarget, readOnlyTarget } from "./target.ts";
 * console.log(readOnlyTarget(parseTarget("pglite:/no/such/folder", "api")));
 * // { kind: "pglite", path: null, source: "api" }
 * ```
 */
export function readOnlyTarget(target: Target): Target {
  return target.kind === "pglite" && target.path !== null && !fileExists(target.path)
    ? { ...target, path: null }
    : target;
}
