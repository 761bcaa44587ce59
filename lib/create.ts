/**
 * Writing a new migration file from the template.
 *
 * @module
 */
import { renderMigration, slugify } from "./migration.ts";
import { ValidationError } from "./errors.ts";
import { versionFromDate } from "./version.ts";
import { joinPath, nodeFs } from "./runtime.ts";

/** Options of {@link createMigration}. */
export interface CreateOptions {
  /** The moment giving the version (default now, UTC). */
  now?: Date;
  /** Write `-- Transaction: none` into the header. */
  noTransaction?: boolean;
}

const TEMPLATE = {
  up: `CREATE TABLE example (
    id SERIAL PRIMARY KEY,
    created_at TIMESTAMPTZ DEFAULT NOW()
);`,
  down: "DROP TABLE IF EXISTS example;",
};

const TEMPLATE_NO_TRANSACTION = {
  up: `-- Runs statement by statement, outside a transaction; keep each statement re-runnable.
CREATE INDEX CONCURRENTLY IF NOT EXISTS example_created_at_idx ON example (created_at);`,
  down: "DROP INDEX CONCURRENTLY IF EXISTS example_created_at_idx;",
};

/**
 * Creates `DIR/YYYYMMDD_HHMMSS_slug.sql` (creating DIR), never overwriting:
 * when a migration already has that version, the next free second is taken.
 *
 * @param description What the migration does; the slug is made from it.
 * @param dir The migrations directory.
 * @param options Time and transaction mode.
 * @returns The path written.
 * @throws {ValidationError} `DIRECTORY_NOT_FOUND` when DIR cannot be created or written.
 * @example
 * ```ts
 * import { createMigration } from "./create.ts";
 * import { mkdtempSync } from "node:fs";
 * import { join } from "node:path";
 * import { tmpdir } from "node:os";
 * const dir = join(mkdtempSync(join(tmpdir(), "db-")), "migrations");
 * const path = createMigration("create users table", dir, { now: new Date("2025-01-28T12:00:00Z") });
 * console.log(path.endsWith("20250128_120000_create_users_table.sql")); // true
 * ```
 */
export function createMigration(
  description: string,
  dir: string,
  options: CreateOptions = {},
): string {
  const slug = slugify(description);
  try {
    const fs = nodeFs();
    fs.mkdirSync(dir, { recursive: true });
    const taken = new Set(
      fs.readdirSync(dir).map((name) => /^(\d{8}_\d{6})_/.exec(name)?.[1]).filter(Boolean),
    );
    let moment = (options.now ?? new Date()).getTime();
    let version = versionFromDate(new Date(moment));
    while (taken.has(version)) {
      moment += 1000;
      version = versionFromDate(new Date(moment));
    }
    const path = joinPath(dir, `${version}_${slug}.sql`);
    const sql = options.noTransaction ? TEMPLATE_NO_TRANSACTION : TEMPLATE;
    const text = renderMigration({
      version,
      name: description.trim() || slug.replaceAll("_", " "),
      up: sql.up,
      down: sql.down,
      transactional: !options.noTransaction,
    });
    if (fs.existsSync(path)) throw new Error(`${path} already exists`);
    fs.writeFileSync(path, text, { flag: "wx" });
    return path;
  } catch (error) {
    throw new ValidationError(
      "DIRECTORY_NOT_FOUND",
      `cannot write a migration in ${dir}: ${(error as Error).message}`,
      { file: dir },
    );
  }
}
