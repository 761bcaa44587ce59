/**
 * Deciding, without any I/O, the state of every migration and what an
 * `apply` or `rollback` would do. The runner reads files and history, calls
 * these, then acts.
 *
 * @module
 */
import { UsageError, ValidationError } from "./errors.ts";
import type { Migration } from "./migration.ts";

/** A row of the tracking table. */
export interface HistoryRow {
  /** Version applied. */
  version: string;
  /** Description recorded when applied. */
  description: string;
  /** When it was applied. */
  appliedAt: Date;
  /** Checksum recorded when applied. */
  checksum: string;
  /** How long its UP took, `null` when unknown (adopted or baselined rows). */
  executionMs: number | null;
  /** Role that applied it, `null` when unknown. */
  appliedBy: string | null;
}

/**
 * - `applied`: recorded and the file matches.
 * - `pending`: a file not yet recorded.
 * - `modified`: recorded, but the file's checksum changed since.
 * - `missing`: recorded, but no file has its version.
 */
export type MigrationState = "applied" | "pending" | "modified" | "missing";

/**
 * What {@link classify} needs of a migration. A parsed {@link Migration} has
 * it all; a file read but not parsed (a `MigrationFile`, when its checksum
 * matches its history row) has no description, and takes the row's.
 */
export type Classifiable = Pick<Migration, "version" | "checksum" | "file"> & {
  description?: string;
};

/** One line of `status`. */
export interface MigrationStatusEntry<M extends Classifiable = Migration> {
  /** Version. */
  version: string;
  /** Description from the file, else from the history row. */
  description: string;
  /** The file, `null` when missing or built in code. */
  file: string | null;
  /** State. */
  state: MigrationState;
  /** When it was applied, `null` when pending. */
  appliedAt: Date | null;
  /** The file's checksum, else the recorded one. */
  checksum: string;
  /** Recorded execution time in milliseconds. */
  executionMs: number | null;
  /** The migration, absent when missing. */
  migration?: M;
  /** The history row, absent when pending. */
  row?: HistoryRow;
}

/**
 * The state of every migration, files and history merged, sorted by version.
 *
 * @param migrations Migrations from the files (or code).
 * @param history Rows of the tracking table.
 * @returns One entry per version.
 * @example
 * ```ts
 * import { classify } from "./classify.ts";
 * import { Migration } from "./migration.ts";
 * const m = await Migration.new({ version: "20250101_000000", name: "a", up: "SELECT 1" });
 * console.log(classify([m], []).map((e) => e.state)); // ["pending"]
 * ```
 */
export function classify<M extends Classifiable = Migration>(
  migrations: readonly M[],
  history: readonly HistoryRow[],
): MigrationStatusEntry<M>[] {
  const { paired, unpaired } = pairRows(migrations, history);
  const entries: MigrationStatusEntry<M>[] = new Array(migrations.length);
  for (let i = 0; i < migrations.length; i++) {
    const migration = migrations[i];
    const row = paired[i];
    entries[i] = {
      version: migration.version,
      description: migration.description ?? row?.description ?? "",
      file: migration.file,
      state: row ? (row.checksum === migration.checksum ? "applied" : "modified") : "pending",
      appliedAt: row?.appliedAt ?? null,
      checksum: migration.checksum,
      executionMs: row?.executionMs ?? null,
      migration,
      row,
    };
  }
  const missing: MigrationStatusEntry<M>[] = [];
  for (const row of unpaired) {
    missing.push({
      version: row.version,
      description: row.description,
      file: null,
      state: "missing",
      appliedAt: row.appliedAt,
      checksum: row.checksum,
      executionMs: row.executionMs,
      row,
    });
  }
  // Files and history both come in version order: merged in one pass, not
  // sorted again (a comparator called n log n times is most of the work).
  if (inOrder(entries) && inOrder(missing)) return merge(entries, missing);
  return entries.concat(missing).sort((a, b) =>
    a.version < b.version ? -1 : a.version > b.version ? 1 : 0
  );
}

/**
 * Each migration's history row, and the rows of versions no migration has.
 * One pass when both lists come in version order, as the files and the
 * tracking table do; otherwise (migrations built in code, a table with
 * repeated versions) through a map, where a version's last row counts.
 *
 * @param migrations Anything with a version.
 * @param rows History rows.
 * @returns `paired[i]`: the row of `migrations[i]`'s version, if any;
 *   `unpaired`: the other rows, one a version, in version order when both
 *   lists were.
 * @example
 * ```ts
 * import { pairRows } from "./classify.ts";
 * const { paired, unpaired } = pairRows(
 *   [{ version: "20250101_000000" }, { version: "20250102_000000" }],
 *   [{ version: "20250102_000000" }, { version: "20250103_000000" }],
 * );
 * console.log(paired.map((r) => r?.version), unpaired.map((r) => r.version));
 * // [undefined, "20250102_000000"] ["20250103_000000"]
 * ```
 */
export function pairRows<R extends { version: string }>(
  migrations: readonly { version: string }[],
  rows: readonly R[],
): { paired: (R | undefined)[]; unpaired: R[] } {
  const paired: (R | undefined)[] = new Array(migrations.length);
  const unpaired: R[] = [];
  let j = 0;
  for (let i = 0; i < migrations.length; i++) {
    const version = migrations[i].version;
    if (i > 0 && migrations[i - 1].version >= version) return pairThroughMap(migrations, rows);
    while (j < rows.length && rows[j].version < version) {
      if (j > 0 && rows[j - 1].version >= rows[j].version) return pairThroughMap(migrations, rows);
      unpaired.push(rows[j++]);
    }
    if (j < rows.length && rows[j].version === version) {
      if (j > 0 && rows[j - 1].version >= version) return pairThroughMap(migrations, rows);
      paired[i] = rows[j++];
    } else paired[i] = undefined;
  }
  for (; j < rows.length; j++) {
    if (j > 0 && rows[j - 1].version >= rows[j].version) return pairThroughMap(migrations, rows);
    unpaired.push(rows[j]);
  }
  return { paired, unpaired };
}

function pairThroughMap<R extends { version: string }>(
  migrations: readonly { version: string }[],
  rows: readonly R[],
): { paired: (R | undefined)[]; unpaired: R[] } {
  const byVersion = new Map<string, R>();
  for (const row of rows) byVersion.set(row.version, row);
  const paired = migrations.map((m) => {
    const row = byVersion.get(m.version);
    byVersion.delete(m.version);
    return row;
  });
  return { paired, unpaired: [...byVersion.values()] };
}

function inOrder(list: readonly { version: string }[]): boolean {
  for (let i = 1; i < list.length; i++) if (list[i - 1].version >= list[i].version) return false;
  return true;
}

function merge<T extends { version: string }>(a: T[], b: T[]): T[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(a[i].version < b[j].version ? a[i++] : b[j++]);
  while (i < a.length) out.push(a[i++]);
  while (j < b.length) out.push(b[j++]);
  return out;
}

/**
 * The problems that forbid changing the database: applied migrations whose
 * file changed or disappeared.
 *
 * @param entries Output of {@link classify}.
 * @returns One error per modified or missing migration, empty when none.
 * @example
 * ```ts
 * import { classify, historyProblems } from "./classify.ts";
 * const row = {
 *   version: "20250101_000000", description: "a", appliedAt: new Date(),
 *   checksum: "x", executionMs: 1, appliedBy: null,
 * };
 * console.log(historyProblems(classify([], [row]))[0].code); // "MISSING_FILE"
 * ```
 */
export function historyProblems<M extends Classifiable>(
  entries: readonly MigrationStatusEntry<M>[],
): ValidationError[] {
  const problems: ValidationError[] = [];
  for (const entry of entries) {
    if (entry.state === "modified") {
      problems.push(
        new ValidationError(
          "CHECKSUM_MISMATCH",
          `Checksum mismatch for migration ${entry.version}. The migration ${
            entry.file ? `file ${entry.file}` : "file"
          } has been modified after being applied.`,
          {
            file: entry.file ?? undefined,
            version: entry.version,
            hint:
              "restore the file from version control and put the change in a new migration (or run repair)",
          },
        ),
      );
    } else if (entry.state === "missing") {
      problems.push(
        new ValidationError(
          "MISSING_FILE",
          `Migration ${entry.version} is applied but not found in migration files`,
          {
            version: entry.version,
            hint: "restore the file from version control (or run repair --remove-missing)",
          },
        ),
      );
    }
  }
  return problems;
}

/** What `apply` will do. */
export interface ApplyPlan<M extends Classifiable = Migration> {
  /** Migrations to apply, in version order. */
  pending: M[];
  /** Those of `pending` older than the newest applied one (merged late). */
  outOfOrder: M[];
}

/**
 * Plans an `apply`.
 *
 * @param entries Output of {@link classify}.
 * @param options `to`: apply no migration after this version.
 * @returns The migrations to apply.
 * @throws {UsageError} `UNKNOWN_VERSION` when `to` names no migration.
 * @example
 * ```ts
 * import { classify, planApply } from "./classify.ts";
 * import { Migration } from "./migration.ts";
 * const a = await Migration.new({ version: "20250101_000000", name: "a", up: "SELECT 1" });
 * const b = await Migration.new({ version: "20250102_000000", name: "b", up: "SELECT 2" });
 * const plan = planApply(classify([a, b], []), { to: "20250101_000000" });
 * console.log(plan.pending.map((m) => m.version)); // ["20250101_000000"]
 * ```
 */
export function planApply<M extends Classifiable = Migration>(
  entries: readonly MigrationStatusEntry<M>[],
  options: { to?: string } = {},
): ApplyPlan<M> {
  if (options.to !== undefined) requireKnown(entries, options.to);
  let newestApplied = "";
  for (const entry of entries) {
    if (entry.state !== "pending" && entry.version > newestApplied) newestApplied = entry.version;
  }
  const pending = entries
    .filter((e) => e.state === "pending" && (options.to === undefined || e.version <= options.to))
    .map((e) => e.migration!);
  return { pending, outOfOrder: pending.filter((m) => m.version < newestApplied) };
}

/**
 * The pending migrations older than the newest recorded one (merged late),
 * from a status's states in version order, and that newest version.
 *
 * @param migrations Versions and states, in version order (a status report's).
 * @returns The late versions (empty when none) and the newest recorded version.
 * @example
 * ```ts
 * import { mergedLate } from "./classify.ts";
 * const late = mergedLate([
 *   { version: "20250101_000000", state: "pending" },
 *   { version: "20250102_000000", state: "applied" },
 * ]);
 * console.log(late); // { late: ["20250101_000000"], newest: "20250102_000000" }
 * ```
 */
export function mergedLate(
  migrations: readonly { version: string; state: MigrationState }[],
): { late: string[]; newest: string } {
  const late: string[] = [];
  let newest = "";
  let waiting = 0;
  for (let i = 0; i < migrations.length; i++) {
    const m = migrations[i];
    if (m.state === "pending") {
      waiting++;
      continue;
    }
    newest = m.version;
    // Every pending one since the last recorded is older than this one.
    for (let j = i - waiting; j < i; j++) late.push(migrations[j].version);
    waiting = 0;
  }
  return { late, newest };
}

/**
 * The problems `--out-of-order refuse` makes of an apply's plan: one
 * `OUT_OF_ORDER` for each pending migration older than the newest applied
 * one (a branch merged late).
 *
 * @param entries Output of {@link classify}.
 * @param options `to`, as for {@link planApply}.
 * @returns One error per such migration, in version order; empty when none.
 * @throws {UsageError} `UNKNOWN_VERSION` when `to` names no migration.
 * @example
 * ```ts
 * import { classify, outOfOrderProblems } from "./classify.ts";
 * const file = (version: string) => ({ version, checksum: version, file: `${version}_x.sql` });
 * const row = {
 *   version: "20250102_000000", description: "b", appliedAt: new Date(),
 *   checksum: "20250102_000000", executionMs: 1, appliedBy: null,
 * };
 * const entries = classify([file("20250101_000000"), file("20250102_000000")], [row]);
 * console.log(outOfOrderProblems(entries)[0].code); // "OUT_OF_ORDER"
 * ```
 */
export function outOfOrderProblems<M extends Classifiable>(
  entries: readonly MigrationStatusEntry<M>[],
  options: { to?: string } = {},
): ValidationError[] {
  const late = planApply(entries, options).outOfOrder;
  if (late.length === 0) return [];
  const newest = entries.filter((e) => e.row).at(-1)?.version;
  return late.map((m) =>
    new ValidationError(
      "OUT_OF_ORDER",
      `${
        m.file ?? m.version
      } is older than the newest applied migration ${newest}, which --out-of-order refuse stops; give it a later version (rename the file), or apply it with --out-of-order allow`,
      { file: m.file ?? undefined, version: m.version },
    )
  );
}

/**
 * Whether `apply` has nothing to do and nothing to refuse: every migration
 * up to `to` is recorded with its checksum, and every recorded version has
 * its migration. The same answer as an empty {@link planApply} with no
 * {@link historyProblems}, from the versions and checksums alone (what a
 * no-op deploy reads of the history).
 *
 * @param migrations Files or migrations.
 * @param recorded The history's versions and checksums.
 * @param to `apply --to`: pending migrations after it do not count.
 * @returns `true` when there is nothing to apply.
 * @example
 * ```ts
 * import { nothingToApply } from "./classify.ts";
 * const m = { version: "20250101_000000", checksum: "a", file: null };
 * console.log(nothingToApply([m], [{ version: m.version, checksum: "a" }])); // true
 * console.log(nothingToApply([m], [{ version: m.version, checksum: "b" }])); // false
 * ```
 */
export function nothingToApply(
  migrations: readonly Classifiable[],
  recorded: readonly { version: string; checksum: string }[],
  to?: string,
): boolean {
  const { paired, unpaired } = pairRows(migrations, recorded);
  if (unpaired.length) return false; // some are missing
  for (let i = 0; i < migrations.length; i++) {
    const m = migrations[i];
    const row = paired[i];
    if (row === undefined) {
      if (to === undefined || m.version <= to) return false; // pending
    } else if (row.checksum !== m.checksum) return false; // modified
  }
  return true;
}

/**
 * Whether the rows are the migrations as they are: as many, the same version
 * at each index, with the same checksum. The common case of a run with
 * nothing to do, told in one pass (`pairRows` and the per-entry checks are
 * for everything else).
 *
 * @param migrations Anything with a version and checksum, in version order.
 * @param rows History rows, in version order.
 * @returns `true` when each migration is recorded with its checksum and no row is left over.
 * @example
 * ```ts
 * import { recordedAsIs } from "./classify.ts";
 * const m = { version: "20250101_000000", checksum: "a" };
 * console.log(recordedAsIs([m], [{ version: m.version, checksum: "a" }])); // true
 * console.log(recordedAsIs([m], [])); // false
 * ```
 */
export function recordedAsIs(
  migrations: readonly { version: string; checksum: string }[],
  rows: readonly { version: string; checksum: string }[],
): boolean {
  if (migrations.length !== rows.length) return false;
  for (let i = 0; i < rows.length; i++) {
    const m = migrations[i];
    const row = rows[i];
    if (m.version !== row.version || m.checksum !== row.checksum) return false;
  }
  return true;
}

/** One migration `rollback` will revert. */
export interface RollbackStep {
  /** The migration, whose DOWN runs. */
  migration: Migration;
  /** Its history row, deleted with it. */
  row: HistoryRow;
}

/**
 * Plans a `rollback`: the most recently applied first.
 *
 * @param entries Output of {@link classify}.
 * @param options `steps` (how many), or `to` (revert every applied
 *   migration with a later version; `"0"` reverts all).
 * @returns The steps in the order to run them.
 * @throws {UsageError} `UNKNOWN_VERSION` when `to` names no migration.
 * @throws {ValidationError} `IRREVERSIBLE` when a selected migration has an
 *   empty DOWN, `MISSING_FILE` when one has no file.
 * @example
 * ```ts
 * import { classify, planRollback } from "./classify.ts";
 * import { Migration } from "./migration.ts";
 * const m = await Migration.new({ version: "20250101_000000", name: "a", up: "SELECT 1", down: "SELECT 0" });
 * const row = { ...m, appliedAt: new Date(), executionMs: 1, appliedBy: null };
 * console.log(planRollback(classify([m], [row]), { steps: 1 }).length); // 1
 * ```
 */
export function planRollback(
  entries: readonly MigrationStatusEntry[],
  options: { steps?: number; to?: string } = {},
): RollbackStep[] {
  return selectRollback(entries, options).map((entry) => {
    if (!entry.migration) {
      throw new ValidationError(
        "MISSING_FILE",
        `Migration ${entry.version} is applied but not found in migration files; its DOWN cannot run`,
        { version: entry.version, hint: "restore the file from version control" },
      );
    }
    if (entry.migration.down === "") {
      const where = entry.migration.file ?? entry.version;
      throw new ValidationError(
        "IRREVERSIBLE",
        `Migration ${entry.version} is irreversible: the DOWN section of ${where} has no statement; nothing was rolled back`,
        {
          file: entry.migration.file ?? undefined,
          version: entry.version,
          hint: "write a DOWN section, or revert it with a new migration",
        },
      );
    }
    return { migration: entry.migration, row: entry.row! };
  });
}

/**
 * The entries a `rollback` selects, most recently applied first, chosen from
 * the history rows alone: what {@link planRollback} checks and runs, known
 * before any file is parsed.
 *
 * @param entries Output of {@link classify}.
 * @param options As for {@link planRollback}.
 * @returns The applied entries to revert, in the order to revert them.
 * @throws {UsageError} `UNKNOWN_VERSION` when `to` names no migration.
 * @example
 * ```ts
 * import { classify, selectRollback } from "./classify.ts";
 * const file = { version: "20250101_000000", checksum: "c", file: "a.sql" };
 * const row = {
 *   version: file.version, description: "a", appliedAt: new Date(), checksum: "c",
 *   executionMs: 1, appliedBy: null,
 * };
 * console.log(selectRollback(classify([file], [row])).map((e) => e.version)); // ["20250101_000000"]
 * ```
 */
export function selectRollback<M extends Classifiable>(
  entries: readonly MigrationStatusEntry<M>[],
  options: { steps?: number; to?: string } = {},
): MigrationStatusEntry<M>[] {
  if (options.to !== undefined && options.to !== "0") requireKnown(entries, options.to);
  const applied = entries
    .filter((e) => e.row !== undefined)
    .sort((a, b) =>
      b.row!.appliedAt.getTime() - a.row!.appliedAt.getTime() ||
      (a.version < b.version ? 1 : a.version > b.version ? -1 : 0)
    );
  return options.to !== undefined
    ? applied.filter((e) => e.version > options.to!)
    : applied.slice(0, options.steps ?? 1);
}

function requireKnown<M extends Classifiable>(
  entries: readonly MigrationStatusEntry<M>[],
  version: string,
  flag = "--to",
): void {
  if (!entries.some((e) => e.version === version)) {
    throw new UsageError(
      "UNKNOWN_VERSION",
      `${flag} ${version}: no migration has this version; run status to see the versions`,
    );
  }
}

/** One change `repair` makes to the history. */
export interface RepairChange {
  /** Version of the row. */
  version: string;
  /** `checksum`: set the recorded checksum to the file's; `remove`: delete the row. */
  action: "checksum" | "remove";
  /** Recorded checksum before. */
  from: string;
  /** The file's checksum (for `checksum`). */
  to?: string;
}

/**
 * Plans a `repair`: modified migrations get the file's checksum; with
 * `removeMissing`, rows without a file are deleted.
 *
 * @param entries Output of {@link classify}.
 * @param options `removeMissing`.
 * @returns The changes, in version order.
 * @example
 * ```ts
 * import { classify, planRepair } from "./classify.ts";
 * import { Migration } from "./migration.ts";
 * const m = await Migration.new({ version: "20250101_000000", name: "a", up: "SELECT 1" });
 * const row = { ...m, checksum: "old", appliedAt: new Date(), executionMs: 1, appliedBy: null };
 * console.log(planRepair(classify([m], [row]), {})[0].action); // "checksum"
 * ```
 */
export function planRepair<M extends Classifiable>(
  entries: readonly MigrationStatusEntry<M>[],
  options: { removeMissing?: boolean } = {},
): RepairChange[] {
  const changes: RepairChange[] = [];
  for (const e of entries) {
    if (e.state === "modified") {
      changes.push({
        version: e.version,
        action: "checksum",
        from: e.row!.checksum,
        to: e.checksum,
      });
    } else if (e.state === "missing" && options.removeMissing) {
      changes.push({ version: e.version, action: "remove", from: e.row!.checksum });
    }
  }
  return changes;
}

/**
 * Plans a `baseline`: every migration up to `version`, to be recorded as
 * applied without running.
 *
 * @param entries Output of {@link classify}.
 * @param version The last version to record.
 * @returns The migrations to record, in version order.
 * @throws {UsageError} `UNKNOWN_VERSION` when no migration has `version`.
 * @throws {ValidationError} `ALREADY_APPLIED` when any of them is recorded.
 * @example
 * ```ts
 * import { classify, planBaseline } from "./classify.ts";
 * import { Migration } from "./migration.ts";
 * const a = await Migration.new({ version: "20250101_000000", name: "a", up: "SELECT 1" });
 * const b = await Migration.new({ version: "20250102_000000", name: "b", up: "SELECT 2" });
 * console.log(planBaseline(classify([a, b], []), a.version).length); // 1
 * ```
 */
export function planBaseline(
  entries: readonly MigrationStatusEntry[],
  version: string,
): Migration[] {
  requireKnown(entries, version, "--version");
  const selected = entries.filter((e) => e.version <= version);
  const recorded = selected.filter((e) => e.row);
  if (recorded.length) {
    throw new ValidationError(
      "ALREADY_APPLIED",
      `baseline refused: ${recorded.map((e) => e.version).join(", ")} ${
        recorded.length === 1 ? "is" : "are"
      } already recorded; baseline is for a database whose history starts empty up to ${version}`,
      { version: recorded[0].version },
    );
  }
  const missingFile = selected.find((e) => !e.migration);
  if (missingFile) {
    throw new ValidationError("MISSING_FILE", `no file for ${missingFile.version}`);
  }
  return selected.map((e) => e.migration!);
}
