/**
 * Reading a migrations directory: every `.sql` file parsed, every problem
 * collected, versions unique, sorted by version.
 *
 * @module
 */
import type { Stats } from "node:fs";
import { DEFAULTS } from "./config.ts";
import { ValidationError } from "./errors.ts";
import {
  type DirectoryEntry,
  isDirectory,
  joinPath,
  longWork,
  nextTurn,
  nodeFs,
  readDirectory,
  readTextFileSync,
} from "./runtime.ts";
import {
  isParsed,
  type Migration,
  type MigrationFile,
  migrationFile,
  parseMigrationFile,
  plainMigrationFile,
  textMigrationFile,
} from "./migration.ts";

/** Options of {@link loadMigrations}. */
export interface LoadOptions {
  /** Largest file accepted, in bytes. */
  maxFileBytes?: number;
}

/** What {@link readMigrations} found. */
export interface ReadResult {
  /** Valid migrations, sorted by version. */
  migrations: Migration[];
  /** Every problem, sorted by file. */
  problems: ValidationError[];
  /** Versions named by files that have problems (so they are not "missing"). */
  brokenVersions: string[];
}

/** What {@link scanMigrations} found. */
export interface ScanResult {
  /** Files read and hashed, not yet parsed, sorted by version. */
  files: MigrationFile[];
  /** Every problem with names, sizes, encodings and duplicate versions, sorted by file. */
  problems: ValidationError[];
  /** Versions named by files that have problems (so they are not "missing"). */
  brokenVersions: string[];
}

/**
 * Reads every migration in a directory, collecting problems instead of
 * stopping at the first. Files not ending in `.sql` and names starting with
 * `.` are ignored; any `.sql` file that is not a valid migration is a
 * problem.
 *
 * @param dir The migrations directory.
 * @param options Limits.
 * @returns The valid migrations and every problem.
 * @throws {ValidationError} `DIRECTORY_NOT_FOUND` when the directory cannot be listed.
 * @example
 * ```ts
 * import { readMigrations } from "./load.ts";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { join } from "node:path";
 * import { tmpdir } from "node:os";
 * const dir = mkdtempSync(join(tmpdir(), "db-"));
 * writeFileSync(join(dir, "20250128_120000_bad.sql"), "SELECT 1;");
 * const { migrations, problems } = await readMigrations(dir);
 * console.log(migrations.length, problems[0].code); // 0 "INVALID_MIGRATION"
 * ```
 */
export async function readMigrations(
  dir: string,
  options: LoadOptions = {},
): Promise<ReadResult> {
  const scan = await scanMigrations(dir, options);
  const { parsed, problems } = parseFiles(scan.files);
  return {
    migrations: parsed as Migration[],
    problems: sortByFile([...scan.problems, ...problems]),
    brokenVersions: [...scan.brokenVersions, ...problems.flatMap((p) => p.version ?? [])],
  };
}

/**
 * Reads and hashes every migration file in a directory without parsing its
 * SQL: what deciding which files changed since they were applied needs.
 * Problems are collected, not thrown.
 *
 * @param dir The migrations directory.
 * @param options Limits.
 * @returns The files, sorted by version, and every problem found so far.
 * @throws {ValidationError} `DIRECTORY_NOT_FOUND` when the directory cannot be listed.
 * @example
 * ```ts
 * import { scanMigrations } from "./load.ts";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { join } from "node:path";
 * import { tmpdir } from "node:os";
 * const dir = mkdtempSync(join(tmpdir(), "db-"));
 * writeFileSync(join(dir, "20250128_120000_init.sql"), "-- UP\nSELECT 1;\n-- DOWN\n");
 * const { files } = await scanMigrations(dir);
 * console.log(files[0].checksum.length); // 64
 * ```
 */
export async function scanMigrations(
  dir: string,
  options: LoadOptions = {},
): Promise<ScanResult> {
  const maxBytes = options.maxFileBytes ?? DEFAULTS.maxFileBytes;
  // Two turns of the event loop before the directory is listed: a
  // connection started beside the scan has its socket opened (Bun answers
  // a local connect in the second turn) and its startup message written, so
  // the server starts the session while the files are read, not after the
  // listing and the first files (a no-op apply of 1000 files ~0.7 ms sooner
  // in 200 alternated runs; each turn costs a few µs).
  await nextTurn();
  await nextTurn();
  const { names, special } = listSqlFiles(dir);
  const problems: ValidationError[] = [];
  const brokenVersions: string[] = [];
  const files: MigrationFile[] = [];
  // joinPath() once: an entry's name holds no separator, so the path of each is
  // this prefix and its name (node:path's join() for each cost ~2 µs a file).
  const prefix = joinPath(dir, "x").slice(0, -1);
  for (let i = 0; i < names.length; i++) {
    // Files are read synchronously (the fastest way on every runtime), with
    // a turn of the event loop now and then, so that a connection opened
    // beside the reading makes progress meanwhile.
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await nextTurn();
    const name = names[i];
    const file = prefix + name;
    const regular = special === null || !special.has(name);
    // A regular file (as the directory listed it) is read at once, as text:
    // the runtime decodes it in the same call (no buffer a file, no decoder
    // call), which hashes to what its bytes would. A replacement character
    // may stand for bytes that are not UTF-8, and a text of more than a
    // third of the limit may hold more bytes than the limit: such a file is
    // read again as bytes, whose decoding and length are exact.
    const text = regular ? readText(file) : null;
    const usable = text !== null && text.length * 3 <= maxBytes;
    const plain = usable ? plainMigrationFile(name, file, text) : null;
    if (plain !== null) {
      files.push(plain);
      continue;
    }
    try {
      const content = usable && !text.includes("\uFFFD")
        ? text
        : readMigrationFile(file, maxBytes, regular);
      files.push(
        typeof content === "string"
          ? textMigrationFile(name, file, content)
          : migrationFile({ name, file, content }),
      );
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      problems.push(error);
      const version = /^(\d{8}_\d{6})_/.exec(name)?.[1];
      if (version) brokenVersions.push(version);
    }
  }
  // Names sort as their versions (a fixed-width prefix): the files are in
  // order already, and only a check is left.
  for (let i = 1; i < files.length; i++) {
    const a = files[i - 1];
    const b = files[i];
    if (a.version === b.version) {
      problems.push(
        new ValidationError(
          "DUPLICATE_VERSION",
          `${a.label} and ${b.label} have the same version ${a.version}; rename one to a later timestamp`,
          { file: b.label, version: a.version },
        ),
      );
    }
  }
  return { files, problems: sortByFile(problems), brokenVersions };
}

/**
 * Parses files read by {@link scanMigrations}, collecting problems. A
 * migration already parsed, or a file for which `keep` returns `true`, is
 * passed through as it is.
 *
 * @param files Files (or migrations), in version order.
 * @param keep Which files need no parsing, given each with its index (default: none).
 * @param options `keepSource` keeps each parsed file's text and scan (`parsedSource`,
 *   `parsedScan`); `ahead` holds files parsed before (with the same `keepSource`)
 *   and what their parse gave, taken instead of parsing them again.
 * @returns Migrations and kept files, in the order given, and the files' problems.
 * @example
 * ```ts
 * import { migrationFile } from "./migration.ts";
 * import { parseFiles } from "./load.ts";
 * const f = migrationFile({ name: "20250128_120000_bad.sql", content: "SELECT 1;" });
 * console.log(parseFiles([f]).problems[0].code); // "INVALID_MIGRATION"
 * ```
 */
export function parseFiles(
  files: readonly (Migration | MigrationFile)[],
  keep: (file: MigrationFile, index: number) => boolean = () => false,
  options: {
    keepSource?: boolean;
    ahead?: ReadonlyMap<MigrationFile, Migration | ValidationError>;
  } = {},
): { parsed: (Migration | MigrationFile)[]; problems: ValidationError[] } {
  const ahead = options.ahead;
  // Which to parse, in one pass (a status of thousands of files parses none).
  const todo: number[] = [];
  let chars = 0;
  for (let i = 0; i < files.length; i++) {
    const f = files[i];
    if (isParsed(f) || keep(f, i)) continue;
    todo.push(i);
    if (!ahead?.has(f)) chars += f.text.length + DEFAULTS.longWorkFileChars;
  }
  if (todo.length === 0) return { parsed: files.slice(), problems: [] };
  const parsed: (Migration | MigrationFile)[] = [];
  const problems: ValidationError[] = [];
  const work = longWork();
  work.add(chars);
  try {
    let t = 0;
    for (let i = 0; i < files.length; i++) {
      const f = files[i];
      if (todo[t] !== i) {
        parsed.push(f);
        continue;
      }
      t++;
      const before = ahead?.get(f as MigrationFile);
      if (before instanceof ValidationError) {
        problems.push(before);
        continue;
      }
      try {
        parsed.push(before ?? parseMigrationFile(f as MigrationFile, options));
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        problems.push(error);
      }
    }
  } finally {
    work.end();
  }
  return { parsed, problems: sortByFile(problems) };
}

/**
 * Parses files, newest first, until `until` settles: the files a deploy is
 * likely to find pending, parsed while the history is on its way. The
 * event loop turns after each file, so that the answer is taken as soon as
 * it comes.
 *
 * @param files Files (or migrations), in version order.
 * @param until What is awaited meanwhile (its outcome is not looked at).
 * @param options `keepSource` as {@link parseFiles} will be given it.
 * @returns Each file parsed and what its parse gave, for `parseFiles`'s `ahead`.
 * @example
 * ```ts
 * import { migrationFile } from "./migration.ts";
 * import { parseAhead, parseFiles } from "./load.ts";
 * const f = migrationFile({ name: "20250128_120000_init.sql", content: "-- UP\nSELECT 1;\n-- DOWN\n" });
 * const ahead = await parseAhead([f], new Promise((resolve) => setTimeout(resolve, 10)));
 * console.log(ahead.size, parseFiles([f], undefined, { ahead }).parsed[0] === ahead.get(f)); // 1 true
 * ```
 */
export async function parseAhead(
  files: readonly (Migration | MigrationFile)[],
  until: Promise<unknown>,
  options: { keepSource?: boolean } = {},
): Promise<Map<MigrationFile, Migration | ValidationError>> {
  const ahead = new Map<MigrationFile, Migration | ValidationError>();
  let settled = false;
  const settle = () => {
    settled = true;
  };
  until.then(settle, settle);
  // Already settled: its callback runs before this turn ends.
  await Promise.resolve();
  const work = longWork();
  try {
    for (let i = files.length - 1; i >= 0 && !settled; i--) {
      const f = files[i];
      if (isParsed(f)) continue;
      work.add(f.text.length + DEFAULTS.longWorkFileChars);
      try {
        ahead.set(f, parseMigrationFile(f, options));
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        ahead.set(f, error);
      }
      await nextTurn();
    }
  } finally {
    work.end();
  }
  return ahead;
}

function sortByFile(problems: ValidationError[]): ValidationError[] {
  return problems.sort((a, b) => (a.file ?? "").localeCompare(b.file ?? ""));
}

/**
 * Loads and validates every migration in a directory.
 *
 * @param dir The migrations directory.
 * @param options Limits.
 * @returns Migrations sorted by version.
 * @throws {ValidationError} Listing every problem found: a missing directory,
 *   unreadable or oversized files, bad names or contents, duplicate versions.
 * @example
 * ```ts
 * import { loadMigrations } from "./load.ts";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { join } from "node:path";
 * import { tmpdir } from "node:os";
 * const dir = mkdtempSync(join(tmpdir(), "db-"));
 * writeFileSync(join(dir, "20250128_120000_init.sql"), "-- UP\nSELECT 1;\n-- DOWN\n");
 * const [migration] = await loadMigrations(dir);
 * console.log(migration.version); // "20250128_120000"
 * ```
 */
export async function loadMigrations(
  dir: string,
  options: LoadOptions = {},
): Promise<Migration[]> {
  const { migrations, problems } = await readMigrations(dir, options);
  if (problems.length) throw ValidationError.of(problems);
  return migrations;
}

/** Files read between two turns of the event loop. */
const YIELD_EVERY = 25;

/** The `.sql` entries of the migrations directory. */
interface SqlEntries {
  /** File names, sorted. */
  names: string[];
  /** Names the directory does not say are regular files (links, FIFOs, ...); `null` for none. */
  special: Set<string> | null;
}

function listSqlFiles(dir: string): SqlEntries {
  let entries: DirectoryEntry[];
  try {
    if (!isDirectory(dir)) {
      throw new ValidationError(
        "DIRECTORY_NOT_FOUND",
        `migrations directory ${dir} is not a directory; pass the directory with --migrations-dir`,
        { file: dir },
      );
    }
    // With the entries' types, regular files need no stat of their own.
    entries = readDirectory(dir);
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    throw new ValidationError("DIRECTORY_NOT_FOUND", directoryProblem(dir, error), { file: dir });
  }
  const names: string[] = [];
  let special: Set<string> | null = null;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    const name = entry.name;
    // Not hidden, ending in ".sql" in any case (a ".SQL" file is a problem, not ignored).
    if (name.charCodeAt(0) === 46 || !isSqlName(name)) continue;
    names.push(name);
    if (!entry.isFile()) (special ??= new Set()).add(name);
  }
  // The default sort (code units, native) is the order versions sort in.
  return { names: names.sort(), special };
}

/** Whether a name ends in `.sql`, in any case. */
function isSqlName(name: string): boolean {
  const n = name.length;
  if (n < 4 || name.charCodeAt(n - 4) !== 46) return false;
  return name.endsWith("sql") || name.slice(n - 3).toLowerCase() === "sql";
}

function directoryProblem(dir: string, error: unknown): string {
  switch ((error as { code?: string }).code) {
    case "ENOENT":
      return `migrations directory ${dir} does not exist; create it (data-bridge create NAME does) or pass --migrations-dir`;
    case "EACCES":
    case "EPERM":
      return `migrations directory ${dir} cannot be read: permission denied`;
    case "ELOOP":
      return `migrations directory ${dir} is a symbolic link loop`;
    case "ENOTDIR":
      return `migrations directory ${dir} is not a directory; pass the directory with --migrations-dir`;
    default:
      return `migrations directory ${dir} cannot be read: ${(error as Error).message}`;
  }
}

/** A file's text, or `null` when it cannot be read so (then read as bytes, which says why). */
function readText(file: string): string | null {
  try {
    return readTextFileSync(file);
  } catch {
    return null;
  }
}

/**
 * A file's content when its text as first read would not do: a link or an
 * entry of unknown type (checked first: a FIFO, device or directory is never
 * read), a file that could not be read as text, or whose text may not be
 * its bytes (see scanMigrations).
 */
function readMigrationFile(
  file: string,
  maxBytes: number,
  regular: boolean,
): Uint8Array | string {
  try {
    if (!regular) checkSpecial(file, nodeFs().statSync(file), maxBytes);
    const text = regular ? null : readText(file);
    if (text !== null && text.length * 3 <= maxBytes && !text.includes("\uFFFD")) return text;
    const bytes = nodeFs().readFileSync(file);
    if (bytes.length > maxBytes) tooLarge(file, bytes.length, maxBytes);
    return bytes;
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    const code = (error as { code?: string }).code;
    if (code === "ERR_FS_FILE_TOO_LARGE") tooLarge(file, nodeFs().statSync(file).size, maxBytes);
    const why = code === "EACCES" || code === "EPERM"
      ? "permission denied"
      : code === "ELOOP"
      ? "symbolic link loop"
      : code === "ENOENT"
      ? "broken symbolic link"
      : (error as Error).message;
    throw new ValidationError("FILE_UNREADABLE", `${file}: cannot be read (${why})`, { file });
  }
}

/** Refuses what a link (or an entry of unknown type) leads to, unless a regular file of a fitting size. */
function checkSpecial(file: string, stat: Stats, maxBytes: number): void {
  if (stat.isDirectory()) {
    throw new ValidationError(
      "FILE_UNREADABLE",
      `${file}: is a directory, not a migration file; rename it so it does not end in .sql`,
      { file },
    );
  }
  if (!stat.isFile()) {
    // A FIFO would block the read for ever; a device could be endless.
    throw new ValidationError(
      "FILE_UNREADABLE",
      `${file}: is ${specialKind(stat)}, not a regular file; replace it with the SQL file`,
      { file },
    );
  }
  if (stat.size > maxBytes) tooLarge(file, stat.size, maxBytes);
}

function tooLarge(file: string, size: number, maxBytes: number): never {
  throw new ValidationError(
    "FILE_TOO_LARGE",
    `${file}: ${size} bytes is over the limit of ${maxBytes}; split it into smaller migrations`,
    { file },
  );
}

function specialKind(stat: Stats): string {
  if (stat.isFIFO()) return "a named pipe (FIFO)";
  if (stat.isSocket()) return "a socket";
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return "a device";
  return "a special file";
}
