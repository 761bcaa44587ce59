/**
 * The integrity file `data-bridge.sum` in the migrations directory. It
 * lists every migration file in version order with a hash chained over that
 * file and all before it, under a header hash of the whole list:
 *
 * ```text
 * h1:Ue8Dh3b4fH0D2Y6Qy4m0r2u1bq0zP0v0Jk2xg8W9uK0=
 * 20250128_120000_create_users_table.sql h1:8mB1...=
 * 20250128_130000_add_users_status_column.sql h1:Qd7x...=
 * ```
 *
 * Two branches that each add a migration both change the header line and
 * the end of the list, so git reports a conflict when they merge: the order
 * of the two migrations is then settled in review, not during a deploy.
 *
 * Hashes are SHA-256 in base64. A file's own hash is the checksum of its
 * text (as recorded in the tracking table); line `i` holds
 * `SHA-256(line i-1's hash + "\n" + file name + "\n" + file checksum)`
 * (line 1 starts from `""`); the header is `SHA-256` of the list lines,
 * each ending in `\n`.
 *
 * @module
 */
import { checksum } from "./checksum.ts";
import { DEFAULTS } from "./config.ts";
import { ValidationError } from "./errors.ts";
import { baseName, builtin, fileExists, joinPath, nodeFs } from "./runtime.ts";

/** A file as the sum file lists it. */
export interface SumEntry {
  /** File name, e.g. `20250128_120000_create_users_table.sql`. */
  name: string;
  /** Checksum of its text (hex SHA-256, as `Migration.checksum`). */
  checksum: string;
}

function sha256(text: string): string {
  const { createHash } = builtin<typeof import("node:crypto")>("node:crypto");
  return createHash("sha256").update(text, "utf8").digest("base64");
}

/**
 * The text of a sum file for the given files.
 *
 * @param entries Files in version order (sorted by name here anyway).
 * @returns The file's text, ending in a newline.
 * @example
 * ```ts
 * import { renderSum } from "./sum.ts";
 * const text = await renderSum([{ name: "20250101_000000_a.sql", checksum: "ab" }]);
 * console.log(text.split("\n")[1].startsWith("20250101_000000_a.sql h1:")); // true
 * ```
 */
export function renderSum(entries: readonly SumEntry[]): Promise<string> {
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const lines: string[] = [];
  let previous = "";
  for (const entry of sorted) {
    previous = sha256(`${previous}\n${entry.name}\n${entry.checksum}`);
    lines.push(`${entry.name} h1:${previous}`);
  }
  const list = lines.map((line) => `${line}\n`).join("");
  return Promise.resolve(`h1:${sha256(list)}\n${list}`);
}

/**
 * The migration files of a directory, as the sum file lists them: every
 * `.sql` file whose name does not start with `.`.
 *
 * @param dir The migrations directory.
 * @returns Entries sorted by name.
 * @throws {ValidationError} `DIRECTORY_NOT_FOUND` when the directory cannot be read.
 * @example
 * ```ts
 * import { sumEntries } from "./sum.ts";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { join } from "node:path";
 * import { tmpdir } from "node:os";
 * const dir = mkdtempSync(join(tmpdir(), "db-"));
 * writeFileSync(join(dir, "20250101_000000_a.sql"), "-- UP\nSELECT 1;\n-- DOWN\n");
 * console.log((await sumEntries(dir)).map((e) => e.name)); // ["20250101_000000_a.sql"]
 * ```
 */
export async function sumEntries(dir: string): Promise<SumEntry[]> {
  let names: string[];
  try {
    names = nodeFs().readdirSync(dir).filter((n) => !n.startsWith(".") && /\.sql$/i.test(n)).sort();
  } catch (error) {
    throw new ValidationError(
      "DIRECTORY_NOT_FOUND",
      `migrations directory ${dir} cannot be read: ${(error as Error).message}`,
      { file: dir },
    );
  }
  return await Promise.all(names.map(async (name) => ({
    name,
    checksum: await checksum(new TextDecoder().decode(nodeFs().readFileSync(joinPath(dir, name)))),
  })));
}

/** Entries from loaded migrations (file name and checksum). */
function entriesOf(migrations: readonly { file: string | null; checksum: string }[]): SumEntry[] {
  return migrations.filter((m) => m.file !== null).map((m) => ({
    name: baseName(m.file!),
    checksum: m.checksum,
  }));
}

/**
 * Path of the sum file of a migrations directory.
 *
 * @param dir The migrations directory.
 * @returns `DIR/data-bridge.sum`.
 * @example
 * ```ts
 * import { sumPath } from "./sum.ts";
 * console.log(sumPath("migrations")); // "migrations/data-bridge.sum"
 * ```
 */
export function sumPath(dir: string): string {
  return joinPath(dir, DEFAULTS.sumFile);
}

/**
 * Writes (or rewrites) the sum file of a directory.
 *
 * @param dir The migrations directory.
 * @param migrations Its migrations, when already loaded (their file names
 *   and checksums are used instead of reading the files again).
 * @returns The path written and how many files it lists.
 * @throws {ValidationError} `DIRECTORY_NOT_FOUND` when the directory cannot be read or written.
 * @example
 * ```ts
 * import { checkSum, writeSum } from "./sum.ts";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { join } from "node:path";
 * import { tmpdir } from "node:os";
 * const dir = mkdtempSync(join(tmpdir(), "db-"));
 * writeFileSync(join(dir, "20250101_000000_a.sql"), "-- UP\nSELECT 1;\n-- DOWN\n");
 * console.log((await writeSum(dir)).files); // 1
 * console.log(await checkSum(dir)); // "ok"
 * ```
 */
export async function writeSum(
  dir: string,
  migrations?: readonly { file: string | null; checksum: string }[],
): Promise<{ path: string; files: number }> {
  const entries = migrations ? entriesOf(migrations) : await sumEntries(dir);
  const path = sumPath(dir);
  try {
    nodeFs().writeFileSync(path, await renderSum(entries));
  } catch (error) {
    throw new ValidationError(
      "DIRECTORY_NOT_FOUND",
      `cannot write ${path}: ${(error as Error).message}`,
      { file: path },
    );
  }
  return { path, files: entries.length };
}

const FIX = "check that it runs correctly after the migrations listed before it, then run " +
  "'data-bridge sum' to rewrite the file (or pass --no-sum to skip this check)";

/**
 * The problem with a directory's sum file, if any: the first file that
 * differs from what the sum file lists, and how to fix it.
 *
 * @param dir The migrations directory.
 * @param migrations Its migrations, when already loaded.
 * @returns `null` when the sum file matches or does not exist.
 * @throws {ValidationError} `DIRECTORY_NOT_FOUND` when the directory cannot be read.
 * @example
 * ```ts
 * import { sumProblem, writeSum } from "./sum.ts";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { join } from "node:path";
 * import { tmpdir } from "node:os";
 * const dir = mkdtempSync(join(tmpdir(), "db-"));
 * await writeSum(dir);
 * writeFileSync(join(dir, "20250101_000000_a.sql"), "-- UP\nSELECT 1;\n-- DOWN\n");
 * console.log((await sumProblem(dir))?.code); // "SUM_MISMATCH"
 * ```
 */
export async function sumProblem(
  dir: string,
  migrations?: readonly { file: string | null; checksum: string }[],
): Promise<ValidationError | null> {
  const path = sumPath(dir);
  if (!fileExists(path)) return null;
  const text = nodeFs().readFileSync(path, "utf8").replace(/\r\n?/g, "\n");
  const problem = (message: string, file?: string) =>
    new ValidationError("SUM_MISMATCH", `${path} does not match the directory: ${message}`, {
      file: file ? joinPath(dir, file) : path,
      hint: FIX,
    });
  if (/^(<{7}|={7}|>{7})/m.test(text)) {
    return problem(
      "it has git merge conflict markers (two branches added migrations); " +
        "decide the order of the new migrations, rename one if needed, then run 'data-bridge sum'",
    );
  }
  const expected = (await renderSum(migrations ? entriesOf(migrations) : await sumEntries(dir)))
    .split("\n").filter(Boolean);
  const recorded = text.split("\n").filter((line) => line.trim() !== "");
  const name = (line: string | undefined) => line?.split(" ")[0];
  for (let i = 1; i < Math.max(expected.length, recorded.length); i++) {
    if (expected[i] === recorded[i]) continue;
    const want = name(expected[i]);
    const have = name(recorded[i]);
    if (want === have) {
      return problem(`${want} changed since the sum was written`, want);
    }
    if (want !== undefined && !recorded.some((line) => name(line) === want)) {
      return problem(`${want} was added since the sum was written`, want);
    }
    if (have !== undefined && !expected.some((line) => name(line) === have)) {
      return problem(`${have} is listed but no longer in the directory (removed or renamed)`);
    }
    return problem(`the order of ${want ?? have} changed since the sum was written`, want);
  }
  if (expected[0] !== recorded[0]) {
    return problem("its header hash is wrong (was the file edited by hand?)");
  }
  return null;
}

/**
 * Checks a directory against its sum file.
 *
 * @param dir The migrations directory.
 * @param migrations Its migrations, when already loaded.
 * @returns `"absent"` when there is no sum file, `"ok"` when it matches.
 * @throws {ValidationError} `SUM_MISMATCH` naming the first file that differs and how to fix it.
 * @example
 * ```ts
 * import { checkSum } from "./sum.ts";
 * import { mkdtempSync } from "node:fs";
 * import { join } from "node:path";
 * import { tmpdir } from "node:os";
 * console.log(await checkSum(mkdtempSync(join(tmpdir(), "db-")))); // "absent"
 * ```
 */
export async function checkSum(
  dir: string,
  migrations?: readonly { file: string | null; checksum: string }[],
): Promise<"absent" | "ok"> {
  if (!fileExists(sumPath(dir))) return "absent";
  const problem = await sumProblem(dir, migrations);
  if (problem) throw problem;
  return "ok";
}
