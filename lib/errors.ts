/**
 * The error family of data-bridge. Every failure is a {@link DataBridgeError}
 * with a stable `code`, the process `exitCode` the CLI ends with, and where
 * known the file, line, version and PostgreSQL SQLSTATE. Library code throws
 * these; only the CLI prints them.
 *
 * @module
 */

/** Process exit codes, as documented in the README. */
export const ExitCode = {
  /** Success. */
  OK: 0,
  /** Failure at run time: SQL error, connection refused, lock wait timed out. */
  RUNTIME: 1,
  /** Usage error: unknown command or flag, missing or bad argument. */
  USAGE: 2,
  /** Validation failure: bad file, duplicate version, checksum mismatch, missing file. */
  VALIDATION: 3,
  /** `status --exit-code`: migrations are pending, none modified or missing. */
  PENDING: 4,
  /** Interrupted by SIGINT (Ctrl-C). */
  SIGINT: 130,
  /** Stopped by SIGTERM. */
  SIGTERM: 143,
} as const;

/** Stable error codes; scripts may match on them. */
export type ErrorCode =
  | "USAGE"
  | "INVALID_TABLE_NAME"
  | "INVALID_URL"
  | "UNKNOWN_VERSION"
  | "DIRECTORY_NOT_FOUND"
  | "FILE_UNREADABLE"
  | "FILE_TOO_LARGE"
  | "INVALID_FILE_NAME"
  | "INVALID_VERSION"
  | "DUPLICATE_VERSION"
  | "INVALID_ENCODING"
  | "INVALID_MIGRATION"
  | "UNTERMINATED"
  | "EMPTY_UP"
  | "NEEDS_NO_TRANSACTION"
  | "UNSUPPORTED_STATEMENT"
  | "CHECKSUM_MISMATCH"
  | "SUM_MISMATCH"
  | "LINT_FAILED"
  | "MISSING_FILE"
  | "IRREVERSIBLE"
  | "ALREADY_APPLIED"
  | "LOCK_MODE"
  | "SINGLE_TRANSACTION"
  | "OUT_OF_ORDER"
  | "MIGRATION_FAILED"
  | "PERMISSION_DENIED"
  | "CONNECTION_FAILED"
  | "CONNECTION_LOST"
  | "LOCK_TIMEOUT"
  | "LOCK_LOST"
  | "INTERRUPTED"
  | "INTERNAL";

/** Where an error happened and what PostgreSQL said about it. */
export interface ErrorDetails {
  /** Migration file, as given (relative to the working directory when it was). */
  file?: string;
  /** 1-based line in `file`. */
  line?: number;
  /** 1-based column in `file`. */
  column?: number;
  /** Migration version, `YYYYMMDD_HHMMSS`. */
  version?: string;
  /** PostgreSQL SQLSTATE, e.g. `42P01`. */
  pgCode?: string;
  /** PostgreSQL DETAIL. */
  detail?: string;
  /** PostgreSQL HINT or data-bridge's advice. */
  hint?: string;
  /** The failing line of the file with a caret under the column. */
  excerpt?: string;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * Base class of every error data-bridge throws.
 *
 * @example
 * ```ts
 * import { DataBridgeError, ValidationError } from "./errors.ts";
 * try {
 *   throw new ValidationError("EMPTY_UP", "UP section is empty", { file: "a.sql" });
 * } catch (error) {
 *   if (error instanceof DataBridgeError) console.log(error.code, error.exitCode);
 * }
 * ```
 */
export class DataBridgeError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** Exit code the CLI ends with. */
  readonly exitCode: number;
  /** Migration file. */
  file?: string;
  /** 1-based line in the file. */
  line?: number;
  /** 1-based column in the file. */
  column?: number;
  /** Migration version. */
  version?: string;
  /** PostgreSQL SQLSTATE. */
  pgCode?: string;
  /** PostgreSQL DETAIL. */
  detail?: string;
  /** PostgreSQL HINT or advice. */
  hint?: string;
  /** Failing line with a caret. */
  excerpt?: string;
  /** Versions the failing run completed before the failure; they stay done. */
  completed: string[] = [];

  /**
   * Creates the error.
   *
   * @param code Stable error code.
   * @param message One-line cause, saying what is wrong and what to do.
   * @param exitCode Exit code for the CLI.
   * @param details Location and PostgreSQL fields.
   */
  constructor(
    code: ErrorCode,
    message: string,
    exitCode: number,
    details: ErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
    this.file = details.file;
    this.line = details.line;
    this.column = details.column;
    this.version = details.version;
    this.pgCode = details.pgCode;
    this.detail = details.detail;
    this.hint = details.hint;
    this.excerpt = details.excerpt;
  }

  /**
   * The JSON form printed by `--json`.
   *
   * @returns `code`, `message` and every known location field.
   */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { code: this.code, message: this.message };
    for (
      const key of ["file", "line", "column", "version", "pgCode", "detail", "hint"] as const
    ) {
      if (this[key] !== undefined) out[key] = this[key];
    }
    return out;
  }
}

/**
 * A bad command line: unknown command or flag, missing or malformed value.
 * Exit code 2.
 *
 * @example
 * ```ts
 * import { UsageError } from "./errors.ts";
 * const error = new UsageError("USAGE", "--steps must be a positive integer, got 'abc'");
 * console.log(error.exitCode); // 2
 * ```
 */
export class UsageError extends DataBridgeError {
  /**
   * Creates the error.
   *
   * @param code Stable error code.
   * @param message One-line cause naming the flag.
   * @param details Optional location.
   */
  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(code, message, ExitCode.USAGE, details);
  }
}

/**
 * Migration files or history that cannot be trusted: a bad file, a duplicate
 * version, a checksum mismatch, a missing file. Exit code 3. When several
 * problems were found, `problems` lists them all and the message is the first.
 *
 * @example
 * ```ts
 * import { ValidationError } from "./errors.ts";
 * const error = new ValidationError("EMPTY_UP", "a.sql: UP section is empty", { file: "a.sql" });
 * console.log(error.problems.length); // 1
 * ```
 */
export class ValidationError extends DataBridgeError {
  /** Every problem found, this one first. */
  readonly problems: ValidationError[];

  /**
   * Creates the error.
   *
   * @param code Stable error code.
   * @param message One-line cause naming the file.
   * @param details Location.
   * @param problems Further problems found in the same check.
   */
  constructor(
    code: ErrorCode,
    message: string,
    details: ErrorDetails = {},
    problems: ValidationError[] = [],
  ) {
    super(code, message, ExitCode.VALIDATION, details);
    this.problems = problems.length ? problems : [this];
  }

  /**
   * Combines several problems into one error whose message is the first.
   *
   * @param problems At least one problem.
   * @returns One error carrying all of them.
   */
  static of(problems: ValidationError[]): ValidationError {
    if (problems.length === 1) return problems[0];
    const [first] = problems;
    const more = problems.length - 1;
    return new ValidationError(
      first.code,
      `${first.message} (and ${more} more problem${more === 1 ? "" : "s"})`,
      first,
      problems,
    );
  }

  /**
   * The JSON form printed by `--json`.
   *
   * @returns The fields of the first problem, with every problem when there are several.
   */
  override toJSON(): Record<string, unknown> {
    const out = super.toJSON();
    if (this.problems.length > 1) {
      out.problems = this.problems.map((p) => DataBridgeError.prototype.toJSON.call(p));
    }
    return out;
  }
}

/**
 * A failure at run time: a migration's SQL failed, the server is unreachable,
 * the lock could not be taken. Exit code 1 unless given.
 *
 * @example
 * ```ts
 * import { RuntimeError } from "./errors.ts";
 * const error = new RuntimeError("LOCK_TIMEOUT", "gave up waiting for the lock after 5s");
 * console.log(error.exitCode); // 1
 * ```
 */
export class RuntimeError extends DataBridgeError {
  /**
   * Creates the error.
   *
   * @param code Stable error code.
   * @param message One-line cause.
   * @param details Location and PostgreSQL fields.
   * @param exitCode Exit code, 1 unless given.
   */
  constructor(
    code: ErrorCode,
    message: string,
    details: ErrorDetails = {},
    exitCode: number = ExitCode.RUNTIME,
  ) {
    super(code, message, exitCode, details);
  }
}

/**
 * A migration's SQL failed. `completed` lists the versions the same run
 * applied (or reverted) before the failure; they stay done.
 *
 * @example
 * ```ts
 * import { MigrationError } from "./errors.ts";
 * const error = new MigrationError("Migration 20250101_000000 failed", [], { version: "20250101_000000" });
 * console.log(error.code); // "MIGRATION_FAILED"
 * ```
 */
export class MigrationError extends RuntimeError {
  /**
   * Creates the error.
   *
   * @param message One-line cause.
   * @param completed Versions completed before the failure.
   * @param details Location and PostgreSQL fields.
   */
  constructor(message: string, completed: string[], details: ErrorDetails = {}) {
    super("MIGRATION_FAILED", message, details);
    this.completed = completed;
  }
}

/**
 * An error raised by the database, as the drivers report it.
 *
 * @example
 * ```ts
 * import { DatabaseError } from "./errors.ts";
 * const error = new DatabaseError('relation "x" does not exist', { pgCode: "42P01", position: 15 });
 * console.log(error.position); // 15
 * ```
 */
export class DatabaseError extends RuntimeError {
  /** 1-based character position in the statement sent, when PostgreSQL gave one. */
  readonly position?: number;

  /**
   * Creates the error.
   *
   * @param message PostgreSQL's message.
   * @param fields SQLSTATE, detail, hint and position.
   */
  constructor(
    message: string,
    fields: { pgCode?: string; detail?: string; hint?: string; position?: number; cause?: unknown },
  ) {
    super("MIGRATION_FAILED", message, fields);
    this.position = fields.position;
  }

  /**
   * The error for what a client library reports of a PostgreSQL error
   * (postgres.js and PGlite use the wire protocol's field names).
   *
   * @param error The library's error: `code` (SQLSTATE), `message`,
   *   `detail`, `hint`, `position`.
   * @returns The error, with the library's as its cause.
   * @example
   * ```ts
   * import { DatabaseError } from "./errors.ts";
   * const error = DatabaseError.from({ code: "42P01", message: 'relation "x" does not exist', position: "15" });
   * console.log(error.pgCode, error.position); // "42P01" 15
   * ```
   */
  static from(error: ServerErrorFields): DatabaseError {
    return new DatabaseError(error.message ?? "unknown error", {
      pgCode: error.code,
      detail: error.detail,
      hint: error.hint,
      position: error.position === undefined ? undefined : Number(error.position) || undefined,
      cause: error,
    });
  }
}

/** The fields of a PostgreSQL error as client libraries report them. */
export interface ServerErrorFields {
  /** SQLSTATE. */
  code?: string;
  /** Primary message. */
  message?: string;
  /** DETAIL. */
  detail?: string;
  /** HINT. */
  hint?: string;
  /** 1-based character position, as a string or number. */
  position?: string | number;
  /** Severity (`ERROR`, `FATAL`...), when the library gives it. */
  severity?: string;
}

/**
 * The error for a run stopped by SIGINT or SIGTERM (an aborted signal whose
 * reason is `"SIGINT"` or `"SIGTERM"`), with exit code 130 or 143.
 *
 * @param signal The aborted signal.
 * @param message What was interrupted and in what state it left things.
 * @returns A `RuntimeError` with code `INTERRUPTED`.
 * @example
 * ```ts
 * import { interruptedError } from "./errors.ts";
 * const controller = new AbortController();
 * controller.abort("SIGTERM");
 * console.log(interruptedError(controller.signal, "stopped").exitCode); // 143
 * ```
 */
export function interruptedError(signal: AbortSignal, message: string): RuntimeError {
  const term = signal.reason === "SIGTERM";
  return new RuntimeError(
    "INTERRUPTED",
    `interrupted by ${term ? "SIGTERM" : "SIGINT"}: ${message}`,
    {},
    term ? ExitCode.SIGTERM : ExitCode.SIGINT,
  );
}
