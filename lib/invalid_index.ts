/**
 * The trap of `CREATE INDEX CONCURRENTLY`: a build that fails (a duplicate
 * key, a deadlock, a cancel) leaves its index behind, INVALID: never used by
 * queries, yet kept up to date by every write. Run again, the statement
 * fails on the name it left (`42P07`), and with `IF NOT EXISTS` it skips the
 * build and succeeds, so the migration would be recorded without its index.
 * The runner asks about such statements, which run outside a transaction, so
 * that `apply` names the index to drop instead.
 *
 * @module
 */
import type { Queryable } from "./driver.ts";
import { type Token, tokenize } from "./lexer.ts";

/** What a `CREATE [UNIQUE] INDEX CONCURRENTLY` statement builds. */
export interface ConcurrentIndex {
  /**
   * The index as `to_regclass` reads it (in its table's schema, as written),
   * or `null` when PostgreSQL names it.
   */
  index: string | null;
  /** The table as written, e.g. `public."Users"`. */
  table: string;
  /** Whether `IF NOT EXISTS` lets it skip an index of that name. */
  ifNotExists: boolean;
}

/**
 * Reads what a statement builds when it is a `CREATE [UNIQUE] INDEX
 * CONCURRENTLY`.
 *
 * @param sql One statement.
 * @returns The index, its table and `IF NOT EXISTS`; `null` for any other statement.
 * @example
 * ```ts
 * import { concurrentIndex } from "./invalid_index.ts";
 * const built = concurrentIndex(
 *   "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email ON app.users (email)",
 * );
 * console.log(built); // { index: "app.users_email", table: "app.users", ifNotExists: true }
 * console.log(concurrentIndex("CREATE INDEX users_email ON users (email)")); // null
 * ```
 */
export function concurrentIndex(sql: string): ConcurrentIndex | null {
  let tokens: Token[];
  try {
    tokens = tokenize(sql).filter((t) => t.kind !== "line_comment" && t.kind !== "block_comment");
  } catch {
    return null;
  }
  const text = (i: number) => tokens[i] ? sql.slice(tokens[i].start, tokens[i].end) : "";
  const word = (i: number) => tokens[i]?.kind === "word" ? text(i).toUpperCase() : "";
  const isName = (i: number) => tokens[i]?.kind === "word" || tokens[i]?.kind === "ident";
  let i = 0;
  if (word(i++) !== "CREATE") return null;
  if (word(i) === "UNIQUE") i++;
  if (word(i++) !== "INDEX" || word(i++) !== "CONCURRENTLY") return null;
  const ifNotExists = word(i) === "IF" && word(i + 1) === "NOT" && word(i + 2) === "EXISTS";
  if (ifNotExists) i += 3;
  const name = word(i) === "ON" ? null : isName(i) ? text(i++) : undefined;
  if (name === undefined || word(i++) !== "ON") return null;
  if (word(i) === "ONLY") i++;
  const parts: string[] = [];
  while (isName(i)) {
    parts.push(text(i++));
    if (text(i) !== "." || !isName(i + 1)) break;
    i++;
  }
  if (parts.length === 0) return null;
  // An index is made in its table's schema.
  const schema = parts.length > 1 ? `${parts.slice(0, -1).join(".")}.` : "";
  return { index: name === null ? null : schema + name, table: parts.join("."), ifNotExists };
}

/**
 * The invalid indexes of a table: left by a `CREATE INDEX CONCURRENTLY` (or
 * a `REINDEX CONCURRENTLY`) that failed, or still being built by one.
 *
 * @param db A session.
 * @param table The table as written (resolved by the session's `search_path`).
 * @returns Their names, sorted; none when the table does not exist.
 * @throws {DatabaseError} When the query fails.
 * @example
 * ```ts
 * import type { Driver } from "./driver.ts";
 * import { invalidIndexes } from "./invalid_index.ts";
 * async function leftBehind(driver: Driver): Promise<string> {
 *   return (await invalidIndexes(driver, "users")).join(", "); // e.g. "users_email"
 * }
 * ```
 */
export async function invalidIndexes(db: Queryable, table: string): Promise<string[]> {
  const rows = await db.query<{ name: string }>(
    "SELECT c.relname::text AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid " +
      "WHERE i.indrelid = to_regclass($1) AND NOT i.indisvalid ORDER BY 1",
    [table],
  );
  return rows.map((r) => r.name);
}

/**
 * Whether an index exists and is invalid.
 *
 * @param db A session.
 * @param index The index as written (resolved by the session's `search_path`).
 * @returns `true` when PostgreSQL has it marked invalid.
 * @throws {DatabaseError} When the query fails.
 * @example
 * ```ts
 * import type { Driver } from "./driver.ts";
 * import { isInvalidIndex } from "./invalid_index.ts";
 * async function usable(driver: Driver): Promise<boolean> {
 *   return !(await isInvalidIndex(driver, "users_email"));
 * }
 * ```
 */
export async function isInvalidIndex(db: Queryable, index: string): Promise<boolean> {
  const rows = await db.query<{ invalid: boolean }>(
    "SELECT NOT indisvalid AS invalid FROM pg_index WHERE indexrelid = to_regclass($1)",
    [index],
  );
  return rows[0]?.invalid === true;
}

/**
 * What a failed `CREATE INDEX CONCURRENTLY` left behind, and what to do:
 * the advice for its error, or `null` when it left no invalid index.
 *
 * @param db The session it ran in (outside a transaction, or after its ROLLBACK).
 * @param built What the statement builds.
 * @param pgCode The SQLSTATE it failed with (`42P07`: the name was taken).
 * @returns One clause naming the index to drop, or `null`.
 * @throws {DatabaseError} When the catalog query fails.
 * @example
 * ```ts
 * import type { Driver } from "./driver.ts";
 * import { concurrentIndex, failedBuildAdvice } from "./invalid_index.ts";
 * async function advise(driver: Driver, sql: string, pgCode: string): Promise<string | null> {
 *   const built = concurrentIndex(sql);
 *   return built ? await failedBuildAdvice(driver, built, pgCode) : null;
 * }
 * ```
 */
export async function failedBuildAdvice(
  db: Queryable,
  built: ConcurrentIndex,
  pgCode: string | undefined,
): Promise<string | null> {
  const drop = (name: string) => `DROP INDEX CONCURRENTLY ${name}`;
  if (built.index !== null) {
    if (!(await isInvalidIndex(db, built.index))) return null;
    return pgCode === "42P07"
      ? `the index ${built.index} exists and is INVALID, left by a CREATE INDEX CONCURRENTLY ` +
        `that failed before: drop it (${drop(built.index)}), then run it again`
      : `PostgreSQL left the index ${built.index} INVALID (never used by queries, yet updated ` +
        `by every write): drop it (${drop(built.index)}) before running it again`;
  }
  const left = await invalidIndexes(db, built.table);
  if (left.length === 0) return null;
  return `${built.table} has INVALID indexes, never used by queries yet updated by every write ` +
    `(${left.join(", ")}), as a failed CREATE INDEX CONCURRENTLY leaves its index: ` +
    `drop each (${drop("name")}) before running it again`;
}

/**
 * After a `CREATE INDEX CONCURRENTLY IF NOT EXISTS` that succeeded: the
 * reason to fail it when the index it skipped is an invalid one, or `null`.
 *
 * @param db The session it ran in.
 * @param built What the statement builds.
 * @returns One clause naming the index to drop, or `null` when the index is valid.
 * @throws {DatabaseError} When the catalog query fails.
 * @example
 * ```ts
 * import type { Driver } from "./driver.ts";
 * import { concurrentIndex, skippedInvalid } from "./invalid_index.ts";
 * async function check(driver: Driver): Promise<string | null> {
 *   const built = concurrentIndex("CREATE INDEX CONCURRENTLY IF NOT EXISTS u_e ON u (e)")!;
 *   return await skippedInvalid(driver, built);
 * }
 * ```
 */
export async function skippedInvalid(
  db: Queryable,
  built: ConcurrentIndex,
): Promise<string | null> {
  if (!built.ifNotExists || built.index === null) return null;
  if (!(await isInvalidIndex(db, built.index))) return null;
  return `the index ${built.index} already existed and is INVALID (left by a CREATE INDEX ` +
    "CONCURRENTLY that failed before), so IF NOT EXISTS skipped building it: drop it " +
    `(DROP INDEX CONCURRENTLY ${built.index}), then run it again`;
}
