/**
 * Bad input, one table: every malformed file, directory, flag, URL and
 * unreachable server a user can hand data-bridge. Each case runs the real CLI
 * twice (human and `--json`) against a fresh database and proves: the exit
 * code, exactly one line on stderr starting `error: ` that names the file or
 * flag, no stack trace, the stable `error.code` in JSON, and a database left
 * exactly as it was.
 *
 * File cases come from `tests/fixtures/bad/`; inputs that cannot be committed
 * (a 50 MB file, a FIFO, symbolic links, unreadable files) are made here.
 */
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { userInfo } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { DEFAULTS } from "../lib/config.ts";
import type { ErrorCode } from "../lib/errors.ts";
import { assert, assertEquals, assertMatch, assertNotMatch } from "./support/assert.ts";
import { CLI, cli, type Result, type Runtime, start } from "./support/cli.ts";
import { freshDatabase, withDatabase } from "./support/db.ts";
import { migrationText, tempMigrations } from "./support/files.ts";

const FIXTURES = fileURLToPath(new URL("./fixtures/bad/", import.meta.url));
const DEFECT_MAP = fileURLToPath(
  new URL("./fixtures/postgres_defect_import_map.json", import.meta.url),
);

/** A valid migration next to every bad input: if anything ran, its table would exist. */
const GOOD_NAME = "20250101_000000_good.sql";
const GOOD = migrationText("CREATE TABLE good (id INT);", "DROP TABLE good;");

/** What a case can use. */
interface Ctx {
  /** The fresh database. */
  url: string;
  /** The temporary project (cwd of the CLI). */
  root: string;
  /** Its `migrations` directory. */
  dir: string;
  /** Registers clean-up work. */
  defer(fn: () => void | Promise<void>): void;
}

interface Case {
  /** What the user got wrong. */
  name: string;
  /** A file of tests/fixtures/bad/ copied into migrations/. */
  fixture?: string;
  /** Makes the bad input; may return values for `args`. */
  make?: (ctx: Ctx) => void | Promise<void>;
  /** CLI arguments (DATABASE_URL is the fresh database unless `env` says otherwise). */
  args: string[] | ((ctx: Ctx) => string[]);
  /** Extra environment. */
  env?: Record<string, string>;
  exit: 1 | 2 | 3;
  code: ErrorCode;
  /** The one line must match this; it names the file, flag or target. */
  line: RegExp;
  /** Apply the good migration first, so the database has something to keep. */
  applied?: boolean;
  /** As root, run without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH so chmod 000 bites. */
  unprivileged?: boolean;
  /** Run with an import map that makes the postgres package fail like a defect. */
  defect?: boolean;
  /** The runtime that runs the CLI (default Deno); Bun is the compiled binary's. */
  runtime?: Runtime;
  /** A connect-timeout case: must fail within this many seconds (after start-up). */
  timeoutSeconds?: number;
  /** ... and not before them: nothing answers, so only the timeout can end the wait. */
  waitsFullTimeout?: boolean;
}

const file = (name: string) => new RegExp(`^error: migrations/${escape(name)}`);
function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A TCP server on 127.0.0.1 that accepts and then stays silent, or closes at once. */
async function listener(
  ctx: Ctx,
  behaviour: "silent" | "close" | "http",
): Promise<number> {
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => {});
    if (behaviour === "close") socket.destroy();
    if (behaviour === "http") socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  ctx.defer(() =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    })
  );
  return (server.address() as { port: number }).port;
}

/** The server URL of the fresh database with another password. */
function withPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = password;
  return u.toString();
}

/** The ports of the listeners a case started, by name. */
const ports = new Map<string, number>();

const CASES: Case[] = [
  // ------------------------------------------------------------ file names
  {
    name: "a file name without a version",
    fixture: "2025_01_02_misnamed.sql",
    args: ["apply"],
    exit: 3,
    code: "INVALID_FILE_NAME",
    line:
      /migrations\/2025_01_02_misnamed\.sql: file name must be YYYYMMDD_HHMMSS_description\.sql/,
  },
  {
    name: "a Flyway-style name",
    fixture: "V2__flyway_style.sql",
    args: ["apply"],
    exit: 3,
    code: "INVALID_FILE_NAME",
    line: file("V2__flyway_style.sql"),
  },
  {
    name: "a version without a description",
    fixture: "20250102_000000.sql",
    args: ["status"],
    exit: 3,
    code: "INVALID_FILE_NAME",
    line: file("20250102_000000.sql"),
  },
  {
    name: "an upper-case .SQL extension",
    fixture: "20250102_000000_upper_extension.SQL",
    args: ["apply"],
    exit: 3,
    code: "INVALID_FILE_NAME",
    line: file("20250102_000000_upper_extension.SQL"),
  },
  {
    name: "the date 20251399_250000",
    fixture: "20251399_250000_impossible_date.sql",
    args: ["apply"],
    exit: 3,
    code: "INVALID_VERSION",
    line:
      /20251399_250000_impossible_date\.sql: 20251399_250000 is not a valid version \(month 13 does not exist\)/,
  },
  {
    name: "29 February of a common year",
    fixture: "20250229_120000_not_a_leap_year.sql",
    args: ["apply"],
    exit: 3,
    code: "INVALID_VERSION",
    line: /20250229_120000_not_a_leap_year\.sql: .*day 29 does not exist in 2025-02/,
  },
  {
    name: "hour 24",
    fixture: "20250102_240000_hour_24.sql",
    args: ["status"],
    exit: 3,
    code: "INVALID_VERSION",
    line: /20250102_240000_hour_24\.sql: .*hour 24 does not exist/,
  },
  {
    name: "two files with the same version",
    fixture: "20250101_000000_same_version_as_good.sql",
    args: ["apply"],
    exit: 3,
    code: "DUPLICATE_VERSION",
    line:
      /migrations\/20250101_000000_good\.sql and migrations\/20250101_000000_same_version_as_good\.sql have the same version 20250101_000000/,
  },
  // ------------------------------------------------------------ markers
  {
    name: "no -- UP marker",
    fixture: "20250102_000000_no_markers.sql",
    args: ["apply"],
    exit: 3,
    code: "INVALID_MIGRATION",
    line: /_no_markers\.sql: missing the '-- UP' line/,
  },
  {
    name: "an empty file",
    fixture: "20250102_000000_empty_file.sql",
    args: ["apply"],
    exit: 3,
    code: "INVALID_MIGRATION",
    line: /_empty_file\.sql: missing the '-- UP' line/,
  },
  {
    name: "no -- DOWN marker",
    fixture: "20250102_000000_missing_down.sql",
    args: ["apply"],
    exit: 3,
    code: "INVALID_MIGRATION",
    line: /_missing_down\.sql: missing the '-- DOWN' line/,
  },
  {
    name: "-- UP twice",
    fixture: "20250102_000000_duplicate_up.sql",
    args: ["apply"],
    exit: 3,
    code: "INVALID_MIGRATION",
    line: /_duplicate_up\.sql:3: '-- UP' appears twice/,
  },
  {
    name: "-- DOWN twice",
    fixture: "20250102_000000_duplicate_down.sql",
    args: ["apply"],
    exit: 3,
    code: "INVALID_MIGRATION",
    line: /_duplicate_down\.sql:5: '-- DOWN' appears twice/,
  },
  {
    name: "-- DOWN before -- UP",
    fixture: "20250102_000000_down_before_up.sql",
    args: ["apply"],
    exit: 3,
    code: "INVALID_MIGRATION",
    line: /_down_before_up\.sql:1: '-- DOWN' comes before '-- UP'/,
  },
  {
    name: "a marker with text after it",
    fixture: "20250102_000000_marker_with_text.sql",
    args: ["apply"],
    exit: 3,
    code: "INVALID_MIGRATION",
    line: /_marker_with_text\.sql:2: SQL before '-- UP'/,
  },
  {
    name: "SQL before -- UP",
    fixture: "20250102_000000_sql_before_up.sql",
    args: ["apply"],
    exit: 3,
    code: "INVALID_MIGRATION",
    line: /_sql_before_up\.sql:1: SQL before '-- UP'/,
  },
  {
    name: "an empty UP",
    fixture: "20250102_000000_empty_up.sql",
    args: ["apply"],
    exit: 3,
    code: "EMPTY_UP",
    line: /_empty_up\.sql:2: UP section is empty/,
  },
  {
    name: "an UP of comments only",
    fixture: "20250102_000000_comment_only_up.sql",
    args: ["apply"],
    exit: 3,
    code: "EMPTY_UP",
    line: /_comment_only_up\.sql:2: UP section is empty/,
  },
  {
    name: "an unknown '-- Transaction:' header",
    fixture: "20250102_000000_unknown_transaction_header.sql",
    args: ["apply"],
    exit: 3,
    code: "INVALID_MIGRATION",
    line: /_unknown_transaction_header\.sql:1: unknown '-- Transaction: maybe'/,
  },
  // ------------------------------------------------------------ contents
  {
    name: "binary content (a PNG)",
    fixture: "20250102_000000_binary.sql",
    args: ["apply"],
    exit: 3,
    code: "INVALID_ENCODING",
    line: /_binary\.sql: not valid UTF-8 text; save the file as UTF-8/,
  },
  {
    name: "Latin-1 text (invalid UTF-8)",
    fixture: "20250102_000000_latin1.sql",
    args: ["apply"],
    exit: 3,
    code: "INVALID_ENCODING",
    line: /_latin1\.sql: not valid UTF-8 text/,
  },
  {
    name: "UTF-16 text",
    fixture: "20250102_000000_utf16.sql",
    args: ["apply"],
    exit: 3,
    code: "INVALID_ENCODING",
    line: /_utf16\.sql: not valid UTF-8 text/,
  },
  {
    name: "a NUL byte in UTF-8 text",
    fixture: "20250102_000000_nul_byte.sql",
    args: ["apply"],
    exit: 3,
    code: "INVALID_ENCODING",
    line: /_nul_byte\.sql:3: contains a NUL byte/,
  },
  {
    name: "an unterminated string",
    fixture: "20250102_000000_unterminated_string.sql",
    args: ["apply"],
    exit: 3,
    code: "UNTERMINATED",
    line: /_unterminated_string\.sql:3: unterminated string '\.\.\.' opens here/,
  },
  {
    name: "an unterminated E'' string ending in a backslash",
    fixture: "20250102_000000_unterminated_escape_string.sql",
    args: ["apply"],
    exit: 3,
    code: "UNTERMINATED",
    line: /_unterminated_escape_string\.sql:3: unterminated escape string/,
  },
  {
    name: "an unterminated quoted identifier",
    fixture: "20250102_000000_unterminated_identifier.sql",
    args: ["apply"],
    exit: 3,
    code: "UNTERMINATED",
    line: /_unterminated_identifier\.sql:2: unterminated quoted identifier/,
  },
  {
    name: "a dollar quote closed with another tag",
    fixture: "20250102_000000_unterminated_dollar_quote.sql",
    args: ["apply"],
    exit: 3,
    code: "UNTERMINATED",
    line: /_unterminated_dollar_quote\.sql:2: unterminated dollar-quoted string \$body\$/,
  },
  {
    name: "a nested block comment left open",
    fixture: "20250102_000000_unterminated_comment.sql",
    args: ["apply"],
    exit: 3,
    code: "UNTERMINATED",
    line: /_unterminated_comment\.sql:2: unterminated block comment/,
  },
  {
    name: "an unterminated string in DOWN (checked before UP runs)",
    fixture: "20250102_000000_unterminated_string_in_down.sql",
    args: ["apply"],
    exit: 3,
    code: "UNTERMINATED",
    line: /_unterminated_string_in_down\.sql:4: unterminated string/,
  },
  {
    name: "CREATE INDEX CONCURRENTLY without '-- Transaction: none'",
    fixture: "20250102_000000_concurrently_in_transaction.sql",
    args: ["apply"],
    exit: 3,
    code: "NEEDS_NO_TRANSACTION",
    line:
      /_concurrently_in_transaction\.sql:2: CREATE INDEX CONCURRENTLY cannot run inside a transaction; add the header line '-- Transaction: none'/,
  },
  {
    name: "VACUUM without '-- Transaction: none'",
    fixture: "20250102_000000_vacuum_in_transaction.sql",
    args: ["apply"],
    exit: 3,
    code: "NEEDS_NO_TRANSACTION",
    line: /_vacuum_in_transaction\.sql:3: VACUUM ANALYZE cannot run inside a transaction/,
  },
  {
    name: "COPY ... FROM STDIN with inline data",
    fixture: "20250102_000000_copy_from_stdin.sql",
    args: ["apply"],
    exit: 3,
    code: "INVALID_MIGRATION",
    line: /_copy_from_stdin\.sql:3: COPY \.\.\. FROM STDIN is not supported/,
  },
  {
    name: "a BEGIN the section never ends (applied, it would be rolled back when the session ends)",
    fixture: "20250102_000000_begin_without_commit.sql",
    args: ["apply"],
    exit: 3,
    code: "INVALID_MIGRATION",
    line:
      /_begin_without_commit\.sql:2: UP section: this opens a transaction that the section does not end; add COMMIT/,
  },
  {
    name: "a psql meta-command",
    fixture: "20250102_000000_psql_meta_command.sql",
    args: ["apply"],
    exit: 3,
    code: "INVALID_MIGRATION",
    line: /_psql_meta_command\.sql:2: \\set is a psql meta-command, not SQL/,
  },
  // ------------------------------------------------------------ files and directories
  {
    name: `a 50 MB file (limit ${DEFAULTS.maxFileBytes} bytes)`,
    make: ({ dir }) => {
      const chunk = "SELECT 1; -- padding padding padding padding padding padding padding\n";
      const body = chunk.repeat(Math.ceil(50 * 1024 * 1024 / chunk.length));
      writeFileSync(join(dir, "20250102_000000_huge.sql"), `-- UP\n${body}-- DOWN\n`);
    },
    args: ["apply"],
    exit: 3,
    code: "FILE_TOO_LARGE",
    line: new RegExp(
      `_huge\\.sql: \\d{8} bytes is over the limit of ${DEFAULTS.maxFileBytes}; split it`,
    ),
  },
  {
    name: "a file one byte over the limit",
    make: ({ dir }) => {
      const head = "-- UP\nSELECT 1;\n-- DOWN\n";
      writeFileSync(
        join(dir, "20250102_000000_just_over.sql"),
        head + "-".repeat(DEFAULTS.maxFileBytes + 1 - head.length),
      );
    },
    args: ["apply"],
    exit: 3,
    code: "FILE_TOO_LARGE",
    line: new RegExp(`_just_over\\.sql: ${DEFAULTS.maxFileBytes + 1} bytes is over the limit`),
  },
  {
    name: "a migrations directory that does not exist",
    args: ["apply", "--migrations-dir", "nowhere"],
    exit: 3,
    code: "DIRECTORY_NOT_FOUND",
    line: /^error: migrations directory nowhere does not exist/,
  },
  {
    name: "a migrations directory that is a file",
    make: ({ root }) => writeFileSync(join(root, "plain-file"), "x"),
    args: ["apply", "--migrations-dir", "plain-file"],
    exit: 3,
    code: "DIRECTORY_NOT_FOUND",
    line: /^error: migrations directory plain-file is not a directory/,
  },
  {
    name: "a migrations directory that is a symbolic link loop",
    make: ({ root }) => symlinkSync("loop", join(root, "loop")),
    args: ["apply", "--migrations-dir", "loop"],
    exit: 3,
    code: "DIRECTORY_NOT_FOUND",
    line: /^error: migrations directory loop is a symbolic link loop/,
  },
  {
    name: "an empty --migrations-dir",
    args: ["apply", "--migrations-dir="],
    exit: 2,
    code: "USAGE",
    line: /^error: --migrations-dir is empty/,
  },
  {
    name: "a .sql that is a symbolic link to itself",
    make: ({ dir }) =>
      symlinkSync("20250102_000000_loop.sql", join(dir, "20250102_000000_loop.sql")),
    args: ["apply"],
    exit: 3,
    code: "FILE_UNREADABLE",
    line: /_loop\.sql: cannot be read \(symbolic link loop\)/,
  },
  {
    name: "a dangling symbolic link",
    make: ({ dir }) => symlinkSync("gone.sql", join(dir, "20250102_000000_dangling.sql")),
    args: ["apply"],
    exit: 3,
    code: "FILE_UNREADABLE",
    line: /_dangling\.sql: cannot be read \(broken symbolic link\)/,
  },
  {
    name: "a directory named *.sql",
    make: ({ dir }) => mkdirSync(join(dir, "20250102_000000_folder.sql")),
    args: ["apply"],
    exit: 3,
    code: "FILE_UNREADABLE",
    line: /_folder\.sql: is a directory, not a migration file/,
  },
  {
    name: "a named pipe (FIFO) named *.sql, which would block a read for ever",
    make: ({ dir }) => execFileSync("mkfifo", [join(dir, "20250102_000000_fifo.sql")]),
    args: ["apply"],
    exit: 3,
    code: "FILE_UNREADABLE",
    line: /_fifo\.sql: is a named pipe \(FIFO\), not a regular file/,
  },
  {
    name: "a symbolic link to /dev/zero, which never ends",
    make: ({ dir }) => symlinkSync("/dev/zero", join(dir, "20250102_000000_zero.sql")),
    args: ["apply"],
    exit: 3,
    code: "FILE_UNREADABLE",
    line: /_zero\.sql: is a device, not a regular file/,
  },
  {
    name: "an unreadable file (chmod 000)",
    make: ({ dir }) => {
      const path = join(dir, "20250102_000000_secret.sql");
      writeFileSync(path, GOOD.replaceAll("good", "secret"));
      chmodSync(path, 0o000);
    },
    unprivileged: true,
    args: ["apply"],
    exit: 3,
    code: "FILE_UNREADABLE",
    line: /_secret\.sql: cannot be read \(permission denied\)/,
  },
  {
    name: "an unreadable migrations directory (chmod 000)",
    make: ({ root, defer }) => {
      const locked = join(root, "locked");
      mkdirSync(locked);
      writeFileSync(join(locked, GOOD_NAME), GOOD);
      chmodSync(locked, 0o000);
      defer(() => chmodSync(locked, 0o700));
    },
    unprivileged: true,
    args: ["apply", "--migrations-dir", "locked"],
    exit: 3,
    code: "DIRECTORY_NOT_FOUND",
    line: /^error: migrations directory locked cannot be read: permission denied/,
  },
  // ------------------------------------------------------------ flags
  {
    name: "rollback --steps 0",
    applied: true,
    args: ["rollback", "--steps", "0"],
    exit: 2,
    code: "USAGE",
    line: /^error: --steps must be a whole number of at least 1, got '0'$/,
  },
  {
    name: "rollback --steps -1",
    applied: true,
    args: ["rollback", "--steps", "-1"],
    exit: 2,
    code: "USAGE",
    line: /^error: --steps must be a whole number of at least 1, got '-1'$/,
  },
  {
    name: "rollback --steps abc",
    applied: true,
    args: ["rollback", "--steps", "abc"],
    exit: 2,
    code: "USAGE",
    line: /^error: --steps must be a whole number of at least 1, got 'abc'$/,
  },
  {
    name: "rollback --steps 1.5",
    applied: true,
    args: ["rollback", "--steps", "1.5"],
    exit: 2,
    code: "USAGE",
    line: /^error: --steps must be a whole number of at least 1, got '1\.5'$/,
  },
  {
    name: "rollback --steps beyond a safe integer",
    applied: true,
    args: ["rollback", "--steps", "99999999999999999999"],
    exit: 2,
    code: "USAGE",
    line: /^error: --steps must be a whole number/,
  },
  {
    name: "rollback with both --steps and --to",
    applied: true,
    args: ["rollback", "--steps", "1", "--to", "0"],
    exit: 2,
    code: "USAGE",
    line: /^error: give --steps or --to, not both$/,
  },
  {
    name: "apply --to naming an unknown version",
    args: ["apply", "--to", "20990101_000000"],
    exit: 2,
    code: "UNKNOWN_VERSION",
    line: /^error: --to 20990101_000000: no migration has this version/,
  },
  {
    name: "rollback --to naming an unknown version",
    applied: true,
    args: ["rollback", "--to", "20200101_000000"],
    exit: 2,
    code: "UNKNOWN_VERSION",
    line: /^error: --to 20200101_000000: no migration has this version/,
  },
  {
    name: "apply --to that is not a version",
    args: ["apply", "--to", "latest"],
    exit: 2,
    code: "USAGE",
    line: /^error: --to must be a migration version YYYYMMDD_HHMMSS, got 'latest'$/,
  },
  {
    name: "--table 'x; drop table y'",
    args: ["apply", "--table", "x; drop table y"],
    exit: 2,
    code: "INVALID_TABLE_NAME",
    line: /^error: --table "x; drop table y": names may hold only ASCII letters/,
  },
  {
    name: "--table with a single quote",
    args: ["init", "--table", "a'b"],
    exit: 2,
    code: "INVALID_TABLE_NAME",
    line: /^error: --table "a'b": names may hold only/,
  },
  {
    name: "--table with a double quote",
    args: ["status", "--table", 'm"; DROP SCHEMA public; --'],
    exit: 2,
    code: "INVALID_TABLE_NAME",
    line: /^error: --table "m\\"; DROP SCHEMA public; --": names may hold only/,
  },
  {
    name: "--table of 64 characters",
    args: ["apply", "--table", "t".repeat(64)],
    exit: 2,
    code: "INVALID_TABLE_NAME",
    line: /^error: --table "t{64}": a name part is longer than PostgreSQL's 63 characters/,
  },
  {
    name: "--table with non-ASCII letters",
    args: ["apply", "--table", "migrações"],
    exit: 2,
    code: "INVALID_TABLE_NAME",
    line: /^error: --table "migrações": names may hold only ASCII letters/,
  },
  {
    name: "--table with three parts",
    args: ["apply", "--table", "db.schema.table"],
    exit: 2,
    code: "INVALID_TABLE_NAME",
    line: /^error: --table "db\.schema\.table": use TABLE or SCHEMA\.TABLE$/,
  },
  {
    name: "--statement-timeout beyond PostgreSQL's range",
    args: ["apply", "--statement-timeout", "99999999999h"],
    exit: 2,
    code: "USAGE",
    line: /^error: --statement-timeout 99999999999h is over PostgreSQL's limit/,
  },
  {
    name: "--lock-timeout that is not a duration",
    args: ["apply", "--lock-timeout", "soon"],
    exit: 2,
    code: "USAGE",
    line: /^error: --lock-timeout must be a duration/,
  },
  {
    name: "--connect-timeout 0",
    args: ["status", "--connect-timeout", "0"],
    exit: 2,
    code: "USAGE",
    line: /^error: --connect-timeout must be a positive number of seconds, got '0'$/,
  },
  {
    name: "--lock-wait -5",
    args: ["apply", "--lock-wait", "-5"],
    exit: 2,
    code: "USAGE",
    line: /^error: --lock-wait must be a non-negative number of seconds, got '-5'$/,
  },
  {
    name: "DATA_BRIDGE_LOCK_TIMEOUT that is not a duration",
    env: { DATA_BRIDGE_LOCK_TIMEOUT: "soon" },
    args: ["apply"],
    exit: 2,
    code: "USAGE",
    line:
      /^error: DATA_BRIDGE_LOCK_TIMEOUT must be a duration such as 5s, 500ms, 2min or 0, got 'soon'$/,
  },
  {
    name: "--out-of-order that is neither allow nor refuse",
    args: ["apply", "--out-of-order", "warn"],
    exit: 2,
    code: "USAGE",
    line: /^error: --out-of-order must be allow or refuse, got 'warn'$/,
  },
  {
    name: "DATA_BRIDGE_OUT_OF_ORDER that is neither allow nor refuse",
    env: { DATA_BRIDGE_OUT_OF_ORDER: "never" },
    args: ["apply"],
    exit: 2,
    code: "USAGE",
    line: /^error: DATA_BRIDGE_OUT_OF_ORDER must be allow or refuse, got 'never'$/,
  },
  {
    name: "--connect-wait that is not a number",
    args: ["status", "--connect-wait", "soon"],
    exit: 2,
    code: "USAGE",
    line: /^error: --connect-wait must be a non-negative number of seconds, got 'soon'$/,
  },
  {
    name: "--single-transaction with a migration that runs outside a transaction",
    make: (ctx) => {
      writeFileSync(
        join(ctx.dir, "20250102_000000_index.sql"),
        migrationText(
          "CREATE INDEX CONCURRENTLY good_id ON good (id);",
          "",
          "-- Transaction: none",
        ),
      );
    },
    args: ["apply", "--single-transaction"],
    exit: 3,
    code: "SINGLE_TRANSACTION",
    line:
      /^error: migrations\/20250102_000000_index\.sql runs outside a transaction \(-- Transaction: none\), which --single-transaction cannot hold/,
  },
  {
    name: "import --from a tool it does not read",
    args: ["import", "--from", "liquibase", "db/changelog"],
    exit: 2,
    code: "USAGE",
    line: /^error: --from must name the tool: dbmate, .*, got 'liquibase'$/,
  },
  {
    name: "import of a dbmate file without its '-- migrate:up' line",
    make: (ctx) => {
      mkdirSync(join(ctx.root, "dbmate"));
      writeFileSync(join(ctx.root, "dbmate", "20240101000000_x.sql"), "CREATE TABLE x ();\n");
    },
    args: ["import", "--from", "dbmate", "dbmate"],
    exit: 3,
    code: "INVALID_MIGRATION",
    line: /^error: 20240101000000_x\.sql: cannot be imported: no '-- migrate:up' line$/,
  },
  {
    name: "drift --ignore naming no kind of object",
    args: ["drift", "--ignore", "indexes"],
    exit: 2,
    code: "USAGE",
    line:
      /^error: --ignore: 'indexes' names no kind of object; use KIND or KIND:NAME with a kind of /,
  },
  {
    name: "drift on a scratch database of another PostgreSQL major version",
    args: ["drift"],
    exit: 2,
    code: "USAGE",
    line:
      /^error: the scratch database pglite:memory runs PostgreSQL 18 and the database 1\d, .* pass --scratch-url with a PostgreSQL 1\d server/,
  },
  {
    name: "an unknown option",
    args: ["apply", "--force"],
    exit: 2,
    code: "USAGE",
    line: /^error: unknown option --force; run data-bridge --help$/,
  },
  {
    name: "an option of another command",
    args: ["status", "--steps", "2"],
    exit: 2,
    code: "USAGE",
    line: /^error: --steps is not an option of status/,
  },
  {
    name: "an unknown command",
    args: ["migrate-all"],
    exit: 2,
    code: "USAGE",
    line: /^error: unknown command 'migrate-all'; run data-bridge --help$/,
  },
  {
    name: "--password-file that does not exist",
    args: ["apply", "--password-file", "no-such-file"],
    exit: 2,
    code: "USAGE",
    line: /^error: --password-file no-such-file cannot be read \(ENOENT\)$/,
  },
  {
    name: "an empty --password-file",
    make: ({ root }) => writeFileSync(join(root, "pw"), ""),
    args: ["apply", "--password-file", "pw"],
    exit: 2,
    code: "USAGE",
    line: /^error: --password-file pw is empty$/,
  },
  // ------------------------------------------------------------ URLs
  {
    name: "a malformed URL",
    args: ["apply", "--database-url", "postgres://app:Hunter2@[::1"],
    exit: 2,
    code: "INVALID_URL",
    line: /^error: --database-url: postgres:\/\/app:\*\*\*@\[::1 is not a valid URL/,
  },
  {
    name: "a malformed URL whose password holds an unencoded '#'",
    args: ["apply", "--database-url", "postgres://app:Hunter2#x@127.0.0.1:1/app"],
    exit: 2,
    code: "INVALID_URL",
    line: /^error: --database-url: postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/app is not a valid URL/,
  },
  {
    name: "a malformed URL whose password holds an unencoded '?'",
    args: ["apply", "--database-url", "postgres://app:Hunter2?x@127.0.0.1:1/app"],
    exit: 2,
    code: "INVALID_URL",
    line: /^error: --database-url: postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/app is not a valid URL/,
  },
  {
    name: "a malformed DATABASE_URL",
    env: { DATABASE_URL: "postgres://app:Hunter2@db:99999/x" },
    args: ["apply"],
    exit: 2,
    code: "INVALID_URL",
    line: /^error: DATABASE_URL: port 99999 is out of range$/,
  },
  {
    name: "an unknown URL scheme",
    args: ["apply", "--database-url", "mysql://root:Hunter2@localhost/app"],
    exit: 2,
    code: "INVALID_URL",
    line: /^error: --database-url: unknown scheme 'mysql:'/,
  },
  {
    name: "an http:// URL",
    args: ["status", "--database-url", "https://db.example.com/app"],
    exit: 2,
    code: "INVALID_URL",
    line: /^error: --database-url: unknown scheme 'https:'/,
  },
  {
    name: "a host:port without a scheme",
    args: ["status", "--database-url", "localhost:5432/app"],
    exit: 2,
    code: "INVALID_URL",
    line: /^error: --database-url: unknown scheme 'localhost:'/,
  },
  {
    name: "port 0",
    args: ["status", "--database-url", "postgres://app@localhost:0/app"],
    exit: 2,
    code: "INVALID_URL",
    line: /^error: --database-url: port 0 is out of range$/,
  },
  {
    name: "a bare % in the password",
    args: ["status", "--database-url", "postgres://app:50%off@localhost/app"],
    exit: 2,
    code: "INVALID_URL",
    line:
      /^error: --database-url: the user name or password holds a '%' .*write a literal % as %25$/,
  },
  {
    name: "an unknown sslmode",
    args: ["status", "--database-url", "postgres://app@localhost/app?sslmode=strict"],
    exit: 2,
    code: "INVALID_URL",
    line: /^error: the database URL's sslmode 'strict' is not known/,
  },
  {
    name: "an sslrootcert that does not exist",
    args: [
      "status",
      "--database-url",
      "postgres://app@localhost/app?sslmode=verify-full&sslrootcert=no-ca.pem",
    ],
    exit: 2,
    code: "INVALID_URL",
    line: /^error: sslrootcert=no-ca\.pem cannot be read: ENOENT$/,
  },
  {
    name: "an sslrootcert that is not a certificate",
    make: ({ root }) => writeFileSync(join(root, "ca.pem"), "not a certificate\n"),
    args: [
      "status",
      "--database-url",
      "postgres://app@localhost/app?sslmode=verify-full&sslrootcert=ca.pem",
    ],
    exit: 2,
    code: "INVALID_URL",
    line: /^error: sslrootcert=ca\.pem holds no PEM certificate/,
  },
  {
    name: "an unknown target_session_attrs",
    args: [
      "status",
      "--database-url",
      "postgres://app:Hunter2@localhost/app?target_session_attrs=fastest",
    ],
    exit: 2,
    code: "INVALID_URL",
    line:
      /^error: database URL postgres:\/\/app:\*\*\*@localhost\/app\?target_session_attrs=fastest: target_session_attrs fastest is not supported$/,
  },
  {
    name: "pglite: without a folder",
    args: ["status", "--database-url", "pglite:"],
    exit: 2,
    code: "INVALID_URL",
    line: /^error: --database-url: pglite: needs a folder/,
  },
  // ------------------------------------------------------------ servers
  {
    name: "a wrong password",
    args: ({ url }) => ["apply", "--database-url", withPassword(url, "Wrong-Hunter2")],
    exit: 1,
    code: "CONNECTION_FAILED",
    line:
      /^error: cannot connect to postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/t_\w+: password authentication failed for user "postgres"; check the user name and password$/,
  },
  {
    name: "a database that does not exist",
    args: ({ url }) => ["apply", "--database-url", withDatabase(url, "no_such_database")],
    exit: 1,
    code: "CONNECTION_FAILED",
    line:
      /database "no_such_database" does not exist; create the database \(apply --create-database does\) or fix the URL$/,
  },
  // Under Bun the server's close arrives before its refusal is reported: the refusal must win.
  {
    name: "a wrong password, under Bun",
    runtime: "bun",
    args: ({ url }) => ["apply", "--database-url", withPassword(url, "Wrong-Hunter2")],
    exit: 1,
    code: "CONNECTION_FAILED",
    line: /: password authentication failed for user "postgres"; check the user name and password$/,
  },
  {
    name: "a database that does not exist, under Bun",
    runtime: "bun",
    args: ({ url }) => ["apply", "--database-url", withDatabase(url, "no_such_database")],
    exit: 1,
    code: "CONNECTION_FAILED",
    line:
      /database "no_such_database" does not exist; create the database \(apply --create-database does\) or fix the URL$/,
  },
  {
    name: "a port nobody listens on",
    args: ["apply", "--database-url", "postgres://app:Hunter2@127.0.0.1:1/app"],
    exit: 1,
    code: "CONNECTION_FAILED",
    line:
      /^error: cannot connect to postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/app: connection refused at 127\.0\.0\.1:1/,
  },
  {
    name: "a port nobody listens on, with --connect-wait 1",
    args: [
      "apply",
      "--connect-wait",
      "1",
      "--database-url",
      "postgres://app:Hunter2@127.0.0.1:1/app",
    ],
    exit: 1,
    code: "CONNECTION_FAILED",
    line:
      /^error: cannot connect to postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/app: connection refused at 127\.0\.0\.1:1; .* \(still so after trying for 1(\.\d)?s: --connect-wait\)$/,
  },
  {
    name: "a host name that does not resolve",
    args: [
      "apply",
      "--connect-timeout",
      "5",
      "--database-url",
      "postgres://app@no-such-host.invalid/app",
    ],
    exit: 1,
    code: "CONNECTION_FAILED",
    // Without a reachable resolver the lookup itself can run into the timeout.
    line:
      /^error: cannot connect to postgres:\/\/app@no-such-host\.invalid\/app: (host of no-such-host\.invalid not found|no PostgreSQL session with no-such-host\.invalid within 5s)/,
  },
  {
    name: "a server that accepts and never answers, with --connect-timeout 2",
    make: async (ctx) => void ports.set("silent", await listener(ctx, "silent")),
    args: () => [
      "apply",
      "--connect-timeout",
      "2",
      "--database-url",
      `postgres://app@127.0.0.1:${ports.get("silent")}/app`,
    ],
    timeoutSeconds: 2,
    waitsFullTimeout: true,
    exit: 1,
    code: "CONNECTION_FAILED",
    line: /no PostgreSQL session with 127\.0\.0\.1:\d+ within 2s \(--connect-timeout\)/,
  },
  {
    name: "a server that accepts and never answers, with connect_timeout=2 in the URL",
    make: async (ctx) => void ports.set("silent-url", await listener(ctx, "silent")),
    args: () => [
      "apply",
      "--database-url",
      `postgres://app@127.0.0.1:${ports.get("silent-url")}/app?connect_timeout=2`,
    ],
    timeoutSeconds: 2,
    waitsFullTimeout: true,
    exit: 1,
    code: "CONNECTION_FAILED",
    line: /no PostgreSQL session with 127\.0\.0\.1:\d+ within 2s/,
  },
  {
    name: "a connect_timeout in the URL that is not a number",
    args: ["status", "--database-url", "postgres://app@localhost/app?connect_timeout=soon"],
    exit: 2,
    code: "INVALID_URL",
    line:
      /^error: the database URL's connect_timeout must be a whole number of seconds, got 'soon'$/,
  },
  {
    name: "an HTTP server where PostgreSQL was expected, with --connect-timeout 2",
    make: async (ctx) => void ports.set("http", await listener(ctx, "http")),
    args: () => [
      "apply",
      "--connect-timeout",
      "2",
      "--database-url",
      `postgres://app@127.0.0.1:${ports.get("http")}/app`,
    ],
    timeoutSeconds: 2,
    exit: 1,
    code: "CONNECTION_FAILED",
    line:
      /127\.0\.0\.1:\d+ (closed the connection before the session started|within 2s \(--connect-timeout\))/,
  },
  {
    name: "a server that closes every connection at once, with --connect-timeout 2",
    make: async (ctx) => void ports.set("close", await listener(ctx, "close")),
    args: () => [
      "apply",
      "--connect-timeout",
      "2",
      "--database-url",
      `postgres://app@127.0.0.1:${ports.get("close")}/app`,
    ],
    timeoutSeconds: 2,
    exit: 1,
    code: "CONNECTION_FAILED",
    line:
      /127\.0\.0\.1:\d+ (closed the connection before the session started|within 2s \(--connect-timeout\))/,
  },
  {
    name: "a non-routable address (10.255.255.1), with --connect-timeout 2",
    args: ["apply", "--connect-timeout", "2", "--database-url", "postgres://app@10.255.255.1/app"],
    timeoutSeconds: 2,
    exit: 1,
    code: "CONNECTION_FAILED",
    // Where a network accepts connections to unroutable addresses and drops
    // them at once (this sandbox's does), that is what is said.
    line:
      /10\.255\.255\.1 (within 2s \(--connect-timeout\)|is unreachable|closed the connection before the session started)/,
  },
  // ------------------------------------------------------------ defects
  {
    name: "an unexpected error inside a dependency (a defect, not bad input) quoting the URL",
    defect: true,
    // TLS connections are made by postgres.js, the dependency made to fail.
    args: ["apply", "--database-url", "postgres://app:Hunter2@127.0.0.1:1/app?sslmode=require"],
    exit: 1,
    code: "INTERNAL",
    line:
      /^error: internal error: simulated defect: Invalid URL: 'postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/app'; please report this at https:\/\/github\.com\/data-bridge\/data-bridge\/issues$/,
  },
];

/** Relations, schemas, functions and history rows: what "unchanged" compares. */
async function snapshot(sql: postgres.Sql): Promise<string[]> {
  const rows = await sql.unsafe<{ o: string }[]>(
    `SELECT n.nspname || '.' || c.relname || ':' || c.relkind::text AS o
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
     UNION ALL
     SELECT 'schema ' || nspname FROM pg_namespace
      WHERE nspname NOT LIKE 'pg\\_%' AND nspname NOT IN ('information_schema', 'public')
     UNION ALL
     SELECT 'function ' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
     ORDER BY 1`,
  );
  const out = rows.map((r) => r.o);
  if (out.includes("public._migrations:r")) {
    const history = await sql.unsafe<{ h: string }[]>(
      "SELECT version || ' ' || checksum AS h FROM _migrations ORDER BY 1",
    );
    out.push(...history.map((r) => `row ${r.h}`));
  }
  return out;
}

/** As root, drops the capabilities that let root read any file. */
function unprivileged(args: string[], cwd: string, env: Record<string, string>) {
  const deno = [Deno.execPath(), "run", "-A", "--quiet", CLI, ...args];
  if (userInfo().uid !== 0) return start(deno[0], deno.slice(1), { cwd, env }).done;
  // Root reads chmod 000 files; without these capabilities it cannot.
  return start(
    "setpriv",
    ["--bounding-set=-dac_override,-dac_read_search", ...deno],
    { cwd, env },
  ).done;
}

function run(c: Case, args: string[], ctx: Ctx): Promise<Result> {
  const env = { DATABASE_URL: ctx.url, ...c.env };
  if (c.unprivileged) return unprivileged(args, ctx.root, env);
  if (c.defect) {
    return start(
      Deno.execPath(),
      ["run", "-A", "--quiet", `--import-map=${DEFECT_MAP}`, CLI, ...args],
      { cwd: ctx.root, env },
    ).done;
  }
  return cli(args, { cwd: ctx.root, env, runtime: c.runtime });
}

async function timed<T>(work: Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await work;
  return [result, performance.now() - started];
}

/** Milliseconds a CLI run takes when it fails at once; timeouts are judged against it. */
let floorMs: number | undefined;
async function startupFloor(cwd: string): Promise<number> {
  if (floorMs === undefined) {
    const url = "postgres://app@127.0.0.1:1/app";
    // Two at once, as the timed cases run their human and --json runs.
    const runs = await Promise.all([
      timed(cli(["status", "--database-url", url], { cwd })),
      timed(cli(["status", "--json", "--database-url", url], { cwd })),
    ]);
    for (const [result] of runs) assertEquals(result.code, 1, result.stderr);
    floorMs = Math.max(...runs.map(([, ms]) => ms));
  }
  return floorMs;
}

Deno.test("the bad-input corpus has at least 40 cases, 30 of them committed files", () => {
  assert(CASES.length >= 40, `${CASES.length} cases`);
  const fixtures = [...Deno.readDirSync(FIXTURES)].map((e) => e.name).sort();
  const used = CASES.flatMap((c) => (c.fixture ? [c.fixture] : [])).sort();
  assertEquals(used, fixtures, "every fixture has a case and every case's fixture exists");
  assert(fixtures.length >= 30, `${fixtures.length} fixtures`);
});

/** Runs one case and checks everything the corpus promises. */
async function check(c: Case): Promise<void> {
  const db = await freshDatabase();
  const sql = postgres(db.url, { max: 1, onnotice: () => {} });
  const t = tempMigrations({ [GOOD_NAME]: GOOD });
  const cleanups: Array<() => void | Promise<void>> = [];
  const ctx: Ctx = {
    url: db.url,
    root: t.root,
    dir: t.dir,
    defer: (fn) => void cleanups.push(fn),
  };
  try {
    if (c.fixture) copyFileSync(join(FIXTURES, c.fixture), join(t.dir, c.fixture));
    if (c.applied) {
      const setup = await cli(["apply"], { cwd: t.root, env: { DATABASE_URL: db.url } });
      assertEquals(setup.code, 0, setup.stderr);
    }
    await c.make?.(ctx);
    const before = await snapshot(sql);
    assertEquals(
      before.length === 0,
      !c.applied,
      `the fresh database holds only what the case set up: ${before}`,
    );
    const args = typeof c.args === "function" ? c.args(ctx) : c.args;
    const floor = c.timeoutSeconds ? await startupFloor(t.root) : 0;
    const [[human, humanMs], [machine, machineMs]] = await Promise.all([
      timed(run(c, args, ctx)),
      timed(run(c, [...args, "--json"], ctx)),
    ]);

    // Human: the exit code and exactly one line naming the file or flag.
    assertEquals(human.code, c.exit, `exit code; stderr: ${human.stderr}`);
    const lines = human.stderr.trimEnd().split("\n");
    assertEquals(lines.length, 1, `one line on stderr, got: ${human.stderr}`);
    assertMatch(lines[0], /^error: /);
    assertMatch(lines[0], c.line);
    assertEquals(human.stdout, "", "nothing on stdout");
    assertNotMatch(
      human.stderr,
      /^\s+at |\.ts:\d+:\d+|\b(Type|Range|Syntax|Reference)Error\b/m,
    );
    assertNotMatch(human.stderr, /Hunter2/, "no password");

    // --json: one document on stdout with the stable code, nothing on stderr.
    assertEquals(machine.code, c.exit, `--json exit code; ${machine.stdout}`);
    assertEquals(machine.stderr, "", "--json prints nothing on stderr");
    const doc = JSON.parse(machine.stdout);
    assertEquals(Object.keys(doc), ["error", "completed"]);
    assertEquals(doc.error.code, c.code);
    if (c.code === "CONNECTION_FAILED") {
      // The socket error a closing peer gives (EPIPE or ECONNRESET) can differ between runs.
      assertMatch(`error: ${doc.error.message}`, c.line);
    } else assertEquals(doc.error.message, lines[0].slice("error: ".length));
    assertEquals(doc.completed, []);
    if (c.fixture && c.exit === 3) assertMatch(String(doc.error.file), /^migrations\//);
    assertNotMatch(machine.stdout, /Hunter2/, "no password");

    if (c.timeoutSeconds) {
      const limit = c.timeoutSeconds * 1000;
      for (const ms of [humanMs, machineMs]) {
        // Within the timeout (plus the start-up a failing run takes anyway).
        assert(ms < floor + limit + 1500, `took ${ms} ms; floor ${floor} ms, timeout ${limit}`);
        if (c.waitsFullTimeout) assert(ms >= limit - 50, `gave up early, after ${ms} ms`);
      }
      console.log(
        `  ${c.name}: failed after ${Math.round(humanMs)} / ${
          Math.round(machineMs)
        } ms (start-up floor ${Math.round(floor)} ms)`,
      );
    }

    // Nothing changed: no tracking table, no object, no history row.
    assertEquals(await snapshot(sql), before);
  } finally {
    for (const fn of cleanups.reverse()) await fn();
    t.remove();
    await sql.end();
    await db.drop();
  }
}

/** Runs `work` over `items`, at most `width` at a time. */
async function pool<T>(items: T[], width: number, work: (item: T) => Promise<unknown>) {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }),
  );
}

Deno.test({
  name: "bad input: every case exits 1, 2 or 3 with one line naming the file or flag, " +
    "its JSON code, and an unchanged database",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const step = (c: Case) =>
      t.step({
        name: `${c.name} -> exit ${c.exit} ${c.code}`,
        sanitizeOps: false,
        sanitizeResources: false,
        sanitizeExit: false,
        fn: () => check(c),
      });
    // Three cases at a time; the timed ones alone at the end, so start-up is not slowed.
    await pool(CASES.filter((c) => !c.timeoutSeconds), 4, step);
    for (const c of CASES.filter((c) => c.timeoutSeconds)) await step(c);
  },
});
