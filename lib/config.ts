/**
 * Defaults and the option table: the one place that says what data-bridge
 * does when nobody says otherwise. `--help`, the README and the API read
 * these values; nothing else hard-codes them.
 *
 * @module
 */

/** The version of data-bridge, printed by `--version`. */
export const VERSION = "0.1.0";

/** Default values of every setting. */
export const DEFAULTS = {
  /** Directory holding the migration files. */
  migrationsDir: "migrations",
  /** Tracking table, optionally schema-qualified. */
  table: "_migrations",
  /** Embedded database used when no URL or PG* variable selects a server. */
  embeddedPath: ".data-bridge/pglite",
  /** `application_name` shown in `pg_stat_activity`. */
  applicationName: "data-bridge",
  /** Port of a server when neither the URL nor `PGPORT` names one. */
  postgresPort: 5432,
  /** Seconds to wait for a connection before giving up. */
  connectTimeoutSeconds: 10,
  /**
   * Seconds to keep trying to connect while the server is not up yet
   * (refused, starting up, not yet in DNS); 0 tries once.
   */
  connectWaitSeconds: 0,
  /** Milliseconds before the first new attempt to connect; doubled after each, up to a second. */
  connectRetryMs: 50,
  /** Seconds to wait for the migration lock; `Infinity` waits for ever. */
  lockWaitSeconds: Infinity,
  /** Milliseconds between two attempts to take a busy migration lock. */
  lockPollMs: 100,
  /**
   * Milliseconds of waiting for the lock before saying who holds it: runs
   * that overlap for a moment (several instances starting at once) stay quiet.
   */
  lockNoticeMs: 500,
  /** `lock_timeout` set inside each migration on servers ("0" disables). */
  lockTimeout: "5s",
  /** How often a migration that hit `lock_timeout` is retried whole. */
  lockRetries: 3,
  /** `statement_timeout` set inside each migration ("0" disables). */
  statementTimeout: "0",
  /** Server-side check that aborts a migration whose client died (PG 14+). */
  clientConnectionCheckInterval: "2s",
  /** Largest migration file accepted, in bytes. */
  maxFileBytes: 16 * 1024 * 1024,
  /**
   * Characters of SQL parsed or linted at once past which the compiled
   * binary lets its optimising JITs work meanwhile (see `longWork`).
   */
  longWorkChars: 256 * 1024,
  /**
   * What each file adds to the characters counted towards `longWorkChars`:
   * the work a file costs whatever its size (its lines, its statements, the
   * lint's model and rules), ~2 KiB of text's worth. 1000 one-table files
   * then count as long work: their parse and lint before `apply`'s first
   * migration took 100-115 ms in the interpreter, 60-70 ms with the JITs.
   */
  longWorkFileChars: 2048,
  /**
   * Characters of work past which long work runs with JavaScriptCore's own
   * JIT thresholds rather than `LONG_WORK_JIT_POLICY`'s: the `status` of
   * 10,000 pending one-table files took 185 ms with the scaled thresholds
   * all along, 158 ms with its own.
   */
  fullJitChars: 4 * 1024 * 1024,
  /**
   * Characters of a pending migration's text from which `apply` keeps its
   * parse's tokens and statements for the lint (see `parsedScan`); smaller
   * files are scanned again, which costs less than the memory kept.
   */
  keepScanChars: 4096,
  /** Migrations run between two hints to collect garbage (see `collectGarbageSoon`). */
  gcEveryMigrations: 50,
  /** Steps reverted by `rollback` without `--steps` or `--to`. */
  rollbackSteps: 1,
  /** Integrity file in the migrations directory (see `data-bridge sum`). */
  sumFile: "data-bridge.sum",
  /** Project file whose `lint` key sets rule levels, read from the working directory. */
  lintConfigFile: "data-bridge.json",
  /** Scratch database of `verify` when `--scratch-url` is not given. */
  scratchUrl: "pglite:memory",
  /** What `apply` does with a pending migration older than the newest applied one. */
  outOfOrder: "allow",
} as const;

/**
 * Level of each lint rule when neither `data-bridge.json` nor a flag says
 * otherwise: `error` stops `lint` (exit 3) and `apply`; `warning` is
 * reported by `lint` only.
 */
export const LINT_LEVELS = {
  "index-not-concurrently": "warning",
  "drop-index-not-concurrently": "warning",
  "add-column-not-null": "error",
  "alter-column-type": "warning",
  "table-rewrite": "warning",
  "refresh-not-concurrently": "warning",
  "set-not-null": "warning",
  "constraint-not-valid": "warning",
  "add-unique-constraint": "warning",
  "drop-table": "error",
  "drop-column": "error",
  "rename": "warning",
  "concurrently-in-transaction": "error",
  "irreversible": "warning",
  "down-incomplete": "error",
  "delete-all-rows": "error",
  "update-all-rows": "warning",
  "invalid-ignore": "error",
  "invalid-migration": "error",
} as const;

/**
 * The JIT policy the single-file binary is built with and returns to after
 * long work (`bun build --compile-jit-policy`, `Bun.unsafe.setJITPolicy`):
 * JavaScriptCore's tier-up thresholds scaled so far that its optimising
 * JITs stay off. See docs/distribution.md for the measurements.
 */
export const BINARY_JIT_POLICY = 1_000_000;

/**
 * The JIT policy of long work in the binary (see `longWork`): tier-up
 * thresholds ten times JavaScriptCore's own. The parse and lint of 1000
 * one-table files were as fast as with its own thresholds and the peak
 * memory of their `apply` 4 MiB lower (52 against 56 MiB); W3's `apply` as
 * fast, 2.5 MiB lower. See bench/journal.md.
 */
export const LONG_WORK_JIT_POLICY = 10;

/**
 * Key of the PostgreSQL advisory lock that serialises data-bridge runs on
 * one database. It is the 64-bit integer spelled by the ASCII bytes
 * "databrdg" so it does not collide with small application keys.
 */
export const ADVISORY_LOCK_KEY = 0x6461746162726467n;

/**
 * Key of the transaction-level advisory lock taken while creating the
 * tracking tables, so concurrent first runs never race to create them.
 */
export const SETUP_LOCK_KEY = ADVISORY_LOCK_KEY + 1n;

/** Columns of the tracking table, in the order `status` reports them. */
export const TRACKING_COLUMNS = [
  "version",
  "description",
  "applied_at",
  "checksum",
  "execution_ms",
  "applied_by",
] as const;
