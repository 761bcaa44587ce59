/**
 * Creating the database a server URL names when it does not exist yet, as
 * `apply --create-database` does (dbmate's `up` does so by default): from a
 * session on the server's maintenance database, `postgres` (else
 * `template1`), with the same user, password and TLS settings.
 *
 * @module
 */
import { connInfo } from "./conninfo.ts";
import { connect } from "./connect.ts";
import type { DriverOptions } from "./driver.ts";
import { DatabaseError, DataBridgeError, RuntimeError, UsageError } from "./errors.ts";
import { quoteIdent } from "./ident.ts";
import { formatPgUrl, parsePgUrl } from "./pg_url.ts";
import { env } from "./runtime.ts";
import type { Target } from "./target.ts";

/** Where a session is opened to create the database, in order. */
const MAINTENANCE_DATABASES = ["postgres", "template1"] as const;

/**
 * Whether `error` is the server's refusal of a session on a database that
 * does not exist (SQLSTATE 3D000), as a connection attempt reports it.
 *
 * @param error What a run threw.
 * @returns `true` for a missing database.
 * @example
 * ```ts
 * import { isMissingDatabase } from "./create_database.ts";
 * import { RuntimeError } from "./errors.ts";
 * const error = new RuntimeError("CONNECTION_FAILED", "database \"app\" does not exist", { pgCode: "3D000" });
 * console.log(isMissingDatabase(error)); // true
 * ```
 */
export function isMissingDatabase(error: unknown): boolean {
  return error instanceof DataBridgeError && error.code === "CONNECTION_FAILED" &&
    error.pgCode === "3D000";
}

/**
 * Creates the database of a server target unless it exists. Two runs at
 * once create it once: the one that finds it made meanwhile returns `null`.
 * An embedded (PGlite) target is made on first use: nothing to do.
 *
 * @param target A target from `parseTarget` or `resolveTarget`.
 * @param options Driver options (password, timeouts), as for the target itself.
 * @returns The name of the database created, or `null` when there was nothing to create.
 * @throws {RuntimeError} `PERMISSION_DENIED` when the user may not create
 *   databases; `CONNECTION_FAILED` when neither maintenance database can be reached.
 * @throws {UsageError} `INVALID_URL` when the URL names no database this can tell.
 * @example
 * ```ts
 * import { createDatabase } from "./create_database.ts";
 * import { parseTarget } from "./target.ts";
 * // An embedded database needs no creating.
 * console.log(await createDatabase(parseTarget("pglite:memory", "api"))); // null
 * ```
 */
export async function createDatabase(
  target: Target,
  options: DriverOptions = {},
): Promise<string | null> {
  if (target.kind !== "postgres") return null;
  const name = databaseOf(target.url, options.password);
  for (const [i, maintenance] of MAINTENANCE_DATABASES.entries()) {
    const admin = await connect(
      { kind: "postgres", url: withDatabase(target.url, maintenance), source: "api" },
      options,
    );
    try {
      const found = await admin.query("SELECT 1 AS found FROM pg_database WHERE datname = $1", [
        name,
      ]);
      if (found.length) return null;
      await admin.exec(`CREATE DATABASE ${quoteIdent(name)}`);
      return name;
    } catch (error) {
      // Made by another run between the look and the CREATE: 42P04 once
      // its CREATE has committed, a unique violation on the catalog's
      // index of names while it runs.
      if (
        error instanceof DatabaseError &&
        (error.pgCode === "42P04" ||
          (error.pgCode === "23505" && error.message.includes("pg_database_datname_index")))
      ) return null;
      if (error instanceof DatabaseError && error.pgCode === "42501") {
        throw new RuntimeError(
          "PERMISSION_DENIED",
          `cannot create database ${name}: ${error.message}; create it first, or connect as a user with CREATEDB`,
          { pgCode: error.pgCode, cause: error },
        );
      }
      if (isMissingDatabase(error) && i < MAINTENANCE_DATABASES.length - 1) continue;
      throw error;
    } finally {
      await admin.close();
    }
  }
  return null;
}

/** The database a URL connects to, as the wire client resolves it (the URL, `dbname`, PGDATABASE, the user). */
function databaseOf(url: string, password?: string): string {
  const info = connInfo(url, env, password);
  if (info !== null) return info.database;
  // Several hosts, or TLS left to postgres.js: the first host decides nothing about the name.
  const parsed = parsePgUrl(url === "" ? "postgres://" : url);
  const plain = connInfo(
    formatPgUrl({
      ...parsed,
      hosts: parsed.hosts.slice(0, 1),
      params: parsed.params.filter(([key]) => key === "dbname" || key === "user"),
    }),
    env,
    password,
  );
  if (plain !== null) return plain.database;
  throw new UsageError(
    "INVALID_URL",
    "--create-database: the URL names no database to create; give it as postgres://.../NAME",
  );
}

/** The URL with another database, any `dbname` parameter dropped. */
function withDatabase(url: string, database: string): string {
  const parsed = parsePgUrl(url === "" ? "postgres://" : url);
  return formatPgUrl({
    ...parsed,
    database,
    params: parsed.params.filter(([key]) => key !== "dbname"),
  });
}
