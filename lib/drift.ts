/**
 * `drift`: whether a database's schema is the one its applied migrations
 * make. The applied migrations are replayed on a scratch database (as
 * `verify` replays them), both schemas are snapshotted from the catalogs,
 * and what differs is reported: an index made by hand in production, a
 * default changed there, a table a migration made and someone dropped. The
 * database is only read.
 *
 * The scratch database must run the database's major version of PostgreSQL:
 * each version writes some definitions out its own way (a view's column
 * names, an extension's default version), which would show as differences.
 *
 * @module
 */
import type { HistoryRow } from "./classify.ts";
import { connect } from "./connect.ts";
import type { DriverOptions } from "./driver.ts";
import { UsageError } from "./errors.ts";
import { lockTableName, readHistory } from "./history.ts";
import type { TableName } from "./ident.ts";
import type { Migration } from "./migration.ts";
import { SCHEMA_KINDS, type SchemaKind, snapshotSchema } from "./schema.ts";
import { diffSchemas, formatChange, type SchemaChange } from "./schema_diff.ts";
import type { Palette } from "./format.ts";
import { describeTarget, readOnlyTarget, type Target } from "./target.ts";
import { planVerify, replayedSchema, serverVersion, type VerifyEvent } from "./verify.ts";

/** What {@link checkDrift} found. */
export interface DriftReport {
  /** Whether the schemas are the same. */
  ok: boolean;
  /** The database, as shown to users (no password). */
  target: string;
  /** The scratch database the migrations were replayed on. */
  scratch: string;
  /** Versions replayed: the database's applied migrations. */
  replayed: string[];
  /**
   * What differs, from the migrations' schema to the database's: `added`
   * is in the database only, `removed` only in what the migrations make,
   * `changed` in both with other fields.
   */
  changes: SchemaChange[];
  /** How many differences `ignore` left out. */
  ignored: number;
}

/** Options of {@link checkDrift}. */
export interface DriftOptions {
  /** The tracking table, left out of both schemas. */
  table: TableName;
  /** How the database is connected to. */
  driver?: DriverOptions;
  /** `pglite:memory` (the default) or a server URL, as for `verify`. */
  scratchUrl?: string;
  /** How the scratch server is connected to. */
  scratchDriver?: DriverOptions;
  /** Told of each migration replayed. */
  onEvent?: (event: VerifyEvent) => void;
  /** How the report names the database (default: its URL without the password). */
  targetName?: string;
  /** Differences not to report, from {@link parseIgnore}: objects managed outside migrations. */
  ignore?: readonly IgnoreRule[];
}

/** Objects `drift` leaves out: of a kind, and with `name` of that name (a trailing `*`: a prefix). */
export interface IgnoreRule {
  /** The kind of object, as snapshots name it. */
  kind: SchemaKind;
  /** Its name, or its beginning when it ends with `*`; all of the kind when absent. */
  name?: string;
}

/**
 * Reads `--ignore`: comma-separated `KIND` or `KIND:NAME` (`NAME*` for a
 * prefix), e.g. `grant,extension:pg_stat_statements,table:public.tmp_*`.
 * Kinds are those of `schema` (`default-privileges` for default privileges).
 *
 * @param list The option's value.
 * @returns The rules.
 * @throws {UsageError} For an unknown kind, naming the kinds.
 * @example
 * ```ts
 * import { parseIgnore } from "./drift.ts";
 * console.log(parseIgnore("grant,extension:pg_stat_statements"));
 * // [{ kind: "grant" }, { kind: "extension", name: "pg_stat_statements" }]
 * ```
 */
export function parseIgnore(list: string): IgnoreRule[] {
  return list.split(",").map((item) => item.trim()).filter(Boolean).map((item) => {
    const at = item.indexOf(":");
    const word = (at === -1 ? item : item.slice(0, at)).toLowerCase().replaceAll("-", " ");
    const kind = SCHEMA_KINDS.find((k) => k === word);
    if (kind === undefined) {
      throw new UsageError(
        "USAGE",
        `--ignore: '${item}' names no kind of object; use KIND or KIND:NAME with a kind of ${
          SCHEMA_KINDS.map((k) => k.replaceAll(" ", "-")).join(", ")
        }`,
      );
    }
    return at === -1 ? { kind } : { kind, name: item.slice(at + 1) };
  });
}

function ignored(change: SchemaChange, rules: readonly IgnoreRule[]): boolean {
  return rules.some((r) =>
    r.kind === change.kind &&
    (r.name === undefined ||
      (r.name.endsWith("*") ? change.name.startsWith(r.name.slice(0, -1)) : change.name === r.name))
  );
}

/**
 * Compares a database's schema with the one its applied migrations make.
 *
 * @param target The database (only read).
 * @param migrations Every migration of the project, in version order.
 * @param options The tracking table, the scratch database, connections.
 * @returns The report; `ok` is `false` when anything differs.
 * @throws {ValidationError} When an applied migration was modified or is missing, as `apply` would.
 * @throws {UsageError} When the scratch database runs another major version of PostgreSQL.
 * @throws {MigrationError} When an applied migration cannot be replayed on the scratch database.
 * @example
 * ```ts
 * import { checkDrift } from "./drift.ts";
 * import { parseTarget } from "./target.ts";
 * const report = await checkDrift(parseTarget("pglite:memory", "api"), [], {
 *   table: { schema: null, name: "_migrations" },
 * });
 * console.log(report.ok); // true: nothing applied, nothing there
 * ```
 */
export async function checkDrift(
  target: Target,
  migrations: readonly Migration[],
  options: DriftOptions,
): Promise<DriftReport> {
  // data-bridge's own tables: the tracking table and the lock table of --lock-mode table.
  const exclude = [options.table, lockTableName(options.table)];
  const driver = await connect(readOnlyTarget(target), options.driver);
  let history: HistoryRow[];
  let actual;
  let version: number;
  try {
    history = (await readHistory(driver, options.table))?.rows ?? [];
    actual = await snapshotSchema(driver, { exclude });
    version = await serverVersion(driver);
  } finally {
    await driver.close();
  }
  const { replay } = planVerify([...migrations], history, false);
  const built = await replayedSchema(replay, {
    scratchUrl: options.scratchUrl,
    scratchDriver: options.scratchDriver,
    exclude,
    onEvent: options.onEvent,
    // Checked before anything is replayed there.
    check: (scratch, scratchVersion) => {
      const [mine, theirs] = [major(version), major(scratchVersion)];
      if (mine === theirs) return;
      throw new UsageError(
        "USAGE",
        `the scratch database ${scratch} runs PostgreSQL ${theirs} and the database ${mine}, ` +
          "which write some definitions out differently; pass --scratch-url with a PostgreSQL " +
          `${mine} server (a temporary database is made there and dropped)`,
      );
    },
  });
  // A schema data-bridge made for its tracking table (--table SCHEMA.NAME) is its own too.
  const own = options.table.schema;
  const all = diffSchemas(built.snapshot, actual).filter((c) =>
    !(c.change === "added" && c.kind === "schema" && c.name === own)
  );
  const changes = all.filter((c) => !ignored(c, options.ignore ?? []));
  return {
    ok: changes.length === 0,
    target: options.targetName ?? describeTarget(target),
    scratch: built.scratch,
    replayed: replay.map((m) => m.version),
    changes,
    ignored: all.length - changes.length,
  };
}

function major(versionNum: number): number {
  return Math.floor(versionNum / 10000);
}

/** How each kind of difference reads in {@link formatDrift}. */
const WORDS = {
  added: "in the database, not made by its migrations",
  removed: "made by its migrations, missing from the database",
  changed: "changed in the database",
} as const;

/**
 * A drift report as text: one line a difference, then a summary.
 *
 * @param report From {@link checkDrift}.
 * @param colour The palette (plain when not a terminal).
 * @returns Lines ending in a line break.
 * @example
 * ```ts
 * import { formatDrift } from "./drift.ts";
 * import { palette } from "./format.ts";
 * const text = formatDrift(
 *   { ok: true, target: "pglite:memory", scratch: "pglite:memory", replayed: [], changes: [], ignored: 0 },
 *   palette(false),
 * );
 * console.log(text.startsWith("No drift")); // true
 * ```
 */
export function formatDrift(report: DriftReport, colour: Palette): string {
  const count = report.replayed.length;
  const applied = `${count} applied migration${count === 1 ? " makes" : "s make"}`;
  const where = `(replayed on ${report.scratch}${
    report.ignored ? `; ${report.ignored} difference${report.ignored === 1 ? "" : "s"} ignored` : ""
  })`;
  if (report.ok) return `No drift: ${report.target} has the schema its ${applied} ${where}.\n`;
  const lines = report.changes.map((c) => `  ${colour.red(formatChange(c, WORDS))}\n`);
  const n = report.changes.length;
  return `${lines.join("")}Drift: ${n} difference${n === 1 ? "" : "s"} between ` +
    `${report.target} and the schema its ${applied} ${where}.\n`;
}
