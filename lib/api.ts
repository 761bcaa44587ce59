/**
 * The seed's module-level API in TypeScript naming: one connection set up by
 * `init`, then `migrationInit`, `migrationStatus`, `migrationApply`,
 * `migrationRollback` and `migrationCreate`.
 *
 * @module
 */
import { DEFAULTS } from "./config.ts";
import { createMigration } from "./create.ts";
import { RuntimeError } from "./errors.ts";
import { MigrationRunner, type RunnerOptions, type StatusReport } from "./runner.ts";
import { resolveTarget } from "./target.ts";
import { env } from "./runtime.ts";

let runner: MigrationRunner | null = null;

function current(): MigrationRunner {
  if (!runner) {
    throw new RuntimeError(
      "USAGE",
      "call postgres.init(url) before using the migration functions",
    );
  }
  return runner;
}

/** The shape of {@link postgres}. */
export interface PostgresApi {
  /** Sets the database every later call uses. */
  init(url?: string, options?: RunnerOptions): Promise<void>;
  /** Creates the tracking table when missing. */
  migrationInit(): Promise<void>;
  /** Applied and pending versions and every migration's state. */
  migrationStatus(migrationsDir?: string): Promise<StatusReport>;
  /** Applies pending migrations; returns their versions. */
  migrationApply(migrationsDir?: string): Promise<string[]>;
  /** Reverts the last `steps` migrations; returns their versions. */
  migrationRollback(migrationsDir?: string, steps?: number): Promise<string[]>;
  /** Writes a new migration file; returns its path. */
  migrationCreate(description: string, migrationsDir?: string): string;
  /** Closes the connection. */
  close(): Promise<void>;
}

/**
 * Module-level migration API, as in the seed's `data_bridge.postgres`.
 *
 * @example
 * ```ts
 * import { postgres } from "./api.ts";
 * async function deploy(url: string): Promise<string[]> {
 *   await postgres.init(url); // e.g. "postgresql://localhost/mydb"
 *   try {
 *     await postgres.migrationInit();
 *     const status = await postgres.migrationStatus("migrations");
 *     console.log(`pending: ${status.pending.join(", ")}`);
 *     return await postgres.migrationApply("migrations");
 *   } finally {
 *     await postgres.close();
 *   }
 * }
 * ```
 */
export const postgres: PostgresApi = {
  /**
   * Sets the database every later call uses (closing an earlier one).
   *
   * @param url `postgres://...`, `pglite:PATH` or `pglite:memory`; when
   *   omitted, `DATABASE_URL`, the `PG*` variables, or the embedded default.
   * @param options Runner options (table name, timeouts, events).
   * @throws {UsageError} For an invalid URL or table name.
   */
  async init(url?: string, options: RunnerOptions = {}): Promise<void> {
    await runner?.close();
    runner = null;
    runner = new MigrationRunner(url ?? resolveTarget(undefined, env), options);
  },
  /**
   * Creates the tracking table when missing.
   *
   * @throws {DataBridgeError} When the database cannot be reached.
   */
  async migrationInit(): Promise<void> {
    await current().init();
  },
  /**
   * @param migrationsDir Directory of migration files.
   * @returns Applied and pending versions and every migration's state.
   * @throws {ValidationError} For invalid files.
   */
  async migrationStatus(migrationsDir: string = DEFAULTS.migrationsDir): Promise<StatusReport> {
    return await current().status(migrationsDir);
  },
  /**
   * @param migrationsDir Directory of migration files.
   * @returns Versions applied.
   * @throws {ValidationError} For invalid files or a modified/missing migration.
   * @throws {MigrationError} When a migration fails.
   */
  async migrationApply(migrationsDir: string = DEFAULTS.migrationsDir): Promise<string[]> {
    return await current().apply(migrationsDir);
  },
  /**
   * @param migrationsDir Directory of migration files.
   * @param steps How many to revert (default 1).
   * @returns Versions reverted.
   * @throws {ValidationError} For invalid files or an irreversible migration.
   * @throws {MigrationError} When a DOWN fails.
   */
  async migrationRollback(
    migrationsDir: string = DEFAULTS.migrationsDir,
    steps: number = DEFAULTS.rollbackSteps,
  ): Promise<string[]> {
    return await current().rollback(migrationsDir, steps);
  },
  /**
   * Writes a new migration file from the template (needs no database).
   *
   * @param description What the migration does.
   * @param migrationsDir Directory, created when missing.
   * @returns The path of the new file.
   * @throws {ValidationError} When the directory cannot be written.
   */
  migrationCreate(description: string, migrationsDir: string = DEFAULTS.migrationsDir): string {
    return createMigration(description, migrationsDir);
  },
  /** Closes the connection. */
  async close(): Promise<void> {
    await runner?.close();
    runner = null;
  },
};
