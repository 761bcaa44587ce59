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
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new UsageError(
        "INVALID_URL",
        `${flag}: ${
          maskUrl(url)
        } is not a valid URL; expected postgres://user:password@host:port/database`,
      );
    }
    if (parsed.port !== "" && !(Number(parsed.port) > 0 && Number(parsed.port) < 65536)) {
      throw new UsageError("INVALID_URL", `${flag}: port ${parsed.port} is out of range`);
    }
    const encoded: Array<[string, string]> = [
      ["user name or password", parsed.username + parsed.password],
      ["database name", parsed.pathname],
    ];
    for (const [part, value] of encoded) {
      // postgres.js decodes these and would fail with a bare "URI malformed".
      try {
        decodeURIComponent(value);
      } catch {
        throw new UsageError(
          "INVALID_URL",
          `${flag}: the ${part} holds a '%' that does not start a %XX escape; write a literal % as %25`,
        );
      }
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
