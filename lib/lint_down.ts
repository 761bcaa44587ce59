/**
 * The DOWN check (`down-incomplete`): what a migration's UP creates, and
 * whether its DOWN drops or restores each of it, as PostgreSQL would: an
 * index, trigger or policy goes with its table (or view), an index or a
 * constraint with a column it involves, a partition with its parent, a
 * sequence with the column that owns it, anything with its schema. A DOWN it
 * cannot follow is not judged: dynamic SQL (`DO`, `EXECUTE`), and whatever a
 * `CASCADE` may have taken along (`verify` runs the DOWN for real).
 *
 * @module
 */
import type { FileModel, RuleId } from "./lint_rules.ts";
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

const CREATE_MODIFIERS = new Set([
  "OR",
  "REPLACE",
  "GLOBAL",
  "LOCAL",
  "TEMP",
  "TEMPORARY",
  "UNLOGGED",
  "RECURSIVE",
  "UNIQUE",
  "TRUSTED",
  "PROCEDURAL",
  "CONSTRAINT",
]);

/** Object kinds the DOWN check follows. */
export type ObjectKind =
  | "TABLE"
  | "INDEX"
  | "FUNCTION"
  | "PROCEDURE"
  | "VIEW"
  | "MATERIALIZED VIEW"
  | "SEQUENCE"
  | "TYPE"
  | "DOMAIN"
  | "SCHEMA"
  | "EXTENSION"
  | "TRIGGER"
  | "POLICY"
  | "COLUMN"
  | "CONSTRAINT"
  | "ENUM VALUE";

const KINDS = new Set<string>([
  "TABLE",
  "INDEX",
  "FUNCTION",
  "PROCEDURE",
  "VIEW",
  "SEQUENCE",
  "TYPE",
  "DOMAIN",
  "SCHEMA",
  "EXTENSION",
  "TRIGGER",
  "POLICY",
]);

/** An object a statement creates (or drops). */
export interface ObjectRef {
  /** What it is. */
  kind: ObjectKind;
  /** Its name, unqualified. */
  name: string;
  /** Its schema, when named (for an index, trigger or policy: its table's). */
  schema: string | null;
  /**
   * The table it lives on (indexes, triggers, policies, columns,
   * constraints), the parent of a partition, or the table of the column
   * owning a sequence: dropping that table drops it. For an enum value,
   * its type.
   */
  table?: string;
  /**
   * Names of `table`'s columns it involves (indexes, constraints, a
   * sequence's owner): PostgreSQL drops it with any of them (see
   * {@link columnsNamed}).
   */
  columns?: string[];
  /**
   * Created with `IF NOT EXISTS`: the UP may have found it there already, and
   * runs again after a DOWN that kept it.
   */
  ifNotExists?: boolean;
}

/** Kinds whose drop takes the indexes, triggers and policies on them along. */
const RELATIONS = new Set<string>(["TABLE", "VIEW", "MATERIALIZED VIEW"]);

/** Kinds of `ALTER <kind> name RENAME TO new` that the check follows in UP. */
const RENAMED_KINDS = new Set<string>(["TABLE", "INDEX", "VIEW", "MATERIALIZED VIEW", "SEQUENCE"]);

/**
 * The kind of object a `CREATE`, `DROP` or `ALTER` names at `i` (`MATERIALIZED
 * VIEW` as one), and the index after it.
 */
function objectKind(t: Tok[], i: number): { kind: string | undefined; next: number } {
  if (t[i]?.up === "MATERIALIZED" && t[i + 1]?.up === "VIEW") {
    return { kind: "MATERIALIZED VIEW", next: i + 2 };
  }
  return { kind: t[i]?.up, next: i + 1 };
}

/**
 * What a `CREATE ...` statement creates, if it is one the DOWN check follows.
 *
 * @param s The statement.
 * @returns The object, or `null` (another statement, an unnamed index).
 * @example
 * ```ts
 * import { created } from "./lint_down.ts";
 * const toks = ["CREATE", "INDEX", "i", "ON", "t"].map((text) => ({
 *   kind: "word" as const, text, up: text.toUpperCase(), depth: 0,
 * }));
 * console.log(created({ toks, line: 1, kind: "plain" })?.table); // "t"
 * ```
 */
export function created(s: Stmt): ObjectRef | null {
  const t = s.toks;
  if (t[0]?.up !== "CREATE") return null;
  let at = 1;
  while (t[at] && CREATE_MODIFIERS.has(t[at].up) && t[at].kind === "word") at++;
  const { kind, next: after } = objectKind(t, at);
  if (!kind || !(KINDS.has(kind) || kind === "MATERIALIZED VIEW")) return null;
  let i = after;
  if (kind === "INDEX" && t[i]?.up === "CONCURRENTLY") i++;
  const ifNotExists = t[i]?.up === "IF" && t[i + 1]?.up === "NOT";
  i = skipIf(t, i);
  if (kind === "INDEX" && t[i]?.up === "ON") return null; // unnamed index
  if (kind === "SCHEMA" && t[i]?.up === "AUTHORIZATION") return null;
  const { name, schema, next } = nameAt(t, i);
  if (!name) return null;
  const ref: ObjectRef = { kind: kind as ObjectKind, name, schema };
  if (ifNotExists) ref.ifNotExists = true;
  if (kind === "INDEX" || kind === "TRIGGER" || kind === "POLICY") {
    const on = find(t, ["ON"], next);
    if (on !== -1) {
      const table = nameAt(t, skipIf(t, on + 1));
      ref.table = table.name;
      ref.schema = table.schema;
      if (kind === "INDEX") ref.columns = columnsNamed(t, table.next);
    }
  } else if (kind === "TABLE" && t[next]?.up === "PARTITION" && t[next + 1]?.up === "OF") {
    ref.table = nameAt(t, next + 2).name;
  } else if (kind === "SEQUENCE") {
    // OWNED BY [schema.]table.column (not NONE, which is one name).
    const owned = find(t, ["OWNED", "BY"], next);
    const owner = owned === -1 ? null : nameAt(t, owned + 2);
    if (owner?.schema) {
      ref.table = owner.schema;
      ref.columns = [owner.name];
    }
  }
  return ref;
}

/** Words of an index's or a constraint's definition that are never its columns. */
const NOT_COLUMNS = new Set([
  "ALL",
  "AND",
  "ANY",
  "ASC",
  "BETWEEN",
  "CASE",
  "CHECK",
  "DEFERRABLE",
  "DEFERRED",
  "DESC",
  "DISTINCT",
  "ELSE",
  "END",
  "EXCLUDE",
  "FALSE",
  "FIRST",
  "FOREIGN",
  "ILIKE",
  "IMMEDIATE",
  "IN",
  "INCLUDE",
  "INHERIT",
  "INITIALLY",
  "IS",
  "KEY",
  "LAST",
  "LIKE",
  "NO",
  "NOT",
  "NULL",
  "NULLS",
  "OR",
  "PRIMARY",
  "THEN",
  "TRUE",
  "UNIQUE",
  "VALID",
  "WHEN",
  "WHERE",
  "WITH",
]);

/** Words followed by a name that is not a column (a collation, a method, a tablespace). */
const BEFORE_OTHER_NAMES = new Set(["COLLATE", "USING", "TABLESPACE"]);

/**
 * The names in an index's or a constraint's definition, `toks` from
 * `from` up to a `stop` word, that may be columns of its table: words and
 * quoted identifiers other than keywords, a function's name (before `(`), a
 * type (after `::`), a storage parameter (before `=`) or the name after
 * `COLLATE`, `USING` or `TABLESPACE`. PostgreSQL drops an index or a
 * constraint with any column it involves (its keys, expressions, `INCLUDE`
 * list or predicate). A name kept that is not a column only counts if a
 * DOWN drops a column of that name on the same table.
 */
function columnsNamed(toks: Tok[], from: number, stop?: string): string[] {
  const names: string[] = [];
  for (let i = from; i < toks.length; i++) {
    const t = toks[i];
    if (t.kind === "word" && t.up === stop) break;
    const name = ident(t);
    if (name === null || (t.kind === "word" && NOT_COLUMNS.has(t.up))) continue;
    const before = toks[i - 1];
    const after = toks[i + 1]?.text;
    if (after === "(" || after === "=" || before?.text === ":") continue;
    if (before?.kind === "word" && BEFORE_OTHER_NAMES.has(before.up)) continue;
    names.push(name);
  }
  return names;
}

/**
 * What a `DROP ...` statement drops, if it drops what the DOWN check follows.
 *
 * @param s The statement.
 * @returns Each object it names (none for another statement).
 * @example
 * ```ts
 * import { dropped } from "./lint_down.ts";
 * const toks = ["DROP", "TABLE", "IF", "EXISTS", "t"].map((text) => ({
 *   kind: "word" as const, text, up: text.toUpperCase(), depth: 0,
 * }));
 * console.log(dropped({ toks, line: 1, kind: "plain" }).map((d) => d.name)); // ["t"]
 * ```
 */
export function dropped(s: Stmt): ObjectRef[] {
  const t = s.toks;
  if (t[0]?.up !== "DROP") return [];
  const { kind, next } = objectKind(t, 1);
  if (!kind || !(KINDS.has(kind) || kind === "MATERIALIZED VIEW")) return [];
  let i = next;
  if (t[i]?.up === "CONCURRENTLY") i++;
  i = skipIf(t, i);
  const rest = t.slice(i);
  if (kind === "TRIGGER" || kind === "POLICY") {
    const { name, schema, next } = nameAt(rest, 0);
    const on = find(rest, ["ON"], next);
    return [{
      kind: kind as ObjectKind,
      name,
      schema,
      table: on === -1 ? undefined : nameAt(rest, on + 1).name,
    }];
  }
  return splitCommas(rest).map((part) => {
    const { name, schema } = nameAt(part, 0);
    return { kind: kind as ObjectKind, name, schema };
  }).filter((r) => r.name !== "" && !["cascade", "restrict"].includes(r.name));
}

/** `ALTER TABLE|INDEX|VIEW|MATERIALIZED VIEW|SEQUENCE [IF EXISTS] name RENAME TO new`. */
function renamedRelation(s: Stmt): { kind: ObjectKind; from: string; to: string } | null {
  const t = s.toks;
  if (t[0]?.up !== "ALTER") return null;
  const { kind, next: at } = objectKind(t, 1);
  if (!kind || !RENAMED_KINDS.has(kind)) return null;
  const { name, next } = nameAt(t, skipIf(t, at));
  const to = t[next]?.up === "RENAME" && t[next + 1]?.up === "TO" ? ident(t[next + 2]) : null;
  return name && to ? { kind: kind as ObjectKind, from: name, to } : null;
}

/** An object UP made: where, and in which statement of UP (its order). */
interface Made {
  ref: ObjectRef;
  at: Stmt;
  order: number;
}

/**
 * Reports each object the UP creates that the DOWN neither drops nor
 * restores (`down-incomplete`).
 *
 * @param model The file's statements (its DOWN section not `null`).
 * @param add Receives each finding.
 * @param createdBy What an UP statement creates ({@link created}, as the other rules saw it).
 * @example
 * ```ts
 * import { created, downIncomplete } from "./lint_down.ts";
 * const stmt = (...words: string[]) => ({
 *   toks: words.map((text) => ({ kind: "word" as const, text, up: text.toUpperCase(), depth: 0 })),
 *   line: 2,
 *   kind: "plain" as const,
 * });
 * const model = {
 *   transactional: true,
 *   up: [stmt("CREATE", "TABLE", "t")],
 *   down: [stmt("SELECT", "1")],
 *   downLine: 3,
 * };
 * const found: string[] = [];
 * downIncomplete(model, (rule, _line, message) => found.push(`${rule}: ${message}`), created);
 * console.log(found); // ["down-incomplete: the DOWN section does not drop table t created here"]
 * ```
 */
export function downIncomplete(
  model: FileModel,
  add: (rule: RuleId, line: number, message: string) => void,
  createdBy: (s: Stmt) => ObjectRef | null,
): void {
  const down = model.down;
  // Dynamic SQL in DOWN cannot be followed: say nothing rather than guess.
  if (!down || down.some((s) => s.toks[0]?.up === "DO" || s.toks[0]?.up === "EXECUTE")) return;
  const made = madeByUp(model.up, createdBy);
  const gone = new Set<string>();
  const goneRelations = new Set<string>();
  const goneSchemas = new Set<string>();
  // What the DOWN drops with CASCADE, which takes along whatever depends on it.
  const cascades: string[] = [];
  for (const s of down) {
    const drops = dropped(s);
    const cascade = drops.length > 0 && has(s.toks, "CASCADE");
    for (const d of drops) {
      gone.add(key(d.kind, d.name));
      if (RELATIONS.has(d.kind)) goneRelations.add(d.name);
      if (d.kind === "SCHEMA") goneSchemas.add(d.name);
      if (cascade) cascades.push(key(d.kind, d.name));
    }
    // CREATE OR REPLACE in DOWN restores the previous definition.
    const restored = created(s);
    if (restored && head(s, 3).includes("REPLACE")) gone.add(key(restored.kind, restored.name));
    const alter = alterTable(s);
    if (!alter) continue;
    for (const a of alter.actions) {
      const k = droppedBy(alter.table, a);
      if (k === null) continue;
      gone.add(k);
      if (has(a, "CASCADE")) cascades.push(k);
    }
  }
  // A partition goes with its parent, and its own partitions with it.
  for (let grew = true; grew;) {
    grew = false;
    for (const { ref } of made.values()) {
      if (ref.kind !== "TABLE" || !ref.table || goneRelations.has(ref.name)) continue;
      if (goneRelations.has(ref.table)) {
        goneRelations.add(ref.name);
        grew = true;
      }
    }
  }
  for (const [k, { ref, at, order }] of made) {
    // Whether the UP made it is not known, nor is keeping it a failure to apply again.
    if (gone.has(k) || ref.ifNotExists) continue;
    if (ref.kind === "TABLE" && goneRelations.has(ref.name)) continue;
    if (ref.table && goneRelations.has(ref.table)) continue;
    if (ref.schema && goneSchemas.has(ref.schema)) continue;
    // Dropping a column drops the indexes and constraints that involve it.
    if (ref.columns?.some((c) => gone.has(key("COLUMN", `${ref.table}.${c}`)))) continue;
    if (ref.kind === "ENUM VALUE") {
      // Only its type's DROP takes it: PostgreSQL cannot drop an enum value.
      if (gone.has(key("TYPE", ref.table ?? ""))) continue;
      add(
        "down-incomplete",
        at.line,
        `the DOWN section cannot drop the value ${ref.name} this adds to enum type ${ref.table} ` +
          "(PostgreSQL has no DROP VALUE), so the UP fails when it runs again after the DOWN: " +
          "write ADD VALUE IF NOT EXISTS",
      );
      continue;
    }
    // It may depend on something dropped with CASCADE: something the UP did
    // not make, or made before it.
    if (cascades.some((c) => (made.get(c)?.order ?? -1) < order)) continue;
    const what = ref.kind === "COLUMN"
      ? `column ${ref.table}.${ref.name}`
      : `${ref.kind.toLowerCase()} ${ref.name}`;
    add("down-incomplete", at.line, `the DOWN section does not drop ${what} created here`);
  }
}

/**
 * The value an `ALTER TYPE name ADD VALUE 'label'` adds to an enum type
 * (`ifNotExists` with `IF NOT EXISTS`), or `null` for any other statement.
 */
function addedValue(s: Stmt): ObjectRef | null {
  const t = s.toks;
  if (t[0]?.up !== "ALTER" || t[1]?.up !== "TYPE") return null;
  const { name, schema, next } = nameAt(t, 2);
  if (t[next]?.up !== "ADD" || t[next + 1]?.up !== "VALUE") return null;
  const ifNotExists = t[next + 2]?.up === "IF";
  const label = t[next + (ifNotExists ? 5 : 2)];
  if (!name || label?.kind !== "string") return null;
  return { kind: "ENUM VALUE", name: label.text, schema, table: name, ifNotExists };
}

function key(kind: string, name: string): string {
  return `${kind}\u0000${name}`;
}

/** The {@link key} of what an `ALTER TABLE` action `DROP [COLUMN|CONSTRAINT] name` drops. */
function droppedBy(table: string, action: Tok[]): string | null {
  if (action[0]?.up !== "DROP") return null;
  const kind = action[1]?.up;
  const name = ident(action[skipIf(action, kind === "COLUMN" || kind === "CONSTRAINT" ? 2 : 1)]);
  if (kind === "CONSTRAINT") return key("CONSTRAINT", name ?? "");
  return key("COLUMN", `${table}.${name ?? ""}`);
}

/**
 * What the UP leaves made, by {@link key}: what it creates, less what it
 * drops again, under the names its renames give.
 */
function madeByUp(
  up: readonly Stmt[],
  createdBy: (s: Stmt) => ObjectRef | null,
): Map<string, Made> {
  // The statement, not its line: a line is counted only for a finding.
  const made = new Map<string, Made>();
  const remember = (ref: ObjectRef, at: Stmt, order: number) =>
    made.set(key(ref.kind, ref.kind === "COLUMN" ? `${ref.table}.${ref.name}` : ref.name), {
      ref,
      at,
      order,
    });
  // Renames what UP made (and what lives on it, or names it among its columns).
  const rename = (kind: ObjectKind, table: string | null, from: string, to: string) => {
    const column = kind === "COLUMN";
    const was = key(kind, column ? `${table}.${from}` : from);
    const old = made.get(was);
    if (old) {
      made.delete(was);
      remember({ ...old.ref, name: to }, old.at, old.order);
    }
    if (!column && !RELATIONS.has(kind)) return;
    for (const [k, m] of [...made]) {
      const ref = m.ref;
      if (column && ref.table === table && ref.columns?.includes(from)) {
        m.ref = { ...ref, columns: ref.columns.map((c) => c === from ? to : c) };
      } else if (!column && ref.table === from) {
        made.delete(k);
        remember({ ...ref, table: to }, m.at, m.order);
      }
    }
  };
  up.forEach((s, order) => {
    const ref = createdBy(s);
    if (ref) remember(ref, s, order);
    const value = addedValue(s);
    // A value of a type the UP makes goes with the type.
    if (value && !made.has(key("TYPE", value.table!))) remember(value, s, order);
    for (const d of dropped(s)) made.delete(key(d.kind, d.name));
    const relation = renamedRelation(s);
    if (relation) rename(relation.kind, null, relation.from, relation.to);
    const alter = alterTable(s);
    if (!alter) return;
    const { table, schema } = alter;
    for (const a of alter.actions) {
      const aw = a.filter((x) => x.depth === 0).map((x) => x.up);
      if (aw[0] === "RENAME" && aw[1] !== "TO") {
        // RENAME [COLUMN] a TO b, RENAME CONSTRAINT a TO b.
        const at = aw[1] === "COLUMN" || aw[1] === "CONSTRAINT" ? 2 : 1;
        const from = ident(a[at]);
        const to = a[at + 1]?.up === "TO" ? ident(a[at + 2]) : null;
        if (from && to) rename(aw[1] === "CONSTRAINT" ? "CONSTRAINT" : "COLUMN", table, from, to);
        continue;
      }
      const drop = droppedBy(table, a);
      if (drop !== null) {
        made.delete(drop);
        continue;
      }
      if (aw[0] !== "ADD") continue;
      if (aw[1] === "CONSTRAINT") {
        const name = ident(a[2]);
        // A foreign key's columns are those before REFERENCES (after it, the other table's).
        const columns = columnsNamed(a, 3, "REFERENCES");
        if (name) remember({ kind: "CONSTRAINT", name, schema, table, columns }, s, order);
      } else if (!["CHECK", "FOREIGN", "PRIMARY", "UNIQUE", "EXCLUDE"].includes(aw[1])) {
        const at = aw[1] === "COLUMN" ? 2 : 1;
        const name = ident(a[skipIf(a, at)]);
        const ifNotExists = a[at]?.up === "IF" ? true : undefined;
        if (name) remember({ kind: "COLUMN", name, schema, table, ifNotExists }, s, order);
      }
    }
  });
  return made;
}
