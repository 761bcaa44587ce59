/**
 * The migration value and its file format.
 *
 * A migration file is named `YYYYMMDD_HHMMSS_description.sql` and holds
 * optional header comments, a line `-- UP`, the SQL to apply, a line
 * `-- DOWN` and the SQL that reverts it:
 *
 * ```sql
 * -- Migration: 20250128_120000_create_users_table
 * -- Description: create users table
 *
 * -- UP
 * CREATE TABLE users (id SERIAL PRIMARY KEY);
 *
 * -- DOWN
 * DROP TABLE users;
 * ```
 *
 * @module
 */
import { checksumBytes, checksumNormalized, normalizeText } from "./checksum.ts";
import { DEFAULTS } from "./config.ts";
import { ValidationError } from "./errors.ts";
import {
  KIND,
  LexError,
  scanTokens,
  scanTokensShared,
  splitStatements,
  type Statement,
  type TokenList,
} from "./lexer.ts";
import { lineCounter, locate, startsLine } from "./location.ts";
import { statementKind } from "./statement_kind.ts";
import { dateProblem, VALID_EVERY_MONTH } from "./version.ts";

/**
 * One migration, built once from a file or from code and never changed.
 */
export interface Migration {
  /** `YYYYMMDD_HHMMSS`. */
  version: string;
  /** The `-- Description:` header, else the file name's slug with `_` as spaces. */
  description: string;
  /** SQL of the UP section, as in the file. */
  up: string;
  /** SQL of the DOWN section; `""` when it holds no statement (irreversible). */
  down: string;
  /** SHA-256 of the whole file (BOM dropped, line endings LF), 64 hex chars. */
  checksum: string;
  /**
   * Whether each section runs in one transaction with its history row.
   * `false` with the header `-- Transaction: none`, or when a section
   * controls its own transaction (`BEGIN` ... `COMMIT`): such sections run
   * statement by statement, as written.
   */
  transactional: boolean;
  /** Path of the file, or `null` for a migration built in code. */
  file: string | null;
  /** Line of the file where the UP section's SQL starts. */
  upLine: number;
  /** Line of the file where the DOWN section's SQL starts. */
  downLine: number;
  /** Things a user should know before running it, each naming its line. */
  warnings: string[];
}

/** What {@link Migration.new} needs. */
export interface MigrationInput {
  /** `YYYYMMDD_HHMMSS`. */
  version: string;
  /** Human-readable description. */
  name: string;
  /** SQL to apply. */
  up: string;
  /** SQL that reverts it; empty or omitted makes the migration irreversible. */
  down?: string;
  /** `false` runs it statement by statement outside a transaction. Default `true`. */
  transactional?: boolean;
}

/** Strict UTF-8; a BOM is kept here and dropped with the line endings by normalizeText. */
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
// A regular expression: native, where the same check by character codes
// runs in the interpreter (the binary's JITs are held back) at twice the cost.
const FILE_NAME_RE = /^(\d{8}_\d{6})_(.+)\.sql$/;
/** A file name whose version is valid without arithmetic (see {@link plainMigrationFile}). */
const PLAIN_NAME_RE = new RegExp(`^(${VALID_EVERY_MONTH})_(.+)\\.sql$`);
/** What a text must not hold to be hashed and kept as it was read. */
const UNUSUAL_TEXT_RE = /[\r\0\uFFFD]/;
const MARKER_RE = /^--\s*(UP|DOWN)\s*$/i;
const HEADER_RE = /^--\s*(Description|Transaction)\s*:\s*(.*?)\s*$/i;

/**
 * The version and slug in a migration file name.
 *
 * @param name File name without directories, e.g. `20250128_120000_create_users.sql`.
 * @param file How to name the file in errors (default `name`).
 * @returns Version and slug.
 * @throws {ValidationError} `INVALID_FILE_NAME` or `INVALID_VERSION`.
 * @example
 * ```ts
 * import { parseFileName } from "./migration.ts";
 * console.log(parseFileName("20250128_120000_create_users.sql"));
 * // { version: "20250128_120000", slug: "create_users" }
 * ```
 */
export function parseFileName(name: string, file = name): { version: string; slug: string } {
  const m = FILE_NAME_RE.exec(name);
  if (!m) {
    throw new ValidationError(
      "INVALID_FILE_NAME",
      `${file}: file name must be YYYYMMDD_HHMMSS_description.sql (rename it, or move it out of the migrations directory)`,
      { file },
    );
  }
  // The pattern checked the version's shape: only its date is left to check.
  const problem = dateProblem(m[1]);
  if (problem) {
    throw new ValidationError(
      "INVALID_VERSION",
      `${file}: ${m[1]} is not a valid version (${problem}); versions are UTC YYYYMMDD_HHMMSS`,
      { file },
    );
  }
  return { version: m[1], slug: m[2] };
}

/**
 * Decodes a migration file's bytes as UTF-8.
 *
 * @param content File bytes.
 * @param file How to name the file in errors.
 * @returns The text.
 * @throws {ValidationError} `INVALID_ENCODING` for invalid UTF-8 or binary content.
 * @example
 * ```ts
 * import { decodeMigration } from "./migration.ts";
 * console.log(decodeMigration(new TextEncoder().encode("-- UP"), "a.sql")); // "-- UP"
 * ```
 */
export function decodeMigration(content: Uint8Array, file: string): string {
  let text: string;
  try {
    text = UTF8.decode(content);
  } catch {
    throw new ValidationError(
      "INVALID_ENCODING",
      `${file}: not valid UTF-8 text; save the file as UTF-8`,
      { file },
    );
  }
  return checkMigrationText(text, file);
}

/**
 * Refuses a text holding a NUL, which no SQL file does (the check
 * {@link decodeMigration} makes once it has decoded).
 *
 * @param text The file's text.
 * @param file How errors name the file.
 * @returns The text.
 * @throws {ValidationError} `INVALID_ENCODING` with the line of the NUL.
 * @example
 * ```ts
 * import { checkMigrationText } from "./migration.ts";
 * console.log(checkMigrationText("SELECT 1;", "a.sql")); // "SELECT 1;"
 * ```
 */
export function checkMigrationText(text: string, file: string): string {
  const nul = text.indexOf("\0");
  if (nul !== -1) {
    const { line } = locate(text, nul);
    throw new ValidationError(
      "INVALID_ENCODING",
      `${file}:${line}: contains a NUL byte; a migration must be a SQL text file`,
      { file, line },
    );
  }
  return text;
}

/**
 * Parses a migration file.
 *
 * @param source `name` is the file name (which gives the version), `file`
 *   how errors name it (usually its path), `content` its bytes or text.
 * @returns The migration.
 * @throws {ValidationError} With `file` and, where it applies, `line`, for a
 *   bad name, bad encoding, missing or repeated markers, SQL before `-- UP`,
 *   an empty UP, an unterminated string or comment, `COPY FROM STDIN`, or a
 *   statement that cannot run in a transaction without `-- Transaction: none`.
 * @example
 * ```ts
 * import { parseMigration } from "./migration.ts";
 * const migration = await parseMigration({
 *   name: "20250128_120000_create_users.sql",
 *   content: "-- UP\nCREATE TABLE users (id int);\n-- DOWN\nDROP TABLE users;\n",
 * });
 * console.log(migration.version, migration.description); // "20250128_120000" "create users"
 * ```
 */
export function parseMigration(
  source: { name: string; file?: string; content: Uint8Array | string },
): Promise<Migration> {
  try {
    return Promise.resolve(parseMigrationSync(source));
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * {@link parseMigration}, synchronously.
 *
 * @param source `name` is the file name (which gives the version), `file`
 *   how errors name it (usually its path), `content` its bytes or text.
 * @returns The migration.
 * @throws {ValidationError} As {@link parseMigration}.
 * @example
 * ```ts
 * import { parseMigrationSync } from "./migration.ts";
 * const migration = parseMigrationSync({
 *   name: "20250128_120000_init.sql",
 *   content: "-- UP\nSELECT 1;\n-- DOWN\n",
 * });
 * console.log(migration.down === ""); // true: irreversible
 * ```
 */
export function parseMigrationSync(
  source: { name: string; file?: string; content: Uint8Array | string },
): Migration {
  return parseMigrationFile(migrationFile(source));
}

/**
 * A migration file read, decoded and hashed, but not yet parsed: enough to
 * tell whether it is the file a history row recorded.
 */
export interface MigrationFile {
  /** `YYYYMMDD_HHMMSS`, from the file name. */
  version: string;
  /** The file name's part after the version, without `.sql`. */
  slug: string;
  /** Path of the file, or `null` when it was given without one. */
  file: string | null;
  /** How errors name it: the path, else the file name. */
  label: string;
  /** The text, BOM dropped, line endings LF. */
  text: string;
  /** SHA-256 of `text`, 64 hex chars: the migration's checksum. */
  checksum: string;
}

/**
 * Reads what a migration file is without parsing its SQL: version, text and
 * checksum.
 *
 * @param source As for {@link parseMigrationSync}.
 * @returns The file, ready for {@link parseMigrationFile}.
 * @throws {ValidationError} `INVALID_FILE_NAME`, `INVALID_VERSION` or `INVALID_ENCODING`.
 * @example
 * ```ts
 * import { migrationFile } from "./migration.ts";
 * const f = migrationFile({ name: "20250128_120000_init.sql", content: "-- UP\r\nSELECT 1;\r\n" });
 * console.log(f.version, f.text); // "20250128_120000" "-- UP\nSELECT 1;\n"
 * ```
 */
export function migrationFile(
  source: { name: string; file?: string; content: Uint8Array | string },
): MigrationFile {
  const label = source.file ?? source.name;
  if (typeof source.content === "string") {
    return textMigrationFile(source.name, source.file ?? null, source.content);
  }
  const { version, slug } = parseFileName(source.name, label);
  const raw = decodeMigration(source.content, label);
  // Bytes without a BOM or CR are the normalised text already: hashed as read.
  const fast = checksumBytes(source.content);
  const text = fast === null ? normalizeText(raw) : raw;
  const checksum = fast ?? checksumNormalized(text);
  return { version, slug, file: source.file ?? null, label, text, checksum };
}

/**
 * {@link migrationFile} of a file read as text: what a directory's files go
 * through, without the object of its argument (every file of every run).
 *
 * @param name File name, e.g. `20250128_120000_init.sql`.
 * @param file Its path, or `null` (then errors name `name`).
 * @param content Its text.
 * @returns The file, hashed and not parsed.
 * @throws {ValidationError} For a bad name or a NUL character.
 * @example
 * ```ts
 * import { textMigrationFile } from "./migration.ts";
 * const f = textMigrationFile("20250128_120000_init.sql", null, "-- UP\r\nSELECT 1;\r\n");
 * console.log(f.version, JSON.stringify(f.text)); // "20250128_120000" "\"-- UP\\nSELECT 1;\\n\""
 * ```
 */
export function textMigrationFile(
  name: string,
  file: string | null,
  content: string,
): MigrationFile {
  const label = file ?? name;
  const { version, slug } = parseFileName(name, label);
  const text = normalizeText(checkMigrationText(content, label));
  return { version, slug, file, label, text, checksum: checksumNormalized(text) };
}

/**
 * {@link textMigrationFile} of the common case, in one step: a name whose
 * version has a day every month has (01-28) and a time that exists, a text
 * without a byte order mark, CR, NUL or replacement character. Anything
 * else gives `null`, for {@link textMigrationFile} to check, normalise or
 * refuse. What a directory's files go through first (each check here is
 * one native match, where the general path's steps run in the binary's
 * interpreter: ~0.6 µs a file less).
 *
 * @param name File name.
 * @param file Its path (also how errors name it).
 * @param text Its text as read.
 * @returns The file, hashed and not parsed, or `null`.
 * @example
 * ```ts
 * import { plainMigrationFile, textMigrationFile } from "./migration.ts";
 * const text = "-- UP\nSELECT 1;\n-- DOWN\n";
 * const f = plainMigrationFile("20250128_120000_init.sql", "m/20250128_120000_init.sql", text);
 * console.log(f?.checksum === textMigrationFile("20250128_120000_init.sql", null, text).checksum); // true
 * console.log(plainMigrationFile("20250131_120000_init.sql", "m/x", text)); // null (day 31)
 * ```
 */
export function plainMigrationFile(
  name: string,
  file: string,
  text: string,
): MigrationFile | null {
  if (text.charCodeAt(0) === 0xfeff || UNUSUAL_TEXT_RE.test(text)) return null;
  const m = PLAIN_NAME_RE.exec(name);
  if (m === null) return null;
  return { version: m[1], slug: m[2], file, label: file, text, checksum: checksumNormalized(text) };
}

/**
 * Whether `m` is a parsed migration rather than a file not yet parsed.
 *
 * @param m A migration or a file.
 * @returns `true` for a {@link Migration}.
 * @example
 * ```ts
 * import { isParsed, migrationFile, parseMigrationFile } from "./migration.ts";
 * const f = migrationFile({ name: "20250128_120000_init.sql", content: "-- UP\nSELECT 1;\n-- DOWN\n" });
 * console.log(isParsed(f), isParsed(parseMigrationFile(f))); // false true
 * ```
 */
export function isParsed(m: Migration | MigrationFile): m is Migration {
  return "up" in m;
}

/**
 * Parses a file read by {@link migrationFile}.
 *
 * @param f The file.
 * @param options `keepSource` keeps the text for {@link parsedSource}.
 * @returns The migration.
 * @throws {ValidationError} As {@link parseMigration}, for the file's contents.
 * @example
 * ```ts
 * import { migrationFile, parseMigrationFile } from "./migration.ts";
 * const f = migrationFile({ name: "20250128_120000_init.sql", content: "-- UP\nSELECT 1;\n-- DOWN\n" });
 * console.log(parseMigrationFile(f).checksum === f.checksum); // true
 * ```
 */
export function parseMigrationFile(
  f: MigrationFile,
  options: { keepSource?: boolean } = {},
): Migration {
  // A small file's scan costs more to keep than to redo.
  const keepScan = options.keepSource === true && f.text.length >= DEFAULTS.keepScanChars;
  const p = parseSections(f.text, f.label, f.version, f.slug.replaceAll("_", " "), keepScan);
  const migration: Migration = {
    version: p.version,
    description: p.description,
    up: p.up,
    down: p.down,
    transactional: p.transactional,
    upLine: p.upLine,
    downLine: p.downLine,
    warnings: p.warnings,
    checksum: f.checksum,
    file: f.file,
  };
  if (options.keepSource) SOURCES.set(migration, { text: f.text, scan: p.scan });
  return migration;
}

/**
 * What parsing a migration's text found, beyond the migration: its tokens,
 * its line comments, its markers and each section's statements.
 */
export interface ScannedSource {
  /** All tokens of the text (with the indexes of its line comments). */
  tokens: TokenList;
  /** Index of the `-- UP` marker's token. */
  up: number;
  /** Index of the `-- DOWN` marker's token. */
  down: number;
  /** The statements of each section, with their token ranges. */
  statements: { up: Statement[]; down: Statement[] };
}

/** Texts and scans kept by `parseMigrationFile(f, { keepSource: true })`, until dropped. */
const SOURCES = new WeakMap<Migration, { text: string; scan: ScannedSource | undefined }>();

/**
 * The text a migration was parsed from (BOM dropped, line endings LF: what
 * was hashed and runs), when its parse kept it (`keepSource`): what `apply`
 * lints, rather than the file read again.
 *
 * @param m A migration.
 * @returns The text, or `undefined` when none was kept (or it was dropped).
 * @example
 * ```ts
 * import { migrationFile, parseMigrationFile, parsedSource } from "./migration.ts";
 * const f = migrationFile({ name: "20250128_120000_init.sql", content: "-- UP\r\nSELECT 1;\r\n-- DOWN\r\n" });
 * console.log(parsedSource(parseMigrationFile(f, { keepSource: true }))); // "-- UP\nSELECT 1;\n-- DOWN\n"
 * console.log(parsedSource(parseMigrationFile(f))); // undefined
 * ```
 */
export function parsedSource(m: Migration): string | undefined {
  return SOURCES.get(m)?.text;
}

/**
 * What the parse of {@link parsedSource}'s text found (tokens, comments,
 * markers, statements), kept with it when the text has at least
 * `DEFAULTS.keepScanChars` characters: the lint reads it rather than
 * scanning and splitting the text again (a smaller file's scan costs more
 * memory to keep than time to redo).
 *
 * @param m A migration.
 * @returns The scan, or `undefined` when no text was kept.
 * @example
 * ```ts
 * import { migrationFile, parseMigrationFile, parsedScan } from "./migration.ts";
 * const rows = Array.from({ length: 300 }, (_, i) => `(${i}, 'row ${i}')`).join(",\n");
 * const content = `-- UP\nINSERT INTO t VALUES\n${rows};\n-- DOWN\nDELETE FROM t;\n`;
 * const f = migrationFile({ name: "20250128_120000_rows.sql", content });
 * const scan = parsedScan(parseMigrationFile(f, { keepSource: true }));
 * console.log(scan?.statements.up[0].words); // ["INSERT", "INTO", "T", "VALUES"]
 * ```
 */
export function parsedScan(m: Migration): ScannedSource | undefined {
  return SOURCES.get(m)?.scan;
}

/**
 * Lets the kept texts of these migrations go (they are also released with
 * the migrations themselves).
 *
 * @param migrations Migrations parsed with `keepSource`.
 * @example
 * ```ts
 * import { dropParsedSources, migrationFile, parseMigrationFile, parsedSource } from "./migration.ts";
 * const f = migrationFile({ name: "20250128_120000_init.sql", content: "-- UP\nSELECT 1;\n-- DOWN\n" });
 * const m = parseMigrationFile(f, { keepSource: true });
 * dropParsedSources([m]);
 * console.log(parsedSource(m)); // undefined
 * ```
 */
export function dropParsedSources(migrations: readonly Migration[]): void {
  for (const m of migrations) SOURCES.delete(m);
}

/**
 * Builds the text of a migration file.
 *
 * @param input Version, description, SQL and transaction mode.
 * @returns The file's text, as `create` writes it.
 * @example
 * ```ts
 * import { renderMigration } from "./migration.ts";
 * const text = renderMigration({
 *   version: "20250128_120000",
 *   name: "create users",
 *   up: "CREATE TABLE users (id int);",
 *   down: "DROP TABLE users;",
 * });
 * console.log(text.includes("-- UP\nCREATE TABLE users (id int);")); // true
 * ```
 */
export function renderMigration(input: MigrationInput): string {
  const slug = slugify(input.name);
  const header = [
    `-- Migration: ${input.version}_${slug}`,
    `-- Description: ${input.name.replace(/\s+/g, " ").trim()}`,
  ];
  if (input.transactional === false) header.push("-- Transaction: none");
  const body = (sql: string | undefined) => {
    const trimmed = (sql ?? "").trim();
    return trimmed ? `${trimmed}\n` : "";
  };
  return `${header.join("\n")}\n\n-- UP\n${body(input.up)}\n-- DOWN\n${body(input.down)}`;
}

/**
 * A file-name slug for a description: lowercase `[a-z0-9_]`, at most 80
 * characters.
 *
 * @param description Free text.
 * @returns The slug, `migration` when nothing usable remains.
 * @example
 * ```ts
 * import { slugify } from "./migration.ts";
 * console.log(slugify("Create Users table!")); // "create_users_table"
 * ```
 */
export function slugify(description: string): string {
  const slug = description.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "").slice(0, 80).replace(/_+$/, "");
  return slug || "migration";
}

/**
 * Builds a migration in code. Its checksum is that of the file
 * {@link renderMigration} would write, and it is validated like a file.
 */
export const Migration: {
  /** Builds a migration from its version, name and SQL. */
  new: (input: MigrationInput) => Promise<Migration>;
} = {
  /**
   * @param input Version, name, SQL and transaction mode.
   * @returns The migration (`file` is `null`).
   * @throws {ValidationError} For an invalid version or SQL, as for files.
   * @example
   * ```ts
   * import { Migration } from "./migration.ts";
   * const migration = await Migration.new({
   *   version: "20250128_120000",
   *   name: "create users",
   *   up: "CREATE TABLE users (id SERIAL PRIMARY KEY);",
   *   down: "DROP TABLE users;",
   * });
   * console.log(migration.checksum.length); // 64
   * ```
   */
  async new(input: MigrationInput): Promise<Migration> {
    const name = `${input.version}_${slugify(input.name)}.sql`;
    return await parseMigration({ name, content: renderMigration(input) });
  },
};

interface Parsed {
  version: string;
  description: string;
  up: string;
  down: string;
  transactional: boolean;
  upLine: number;
  downLine: number;
  warnings: string[];
  /** With `keepScan`. */
  scan: ScannedSource | undefined;
}

/** A parse needs only the statements: parenthesized text is not scanned token by token. */
const GROUPS = { groups: true } as const;

function parseSections(
  text: string,
  file: string,
  version: string,
  slug: string,
  keepScan: boolean,
): Parsed {
  const fail = (code: "INVALID_MIGRATION" | "EMPTY_UP", offset: number, message: string) => {
    const { line } = locate(text, offset);
    return new ValidationError(code, `${file}:${line}: ${message}`, { file, line, version });
  };
  let tokens: TokenList;
  try {
    tokens = keepScan
      ? scanTokens(text, 0, text.length, GROUPS)
      : scanTokensShared(text, 0, text.length, GROUPS);
  } catch (error) {
    if (!(error instanceof LexError)) throw error;
    const { line } = locate(text, error.offset);
    throw new ValidationError(
      "UNTERMINATED",
      `${file}:${line}: unterminated ${error.what} opens here; close it`,
      { file, line, version },
    );
  }

  let up = -1;
  let down = -1;
  let description = slug;
  let transactional = true;
  const { kinds, starts, ends, comments } = tokens;
  /** Takes a line comment: a marker, or before `-- UP` a header. */
  const comment = (t: number) => {
    const start = starts[t];
    const line = text.slice(start, ends[t]);
    const marker = MARKER_RE.exec(line);
    if (marker && startsLine(text, start)) {
      const which = marker[1].toUpperCase();
      if (which === "UP") {
        if (up !== -1) throw fail("INVALID_MIGRATION", start, "'-- UP' appears twice");
        if (down !== -1) {
          throw fail("INVALID_MIGRATION", start, "'-- UP' must come before '-- DOWN'");
        }
        up = t;
      } else {
        if (down !== -1) throw fail("INVALID_MIGRATION", start, "'-- DOWN' appears twice");
        if (up === -1) {
          throw fail("INVALID_MIGRATION", start, "'-- DOWN' comes before '-- UP'");
        }
        down = t;
      }
      return;
    }
    if (up !== -1) return;
    const header = HEADER_RE.exec(line);
    if (!header) return;
    if (header[1].toLowerCase() === "description") {
      if (header[2]) description = header[2];
    } else if (header[2].toLowerCase() === "none") {
      transactional = false;
    } else {
      throw fail(
        "INVALID_MIGRATION",
        start,
        `unknown '-- Transaction: ${header[2]}'; the only value is 'none'`,
      );
    }
  };
  // Up to '-- UP', every token: header comments only.
  let t = 0;
  for (; t < tokens.length && up === -1; t++) {
    const kind = kinds[t];
    if (kind === KIND.line_comment) comment(t);
    else if (t === tokens.backslash) {
      // Outside strings and comments a backslash is never SQL: psql's \i, \set, \gset...
      throw metaCommand(text, starts[t], fail);
    } else if (kind !== KIND.block_comment) {
      throw fail(
        "INVALID_MIGRATION",
        starts[t],
        "SQL before '-- UP'; a migration starts with header comments, then a line '-- UP'",
      );
    }
  }
  // After it, only the comments (the other markers) are looked at.
  for (const c of comments) if (c >= t) comment(c);
  // A backslash after '-- UP' is reported after the statement checks,
  // which explain COPY ... FROM STDIN data.
  const backslash = tokens.backslash === -1 ? undefined : starts[tokens.backslash];
  if (up === -1 || down === -1) {
    const missing = up === -1 ? "-- UP" : "-- DOWN";
    throw new ValidationError(
      "INVALID_MIGRATION",
      `${file}: missing the '${missing}' line; a migration needs a line '-- UP' and a line '-- DOWN'`,
      { file, version },
    );
  }

  const upStart = lineEnd(text, ends[up]);
  const upEnd = lineStart(text, starts[down]);
  const downStart = lineEnd(text, ends[down]);
  const warnings: string[] = [];
  const sections = [
    { name: "UP", from: up + 1, to: down, start: upStart, end: upEnd },
    { name: "DOWN", from: down + 1, to: tokens.length, start: downStart, end: text.length },
  ];
  let ownTransaction = false;
  const sql: string[] = [];
  const split: Statement[][] = [];
  for (const section of sections) {
    const statements = splitStatements(text, tokens, section.from, section.to);
    split.push(statements);
    if (statements.length === 0) {
      if (section.name === "UP") {
        throw fail("EMPTY_UP", section.start, "UP section is empty; add the SQL to apply");
      }
      sql.push("");
      continue;
    }
    // Where a BEGIN of the file's own opened a transaction not yet ended.
    let opened = -1;
    for (const statement of statements) {
      const kind = statementKind(statement);
      if (kind === "transaction_control") {
        opened = openedAfter(statement.words, opened, statement.start);
      }
      if (kind === "copy_stdin") {
        throw fail(
          "INVALID_MIGRATION",
          statement.start,
          "COPY ... FROM STDIN is not supported in migrations; use INSERT, or COPY from a file on the server",
        );
      }
      if (kind === "no_transaction" && transactional) {
        throw new ValidationError(
          "NEEDS_NO_TRANSACTION",
          `${file}:${locate(text, statement.start).line}: ${
            statementHead(statement.words)
          } cannot run inside a transaction; ` +
            "add the header line '-- Transaction: none' before '-- UP'",
          { file, line: locate(text, statement.start).line, version },
        );
      }
      if (kind === "transaction_control" && transactional && !ownTransaction) {
        ownTransaction = true;
        warnings.push(
          `${file}:${locate(text, statement.start).line}: ${
            statement.words[0]
          } controls the transaction; the migration runs as written, outside data-bridge's transaction, and is recorded after it succeeds`,
        );
      }
    }
    if (opened !== -1) {
      // Run as written, it would hold the history row in a transaction that
      // the session's end rolls back: reported applied, then lost.
      throw fail(
        "INVALID_MIGRATION",
        opened,
        `${section.name} section: this opens a transaction that the section does not end; ` +
          "add COMMIT after its last statement",
      );
    }
    sql.push(text.slice(section.start, section.end).trimEnd());
  }
  if (backslash !== undefined) throw metaCommand(text, backslash, fail);
  // Both lines in one pass over the text, without an excerpt of either.
  const lineAt = lineCounter(text);
  return {
    version,
    description,
    up: sql[0],
    down: sql[1],
    transactional: transactional && !ownTransaction,
    upLine: lineAt(upStart),
    downLine: lineAt(downStart),
    warnings,
    scan: keepScan ? { tokens, up, down, statements: { up: split[0], down: split[1] } } : undefined,
  };
}

/** The error for a psql meta-command at `offset`. */
function metaCommand(
  text: string,
  offset: number,
  fail: (code: "INVALID_MIGRATION", offset: number, message: string) => ValidationError,
): ValidationError {
  const command = /^\\[A-Za-z!?]*/.exec(text.slice(offset))?.[0];
  return fail(
    "INVALID_MIGRATION",
    offset,
    `${command} is a psql meta-command, not SQL; data-bridge sends the SQL to PostgreSQL without psql: remove it`,
  );
}

/** The leading words that name a statement, e.g. `CREATE UNIQUE INDEX CONCURRENTLY`. */
/**
 * Where a transaction of the file's own stands after a transaction-control
 * statement: the offset of the statement that opened it, or -1 when none is
 * open. `ROLLBACK TO` and `COMMIT PREPARED` leave it as it was; `AND CHAIN`
 * opens the next one at once.
 */
function openedAfter(words: readonly string[], opened: number, at: number): number {
  const first = words[0];
  if (first === "BEGIN" || first === "START") return opened === -1 ? at : opened;
  if (words[1] === "TO" || words[1] === "PREPARED") return opened;
  const chained = words.includes("CHAIN") && !words.includes("NO");
  return chained ? (opened === -1 ? at : opened) : -1;
}

function statementHead(words: string[]): string {
  const concurrently = words.indexOf("CONCURRENTLY");
  return words.slice(0, concurrently >= 0 && concurrently < 6 ? concurrently + 1 : 2).join(" ");
}

/** Offset just past the line break ending the line that holds `offset`. */
function lineEnd(text: string, offset: number): number {
  const nl = text.indexOf("\n", offset);
  return nl === -1 ? text.length : nl + 1;
}

/** Offset of the start of the line that holds `offset`. */
function lineStart(text: string, offset: number): number {
  return text.lastIndexOf("\n", offset - 1) + 1;
}
