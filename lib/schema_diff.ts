/**
 * Comparing two schema snapshots: what was added, removed or changed, with
 * the fields that differ. Pure functions.
 *
 * @module
 */
import { SCHEMA_KINDS, type SchemaKind, type SchemaObject, type SchemaSnapshot } from "./schema.ts";

/** A field of an object that differs between two snapshots. */
export interface FieldChange {
  /** Field name, e.g. `type`, `nullable`, `default`, `definition`. */
  field: string;
  /** Value in the first snapshot (`""` when unset). */
  before: string;
  /** Value in the second snapshot (`""` when unset). */
  after: string;
}

/** One difference between two snapshots. */
export interface SchemaChange {
  /** `added`: only in the second; `removed`: only in the first; `changed`: in both, differently. */
  change: "added" | "removed" | "changed";
  /** Kind of object. */
  kind: SchemaKind;
  /** Its name. */
  name: string;
  /** Definition in the first snapshot. */
  before?: string;
  /** Definition in the second snapshot. */
  after?: string;
  /** For `changed`: the fields that differ. */
  fields?: FieldChange[];
}

/**
 * The differences between two snapshots, sorted like snapshots. Objects of
 * a table that was added or removed as a whole (its columns, constraints,
 * indexes, triggers, policies, grants) are folded into that table's change.
 *
 * @param before The first snapshot.
 * @param after The second snapshot.
 * @returns The changes; empty when the schemas are equal.
 * @example
 * ```ts
 * import { diffSchemas } from "./schema_diff.ts";
 * const column = (type: string) => ({
 *   kind: "column" as const, name: "public.t.a", table: "public.t", sql: "", fields: { type },
 * });
 * const changes = diffSchemas({ objects: [column("integer")] }, { objects: [column("bigint")] });
 * console.log(changes[0].fields); // [{ field: "type", before: "integer", after: "bigint" }]
 * ```
 */
export function diffSchemas(before: SchemaSnapshot, after: SchemaSnapshot): SchemaChange[] {
  const key = (o: SchemaObject) => `${o.kind}\u0000${o.name}`;
  const a = new Map(before.objects.map((o) => [key(o), o]));
  const b = new Map(after.objects.map((o) => [key(o), o]));
  const changes: SchemaChange[] = [];
  const wholeTables = { added: new Set<string>(), removed: new Set<string>() };
  for (const [k, o] of a) {
    if (!b.has(k) && o.kind === "table") wholeTables.removed.add(o.name);
  }
  for (const [k, o] of b) {
    if (!a.has(k) && o.kind === "table") wholeTables.added.add(o.name);
  }
  const folded = (o: SchemaObject, change: "added" | "removed") =>
    o.kind !== "table" && o.table !== undefined && wholeTables[change].has(o.table);
  for (const [k, o] of a) {
    const other = b.get(k);
    if (!other) {
      if (!folded(o, "removed")) {
        changes.push({ change: "removed", kind: o.kind, name: o.name, before: o.sql });
      }
      continue;
    }
    const fields = fieldChanges(o.fields, other.fields);
    if (fields.length) {
      changes.push({
        change: "changed",
        kind: o.kind,
        name: o.name,
        before: o.sql,
        after: other.sql,
        fields,
      });
    }
  }
  for (const [k, o] of b) {
    if (!a.has(k) && !folded(o, "added")) {
      changes.push({ change: "added", kind: o.kind, name: o.name, after: o.sql });
    }
  }
  const order = new Map(
    [...before.objects, ...after.objects].map((o, i) => [key(o), i] as const).reverse(),
  );
  return changes.sort((x, y) =>
    kindRank(x.kind) - kindRank(y.kind) || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0) ||
    (order.get(`${x.kind}\u0000${x.name}`)! - order.get(`${y.kind}\u0000${y.name}`)!)
  );
}

function kindRank(kind: SchemaKind): number {
  return SCHEMA_KINDS.indexOf(kind);
}

function fieldChanges(a: Record<string, string>, b: Record<string, string>): FieldChange[] {
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return names
    .filter((f) => (a[f] ?? "") !== (b[f] ?? ""))
    .map((field) => ({ field, before: a[field] ?? "", after: b[field] ?? "" }));
}

/**
 * A change as one line of text, e.g.
 * `column public.users.email: type text -> character varying(255)`.
 *
 * @param change From {@link diffSchemas}.
 * @param words How to call each kind of change (default `added`, `removed`, `changed`).
 * @returns The line, without a newline.
 * @example
 * ```ts
 * import { formatChange } from "./schema_diff.ts";
 * console.log(formatChange({ change: "added", kind: "index", name: "public.users_email_idx" }));
 * // "added: index public.users_email_idx"
 * ```
 */
export function formatChange(
  change: SchemaChange,
  words: Partial<Record<SchemaChange["change"], string>> = {},
): string {
  const word = words[change.change] ?? change.change;
  const head = `${word}: ${change.kind} ${change.name}`;
  if (change.change !== "changed" || !change.fields) return head;
  const parts = change.fields.map((f) =>
    f.field === "definition" || f.before.length + f.after.length > 120
      ? `${f.field} differs (${oneLine(f.before) || "none"} -> ${oneLine(f.after) || "none"})`
      : `${f.field} ${f.before || "none"} -> ${f.after || "none"}`
  );
  return `${head}: ${parts.join("; ")}`;
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 100 ? `${flat.slice(0, 97)}...` : flat;
}
