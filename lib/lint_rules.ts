/**
 * The lint rules: each reads the statements of one migration file (as the
 * project's lexer cuts them) and reports where a migration would lock,
 * rewrite or lose data in production, or where its DOWN does not undo its
 * UP. Pure functions; `lint.ts` reads files, applies suppressions and levels.
 *
 * A table is *new* when the same file's UP created it earlier; every other
 * table is *existing*, because each migration file may reach production on
 * its own, long after the one that created the table. Statements inside
 * strings, `DO` blocks and function bodies are not linted.
 *
 * @module
 */
import { created, downIncomplete, dropped, type ObjectRef } from "./lint_down.ts";
import {
  alterTable,
  find,
  has,
  head,
  ident,
  nameAt,
  skipIf,
  splitCommas,
  type Stmt,
  type Tok,
} from "./lint_sql.ts";

/** A rule's id, as used in `-- lint:ignore`, flags and `data-bridge.json`. */
export type RuleId =
  | "index-not-concurrently"
  | "drop-index-not-concurrently"
  | "add-column-not-null"
  | "alter-column-type"
  | "table-rewrite"
  | "refresh-not-concurrently"
  | "set-not-null"
  | "constraint-not-valid"
  | "add-unique-constraint"
  | "drop-table"
  | "drop-column"
  | "rename"
  | "concurrently-in-transaction"
  | "irreversible"
  | "down-incomplete"
  | "delete-all-rows"
  | "update-all-rows"
  | "invalid-ignore"
  | "invalid-migration";

/** What a rule is about: why it matters and what to do instead. */
export interface RuleInfo {
  /** One line: what goes wrong in production. */
  why: string;
  /** One line: the safe alternative. */
  fix: string;
}

/** Every rule, with its reason and safe alternative. */
export const RULES: Record<RuleId, RuleInfo> = {
  "index-not-concurrently": {
    why: "building an index without CONCURRENTLY (CREATE INDEX, REINDEX) blocks every write " +
      "to the table until the index is built",
    fix: "use CREATE INDEX CONCURRENTLY (or REINDEX ... CONCURRENTLY) in a migration with " +
      "'-- Transaction: none' (and DROP INDEX CONCURRENTLY IF EXISTS in its DOWN)",
  },
  "drop-index-not-concurrently": {
    why: "DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the index's table: " +
      "it waits behind every query running on the table, and every query after it waits behind it",
    fix: "use DROP INDEX CONCURRENTLY in a migration with '-- Transaction: none' " +
      "(and CREATE INDEX CONCURRENTLY in its DOWN)",
  },
  "add-column-not-null": {
    why: "adding a NOT NULL column without a DEFAULT fails on a table that has rows",
    fix: "add the column with a DEFAULT, or add it nullable, backfill it, then SET NOT NULL",
  },
  "alter-column-type": {
    why: "changing a column's type usually rewrites the table and its indexes under an " +
      "ACCESS EXCLUSIVE lock, blocking reads and writes",
    fix: "add a new column, backfill it in batches, switch the code to it, then drop the old one",
  },
  "table-rewrite": {
    why: "this rewrites the whole table and its indexes under an ACCESS EXCLUSIVE lock, " +
      "blocking reads and writes until it is done",
    fix: "add the column without the default (or nullable), then ALTER COLUMN ... SET DEFAULT " +
      "for new rows and backfill the old ones in batches; for VACUUM FULL or CLUSTER, pg_repack",
  },
  "refresh-not-concurrently": {
    why: "REFRESH MATERIALIZED VIEW without CONCURRENTLY locks the view against every read " +
      "until it is refreshed",
    fix: "REFRESH MATERIALIZED VIEW CONCURRENTLY (the view needs a unique index), or refresh it " +
      "outside the migration",
  },
  "set-not-null": {
    why: "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock",
    fix: "first ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT c " +
      "in another transaction (a later migration, or a migration with '-- Transaction: none'), " +
      "then SET NOT NULL and DROP CONSTRAINT c",
  },
  "constraint-not-valid": {
    why: "adding a FOREIGN KEY or CHECK constraint checks every row while holding a lock " +
      "that blocks writes (so does VALIDATE CONSTRAINT in a transaction that has already " +
      "altered, indexed or locked the table)",
    fix: "ADD CONSTRAINT ... NOT VALID (for a new column: add the column, then the " +
      "constraint), then VALIDATE CONSTRAINT in another transaction: a later migration, or the " +
      "next statement of a migration with '-- Transaction: none' (validation alone does not " +
      "block writes)",
  },
  "add-unique-constraint": {
    why: "adding a UNIQUE, PRIMARY KEY or EXCLUDE constraint builds its index while holding an " +
      "ACCESS EXCLUSIVE lock, blocking reads and writes",
    fix: "CREATE UNIQUE INDEX CONCURRENTLY (in a migration with '-- Transaction: none'), then " +
      "ADD CONSTRAINT ... UNIQUE (or PRIMARY KEY) USING INDEX, which takes the lock only briefly",
  },
  "drop-table": {
    why: "dropping a table (or a schema, or a database, with every table in it) deletes its data " +
      "for good, and running code that uses it breaks",
    fix: "stop using the table in code first, back it up, then acknowledge with " +
      "'-- lint:ignore drop-table <reason>'",
  },
  "drop-column": {
    why: "dropping a column deletes its data for good, and running code that selects it breaks",
    fix: "stop using the column in code first (deploy), then drop it and acknowledge with " +
      "'-- lint:ignore drop-column <reason>'",
  },
  "rename": {
    why: "renaming a table or column breaks the code that is running while the migration deploys",
    fix: "add the new name (column, or a view for a table), move the code to it, " +
      "then remove the old name in a later migration",
  },
  "concurrently-in-transaction": {
    why: "CONCURRENTLY (and VACUUM, ...) cannot run inside a transaction block: " +
      "the migration fails",
    fix: "put the header line '-- Transaction: none' before '-- UP', " +
      "and keep such statements out of BEGIN ... COMMIT",
  },
  "irreversible": {
    why: "the DOWN section is empty: this migration cannot be rolled back",
    fix: "write a DOWN that reverts the UP, or acknowledge with " +
      "'-- lint:ignore irreversible <reason>' in the DOWN section",
  },
  "down-incomplete": {
    why: "the DOWN leaves behind an object the UP created, so rolling back and applying " +
      "again fails",
    fix: "drop the object in the DOWN section, in reverse order of creation",
  },
  "delete-all-rows": {
    why: "TRUNCATE, or DELETE without WHERE, removes every row of a table that exists in " +
      "production",
    fix: "add a WHERE clause, or acknowledge with '-- lint:ignore delete-all-rows <reason>'",
  },
  "update-all-rows": {
    why: "UPDATE without WHERE writes a new version of every row of an existing table in one " +
      "statement: each row stays locked against other writers until the migration commits, and " +
      "the table and its indexes grow by a copy of every row",
    fix: "backfill in batches, each its own transaction (UPDATE ... WHERE id BETWEEN ... " +
      "statements in a migration with '-- Transaction: none', or a job outside migrations), or " +
      "acknowledge with '-- lint:ignore update-all-rows <reason>' for a small table",
  },
  "invalid-ignore": {
    why: "a '-- lint:ignore' comment names no known rule or gives no reason, so it ignores nothing",
    fix: "write '-- lint:ignore RULE[,RULE] reason' with rule ids from 'data-bridge lint --help'",
  },
  "invalid-migration": {
    why: "the file is not a valid migration, so apply refuses it",
    fix: "fix the file as the message says",
  },
};

/** A migration file, cut into statements. */
export interface FileModel {
  /** Whether its sections run in a transaction (no `-- Transaction: none`). */
  transactional: boolean;
  /** UP statements (the whole file when it has no `-- UP` line). */
  up: Stmt[];
  /** DOWN statements; `null` when the file has no `-- DOWN` line. */
  down: Stmt[] | null;
  /** Line of the `-- DOWN` marker. */
  downLine: number;
}

/** A finding before suppressions and levels. */
export interface RawFinding {
  /** Rule. */
  rule: RuleId;
  /** Line in the file. */
  line: number;
  /** What is wrong here, naming the object. */
  message: string;
}

// ---------------------------------------------------------------- the rules

/** Column types whose DEFAULT is a sequence of their own. */
const SERIAL_TYPES = new Set([
  "SMALLSERIAL",
  "SERIAL",
  "BIGSERIAL",
  "SERIAL2",
  "SERIAL4",
  "SERIAL8",
]);

/**
 * Built-in functions that are VOLATILE (`provolatile = 'v'`) and usual in a
 * column's DEFAULT: a column added with one is filled row by row, which
 * rewrites the table. A STABLE or IMMUTABLE default (`now()`, a constant) is
 * stored once and rewrites nothing. Functions of the project's own are not
 * judged.
 */
export const VOLATILE_DEFAULTS: ReadonlySet<string> = new Set([
  "RANDOM",
  "GEN_RANDOM_UUID",
  "UUID_GENERATE_V1",
  "UUID_GENERATE_V1MC",
  "UUID_GENERATE_V4",
  "CLOCK_TIMESTAMP",
  "TIMEOFDAY",
  "NEXTVAL",
  "RANDOM_NORMAL",
  "UUIDV4",
  "UUIDV7",
]);

/**
 * Why adding a column as `a` defines it rewrites the table (PostgreSQL
 * 11 and later), or `null` when it does not: a volatile DEFAULT, a serial
 * type or an identity (both filled from a sequence), a STORED generated
 * column.
 */
function rewritingColumn(a: Tok[], typeAt: number): string | null {
  if (SERIAL_TYPES.has(a[typeAt]?.up ?? "")) return `the serial type ${a[typeAt].text}`;
  if (find(a, ["AS", "IDENTITY"]) !== -1) return "an identity";
  if (find(a, ["GENERATED"]) !== -1 && find(a, ["STORED"]) !== -1) {
    return "a STORED generated value";
  }
  const at = find(a, ["DEFAULT"]);
  if (at === -1) return null;
  const call = a.slice(at + 1).find((x) => x.kind === "word" && VOLATILE_DEFAULTS.has(x.up));
  return call ? `the volatile DEFAULT ${call.text.toLowerCase()}()` : null;
}

/** What `REINDEX` rebuilds the indexes of. */
const REINDEXED = new Set(["INDEX", "TABLE", "SCHEMA", "DATABASE", "SYSTEM"]);

/** `ALTER TABLE ... SET` forms that rewrite or copy the table under its lock. */
const REWRITING_SETS = new Set(["LOGGED", "UNLOGGED", "TABLESPACE", "ACCESS"]);

/** `LOCK TABLE ... IN mode MODE` modes that let other sessions write. */
const WEAK_LOCK_MODES = new Set([
  "ACCESS SHARE",
  "ROW SHARE",
  "ROW EXCLUSIVE",
  "SHARE UPDATE EXCLUSIVE",
]);

/**
 * Whether an `ALTER TABLE` action (its words at depth 0) takes a lock that
 * lets other sessions write (`SHARE UPDATE EXCLUSIVE`): `VALIDATE
 * CONSTRAINT`, `SET STATISTICS`, storage parameters, `CLUSTER ON`, `SET
 * WITHOUT CLUSTER`, `ATTACH PARTITION` (on the parent). Every other action
 * blocks writes until the transaction ends.
 */
function weakAlter(aw: string[]): boolean {
  if (aw[0] === "VALIDATE" || aw[0] === "CLUSTER" || aw[0] === "ATTACH") return true;
  if (aw[0] === "SET" && aw[1] === "WITHOUT" && aw[2] === "CLUSTER") return true;
  // SET (parameter = value) and RESET (parameter), of the table or of a column
  const rest = aw[0] === "ALTER" ? aw.slice(aw[1] === "COLUMN" ? 3 : 2) : aw;
  if ((rest[0] === "SET" || rest[0] === "RESET") && rest[1] === "(") return true;
  return aw[0] === "ALTER" && rest[0] === "SET" && rest[1] === "STATISTICS";
}

/**
 * constraint-not-valid's VALIDATE CONSTRAINTs: those in a transaction that
 * has already locked their table against writes, whose validation then
 * scans the table under that lock.
 */
function validatedUnderLock(
  model: FileModel,
  validations: Map<Stmt, { table: string; name: string }[]>,
  add: (rule: RuleId, line: number, message: string) => void,
): void {
  // The transaction each UP statement runs in: the file's one, or (with
  // '-- Transaction: none', or BEGIN/COMMIT written in the file, which then
  // runs as written) one per statement, but for those between BEGIN and COMMIT.
  const oneTransaction = model.transactional &&
    !model.up.some((s) => s.kind === "transaction_control");
  let txn = 0;
  let inBlock = false;
  /** Tables locked against writes: in which transaction, at which line, by what. */
  const locks = new Map<string, { txn: number; line: number; what: string }>();
  for (const s of model.up) {
    const w = head(s, 6);
    if (s.kind === "transaction_control") {
      if (!(w[0] === "ROLLBACK" && has(s.toks, "TO"))) {
        inBlock = w[0] === "BEGIN" || w[0] === "START";
        txn++;
      }
      continue;
    }
    if (!oneTransaction && !inBlock) txn++;
    // A statement's own lock is held for the whole of it.
    const locked = writeLocked(s, w);
    for (const table of locked?.tables ?? []) {
      if (locks.get(table)?.txn !== txn) {
        locks.set(table, { txn, line: s.line, what: locked!.what });
      }
    }
    for (const { table, name } of validations.get(s) ?? []) {
      const lock = locks.get(table);
      if (lock?.txn !== txn) continue;
      add(
        "constraint-not-valid",
        s.line,
        `VALIDATE CONSTRAINT ${name} of existing table ${table} in the same transaction as ` +
          `the ${lock.what} at line ${lock.line}, whose lock blocks writes to ${table} while ` +
          "the validation scans it",
      );
    }
  }
}

/**
 * The tables a statement locks against writes until its transaction ends:
 * an `ALTER TABLE` (but for its `SHARE UPDATE EXCLUSIVE` forms), `CREATE
 * INDEX` without `CONCURRENTLY`, `CREATE TRIGGER`, `LOCK TABLE` (but in a
 * mode that lets others write).
 */
function writeLocked(s: Stmt, w: string[]): { tables: string[]; what: string } | null {
  const t = s.toks;
  const alter = alterTable(s);
  if (alter) {
    const strong = alter.actions.some((a) =>
      !weakAlter(a.filter((x) => x.depth === 0).map((x) => x.up))
    );
    return strong ? { tables: [alter.table], what: "ALTER TABLE" } : null;
  }
  if (w[0] === "CREATE" && (w[1] === "INDEX" || w[2] === "INDEX") && !has(t, "CONCURRENTLY")) {
    const on = find(t, ["ON"]);
    return on === -1 ? null : { tables: [nameAt(t, skipIf(t, on + 1)).name], what: "CREATE INDEX" };
  }
  if (w[0] === "CREATE" && w.slice(1, 5).includes("TRIGGER")) {
    const on = find(t, ["ON"]);
    return on === -1 ? null : { tables: [nameAt(t, on + 1).name], what: "CREATE TRIGGER" };
  }
  if (w[0] !== "LOCK") return null;
  const mode = find(t, ["IN"]);
  if (
    mode !== -1 && WEAK_LOCK_MODES.has(
      t.slice(mode + 1).filter((x) => x.kind === "word" && !["MODE", "NOWAIT"].includes(x.up))
        .map((x) => x.up).join(" "),
    )
  ) return null;
  const from = skipIf(t, t[1]?.up === "TABLE" ? 2 : 1);
  const tables = splitCommas(t.slice(from, mode === -1 ? t.length : mode))
    .map((part) => nameAt(part, skipIf(part, 0)).name);
  return { tables, what: "LOCK TABLE" };
}

/**
 * Runs every rule on one file.
 *
 * @param model The file's statements.
 * @returns Findings in file order (before suppressions and levels).
 * @example
 * ```ts
 * import { checkFile } from "./lint_rules.ts";
 * import type { Stmt } from "./lint_sql.ts";
 * const word = (text: string) => ({ kind: "word" as const, text, up: text.toUpperCase(), depth: 0 });
 * const drop: Stmt = { toks: ["DROP", "TABLE", "users"].map(word), line: 2, kind: "plain" };
 * const findings = checkFile({ transactional: true, up: [drop], down: [], downLine: 3 });
 * console.log(findings.map((f) => f.rule)); // ["drop-table", "irreversible"]
 * ```
 */
export function checkFile(model: FileModel): RawFinding[] {
  const out: RawFinding[] = [];
  const add = (rule: RuleId, line: number, message: string) => out.push({ rule, line, message });
  // What each UP statement creates, worked out once for the rules and the DOWN check.
  const createdOf = new Map<Stmt, ObjectRef | null>();
  const createdBy = (s: Stmt): ObjectRef | null => {
    let ref = createdOf.get(s);
    if (ref === undefined) createdOf.set(s, ref = created(s));
    return ref;
  };
  const newTables = new Set<string>();
  /** Indexes and schemas made earlier in the file: dropping them again blocks no one. */
  const newIndexes = new Set<string>();
  const newSchemas = new Set<string>();
  /** CHECK (col IS NOT NULL) constraints seen: table.col -> validated. */
  const notNullChecks = new Map<string, { name: string; validated: boolean }>();
  const checkNames = new Map<string, string>(); // constraint name -> table.col
  const isNew = (table: string) => newTables.has(table);
  /** VALIDATE CONSTRAINTs of existing tables, by statement (judged once the loop is done). */
  const validations = new Map<Stmt, { table: string; name: string }[]>();

  for (const s of model.up) {
    const t = s.toks;
    const w = head(s, 6);
    const made = createdBy(s);
    // A materialized view made here is new too (an index on it blocks no one).
    if (made?.kind === "TABLE" || made?.kind === "MATERIALIZED VIEW") newTables.add(made.name);
    if (made?.kind === "INDEX") newIndexes.add(made.name);
    if (made?.kind === "SCHEMA") newSchemas.add(made.name);
    if (w[0] === "SELECT" && has(t, "INTO")) {
      const into = find(t, ["INTO"]);
      newTables.add(nameAt(t, skipIf(t, into + 1 + (t[into + 1]?.up === "TABLE" ? 1 : 0))).name);
    }

    // index-not-concurrently
    if (w[0] === "CREATE" && (w[1] === "INDEX" || (w[1] === "UNIQUE" && w[2] === "INDEX"))) {
      const on = find(t, ["ON"]);
      const table = on === -1 ? "" : nameAt(t, skipIf(t, on + 1)).name;
      if (!has(t, "CONCURRENTLY") && table && !isNew(table)) {
        add(
          "index-not-concurrently",
          s.line,
          `CREATE INDEX${
            made ? ` ${made.name}` : ""
          } on existing table ${table} without CONCURRENTLY`,
        );
      }
    }

    // index-not-concurrently: REINDEX (of an index, a table, a schema...)
    if (w[0] === "REINDEX" && !t.some((x) => x.kind === "word" && x.up === "CONCURRENTLY")) {
      const at = t.findIndex((x) => x.depth === 0 && x.kind === "word" && REINDEXED.has(x.up));
      const what = at === -1 ? "" : t[at].up;
      const name = at === -1 ? "" : nameAt(t, at + 1).name;
      if (!(what === "TABLE" && isNew(name))) {
        const target = [what, name].filter(Boolean).join(" ");
        add("index-not-concurrently", s.line, `REINDEX ${target} without CONCURRENTLY`);
      }
    }

    // refresh-not-concurrently
    if (
      w[0] === "REFRESH" && w[1] === "MATERIALIZED" && w[2] === "VIEW" && w[3] !== "CONCURRENTLY"
    ) {
      const { name } = nameAt(t, 3);
      if (find(t, ["WITH", "NO", "DATA"]) === -1 && !isNew(name)) {
        add(
          "refresh-not-concurrently",
          s.line,
          `REFRESH MATERIALIZED VIEW ${name} without CONCURRENTLY`,
        );
      }
    }

    // table-rewrite: VACUUM FULL and CLUSTER (of one table, or of every table)
    const full = w[0] === "VACUUM" && t.some((x) => x.kind === "word" && x.up === "FULL");
    if (full || w[0] === "CLUSTER") {
      const words = t.filter((x) => x.depth === 0 && (x.kind === "word" || x.kind === "ident"));
      const skip = new Set([
        "VACUUM",
        "CLUSTER",
        "FULL",
        "FREEZE",
        "VERBOSE",
        "ANALYZE",
        "ANALYSE",
      ]);
      const first = words.find((x) => !skip.has(x.up));
      const target = first ? nameAt(t, t.indexOf(first)).name : null;
      if (target === null || !isNew(target)) {
        add(
          "table-rewrite",
          s.line,
          `${full ? "VACUUM FULL" : "CLUSTER"} ${target ?? "of every table"}`,
        );
      }
    }

    // delete-all-rows
    if (w[0] === "TRUNCATE") {
      let i = 1;
      if (t[i]?.up === "TABLE") i++;
      for (const part of splitCommas(t.slice(i))) {
        const { name } = nameAt(part, skipIf(part, 0));
        if (
          name && !["cascade", "restrict", "restart", "continue"].includes(name) && !isNew(name)
        ) {
          add("delete-all-rows", s.line, `TRUNCATE of existing table ${name}`);
        }
      }
    }
    if (w[0] === "DELETE" && w[1] === "FROM" && !has(t, "WHERE")) {
      const { name } = nameAt(t, skipIf(t, 2));
      if (!isNew(name)) add("delete-all-rows", s.line, `DELETE FROM ${name} without WHERE`);
    }

    // update-all-rows
    if (w[0] === "UPDATE" && !has(t, "WHERE")) {
      const { name } = nameAt(t, skipIf(t, 1));
      if (name && !isNew(name)) add("update-all-rows", s.line, `UPDATE ${name} without WHERE`);
    }

    // drop-table
    if (w[0] === "DROP" && w[1] === "TABLE") {
      for (const ref of dropped(s)) {
        if (isNew(ref.name)) newTables.delete(ref.name);
        else add("drop-table", s.line, `DROP TABLE ${ref.name}`);
      }
    }
    // drop-table: a schema, with the tables in it (CASCADE), or a whole database
    if (w[0] === "DROP" && w[1] === "SCHEMA") {
      const cascade = has(t, "CASCADE") ? " CASCADE" : "";
      for (const ref of dropped(s)) {
        if (newSchemas.has(ref.name)) newSchemas.delete(ref.name);
        else add("drop-table", s.line, `DROP SCHEMA ${ref.name}${cascade}`);
      }
    }
    if (w[0] === "DROP" && w[1] === "DATABASE") {
      add("drop-table", s.line, `DROP DATABASE ${nameAt(t, skipIf(t, 2)).name}`);
    }

    // drop-index-not-concurrently
    if (w[0] === "DROP" && w[1] === "INDEX" && w[2] !== "CONCURRENTLY") {
      for (const ref of dropped(s)) {
        if (newIndexes.has(ref.name)) newIndexes.delete(ref.name);
        else {
          add("drop-index-not-concurrently", s.line, `DROP INDEX ${ref.name} without CONCURRENTLY`);
        }
      }
    }

    const alter = alterTable(s);
    if (alter) {
      const { table, actions } = alter;
      const existing = !isNew(table);
      for (const a of actions) {
        const aw = a.filter((x) => x.depth === 0).map((x) => x.up);
        if (aw[0] === "RENAME") {
          if (existing) {
            const column = aw[1] === "TO" ? null : ident(a[aw[1] === "COLUMN" ? 2 : 1]);
            if (aw[1] !== "CONSTRAINT") {
              add(
                "rename",
                s.line,
                column ? `RENAME COLUMN ${table}.${column}` : `RENAME of table ${table}`,
              );
            }
          } else if (aw[1] === "TO") {
            newTables.add(nameAt(a, 2).name);
          }
          continue;
        }
        if (aw[0] === "ADD") {
          const isConstraint = ["CONSTRAINT", "CHECK", "FOREIGN", "PRIMARY", "UNIQUE", "EXCLUDE"]
            .includes(aw[1]);
          if (!isConstraint) {
            const at = skipIf(a, aw[1] === "COLUMN" ? 2 : 1);
            const col = ident(a[at]) ?? "?";
            const primary = find(a, ["PRIMARY", "KEY"]) !== -1;
            const notNull = find(a, ["NOT", "NULL"]) !== -1 || primary;
            // A serial column's DEFAULT is its sequence.
            const filled = find(a, ["DEFAULT"]) !== -1 || find(a, ["GENERATED"]) !== -1 ||
              SERIAL_TYPES.has(a[at + 1]?.up ?? "");
            if (existing && notNull && !filled) {
              add(
                "add-column-not-null",
                s.line,
                `ADD COLUMN ${table}.${col} NOT NULL without a DEFAULT on an existing table`,
              );
            }
            const rewrite = existing ? rewritingColumn(a, at + 1) : null;
            if (rewrite) {
              add(
                "table-rewrite",
                s.line,
                `ADD COLUMN ${table}.${col} with ${rewrite} rewrites existing table ${table}`,
              );
            }
            if (existing && (primary || find(a, ["UNIQUE"]) !== -1)) {
              add(
                "add-unique-constraint",
                s.line,
                `ADD COLUMN ${table}.${col} ${
                  primary ? "PRIMARY KEY" : "UNIQUE"
                } on existing table ${table}`,
              );
            }
            // A column's own REFERENCES or CHECK is checked against every row too
            // (and cannot be NOT VALID).
            const inline = find(a, ["REFERENCES"]) !== -1
              ? "REFERENCES"
              : find(a, ["CHECK"]) !== -1
              ? "CHECK"
              : null;
            if (existing && inline) {
              add(
                "constraint-not-valid",
                s.line,
                `ADD COLUMN ${table}.${col} with ${inline} on existing table ${table}`,
              );
            }
            continue;
          }
          const kindAt = aw[1] === "CONSTRAINT" ? 3 : 1;
          const name = aw[1] === "CONSTRAINT" ? ident(a[2]) : null;
          const ctype = aw[kindAt];
          const notValid = find(a, ["NOT", "VALID"]) !== -1;
          if (ctype === "CHECK") {
            // CHECK (col IS NOT NULL): lets a later SET NOT NULL skip its table scan.
            const body = a.filter((x) => x.depth > 0);
            const words = body.map((x) => x.up);
            if (words.length === 4 && words.slice(1).join(" ") === "IS NOT NULL") {
              const col = ident(body[0]);
              if (col) {
                notNullChecks.set(`${table}.${col}`, { name: name ?? "", validated: !notValid });
                if (name) checkNames.set(name, `${table}.${col}`);
              }
            }
          }
          const indexed = ctype === "UNIQUE" || ctype === "PRIMARY" || ctype === "EXCLUDE";
          if (indexed && existing && find(a, ["USING", "INDEX"]) === -1) {
            add(
              "add-unique-constraint",
              s.line,
              `ADD ${ctype === "PRIMARY" ? "PRIMARY KEY" : ctype} constraint${
                name ? ` ${name}` : ""
              } on existing table ${table} without USING INDEX`,
            );
          }
          if ((ctype === "CHECK" || ctype === "FOREIGN") && existing && !notValid) {
            add(
              "constraint-not-valid",
              s.line,
              `ADD ${ctype === "CHECK" ? "CHECK" : "FOREIGN KEY"} constraint${
                name ? ` ${name}` : ""
              } on existing table ${table} without NOT VALID`,
            );
          }
          continue;
        }
        if (aw[0] === "SET" && REWRITING_SETS.has(aw[1])) {
          if (existing) {
            add(
              "table-rewrite",
              s.line,
              `SET ${aw[1] === "ACCESS" ? "ACCESS METHOD" : aw[1]} on existing table ${table}`,
            );
          }
          continue;
        }
        if (aw[0] === "VALIDATE" && aw[1] === "CONSTRAINT") {
          if (existing) {
            const list = validations.get(s) ?? [];
            validations.set(s, [...list, { table, name: ident(a[2]) ?? "?" }]);
          }
          const key = checkNames.get(ident(a[2]) ?? "");
          const check = key ? notNullChecks.get(key) : undefined;
          if (check) check.validated = true;
          continue;
        }
        if (aw[0] === "DROP" && aw[1] !== "CONSTRAINT") {
          const col = ident(a[skipIf(a, aw[1] === "COLUMN" ? 2 : 1)]);
          if (existing && col) add("drop-column", s.line, `DROP COLUMN ${table}.${col}`);
          continue;
        }
        if (aw[0] === "ALTER") {
          const col = ident(a[aw[1] === "COLUMN" ? 2 : 1]) ?? "?";
          const rest = aw.slice(aw[1] === "COLUMN" ? 3 : 2);
          if (existing && (rest[0] === "TYPE" || (rest[0] === "SET" && rest[1] === "DATA"))) {
            add(
              "alter-column-type",
              s.line,
              `ALTER COLUMN ${table}.${col} TYPE on an existing table`,
            );
          }
          if (existing && rest[0] === "SET" && rest[1] === "NOT" && rest[2] === "NULL") {
            if (!notNullChecks.get(`${table}.${col}`)?.validated) {
              add(
                "set-not-null",
                s.line,
                `SET NOT NULL on ${table}.${col} without a validated CHECK (${col} IS NOT NULL) before it`,
              );
            }
          }
        }
      }
    }
  }

  if (validations.size) validatedUnderLock(model, validations, add);

  // concurrently-in-transaction (both sections)
  for (const section of [model.up, model.down ?? []]) {
    let inBlock = false;
    for (const s of section) {
      const w0 = s.toks[0]?.up;
      if (s.kind === "transaction_control") {
        inBlock = w0 === "BEGIN" || w0 === "START";
        continue;
      }
      if (s.kind === "no_transaction" && (model.transactional || inBlock)) {
        add(
          "concurrently-in-transaction",
          s.line,
          `${head(s, 4).join(" ")} ${
            inBlock ? "inside BEGIN ... COMMIT" : "in a migration without '-- Transaction: none'"
          }`,
        );
      }
    }
  }

  if (model.down !== null) {
    if (model.down.length === 0) {
      add("irreversible", model.downLine, "the DOWN section is empty");
    } else {
      downIncomplete(model, add, createdBy);
    }
  }
  return out.sort((a, b) => a.line - b.line);
}
