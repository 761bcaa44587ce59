/**
 * SQL identifiers. Every identifier data-bridge puts into SQL goes through
 * {@link quoteIdent}; names from users are validated first by
 * {@link parseTableName}. Values never go into SQL text: they are parameters.
 *
 * @module
 */
import { UsageError } from "./errors.ts";

/** A table name, optionally schema-qualified, folded to lower case. */
export interface TableName {
  /** Schema, or `null` to follow `search_path`. */
  schema: string | null;
  /** Table. */
  name: string;
}

const PART_RE = /^[A-Za-z_][A-Za-z0-9_$]*$/;
const MAX_IDENTIFIER_LENGTH = 63;

/**
 * Quotes an identifier for SQL.
 *
 * @param name Any identifier.
 * @returns It in double quotes, inner quotes doubled.
 * @throws {TypeError} For an empty name or one holding a NUL.
 * @example
 * ```ts
 * import { quoteIdent } from "./ident.ts";
 * console.log(quoteIdent('we"ird')); // "we""ird" in double quotes
 * ```
 */
export function quoteIdent(name: string): string {
  if (name === "" || name.includes("\0")) throw new TypeError("invalid identifier");
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Quotes a text as an SQL string literal, for the scripts data-bridge
 * writes for people to run (`apply --sql`); what data-bridge sends itself
 * passes values as parameters. A text holding a backslash is written as an
 * `E'...'` string with the backslashes doubled, so it reads the same
 * whatever the server's `standard_conforming_strings`.
 *
 * @param value Any text without NUL.
 * @returns It in single quotes, inner quotes doubled.
 * @throws {TypeError} For a text holding a NUL, which no literal can carry.
 * @example
 * ```ts
 * import { quoteLiteral } from "./ident.ts";
 * console.log(quoteLiteral("it's"), quoteLiteral("a\\b")); // 'it''s' E'a\\b'
 * ```
 */
export function quoteLiteral(value: string): string {
  if (value.includes("\0")) throw new TypeError("a string literal cannot hold NUL");
  const quoted = value.replaceAll("'", "''");
  return value.includes("\\") ? `E'${quoted.replaceAll("\\", "\\\\")}'` : `'${quoted}'`;
}

/**
 * The quoted, possibly schema-qualified form of a table name.
 *
 * @param table The table.
 * @returns E.g. `"audit"."schema_history"`.
 * @example
 * ```ts
 * import { qualifiedName } from "./ident.ts";
 * console.log(qualifiedName({ schema: "audit", name: "history" })); // "audit"."history"
 * ```
 */
export function qualifiedName(table: TableName): string {
  return table.schema === null
    ? quoteIdent(table.name)
    : `${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;
}

/**
 * Validates a user-given table name such as `_migrations` or
 * `audit.schema_history`. Each part must be an unquoted PostgreSQL
 * identifier of ASCII letters, digits, `_` and `$`, at most 63 characters;
 * it is folded to lower case as PostgreSQL folds unquoted names.
 *
 * @param value The name.
 * @param flag The flag it came from, named in errors.
 * @returns Schema and table.
 * @throws {UsageError} `INVALID_TABLE_NAME` naming the flag and the problem.
 * @example
 * ```ts
 * import { parseTableName } from "./ident.ts";
 * console.log(parseTableName("Audit.Schema_History")); // { schema: "audit", name: "schema_history" }
 * ```
 */
export function parseTableName(value: string, flag = "--table"): TableName {
  const parts = value.split(".");
  const shown = JSON.stringify(value);
  if (parts.length > 2) {
    throw new UsageError(
      "INVALID_TABLE_NAME",
      `${flag} ${shown}: use TABLE or SCHEMA.TABLE`,
    );
  }
  for (const part of parts) {
    if (part.length > MAX_IDENTIFIER_LENGTH) {
      throw new UsageError(
        "INVALID_TABLE_NAME",
        `${flag} ${shown}: a name part is longer than PostgreSQL's ${MAX_IDENTIFIER_LENGTH} characters`,
      );
    }
    if (!PART_RE.test(part)) {
      throw new UsageError(
        "INVALID_TABLE_NAME",
        `${flag} ${shown}: names may hold only ASCII letters, digits, _ and $, and must not start with a digit`,
      );
    }
  }
  const lower = parts.map((p) => p.toLowerCase());
  return lower.length === 2
    ? { schema: lower[0], name: lower[1] }
    : { schema: null, name: lower[0] };
}
