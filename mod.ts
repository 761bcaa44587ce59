/**
 * data-bridge: PostgreSQL schema migrations in plain SQL files.
 *
 * Files named `YYYYMMDD_HHMMSS_description.sql` hold a `-- UP` and a
 * `-- DOWN` section; they are applied in version order, each in its own
 * transaction, and recorded in a `_migrations` table with SHA-256 checksums.
 *
 * Quick start, with the seed's module-level API:
 *
 * ```ts
 * import { postgres } from "./mod.ts";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 *
 * const dir = join(mkdtempSync(join(tmpdir(), "app-")), "migrations");
 * await postgres.init("pglite:memory"); // or "postgresql://localhost/mydb"
 * await postgres.migrationInit();
 * const path = postgres.migrationCreate("create users table", dir); // edit its SQL
 * const status = await postgres.migrationStatus(dir); // { applied, pending, migrations }
 * const applied = await postgres.migrationApply(dir); // ["20250128_120000"]
 * const reverted = await postgres.migrationRollback(dir, 1); // ["20250128_120000"]
 * await postgres.close();
 * console.log(path, status.pending, applied, reverted);
 * ```
 *
 * Or with a runner and migrations built in code:
 *
 * ```ts
 * import { Migration, MigrationRunner } from "./mod.ts";
 *
 * const runner = new MigrationRunner("pglite:memory", { migrationsTable: "_migrations" });
 * const migration = await Migration.new({
 *   version: "20250128_120000",
 *   name: "create users",
 *   up: "CREATE TABLE users (id SERIAL PRIMARY KEY);",
 *   down: "DROP TABLE users;",
 * });
 * await runner.apply(migration);
 * await runner.close();
 * ```
 *
 * @module
 */
export { postgres, type PostgresApi } from "./lib/api.ts";
export {
  type ApplyOptions,
  type DatabaseSource,
  type LockMode,
  MigrationRunner,
  type MigrationSource,
  type MigrationStatus,
  type PostgresJsSql,
  type RepairOptions,
  type RollbackOptions,
  type RunEvent,
  type RunnerOptions,
  type RunPlan,
  type StatusReport,
  type ValidationReport,
} from "./lib/runner.ts";
export {
  decodeMigration,
  Migration,
  type MigrationInput,
  parseFileName,
  parseMigration,
  renderMigration,
  slugify,
} from "./lib/migration.ts";
export { loadMigrations, type LoadOptions } from "./lib/load.ts";
export { createMigration, type CreateOptions } from "./lib/create.ts";
export { checksum, normalizeText } from "./lib/checksum.ts";
export {
  type ApplyPlan,
  type Classifiable,
  classify,
  historyProblems,
  type HistoryRow,
  type MigrationState,
  type MigrationStatusEntry,
  nothingToApply,
  planApply,
  planBaseline,
  planRepair,
  planRollback,
  type RepairChange,
  type RollbackStep,
  selectRollback,
} from "./lib/classify.ts";
export {
  describeHolder,
  type LockHolder,
  lockHolder,
  type LockOptions,
  withLock,
} from "./lib/lock.ts";
export {
  type Ahead,
  canSendAhead,
  describeFailure,
  type Direction,
  executeMigration,
  type ExecuteResult,
  type ExecuteSettings,
  executeTogether,
  mayChangeLimits,
  refuseOutsideTransaction,
  sendAhead,
  type SessionLimits,
  type TogetherEvents,
} from "./lib/execute.ts";
export { formatError, formatHistory, formatStatus, type Palette, palette } from "./lib/format.ts";
export {
  DatabaseError,
  DataBridgeError,
  type ErrorCode,
  type ErrorDetails,
  ExitCode,
  MigrationError,
  RuntimeError,
  type ServerErrorFields,
  UsageError,
  ValidationError,
} from "./lib/errors.ts";
export {
  groupTokens,
  KIND,
  LexError,
  type ScanOptions,
  scanTokens,
  splitStatements,
  type Statement,
  type Token,
  TOKEN_KINDS,
  tokenize,
  type TokenKind,
  type TokenList,
} from "./lib/lexer.ts";
export { type StatementKind, statementKind } from "./lib/statement_kind.ts";
export type {
  Driver,
  DriverNotice,
  DriverOptions,
  Queryable,
  QueryOptions,
  Row,
  TransactionStatement,
} from "./lib/driver.ts";
export { connect } from "./lib/connect.ts";
export { createDatabase, isMissingDatabase } from "./lib/create_database.ts";
export {
  loadPGliteAssets,
  type PGliteAssetName,
  type PGliteAssets,
  type PGliteAssetSource,
  providePGliteAssets,
} from "./lib/pglite_assets.ts";
export {
  describeTarget,
  maskUrl,
  parseTarget,
  readOnlyTarget,
  resolveTarget,
  type Target,
  type TargetSource,
} from "./lib/target.ts";
export {
  parseTableName,
  qualifiedName,
  quoteIdent,
  quoteLiteral,
  type TableName,
} from "./lib/ident.ts";
export { migrationScript, type ScriptOptions } from "./lib/script.ts";
export type { HistoryState } from "./lib/history.ts";
export { DEFAULTS, VERSION } from "./lib/config.ts";
export { dateFromVersion, isVersion, versionFromDate, versionProblem } from "./lib/version.ts";
export {
  renderSchema,
  SCHEMA_KINDS,
  type SchemaKind,
  type SchemaObject,
  type SchemaSnapshot,
  type SnapshotOptions,
  snapshotSchema,
  sortObjects,
} from "./lib/schema.ts";
export {
  diffSchemas,
  type FieldChange,
  formatChange,
  type SchemaChange,
} from "./lib/schema_diff.ts";
export {
  type MigrationVerification,
  planVerify,
  readTargetHistory,
  type ReplayedSchema,
  replayedSchema,
  serverVersion,
  type StepError,
  type VerifyEvent,
  verifyMigrations,
  type VerifyOptions,
  type VerifyPlan,
  type VerifyReport,
  type VerifyStatus,
} from "./lib/verify.ts";
export {
  checkDrift,
  type DriftOptions,
  type DriftReport,
  formatDrift,
  type IgnoreRule,
  parseIgnore,
} from "./lib/drift.ts";
export {
  IMPORT_TOOLS,
  type ImportedMigration,
  importMigrations,
  type ImportResult,
  type ImportTool,
  readSourceDir,
  refuseTaken,
  type SourceFile,
  writeImported,
} from "./lib/import.ts";
export { formatVerification, formatVerifySummary } from "./lib/verify_format.ts";
export {
  formatLintGithub,
  formatLintText,
  lintFiles,
  type LintFilesOptions,
  type LintFinding,
  type LintLevel,
  type LintLevels,
  lintLevels,
  lintMigrations,
  type LintReport,
  lintText,
  type RuleId,
  ruleIds,
  RULES,
} from "./lib/lint.ts";
export { type RuleInfo } from "./lib/lint_rules.ts";
export {
  checkSum,
  renderSum,
  sumEntries,
  type SumEntry,
  sumPath,
  sumProblem,
  writeSum,
} from "./lib/sum.ts";
export { LINT_LEVELS } from "./lib/config.ts";
