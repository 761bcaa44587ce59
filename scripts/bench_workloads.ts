/**
 * The benchmark's migration sets, written to disk: each a `migrations/`
 * directory of data-bridge files and, beside it, the floor scripts that send
 * the same UP (and DOWN) sections through `psql`, one `BEGIN`/`COMMIT` per
 * file and no bookkeeping.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** One generated migration. */
interface Generated {
  /** Name part after the version. */
  slug: string;
  /** UP section. */
  up: string;
  /** DOWN section. */
  down: string;
}

/** A migration set on disk. */
export interface WorkloadFiles {
  /** The `migrations` directory. */
  dir: string;
  /** psql script: every UP, each between BEGIN and COMMIT, in version order. */
  floorUp: string;
  /** psql script: every DOWN, each between BEGIN and COMMIT, newest first. */
  floorDown: string;
  /** Number of migrations. */
  count: number;
}

/** The kinds of migration sets the benchmark uses. */
export type WorkloadKind = "table_index" | "function_insert";

/**
 * Version `i` of a set: one second apart from 2025-01-01 00:00:00 UTC.
 *
 * @param i 1-based index.
 * @returns `YYYYMMDD_HHMMSS`.
 */
export function benchVersion(i: number): string {
  const d = new Date(Date.UTC(2025, 0, 1) + i * 1000);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}_` +
    `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/** W1, W2, W4, W5: a table with a serial key and an index. */
function tableIndex(i: number): Generated {
  return {
    slug: `create_t_${i}`,
    up: `CREATE TABLE t_${i} (id serial primary key, name text);\nCREATE INDEX ON t_${i}(name);\n`,
    down: `DROP TABLE t_${i};\n`,
  };
}

/**
 * W3: a table, a PL/pgSQL function whose `$$` body holds semicolons, and a
 * 200-row INSERT whose strings hold `;`, `''` and `--`.
 */
function functionInsert(i: number): Generated {
  const rows: string[] = [];
  for (let r = 1; r <= 200; r++) {
    rows.push(`  (${r}, 'row ${r}; it''s -- not a comment', E'tab\\there; ${r}')`);
  }
  const up = `CREATE TABLE f_${i} (id int primary key, note text, extra text);
CREATE FUNCTION f_${i}_count(min_id int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  SELECT count(*) INTO n FROM f_${i} WHERE id >= min_id;
  IF n > 100 THEN
    RAISE NOTICE 'many; rows: %', n;
  END IF;
  RETURN n;
END;
$$;
INSERT INTO f_${i} (id, note, extra) VALUES
${rows.join(",\n")};
`;
  return {
    slug: `function_insert_${i}`,
    up,
    down: `DROP FUNCTION f_${i}_count(int);\nDROP TABLE f_${i};\n`,
  };
}

const GENERATORS: Record<WorkloadKind, (i: number) => Generated> = {
  table_index: tableIndex,
  function_insert: functionInsert,
};

/**
 * Writes `count` migrations of a kind into `root/migrations` and the floor
 * scripts into `root`.
 *
 * @param root An empty directory.
 * @param kind Which migrations.
 * @param count How many.
 * @returns Where they are.
 */
export function writeWorkload(root: string, kind: WorkloadKind, count: number): WorkloadFiles {
  const dir = join(root, "migrations");
  mkdirSync(dir, { recursive: true });
  const up: string[] = [];
  const down: string[] = [];
  for (let i = 1; i <= count; i++) {
    const m = GENERATORS[kind](i);
    writeFileSync(
      join(dir, `${benchVersion(i)}_${m.slug}.sql`),
      `-- UP\n${m.up}\n-- DOWN\n${m.down}`,
    );
    up.push(`BEGIN;\n${m.up}COMMIT;\n`);
    down.push(`BEGIN;\n${m.down}COMMIT;\n`);
  }
  const floorUp = join(root, "floor_up.sql");
  const floorDown = join(root, "floor_down.sql");
  writeFileSync(floorUp, up.join(""));
  writeFileSync(floorDown, down.reverse().join(""));
  return { dir, floorUp, floorDown, count };
}
