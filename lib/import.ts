/**
 * `import`: the migrations of another tool as data-bridge files, for a
 * project that switches to it. Pure: given the source directory's files
 * (names and texts), it returns the files to write; the CLI reads and
 * writes them.
 *
 * - **dbmate**: `VERSION_name.sql` with `-- migrate:up` and `-- migrate:down`
 *   (`transaction:false` on either makes the file `-- Transaction: none`).
 * - **golang-migrate**: `VERSION_name.up.sql` and `VERSION_name.down.sql`,
 *   one file from the two.
 * - **flyway**: `V<version>__<description>.sql`, and its undo
 *   `U<version>__<description>.sql` as the DOWN when there is one.
 *   Repeatable migrations (`R__`) have no counterpart and are listed as
 *   skipped.
 * - **node-pg-migrate**: `<timestamp>_<name>.sql` with `-- Up Migration` and
 *   `-- Down Migration`; JavaScript and TypeScript migrations are skipped.
 *
 * Versions that are timestamps keep their moment: `YYYYMMDDHHMMSS` (dbmate,
 * golang-migrate), milliseconds since 1970 and `YYYYMMDDHHMMSSmmm`
 * (node-pg-migrate). When any version is not one (sequence numbers,
 * Flyway's `1.1`), every migration gets a version of its own in the tool's
 * order, one second apart from 2000-01-01, and keeps the old one in its
 * name. Each file is checked with data-bridge's own parser, and one with a
 * statement that cannot run in a transaction (`CREATE INDEX CONCURRENTLY`)
 * gets `-- Transaction: none`, as those tools ran it outside one.
 *
 * @module
 */
import { ValidationError } from "./errors.ts";
import { decodeMigration, parseMigrationSync, slugify } from "./migration.ts";
import { joinPath, nodeFs } from "./runtime.ts";
import { dateFromVersion, isVersion, versionFromDate } from "./version.ts";

/** The tools whose migrations `import` reads. */
export const IMPORT_TOOLS = ["dbmate", "golang-migrate", "flyway", "node-pg-migrate"] as const;

/** One of {@link IMPORT_TOOLS}. */
export type ImportTool = typeof IMPORT_TOOLS[number];

/** A file of the source directory. */
export interface SourceFile {
  /** Its name. */
  name: string;
  /** Its text. */
  text: string;
}

/** A migration to write. */
export interface ImportedMigration {
  /** The source files it comes from. */
  from: string[];
  /** Its version in the other tool. */
  sourceVersion: string;
  /** The data-bridge file's name, `YYYYMMDD_HHMMSS_slug.sql`. */
  name: string;
  /** Its text. */
  text: string;
}

/** What {@link importMigrations} returns. */
export interface ImportResult {
  /** The migrations, in the order the tool applies them. */
  migrations: ImportedMigration[];
  /** Source files left out, and why. */
  skipped: { file: string; why: string }[];
  /** What to look at in files that were written: Flyway placeholders, which nothing replaces. */
  warnings: string[];
}

/** A migration as read from the tool's files, before its version is mapped. */
interface Read {
  from: string[];
  version: string;
  /** How the tool orders versions: whole numbers, compared part by part. */
  order: string[];
  title: string;
  up: string;
  down: string;
  noTransaction: boolean;
}

/**
 * Converts another tool's migrations.
 *
 * @param tool Which tool wrote them.
 * @param files The source directory's files (others than migrations are ignored).
 * @returns The data-bridge files, in order, and what was skipped.
 * @throws {ValidationError} `INVALID_MIGRATION` naming a file that is not
 *   that tool's migration as it should be, or two with one version.
 * @example
 * ```ts
 * import { importMigrations } from "./import.ts";
 * const { migrations } = importMigrations("dbmate", [{
 *   name: "20240102030405_create_users.sql",
 *   text: "-- migrate:up\nCREATE TABLE users (id int);\n\n-- migrate:down\nDROP TABLE users;\n",
 * }]);
 * console.log(migrations[0].name); // "20240102_030405_create_users.sql"
 * ```
 */
export function importMigrations(tool: ImportTool, files: readonly SourceFile[]): ImportResult {
  const skipped: ImportResult["skipped"] = [];
  const read = READERS[tool](files, skipped);
  read.sort((a, b) => compareOrder(a.order, b.order));
  for (let i = 1; i < read.length; i++) {
    if (compareOrder(read[i - 1].order, read[i].order) === 0) {
      throw new ValidationError(
        "INVALID_MIGRATION",
        `${read[i - 1].from[0]} and ${read[i].from[0]} have the same ${tool} version ${
          read[i].version
        }; rename one before importing`,
        { file: read[i].from[0] },
      );
    }
  }
  const moments = read.map((m) => momentOf(m.version));
  const keep = moments.every((m) => m !== null);
  const taken = new Set<string>();
  const migrations = read.map((m, i) => {
    let at = keep ? moments[i]!.getTime() : Date.UTC(2000, 0, 1) + (i + 1) * 1000;
    // Two moments in one second: the later one takes the next free second.
    while (taken.has(versionFromDate(new Date(at)))) at += 1000;
    const version = versionFromDate(new Date(at));
    taken.add(version);
    const slug = slugify(keep ? m.title : `v${m.version} ${m.title}`);
    const name = `${version}_${slug}.sql`;
    return { from: m.from, sourceVersion: m.version, name, text: render(tool, m, name) };
  });
  const warnings = tool !== "flyway" ? [] : read.filter((m) => PLACEHOLDER.test(m.up + m.down))
    .map((m) =>
      `${
        m.from.join(" + ")
      } uses Flyway placeholders (\${...}), which data-bridge runs as written: put their values in`
    );
  return { migrations, skipped, warnings };
}

/** A Flyway placeholder, `${name}` or `${flyway:name}`. */
const PLACEHOLDER = /\$\{[\w:.-]+\}/;

/** The data-bridge file: checked by its parser, with `-- Transaction: none` where it needs it. */
function render(tool: ImportTool, m: Read, name: string): string {
  const text = (noTransaction: boolean) =>
    `-- Imported from ${tool}: ${m.from.join(", ")}\n` +
    (noTransaction ? "-- Transaction: none\n" : "") +
    `-- UP\n${m.up.trim()}\n\n-- DOWN\n${m.down.trim()}\n`;
  const first = text(m.noTransaction);
  try {
    parseMigrationSync({ name, file: m.from[0], content: first });
    return first;
  } catch (error) {
    if (!(error instanceof ValidationError) || error.code !== "NEEDS_NO_TRANSACTION") {
      throw located(error, m);
    }
  }
  const second = text(true);
  try {
    parseMigrationSync({ name, file: m.from[0], content: second });
  } catch (error) {
    throw located(error, m);
  }
  return second;
}

/** A parse error of the converted file, said of the source file. */
function located(error: unknown, m: Read): unknown {
  if (!(error instanceof ValidationError)) return error;
  // The parser names the file and a line of the converted text: the source is named instead.
  const why = error.message.startsWith(`${m.from[0]}:`)
    ? error.message.slice(m.from[0].length + 1).replace(/^\d+:/, "").trimStart()
    : error.message;
  return new ValidationError(
    "INVALID_MIGRATION",
    `${m.from.join(" + ")}: cannot be imported: ${why}`,
    { file: m.from[0] },
  );
}

/** Versions' parts compared as whole numbers of any length (17 digits are past a double's precision). */
function compareOrder(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = (a[i] ?? "0").replace(/^0+(?=\d)/, "");
    const y = (b[i] ?? "0").replace(/^0+(?=\d)/, "");
    if (x.length !== y.length) return x.length - y.length;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** The moment a version names, when it is a timestamp; `null` otherwise. */
function momentOf(version: string): Date | null {
  if (/^\d{14}$/.test(version) || /^\d{17}$/.test(version)) {
    const v = `${version.slice(0, 8)}_${version.slice(8, 14)}`;
    return isVersion(v) ? dateFromVersion(v) : null;
  }
  // Milliseconds since 1970 (node-pg-migrate's default): from 2001 to 2286.
  if (/^\d{13}$/.test(version)) return new Date(Number(version));
  return null;
}

/** The sections of a text cut at two marker lines; `null` when the UP marker is missing. */
function sections(
  text: string,
  up: RegExp,
  down: RegExp,
): { up: string; down: string; upLine: string; downLine: string } | null {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  const u = lines.findIndex((l) => up.test(l));
  if (u === -1) return null;
  const d = lines.findIndex((l, i) => i > u && down.test(l));
  return {
    up: lines.slice(u + 1, d === -1 ? undefined : d).join("\n"),
    down: d === -1 ? "" : lines.slice(d + 1).join("\n"),
    upLine: lines[u],
    downLine: d === -1 ? "" : lines[d],
  };
}

function invalid(file: string, why: string): ValidationError {
  return new ValidationError("INVALID_MIGRATION", `${file}: cannot be imported: ${why}`, { file });
}

type Reader = (files: readonly SourceFile[], skipped: ImportResult["skipped"]) => Read[];

const READERS: Record<ImportTool, Reader> = {
  dbmate(files) {
    return marked(files, /^--\s*migrate:up\b/, /^--\s*migrate:down\b/, "-- migrate:up");
  },
  "golang-migrate"(files) {
    const byVersion = new Map<string, { title: string; up?: SourceFile; down?: SourceFile }>();
    for (const f of files) {
      const m = /^(\d+)_(.+)\.(up|down)\.sql$/.exec(f.name);
      if (!m) continue;
      const entry = byVersion.get(m[1]) ?? { title: m[2] };
      if (entry[m[3] as "up" | "down"]) {
        throw invalid(f.name, `a second ${m[3]} file for version ${m[1]}`);
      }
      entry[m[3] as "up" | "down"] = f;
      byVersion.set(m[1], entry);
    }
    return [...byVersion].map(([version, e]) => {
      if (!e.up) throw invalid(e.down!.name, `no ${version}_${e.title}.up.sql beside it`);
      return {
        from: [e.up.name, ...(e.down ? [e.down.name] : [])],
        version,
        order: [version],
        title: e.title,
        up: e.up.text,
        down: e.down?.text ?? "",
        noTransaction: false,
      };
    });
  },
  flyway(files, skipped) {
    const undo = new Map<string, SourceFile>();
    const out: Read[] = [];
    for (const f of files) {
      if (/^R__.+\.sql$/i.test(f.name)) {
        skipped.push({
          file: f.name,
          why: "a repeatable migration has no counterpart; make it a migration of its own",
        });
        continue;
      }
      const m = /^([VU])(\d+(?:[._]\d+)*)__(.+)\.sql$/.exec(f.name);
      if (!m) continue;
      const version = m[2].replaceAll("_", ".");
      if (m[1] === "U") undo.set(version, f);
      else {
        out.push({
          from: [f.name],
          version,
          order: version.split("."),
          title: m[3],
          up: f.text,
          down: "",
          noTransaction: false,
        });
      }
    }
    for (const m of out) {
      const u = undo.get(m.version);
      if (u) {
        m.down = u.text;
        m.from.push(u.name);
        undo.delete(m.version);
      }
    }
    for (const u of undo.values()) {
      throw invalid(u.name, "an undo migration without its versioned migration");
    }
    return out;
  },
  "node-pg-migrate"(files, skipped) {
    for (const f of files) {
      if (/^\d+_.+\.(js|cjs|mjs|ts)$/.test(f.name)) {
        skipped.push({
          file: f.name,
          why: "a JavaScript or TypeScript migration; write its SQL as a migration of its own",
        });
      }
    }
    return marked(files, /^--\s*Up Migration\b/i, /^--\s*Down Migration\b/i, "-- Up Migration");
  },
};

/**
 * Reads the files of another tool's migrations directory (its regular
 * files, by name; subdirectories are not looked into).
 *
 * @param dir The directory.
 * @returns Its files with their texts.
 * @throws {ValidationError} `DIRECTORY_NOT_FOUND` when it cannot be listed,
 *   `INVALID_ENCODING` for a file that is not UTF-8.
 * @example
 * ```ts
 * import { readSourceDir } from "./import.ts";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { join } from "node:path";
 * import { tmpdir } from "node:os";
 * const dir = mkdtempSync(join(tmpdir(), "db-"));
 * writeFileSync(join(dir, "1_init.up.sql"), "CREATE TABLE t (id int);");
 * console.log(readSourceDir(dir).map((f) => f.name)); // ["1_init.up.sql"]
 * ```
 */
export function readSourceDir(dir: string): SourceFile[] {
  const fs = nodeFs();
  let names: string[];
  try {
    names = fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile())
      .map((e) => e.name).sort();
  } catch (error) {
    throw new ValidationError(
      "DIRECTORY_NOT_FOUND",
      `${dir}: cannot be read (${
        (error as { code?: string }).code ?? (error as Error).message
      }); ` +
        "give the other tool's migrations directory",
      { file: dir },
    );
  }
  return names.map((name) => {
    const path = joinPath(dir, name);
    return { name, text: decodeMigration(fs.readFileSync(path), path) };
  });
}

/**
 * Writes imported migrations into a data-bridge migrations directory (made
 * when missing), after checking that none of their versions is taken there:
 * all of them or, when one is, none.
 *
 * @param migrations From {@link importMigrations}.
 * @param dir The migrations directory.
 * @returns The paths written, in order.
 * @throws {ValidationError} `DUPLICATE_VERSION` when a version is taken
 *   (nothing is written), `DIRECTORY_NOT_FOUND` when DIR cannot be written.
 * @example
 * ```ts
 * import { importMigrations, writeImported } from "./import.ts";
 * import { mkdtempSync } from "node:fs";
 * import { join } from "node:path";
 * import { tmpdir } from "node:os";
 * const { migrations } = importMigrations("golang-migrate", [
 *   { name: "20240102030405_init.up.sql", text: "CREATE TABLE t (id int);" },
 *   { name: "20240102030405_init.down.sql", text: "DROP TABLE t;" },
 * ]);
 * const paths = writeImported(migrations, join(mkdtempSync(join(tmpdir(), "db-")), "migrations"));
 * console.log(paths[0].endsWith("20240102_030405_init.sql")); // true
 * ```
 */
export function writeImported(migrations: readonly ImportedMigration[], dir: string): string[] {
  const fs = nodeFs();
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new ValidationError(
      "DIRECTORY_NOT_FOUND",
      `${dir}: cannot be created (${(error as Error).message})`,
      { file: dir },
    );
  }
  refuseTaken(migrations, dir);
  return migrations.map((m) => {
    const path = joinPath(dir, m.name);
    fs.writeFileSync(path, m.text, { flag: "wx" });
    return path;
  });
}

/**
 * Refuses imported migrations one of whose versions a file of the
 * migrations directory already has (what {@link writeImported} checks
 * first; `import --dry-run` checks it alone).
 *
 * @param migrations From {@link importMigrations}.
 * @param dir The migrations directory (a missing one has nothing taken).
 * @throws {ValidationError} `DUPLICATE_VERSION`, naming the file that has it.
 * @example
 * ```ts
 * import { importMigrations, refuseTaken } from "./import.ts";
 * const { migrations } = importMigrations("flyway", [{ name: "V1__init.sql", text: "SELECT 1;" }]);
 * refuseTaken(migrations, "no-such-directory"); // nothing taken there
 * ```
 */
export function refuseTaken(migrations: readonly ImportedMigration[], dir: string): void {
  const fs = nodeFs();
  const taken = new Map<string, string>();
  for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const version = /^(\d{8}_\d{6})_/.exec(name)?.[1];
    if (version) taken.set(version, name);
  }
  for (const m of migrations) {
    const version = m.name.slice(0, 15);
    const there = taken.get(version);
    if (there) {
      throw new ValidationError(
        "DUPLICATE_VERSION",
        `${joinPath(dir, there)} already has version ${version}, which ${
          m.from[0]
        } would get; import into an empty directory (--migrations-dir); nothing was written`,
        { file: joinPath(dir, there), version },
      );
    }
  }
}

/**
 * Migrations of one file each, `VERSION_title.sql`, cut at two marker lines
 * (`transaction:false` on either makes it run outside a transaction, as
 * dbmate has it).
 */
function marked(files: readonly SourceFile[], up: RegExp, down: RegExp, upName: string): Read[] {
  const out: Read[] = [];
  for (const f of files) {
    const m = /^(\d+)_(.+)\.sql$/.exec(f.name);
    if (!m) continue;
    const s = sections(f.text, up, down);
    if (!s) throw invalid(f.name, `no '${upName}' line`);
    out.push({
      from: [f.name],
      version: m[1],
      order: [m[1]],
      title: m[2],
      up: s.up,
      down: s.down,
      noTransaction: /\btransaction:false\b/.test(s.upLine + s.downLine),
    });
  }
  return out;
}
