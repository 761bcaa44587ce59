/**
 * `verify`: proves on a scratch database that each migration's DOWN undoes
 * its UP and that UP can run again. For each migration, in order: snapshot,
 * UP, snapshot, DOWN, snapshot (must equal the first), UP again, snapshot
 * (must equal the second). Migrations already applied to the real database
 * are replayed first, so the ones verified see the real schema. The real
 * database is only read (its history), never changed.
 *
 * - An irreversible migration (empty DOWN) is reported `irreversible`: its
 *   UP is applied and checked to succeed, its DOWN cannot be verified. This
 *   does not fail verify; the lint rule `irreversible` is where a project
 *   forbids such migrations.
 * - A migration with `-- Transaction: none` runs statement by statement, as
 *   `apply` runs it.
 * - After a failure that leaves the scratch schema in a state later
 *   migrations do not expect, the remaining ones are reported `skipped`.
 *
 * @module
 */
import { classify, historyProblems, type HistoryRow } from "./classify.ts";
import { DEFAULTS } from "./config.ts";
import { connect } from "./connect.ts";
import type { Driver, DriverOptions } from "./driver.ts";
import { DatabaseError, MigrationError, UsageError, ValidationError } from "./errors.ts";
import { readHistory } from "./history.ts";
import { quoteIdent, type TableName } from "./ident.ts";
import { splitStatements } from "./lexer.ts";
import { locate, offsetOfPosition } from "./location.ts";
import type { Migration } from "./migration.ts";
import { type SchemaSnapshot, snapshotSchema } from "./schema.ts";
import { diffSchemas, type SchemaChange } from "./schema_diff.ts";
import { fileExists } from "./runtime.ts";
import { maskUrl, parseTarget, type Target } from "./target.ts";
import { formatPgUrl, parsePgUrl } from "./pg_url.ts";

/** What verify did with one migration. */
export type VerifyStatus = "ok" | "failed" | "irreversible" | "skipped";

/** A step that failed on the scratch database. */
export interface StepError {
  /** PostgreSQL's message. */
  message: string;
  /** SQLSTATE. */
  pgCode?: string;
  /** Line in the migration file. */
  line?: number;
  /** PostgreSQL's HINT, or data-bridge's advice. */
  hint?: string;
}

/** The verification of one migration. */
export interface MigrationVerification {
  /** Version. */
  version: string;
  /** Description. */
  description: string;
  /** File, `null` for migrations built in code. */
  file: string | null;
  /** Outcome. */
  status: VerifyStatus;
  /** Why it was skipped or not fully verified, for people. */
  note?: string;
  /** UP failed (nothing else was checked). */
  up?: StepError;
  /** DOWN failed. */
  down?: StepError;
  /** UP failed when applied again after DOWN. */
  reapply?: StepError;
  /**
   * Schema after DOWN compared with before UP: `added` objects were left
   * behind by DOWN, `removed` ones are missing, `changed` ones differ.
   */
  downDifferences: SchemaChange[];
  /** Schema after UP applied again compared with after the first UP. */
  reapplyDifferences: SchemaChange[];
  /** Time spent on it, in milliseconds. */
  ms: number;
}

/** What {@link verifyMigrations} returns. */
export interface VerifyReport {
  /** Whether every migration is `ok` or `irreversible`. */
  ok: boolean;
  /** The scratch database, as shown to users (no password). */
  scratch: string;
  /** Versions replayed before verifying. */
  replayed: string[];
  /** One entry per migration verified, in order. */
  migrations: MigrationVerification[];
}

/** Progress reported while verifying. */
export type VerifyEvent =
  | { type: "replay"; migration: Migration }
  | { type: "start"; migration: Migration }
  | { type: "done"; result: MigrationVerification };

/** Options of {@link verifyMigrations}. */
export interface VerifyOptions {
  /**
   * An open, empty database to work on; left open (and changed) afterwards.
   * Wins over `scratchUrl`.
   */
  scratch?: Driver;
  /**
   * `pglite:memory` (the default) or a server URL: a temporary database is
   * created on that server and dropped at the end.
   */
  scratchUrl?: string;
  /**
   * How the scratch server is connected to (`--connect-timeout`,
   * `--connect-wait`); the password comes from `scratchUrl`.
   */
  scratchDriver?: DriverOptions;
  /** Tables the snapshots leave out (the tracking table). */
  exclude?: readonly TableName[];
  /** Receives progress. */
  onEvent?: (event: VerifyEvent) => void;
}

/** Which migrations to replay and which to verify. */
export interface VerifyPlan {
  /** Migrations already applied to the real database, replayed first. */
  replay: Migration[];
  /** Migrations to verify. */
  verify: Migration[];
}

/**
 * Decides what verify replays and verifies: the applied migrations are
 * replayed and the pending ones verified; with `all`, every migration is
 * verified from an empty database.
 *
 * @param migrations Every migration, in version order.
 * @param history Rows of the real database's tracking table.
 * @param all Verify every migration.
 * @returns The plan.
 * @throws {ValidationError} When an applied migration was modified or is missing, as `apply` would.
 * @example
 * ```ts
 * import { planVerify } from "./verify.ts";
 * import { Migration } from "./migration.ts";
 * const a = await Migration.new({ version: "20250101_000000", name: "a", up: "SELECT 1" });
 * const b = await Migration.new({ version: "20250102_000000", name: "b", up: "SELECT 2" });
 * const row = { ...a, appliedAt: new Date(), executionMs: 1, appliedBy: null };
 * const plan = planVerify([a, b], [row], false);
 * console.log(plan.replay.length, plan.verify.length); // 1 1
 * ```
 */
export function planVerify(
  migrations: readonly Migration[],
  history: readonly HistoryRow[],
  all: boolean,
): VerifyPlan {
  if (all) return { replay: [], verify: [...migrations] };
  const entries = classify(migrations, history);
  const problems = historyProblems(entries);
  if (problems.length) throw ValidationError.of(problems);
  return {
    replay: entries.filter((e) => e.state === "applied").map((e) => e.migration!),
    verify: entries.filter((e) => e.state === "pending").map((e) => e.migration!),
  };
}

/**
 * Reads the tracking table of the real database, without changing it. A
 * missing table, or an embedded database folder that does not exist yet,
 * is an empty history.
 *
 * @param target The real database.
 * @param table The tracking table.
 * @param options Connection options (timeout, password).
 * @returns Its rows.
 * @throws {DataBridgeError} When the database cannot be reached.
 * @example
 * ```ts
 * import { readTargetHistory } from "./verify.ts";
 * const rows = await readTargetHistory(
 *   { kind: "pglite", path: null, source: "api" },
 *   { schema: null, name: "_migrations" },
 * );
 * console.log(rows); // []
 * ```
 */
export async function readTargetHistory(
  target: Target,
  table: TableName,
  options: DriverOptions = {},
): Promise<HistoryRow[]> {
  if (target.kind === "pglite" && target.path !== null && !fileExists(target.path)) return [];
  const driver = await connect(target, options);
  try {
    return (await readHistory(driver, table))?.rows ?? [];
  } finally {
    await driver.close();
  }
}

/**
 * Verifies migrations on a scratch database.
 *
 * @param plan Migrations to replay, then to verify.
 * @param options The scratch database, excluded tables, progress.
 * @returns The report; `ok` tells whether everything verified.
 * @throws {UsageError} `INVALID_URL` for a scratch URL that is not a server or `pglite:memory`.
 * @throws {MigrationError} When replaying an applied migration fails.
 * @throws {DataBridgeError} When the scratch database cannot be created or reached.
 * @example
 * ```ts
 * import { verifyMigrations } from "./verify.ts";
 * import { Migration } from "./migration.ts";
 * const m = await Migration.new({
 *   version: "20250101_000000",
 *   name: "users",
 *   up: "CREATE TABLE users (id int); CREATE INDEX users_id ON users (id);",
 *   down: "DROP INDEX users_id;", // forgets the table
 * });
 * const report = await verifyMigrations({ replay: [], verify: [m] });
 * console.log(report.ok, report.migrations[0].downDifferences[0].name); // false "public.users"
 * ```
 */
export async function verifyMigrations(
  plan: VerifyPlan,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  if (plan.verify.length === 0) {
    const scratch = options.scratch?.target ?? options.scratchUrl ?? DEFAULTS.scratchUrl;
    return { ok: true, scratch: maskUrl(scratch), replayed: [], migrations: [] };
  }
  return await withScratch(options, async (driver, scratch) => {
    const emit = options.onEvent ?? (() => {});
    await replayApplied(driver, plan.replay, emit, "verify");
    const snap = () => snapshotSchema(driver, { exclude: options.exclude });
    const results: MigrationVerification[] = [];
    let stop: string | null = null;
    for (const m of plan.verify) {
      if (stop !== null) {
        results.push(blank(m, "skipped", 0, `not verified: ${stop}`));
        emit({ type: "done", result: results.at(-1)! });
        continue;
      }
      emit({ type: "start", migration: m });
      const started = performance.now();
      const result = await verifyOne(driver, m, snap);
      result.ms = performance.now() - started;
      stop = result.stop ?? null;
      delete result.stop;
      results.push(result);
      emit({ type: "done", result });
    }
    return {
      ok: results.every((r) => r.status === "ok" || r.status === "irreversible"),
      scratch,
      replayed: plan.replay.map((m) => m.version),
      migrations: results,
    };
  });
}

/** What {@link replayedSchema} built. */
export interface ReplayedSchema {
  /** The scratch database, as shown to users (no password). */
  scratch: string;
  /** Its schema once the migrations ran. */
  snapshot: SchemaSnapshot;
  /** Its PostgreSQL version (`server_version_num`, e.g. 150004). */
  serverVersion: number;
}

/**
 * The schema that migrations make: their UP sections run, in order, on a
 * scratch database (as `verify` replays the applied ones), then a snapshot
 * of it. What `drift` compares a database with.
 *
 * @param migrations The migrations to run, in order.
 * @param options The scratch database and the tables snapshots leave out.
 * @returns The scratch database, its schema and its version.
 * @throws {MigrationError} When a migration fails there.
 * @throws {DataBridgeError} When the scratch database cannot be created or reached.
 * @example
 * ```ts
 * import { replayedSchema } from "./verify.ts";
 * import { Migration } from "./migration.ts";
 * const m = await Migration.new({ version: "20250101_000000", name: "users", up: "CREATE TABLE users (id int);" });
 * const built = await replayedSchema([m]);
 * console.log(built.snapshot.objects.some((o) => o.name === "public.users")); // true
 * ```
 */
export async function replayedSchema(
  migrations: readonly Migration[],
  options: VerifyOptions & {
    /** Called with the scratch database and its version before anything runs there; may throw. */
    check?: (scratch: string, serverVersion: number) => void;
  } = {},
): Promise<ReplayedSchema> {
  return await withScratch(options, async (driver, scratch) => {
    const version = await serverVersion(driver);
    options.check?.(scratch, version);
    await replayApplied(driver, migrations, options.onEvent ?? (() => {}), "drift");
    const snapshot = await snapshotSchema(driver, { exclude: options.exclude });
    return { scratch, snapshot, serverVersion: version };
  });
}

/**
 * A session's PostgreSQL version number (`server_version_num`).
 *
 * @param driver The session.
 * @returns E.g. `150004` for 15.4.
 * @example
 * ```ts
 * import type { Driver } from "./driver.ts";
 * import { serverVersion } from "./verify.ts";
 * async function major(driver: Driver): Promise<number> {
 *   return Math.floor((await serverVersion(driver)) / 10000);
 * }
 * ```
 */
export async function serverVersion(driver: Driver): Promise<number> {
  const [row] = await driver.query<{ v: string }>(
    "SELECT current_setting('server_version_num') AS v",
  );
  return Number(row.v);
}

/** Runs applied migrations' UP on the scratch database; a failure says what `command` needs. */
async function replayApplied(
  driver: Driver,
  migrations: readonly Migration[],
  emit: (event: VerifyEvent) => void,
  command: string,
): Promise<void> {
  for (const m of migrations) {
    emit({ type: "replay", migration: m });
    const error = await runSection(driver, m, "up");
    if (error) {
      throw new MigrationError(
        `${m.file ?? m.version}${
          error.line ? `:${error.line}` : ""
        }: replaying applied migration ${m.version} on the scratch database failed: ${error.message}` +
          `${error.pgCode ? ` (SQLSTATE ${error.pgCode})` : ""}; ` +
          `${command} needs every applied migration to run there (if it needs an extension or role, use --scratch-url with a server that has it)`,
        [],
        { file: m.file ?? undefined, line: error.line, version: m.version, pgCode: error.pgCode },
      );
    }
  }
}

function blank(
  m: Migration,
  status: VerifyStatus,
  ms: number,
  note?: string,
): MigrationVerification {
  return {
    version: m.version,
    description: m.description,
    file: m.file,
    status,
    ...(note ? { note } : {}),
    downDifferences: [],
    reapplyDifferences: [],
    ms,
  };
}

async function verifyOne(
  driver: Driver,
  m: Migration,
  snap: () => Promise<SchemaSnapshot>,
): Promise<MigrationVerification & { stop?: string | null }> {
  const result: MigrationVerification & { stop?: string | null } = blank(m, "ok", 0);
  result.stop = null;
  const before = await snap();
  result.up = await runSection(driver, m, "up");
  if (result.up) {
    result.status = "failed";
    result.stop = `the UP of ${m.version} failed`;
    return result;
  }
  delete result.up;
  const afterUp = await snap();
  // After a failure, later migrations can still be verified when the schema is as UP left it.
  const unlessAsAfterUp = async (why: string) =>
    diffSchemas(afterUp, await snap()).length ? `${why} and left the schema changed` : null;
  if (m.down === "") {
    result.status = "irreversible";
    result.note = "irreversible, DOWN not verified";
    return result;
  }
  result.down = await runSection(driver, m, "down");
  if (result.down) {
    result.status = "failed";
    result.stop = await unlessAsAfterUp(`the DOWN of ${m.version} failed`);
    return result;
  }
  delete result.down;
  const afterDown = await snap();
  result.downDifferences = diffSchemas(before, afterDown);
  result.reapply = await runSection(driver, m, "up");
  if (result.reapply) {
    result.status = "failed";
    result.stop = await unlessAsAfterUp(`the UP of ${m.version} failed when applied again`);
    return result;
  }
  delete result.reapply;
  const afterReapply = await snap();
  result.reapplyDifferences = diffSchemas(afterUp, afterReapply);
  if (result.downDifferences.length || result.reapplyDifferences.length) result.status = "failed";
  return result;
}

/** Runs one section as `apply`/`rollback` would; returns the error instead of throwing it. */
async function runSection(
  driver: Driver,
  m: Migration,
  direction: "up" | "down",
): Promise<StepError | undefined> {
  const sql = direction === "up" ? m.up : m.down;
  const firstLine = direction === "up" ? m.upLine : m.downLine;
  const statements = splitStatements(sql);
  if (m.transactional) {
    // Statement by statement inside the transaction, so a failure names its line.
    let at = { text: sql, start: 0 };
    try {
      await driver.transaction(async (tx) => {
        for (const statement of statements) {
          at = { text: sql.slice(statement.start, statement.end), start: statement.start };
          await tx.exec(at.text);
        }
      });
      return undefined;
    } catch (error) {
      return stepError(error, at.text, at.start, sql, firstLine);
    }
  }
  for (const statement of statements) {
    const text = sql.slice(statement.start, statement.end);
    try {
      await driver.exec(text);
    } catch (error) {
      await driver.exec("ROLLBACK").catch(() => {});
      return stepError(error, text, statement.start, sql, firstLine);
    }
  }
  return undefined;
}

function stepError(
  error: unknown,
  sent: string,
  start: number,
  section: string,
  firstLine: number,
): StepError {
  if (!(error instanceof DatabaseError)) throw error;
  const offset = start + (error.position ? offsetOfPosition(sent, error.position) : 0);
  return {
    message: error.message,
    ...(error.pgCode ? { pgCode: error.pgCode } : {}),
    line: locate(section, offset, firstLine).line,
    ...(error.hint ? { hint: error.hint } : {}),
  };
}

/** Opens the scratch database, runs `fn`, and drops what it created. */
async function withScratch<T>(
  options: VerifyOptions,
  fn: (driver: Driver, shown: string) => Promise<T>,
): Promise<T> {
  if (options.scratch) return await fn(options.scratch, options.scratch.target);
  const url = options.scratchUrl ?? DEFAULTS.scratchUrl;
  const target = parseTarget(url, "flag", "--scratch-url");
  if (target.kind === "pglite") {
    if (target.path !== null) {
      throw new UsageError(
        "INVALID_URL",
        "--scratch-url: use pglite:memory or a postgres:// server URL; a pglite folder is never a scratch database",
      );
    }
    const driver = await connect(target);
    try {
      return await fn(driver, "pglite:memory");
    } finally {
      await driver.close();
    }
  }
  const name = `data_bridge_verify_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const admin = await connect(target, options.scratchDriver);
  try {
    await admin.exec(`CREATE DATABASE ${quoteIdent(name)}`);
    // The same server and options, the scratch database instead (a dbname parameter too).
    const parsed = parsePgUrl(url);
    const scratch = formatPgUrl({
      ...parsed,
      database: name,
      params: parsed.params.filter(([key]) => key !== "dbname"),
    });
    const driver = await connect(
      { kind: "postgres", url: scratch, source: "api" },
      options.scratchDriver,
    );
    try {
      return await fn(driver, maskUrl(scratch));
    } finally {
      await driver.close();
    }
  } finally {
    try {
      await admin.exec(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    } finally {
      await admin.close();
    }
  }
}
