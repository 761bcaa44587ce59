/**
 * A snapshot of a database's schema, read from the system catalogs (no
 * `pg_dump`): schemas, extensions, types (enums, domains, composites,
 * ranges), tables and their columns, constraints, indexes, views,
 * sequences, functions, triggers, policies, grants, default privileges,
 * comments and a catch-all for rarer objects (operators, casts, rules,
 * statistics, publications...). The same schema always gives the same
 * snapshot, whatever the session's `search_path`: names are
 * schema-qualified and objects are sorted.
 *
 * Left out: system schemas, objects that belong to an extension (the
 * extension itself is listed), the tables given in `exclude` (the tracking
 * table) with everything on them, column order (a DOWN cannot put a
 * re-added column back in its place), owners, OIDs and sequence values.
 *
 * @module
 */
import type { Driver, Queryable } from "./driver.ts";
import { qualifiedName, type TableName } from "./ident.ts";

/** Kinds of objects in a snapshot, in the order they are listed. */
export const SCHEMA_KINDS = [
  "schema",
  "extension",
  "type",
  "sequence",
  "table",
  "column",
  "constraint",
  "index",
  "view",
  "function",
  "trigger",
  "policy",
  "grant",
  "default privileges",
  "comment",
  "other",
] as const;

/** One of {@link SCHEMA_KINDS}. */
export type SchemaKind = typeof SCHEMA_KINDS[number];

/** One object of a snapshot. */
export interface SchemaObject {
  /** What it is. */
  kind: SchemaKind;
  /** Its identity, unique within its kind, e.g. `public.users.email` for a column. */
  name: string;
  /** The table it belongs to (columns, constraints, indexes, triggers, policies, grants). */
  table?: string;
  /** A column's place in its table; shown, never compared. */
  position?: number;
  /** An SQL-like definition, for people. */
  sql: string;
  /** What comparisons look at, e.g. `type`, `nullable`, `default` of a column. */
  fields: Record<string, string>;
}

/** A schema snapshot: objects sorted by kind, then name. */
export interface SchemaSnapshot {
  /** The objects. */
  objects: SchemaObject[];
}

/** Options of {@link snapshotSchema}. */
export interface SnapshotOptions {
  /** Tables left out with everything on them, e.g. the tracking table. */
  exclude?: readonly TableName[];
}

/** Namespaces that hold user objects. */
const USER_NS = `n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'`;

/** Not a member of an extension (class given as a regclass literal). */
const notExt = (cls: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '${cls}'::regclass AND e.objid = ${oid} AND e.deptype = 'e')`;

const QUERIES = {
  schemas: `SELECT quote_ident(n.nspname) AS name FROM pg_namespace n
    WHERE ${USER_NS} AND ${notExt("pg_namespace", "n.oid")}`,
  extensions: `SELECT quote_ident(x.extname) AS name, x.extversion AS version,
      quote_ident(n.nspname) AS schema
    FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace`,
  types: `SELECT format('%I.%I', n.nspname, t.typname) AS name, t.typtype::text AS type,
      CASE t.typtype
        WHEN 'e' THEN (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
          FROM pg_enum e WHERE e.enumtypid = t.oid)
        WHEN 'd' THEN format_type(t.typbasetype, t.typtypmod)
          || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END
          || COALESCE(' DEFAULT ' || t.typdefault, '')
          || COALESCE((SELECT ' ' || string_agg(format('CONSTRAINT %I %s', c.conname,
               pg_get_constraintdef(c.oid)), ' ' ORDER BY c.conname)
             FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype <> 'n'), '')
        WHEN 'c' THEN (SELECT string_agg(format('%I %s', a.attname, format_type(a.atttypid, a.atttypmod)),
            ', ' ORDER BY a.attnum)
          FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped)
        WHEN 'r' THEN (SELECT 'subtype = ' || format_type(r.rngsubtype, NULL) FROM pg_range r
          WHERE r.rngtypid = t.oid)
        ELSE 'base type'
      END AS definition
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE ${USER_NS} AND ${notExt("pg_type", "t.oid")}
      AND t.typtype IN ('e', 'd', 'c', 'r', 'b', 'm')
      AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
      AND NOT (t.typtype = 'b' AND t.typcategory = 'A')
      AND NOT EXISTS (SELECT 1 FROM pg_range r WHERE r.rngmultitypid = t.oid)`,
  relations: `SELECT c.oid::text AS oid, format('%I.%I', n.nspname, c.relname) AS name,
      c.relkind::text AS relkind, c.relpersistence::text AS persistence,
      c.relrowsecurity AS rls, c.relforcerowsecurity AS force_rls,
      COALESCE(array_to_string(c.reloptions, ', '), '') AS options,
      CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) ELSE '' END AS partition_key,
      COALESCE((SELECT format('%I.%I', pn.nspname, p.relname) FROM pg_inherits i
        JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = p.relnamespace
        WHERE i.inhrelid = c.oid AND c.relispartition), '') AS partition_of,
      CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) ELSE '' END AS bound,
      COALESCE((SELECT string_agg(format('%I.%I', pn.nspname, p.relname), ', ' ORDER BY i.inhseqno)
        FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
        JOIN pg_namespace pn ON pn.oid = p.relnamespace
        WHERE i.inhrelid = c.oid AND NOT c.relispartition), '') AS inherits,
      CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) ELSE '' END AS view_def,
      COALESCE((SELECT format('%s START %s INCREMENT %s MINVALUE %s MAXVALUE %s CACHE %s%s',
          format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache,
          CASE WHEN s.seqcycle THEN ' CYCLE' ELSE '' END)
        FROM pg_sequence s WHERE s.seqrelid = c.oid), '') AS sequence_def,
      COALESCE((SELECT format('%I.%I.%I', tn.nspname, t.relname, a.attname) FROM pg_depend d
        JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace
        JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE c.relkind = 'S' AND d.classid = 'pg_class'::regclass AND d.objid = c.oid
          AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'a'), '') AS owned_by
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE ${USER_NS} AND ${notExt("pg_class", "c.oid")}
      AND c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S') AND c.oid <> ALL ($1::oid[])
      AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d
        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'i'))`,
  columns:
    `SELECT format('%I.%I', n.nspname, c.relname) AS table_name, quote_ident(a.attname) AS name,
      format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
      COALESCE(pg_get_expr(d.adbin, d.adrelid), '') AS default_expr,
      a.attnum AS position, a.attidentity::text AS identity, a.attgenerated::text AS generated,
      CASE WHEN a.attcollation <> t.typcollation
        THEN (SELECT format('%I.%I', cn.nspname, co.collname) FROM pg_collation co
          JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation)
        ELSE '' END AS collation
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE ${USER_NS} AND ${notExt("pg_class", "c.oid")} AND c.relkind IN ('r', 'p', 'f')
      AND a.attnum > 0 AND NOT a.attisdropped AND c.oid <> ALL ($1::oid[])
    ORDER BY 1, a.attnum`,
  constraints: `SELECT format('%I.%I', n.nspname, c.relname) AS table_name,
      quote_ident(k.conname) AS name, pg_get_constraintdef(k.oid) AS definition
    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE ${USER_NS} AND ${notExt("pg_class", "c.oid")} AND k.contype <> 'n'
      AND c.oid <> ALL ($1::oid[])`,
  indexes: `SELECT format('%I.%I', n.nspname, c.relname) AS table_name,
      format('%I.%I', n.nspname, i.relname) AS name, pg_get_indexdef(x.indexrelid) AS definition,
      x.indisvalid AS valid
    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE ${USER_NS} AND ${notExt("pg_class", "c.oid")} AND c.oid <> ALL ($1::oid[])
      AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid
        AND k.conrelid = x.indrelid AND k.contype IN ('p', 'u', 'x'))`,
  functions:
    `SELECT format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
        AS name,
      p.prokind::text AS prokind,
      CASE WHEN p.prokind = 'a'
        THEN format('CREATE AGGREGATE %I.%I(%s) (SFUNC = %s, STYPE = %s)', n.nspname, p.proname,
          pg_get_function_identity_arguments(p.oid),
          (SELECT ag.aggtransfn::text FROM pg_aggregate ag WHERE ag.aggfnoid = p.oid),
          (SELECT format_type(ag.aggtranstype, NULL) FROM pg_aggregate ag WHERE ag.aggfnoid = p.oid))
        ELSE pg_get_functiondef(p.oid) END AS definition
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE ${USER_NS} AND ${notExt("pg_proc", "p.oid")}`,
  triggers:
    `SELECT format('%I.%I', n.nspname, c.relname) AS table_name, quote_ident(g.tgname) AS name,
      pg_get_triggerdef(g.oid) AS definition, g.tgenabled::text AS enabled
    FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE ${USER_NS} AND ${notExt("pg_class", "c.oid")} AND NOT g.tgisinternal
      AND c.oid <> ALL ($1::oid[])`,
  policies:
    `SELECT format('%I.%I', n.nspname, c.relname) AS table_name, quote_ident(p.polname) AS name,
      p.polcmd::text AS cmd, p.polpermissive AS permissive,
      COALESCE((SELECT string_agg(CASE r WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r)) END,
        ', ' ORDER BY 1) FROM unnest(p.polroles) r), '') AS roles,
      COALESCE(pg_get_expr(p.polqual, p.polrelid), '') AS using_expr,
      COALESCE(pg_get_expr(p.polwithcheck, p.polrelid), '') AS check_expr
    FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE ${USER_NS} AND c.oid <> ALL ($1::oid[])`,
  grants: `WITH objects AS (
      SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS type,
        format('%I.%I', n.nspname, c.relname) AS name, c.relacl AS acl,
        acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner) AS def
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${USER_NS} AND ${notExt("pg_class", "c.oid")}
        AND c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S') AND c.oid <> ALL ($1::oid[])
      UNION ALL
      SELECT 'COLUMN', format('%I.%I.%I', n.nspname, c.relname, a.attname), a.attacl,
        acldefault('c', c.relowner)
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${USER_NS} AND a.attacl IS NOT NULL AND a.attnum > 0 AND c.oid <> ALL ($1::oid[])
      UNION ALL
      SELECT 'SCHEMA', quote_ident(n.nspname), n.nspacl, acldefault('n', n.nspowner)
      FROM pg_namespace n WHERE ${USER_NS}
      UNION ALL
      SELECT CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
        format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
        p.proacl, acldefault('f', p.proowner)
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE ${USER_NS} AND ${notExt("pg_proc", "p.oid")}
      UNION ALL
      SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END,
        format('%I.%I', n.nspname, t.typname), t.typacl, acldefault('T', t.typowner)
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE ${USER_NS} AND ${notExt("pg_type", "t.oid")} AND t.typacl IS NOT NULL
    ), entries AS (
      SELECT o.type, o.name, 'GRANT' AS action, a.grantee, a.privilege_type, a.is_grantable
      FROM objects o, LATERAL (
        SELECT grantee, privilege_type, is_grantable FROM aclexplode(COALESCE(o.acl, o.def))
        EXCEPT SELECT grantee, privilege_type, is_grantable FROM aclexplode(o.def)) a
      UNION ALL
      SELECT o.type, o.name, 'REVOKE', a.grantee, a.privilege_type, a.is_grantable
      FROM objects o, LATERAL (
        SELECT grantee, privilege_type, is_grantable FROM aclexplode(o.def)
        EXCEPT SELECT grantee, privilege_type, is_grantable FROM aclexplode(COALESCE(o.acl, o.def))) a
    )
    SELECT type, name, action, privilege_type AS privilege, is_grantable AS grantable,
      CASE grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(grantee)) END AS grantee
    FROM entries`,
  defaultPrivileges: `SELECT quote_ident(pg_get_userbyid(d.defaclrole)) AS role,
      COALESCE((SELECT quote_ident(nspname) FROM pg_namespace WHERE oid = d.defaclnamespace), '')
        AS schema,
      d.defaclobjtype::text AS objtype,
      array_to_string(ARRAY(SELECT x::text FROM unnest(d.defaclacl) x ORDER BY 1), ', ') AS acl
    FROM pg_default_acl d`,
  comments: `SELECT pg_describe_object(d.classoid, d.objoid, d.objsubid) AS name,
      d.description
    FROM pg_description d
    WHERE d.objoid >= 16384
      AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = d.classoid
        AND e.objid = d.objoid AND e.deptype = 'e')
      AND NOT (d.classoid = 'pg_class'::regclass AND d.objoid = ANY ($1::oid[]))
      AND NOT (d.classoid = 'pg_namespace'::regclass AND d.objoid IN
        (SELECT oid FROM pg_namespace n WHERE NOT (${USER_NS})))`,
  other: `SELECT pg_describe_object(o.classid, o.objid, 0) AS name, o.definition
    FROM (
      SELECT 'pg_operator'::regclass AS classid, oid AS objid, '' AS definition FROM pg_operator
      UNION ALL SELECT 'pg_opclass'::regclass, oid, '' FROM pg_opclass
      UNION ALL SELECT 'pg_opfamily'::regclass, oid, '' FROM pg_opfamily
      UNION ALL SELECT 'pg_collation'::regclass, oid, '' FROM pg_collation
      UNION ALL SELECT 'pg_conversion'::regclass, oid, '' FROM pg_conversion
      UNION ALL SELECT 'pg_cast'::regclass, oid, '' FROM pg_cast
      UNION ALL SELECT 'pg_language'::regclass, oid, '' FROM pg_language
      UNION ALL SELECT 'pg_ts_config'::regclass, oid, '' FROM pg_ts_config
      UNION ALL SELECT 'pg_ts_dict'::regclass, oid, '' FROM pg_ts_dict
      UNION ALL SELECT 'pg_foreign_data_wrapper'::regclass, oid, '' FROM pg_foreign_data_wrapper
      UNION ALL SELECT 'pg_foreign_server'::regclass, oid, '' FROM pg_foreign_server
      UNION ALL SELECT 'pg_publication'::regclass, oid, '' FROM pg_publication
      UNION ALL SELECT 'pg_event_trigger'::regclass, oid, '' FROM pg_event_trigger
      UNION ALL SELECT 'pg_statistic_ext'::regclass, oid, pg_get_statisticsobjdef(oid)
        FROM pg_statistic_ext
      UNION ALL SELECT 'pg_rewrite'::regclass, oid, pg_get_ruledef(oid) FROM pg_rewrite
        WHERE rulename <> '_RETURN' AND ev_class <> ALL ($1::oid[])
    ) o
    WHERE o.objid >= 16384 AND NOT EXISTS (SELECT 1 FROM pg_depend e
      WHERE e.classid = o.classid AND e.objid = o.objid AND e.deptype = 'e')`,
} as const;

type Rows = Record<string, unknown>[];

/**
 * Reads the schema of the database behind `db`, in one read-only
 * transaction with `search_path` set to `pg_catalog` so every name comes out
 * schema-qualified.
 *
 * @param db An open driver.
 * @param options Tables to leave out.
 * @returns The snapshot, sorted.
 * @throws {DatabaseError} When the catalogs cannot be read.
 * @example
 * ```ts
 * import { openPGlite } from "./pglite_driver.ts";
 * import { snapshotSchema } from "./schema.ts";
 * const db = await openPGlite(null);
 * try {
 *   await db.exec("CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL)");
 *   const snapshot = await snapshotSchema(db, { exclude: [{ schema: null, name: "_migrations" }] });
 *   console.log(snapshot.objects.filter((o) => o.kind === "column").map((o) => o.name));
 *   // ["public.users.email", "public.users.id"]
 * } finally {
 *   await db.close();
 * }
 * ```
 */
export async function snapshotSchema(
  db: Driver,
  options: SnapshotOptions = {},
): Promise<SchemaSnapshot> {
  const rows = await db.transaction(async (tx) => {
    // Names of excluded tables follow the session's search_path, so read them first.
    const excluded = await excludedOids(tx, options.exclude ?? []);
    await tx.exec("SET TRANSACTION READ ONLY; SET LOCAL search_path TO pg_catalog");
    const entries = Object.entries(QUERIES) as [keyof typeof QUERIES, string][];
    const results = await Promise.all(
      entries.map(([, sql]) => tx.query(sql, sql.includes("$1") ? [excluded] : [])),
    );
    return Object.fromEntries(entries.map(([key], i) => [key, results[i]])) as Record<
      keyof typeof QUERIES,
      Rows
    >;
  });
  return { objects: sortObjects(toObjects(rows)) };
}

async function excludedOids(tx: Queryable, tables: readonly TableName[]): Promise<string> {
  if (tables.length === 0) return "{}";
  const found = await tx.query<{ oid: string | null }>(
    "SELECT to_regclass(x)::oid::text AS oid FROM unnest($1::text[]) AS x",
    [`{${tables.map((t) => `"${qualifiedName(t).replaceAll('"', '\\"')}"`).join(",")}}`],
  );
  return `{${found.map((r) => r.oid).filter((oid) => oid !== null).join(",")}}`;
}

const s = (value: unknown) => (value === null || value === undefined ? "" : String(value));

const RELKIND: Record<string, string> = {
  r: "TABLE",
  p: "TABLE",
  f: "FOREIGN TABLE",
  v: "VIEW",
  m: "MATERIALIZED VIEW",
  S: "SEQUENCE",
};

function toObjects(r: Record<keyof typeof QUERIES, Rows>): SchemaObject[] {
  const out: SchemaObject[] = [];
  const add = (o: SchemaObject) => out.push(o);
  for (const row of r.schemas) {
    add({ kind: "schema", name: s(row.name), sql: `CREATE SCHEMA ${s(row.name)};`, fields: {} });
  }
  for (const row of r.extensions) {
    add({
      kind: "extension",
      name: s(row.name),
      sql: `CREATE EXTENSION ${s(row.name)} VERSION '${s(row.version)}' SCHEMA ${s(row.schema)};`,
      fields: { version: s(row.version), schema: s(row.schema) },
    });
  }
  const typeWord: Record<string, string> = {
    e: "AS ENUM",
    d: "DOMAIN",
    c: "AS",
    r: "AS RANGE",
    b: "BASE",
    m: "MULTIRANGE",
  };
  for (const row of r.types) {
    const t = s(row.type);
    const def = s(row.definition);
    const sql = t === "d"
      ? `CREATE DOMAIN ${s(row.name)} AS ${def};`
      : t === "b" || t === "m"
      ? `CREATE TYPE ${s(row.name)}; -- ${def}`
      : `CREATE TYPE ${s(row.name)} ${typeWord[t]} (${def});`;
    add({ kind: "type", name: s(row.name), sql, fields: { type: typeWord[t], definition: def } });
  }
  for (const row of r.relations) {
    const relkind = s(row.relkind);
    const name = s(row.name);
    if (relkind === "S") {
      const owned = s(row.owned_by);
      add({
        kind: "sequence",
        name,
        sql: `CREATE SEQUENCE ${name} AS ${s(row.sequence_def)}${
          owned ? ` OWNED BY ${owned}` : ""
        };`,
        fields: { definition: s(row.sequence_def), ownedBy: owned },
      });
    } else if (relkind === "v" || relkind === "m") {
      const def = s(row.view_def).trim().replace(/;$/, "");
      add({
        kind: "view",
        name,
        sql: `CREATE ${RELKIND[relkind]} ${name} AS\n${def};`,
        fields: { kind: RELKIND[relkind], definition: def, options: s(row.options) },
      });
    } else {
      const fields: Record<string, string> = {
        kind: relkind === "p" ? "PARTITIONED TABLE" : RELKIND[relkind],
        persistence: ({ p: "", u: "UNLOGGED", t: "TEMPORARY" } as Record<string, string>)[
          s(row.persistence)
        ] ?? s(row.persistence),
        partitionKey: s(row.partition_key),
        partitionOf: s(row.partition_of),
        partitionBound: s(row.bound),
        inherits: s(row.inherits),
        options: s(row.options),
        rowSecurity: row.rls ? (row.force_rls ? "FORCE" : "ENABLE") : "",
      };
      for (const key of Object.keys(fields)) if (fields[key] === "") delete fields[key];
      add({ kind: "table", name, sql: tableSql(name, fields), fields });
    }
  }
  for (const row of r.columns) {
    const table = s(row.table_name);
    const fields: Record<string, string> = {
      type: s(row.type),
      nullable: row.not_null ? "NOT NULL" : "NULL",
      default: s(row.default_expr),
      identity:
        ({ a: "GENERATED ALWAYS AS IDENTITY", d: "GENERATED BY DEFAULT AS IDENTITY" } as Record<
          string,
          string
        >)[s(row.identity)] ?? "",
      generated: s(row.generated) === "" ? "" : `GENERATED ALWAYS (${s(row.generated)})`,
      collation: s(row.collation),
    };
    if (fields.generated) {
      fields.generated = `GENERATED ALWAYS AS (${fields.default})${
        s(row.generated) === "s" ? " STORED" : " VIRTUAL"
      }`;
      fields.default = "";
    }
    for (const key of ["default", "identity", "generated", "collation"]) {
      if (fields[key] === "") delete fields[key];
    }
    add({
      kind: "column",
      name: `${table}.${s(row.name)}`,
      table,
      position: Number(row.position),
      sql: `ALTER TABLE ${table} ADD COLUMN ${s(row.name)} ${columnSql(fields)};`,
      fields,
    });
  }
  for (const row of r.constraints) {
    const table = s(row.table_name);
    add({
      kind: "constraint",
      name: `${table}.${s(row.name)}`,
      table,
      sql: `ALTER TABLE ${table} ADD CONSTRAINT ${s(row.name)} ${s(row.definition)};`,
      fields: { definition: s(row.definition) },
    });
  }
  for (const row of r.indexes) {
    const fields: Record<string, string> = { definition: s(row.definition) };
    if (row.valid === false) fields.valid = "INVALID";
    add({
      kind: "index",
      name: s(row.name),
      table: s(row.table_name),
      sql: `${s(row.definition)};${row.valid === false ? " -- INVALID" : ""}`,
      fields,
    });
  }
  for (const row of r.functions) {
    const def = s(row.definition).trim();
    add({
      kind: "function",
      name: s(row.name),
      sql: def.endsWith(";") ? def : `${def};`,
      fields: { definition: def },
    });
  }
  for (const row of r.triggers) {
    const table = s(row.table_name);
    const fields: Record<string, string> = { definition: s(row.definition) };
    const enabled = s(row.enabled);
    if (enabled !== "O") {
      fields.enabled = ({ D: "DISABLED", R: "REPLICA", A: "ALWAYS" } as Record<string, string>)[
        enabled
      ] ?? enabled;
    }
    add({
      kind: "trigger",
      name: `${table}.${s(row.name)}`,
      table,
      sql: `${s(row.definition)};${fields.enabled ? ` -- ${fields.enabled}` : ""}`,
      fields,
    });
  }
  for (const row of r.policies) {
    const table = s(row.table_name);
    const cmd = ({ r: "SELECT", a: "INSERT", w: "UPDATE", d: "DELETE", "*": "ALL" } as Record<
      string,
      string
    >)[s(row.cmd)] ?? s(row.cmd);
    const fields: Record<string, string> = {
      as: row.permissive ? "PERMISSIVE" : "RESTRICTIVE",
      for: cmd,
      to: s(row.roles),
      using: s(row.using_expr),
      withCheck: s(row.check_expr),
    };
    add({
      kind: "policy",
      name: `${table}.${s(row.name)}`,
      table,
      sql: `CREATE POLICY ${s(row.name)} ON ${table} AS ${fields.as} FOR ${cmd} TO ${fields.to}${
        fields.using ? ` USING (${fields.using})` : ""
      }${fields.withCheck ? ` WITH CHECK (${fields.withCheck})` : ""};`,
      fields,
    });
  }
  for (const row of r.grants) {
    const revoke = s(row.action) === "REVOKE";
    const option = row.grantable ? " WITH GRANT OPTION" : "";
    let on = `${s(row.type)} ${s(row.name)}`;
    let privilege = s(row.privilege);
    let table = ["TABLE", "SEQUENCE"].includes(s(row.type)) ? s(row.name) : undefined;
    if (s(row.type) === "COLUMN") {
      const dot = lastDot(s(row.name));
      table = s(row.name).slice(0, dot);
      on = `TABLE ${table}`;
      privilege = `${privilege} (${s(row.name).slice(dot + 1)})`;
    }
    const text = revoke
      ? `REVOKE ${privilege} ON ${on} FROM ${s(row.grantee)}`
      : `GRANT ${privilege} ON ${on} TO ${s(row.grantee)}${option}`;
    add({ kind: "grant", name: text, ...(table ? { table } : {}), sql: `${text};`, fields: {} });
  }
  const objtype: Record<string, string> = {
    r: "TABLES",
    S: "SEQUENCES",
    f: "FUNCTIONS",
    T: "TYPES",
    n: "SCHEMAS",
    L: "LARGE OBJECTS",
  };
  for (const row of r.defaultPrivileges) {
    const name = `FOR ROLE ${s(row.role)}${row.schema ? ` IN SCHEMA ${s(row.schema)}` : ""} ON ${
      objtype[s(row.objtype)] ?? s(row.objtype)
    }`;
    add({
      kind: "default privileges",
      name,
      sql: `ALTER DEFAULT PRIVILEGES ${name}: {${s(row.acl)}};`,
      fields: { acl: s(row.acl) },
    });
  }
  for (const row of r.comments) {
    add({
      kind: "comment",
      name: s(row.name),
      sql: `COMMENT ON ${s(row.name)} IS ${quoteLiteral(s(row.description))};`,
      fields: { text: s(row.description) },
    });
  }
  for (const row of r.other) {
    const def = s(row.definition);
    add({
      kind: "other",
      name: s(row.name),
      sql: def ? (def.endsWith(";") ? def : `${def};`) : `-- ${s(row.name)}`,
      fields: def ? { definition: def } : {},
    });
  }
  return out;
}

/** `CREATE TABLE`, with the column lines when given (never for partitions). */
function tableSql(name: string, f: Record<string, string>, columns?: string[]): string {
  const list = columns && !f.partitionOf
    ? ` (${columns.length ? `\n${columns.join(",\n")}\n` : ""})`
    : "";
  const head = `CREATE ${f.persistence ? `${f.persistence} ` : ""}${
    f.kind === "PARTITIONED TABLE" ? "TABLE" : f.kind
  } ${name}${list}`;
  const tail = [
    f.partitionOf ? `PARTITION OF ${f.partitionOf} ${f.partitionBound}` : "",
    f.inherits ? `INHERITS (${f.inherits})` : "",
    f.partitionKey ? `PARTITION BY ${f.partitionKey}` : "",
    f.options ? `WITH (${f.options})` : "",
  ].filter(Boolean).join(" ");
  const rls = f.rowSecurity
    ? ` -- ROW LEVEL SECURITY ${f.rowSecurity === "FORCE" ? "ENABLED, FORCED" : "ENABLED"}`
    : "";
  return `${head}${tail ? ` ${tail}` : ""};${rls}`;
}

function columnSql(f: Record<string, string>): string {
  return [
    f.type,
    f.collation ? `COLLATE ${f.collation}` : "",
    f.nullable === "NOT NULL" ? "NOT NULL" : "",
    f.default ? `DEFAULT ${f.default}` : "",
    f.identity ?? "",
    f.generated ?? "",
  ].filter(Boolean).join(" ");
}

/** Offset of the last `.` outside double quotes. */
function lastDot(name: string): number {
  let quoted = false;
  let last = -1;
  for (let i = 0; i < name.length; i++) {
    if (name[i] === '"') quoted = !quoted;
    else if (name[i] === "." && !quoted) last = i;
  }
  return last;
}

function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * Sorts objects by kind (in {@link SCHEMA_KINDS} order), then name.
 *
 * @param objects Objects in any order.
 * @returns A new sorted array.
 * @example
 * ```ts
 * import { sortObjects } from "./schema.ts";
 * const sorted = sortObjects([
 *   { kind: "table", name: "public.b", sql: "", fields: {} },
 *   { kind: "schema", name: "app", sql: "", fields: {} },
 * ]);
 * console.log(sorted.map((o) => o.name)); // ["app", "public.b"]
 * ```
 */
export function sortObjects(objects: readonly SchemaObject[]): SchemaObject[] {
  const rank = new Map<string, number>(SCHEMA_KINDS.map((k, i) => [k, i]));
  return [...objects].sort((a, b) =>
    (rank.get(a.kind)! - rank.get(b.kind)!) ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );
}

/**
 * The snapshot as SQL-like text: one statement per object, columns inside
 * their `CREATE TABLE` in table order, kinds in {@link SCHEMA_KINDS} order.
 * Meant for people and for `diff`, not for replaying.
 *
 * @param snapshot From {@link snapshotSchema}.
 * @returns Lines ending in a newline; `""` for an empty schema.
 * @example
 * ```ts
 * import { renderSchema } from "./schema.ts";
 * const text = renderSchema({
 *   objects: [
 *     { kind: "table", name: "public.t", sql: "", fields: { kind: "TABLE" } },
 *     {
 *       kind: "column", name: "public.t.id", table: "public.t", position: 1,
 *       sql: "", fields: { type: "integer", nullable: "NOT NULL" },
 *     },
 *   ],
 * });
 * console.log(text); // "CREATE TABLE public.t (\n    id integer NOT NULL\n);\n"
 * ```
 */
export function renderSchema(snapshot: SchemaSnapshot): string {
  const columns = new Map<string, SchemaObject[]>();
  for (const o of snapshot.objects) {
    if (o.kind !== "column" || o.table === undefined) continue;
    const list = columns.get(o.table) ?? [];
    list.push(o);
    columns.set(o.table, list);
  }
  const out: string[] = [];
  let previous: SchemaKind | null = null;
  for (const o of snapshot.objects) {
    if (o.kind === "column") continue;
    if (
      previous !== null && (previous !== o.kind || o.kind === "table" || o.kind === "view" ||
        o.kind === "function")
    ) out.push("");
    previous = o.kind;
    if (o.kind !== "table") {
      out.push(o.sql);
      continue;
    }
    const cols = (columns.get(o.name) ?? []).sort((a, b) => (a.position ?? 0) - (b.position ?? 0));
    const body = cols.map((c) => `    ${c.name.slice(o.name.length + 1)} ${columnSql(c.fields)}`);
    out.push(tableSql(o.name, o.fields, body));
  }
  return out.length ? `${out.join("\n")}\n` : "";
}
