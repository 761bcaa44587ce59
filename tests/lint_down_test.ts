/**
 * The DOWN check (`down-incomplete`) against PostgreSQL itself: for each
 * case, what lint reports, and what verify finds when the UP and the DOWN
 * run on a real database. Lint reports an object exactly when verify finds
 * the DOWN incomplete, in the hand-written cases and in generated ones.
 */
import { lintText } from "../lib/lint.ts";
import { Migration } from "../lib/migration.ts";
import { verifyMigrations } from "../lib/verify.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { driverTest, openFresh, serverTest } from "./support/db.ts";
import { random } from "./support/random.ts";

interface Case {
  name: string;
  /** Run before the migration: what exists in production already. */
  before?: string;
  up: string;
  down: string;
  /** The objects lint says the DOWN does not drop. */
  incomplete: string[];
  /**
   * Left behind by the DOWN, which verify finds, but not reported by lint by
   * design: made with IF NOT EXISTS, it may have been there before the UP,
   * and the UP runs again.
   */
  kept?: true;
}

const CASES: Case[] = [
  {
    name: "an index on a column the DOWN drops goes with the column",
    before: "CREATE TABLE da (id int);",
    up: "ALTER TABLE da ADD COLUMN name text;\nCREATE INDEX da_name ON da (name);",
    down: "ALTER TABLE da DROP COLUMN name;",
    incomplete: [],
  },
  {
    name: "expression and partial indexes and named constraints go with the columns they involve",
    before: "CREATE TABLE db (id int PRIMARY KEY, email text);",
    up: "ALTER TABLE db ADD COLUMN nick text, ADD CONSTRAINT db_nick_check CHECK (nick <> ''), " +
      "ADD CONSTRAINT db_nick_key UNIQUE (nick), ADD COLUMN parent int, " +
      "ADD CONSTRAINT db_parent_fk FOREIGN KEY (parent) REFERENCES db (id);\n" +
      'CREATE INDEX db_nick_lower ON db USING btree (lower(nick) COLLATE "C") ' +
      "WHERE parent IS NOT NULL;\n" +
      'ALTER TABLE db ADD COLUMN "Tag" text;\nCREATE INDEX db_tag ON db ("Tag");',
    down: 'ALTER TABLE db DROP COLUMN nick, DROP COLUMN parent, DROP COLUMN "Tag";',
    incomplete: [],
  },
  {
    name: "an index on another column stays",
    before: "CREATE TABLE dc (id int, email text);",
    up: "ALTER TABLE dc ADD COLUMN nick text;\nCREATE INDEX dc_email ON dc (email);",
    down: "ALTER TABLE dc DROP COLUMN nick;",
    incomplete: ["index dc_email"],
  },
  {
    name: "a function, a type and an operator class named as the dropped columns do not count",
    before: "CREATE TABLE dd (email text, lower int, text int);",
    up: "CREATE INDEX dd_f ON dd (lower(email::text) text_pattern_ops);",
    down: "ALTER TABLE dd DROP COLUMN lower, DROP COLUMN text;",
    incomplete: ["index dd_f"],
  },
  {
    name: "a foreign key's columns are its own, not those after REFERENCES",
    before: "CREATE TABLE de_org (nick text UNIQUE);\nCREATE TABLE de (org text);",
    up: "ALTER TABLE de ADD CONSTRAINT de_org_fk FOREIGN KEY (org) REFERENCES de_org (nick);",
    down: "ALTER TABLE de_org DROP COLUMN nick;",
    incomplete: ["constraint de_org_fk"],
  },
  {
    name: "an index on a materialized view goes with the view",
    up: "CREATE TABLE df (id int);\nCREATE MATERIALIZED VIEW df_mv AS SELECT id FROM df;\n" +
      "CREATE UNIQUE INDEX df_mv_id ON df_mv (id);",
    down: "DROP MATERIALIZED VIEW df_mv;\nDROP TABLE df;",
    incomplete: [],
  },
  {
    name: "a materialized view stays when only its index is dropped",
    up: "CREATE TABLE dg (id int);\nCREATE MATERIALIZED VIEW dg_mv AS SELECT id FROM dg;\n" +
      "CREATE UNIQUE INDEX dg_mv_id ON dg_mv (id);",
    down: "DROP INDEX dg_mv_id;",
    incomplete: ["table dg", "materialized view dg_mv"],
  },
  {
    name: "an index in a schema goes with the schema",
    up: "CREATE SCHEMA dh;\nCREATE TABLE dh.t (id int, c int);\nCREATE INDEX dh_t_c ON dh.t (c);",
    down: "DROP SCHEMA dh CASCADE;",
    incomplete: [],
  },
  {
    name: "a view goes with the table dropped with CASCADE",
    up: "CREATE TABLE di (id int);\nCREATE VIEW di_v AS SELECT count(*) AS n FROM di;",
    down: "DROP TABLE di CASCADE;",
    incomplete: [],
  },
  {
    name: "CASCADE takes what depends on it, not what it depends on",
    up: "CREATE TABLE dj (id int);\nCREATE VIEW dj_v AS SELECT id FROM dj;",
    down: "DROP VIEW dj_v CASCADE;",
    incomplete: ["table dj"],
  },
  {
    name: "a partition, and its own partitions, go with the parent",
    up: "CREATE TABLE dk (id int, d date) PARTITION BY RANGE (d);\n" +
      "CREATE TABLE dk_2025 PARTITION OF dk FOR VALUES FROM ('2025-01-01') TO ('2026-01-01') " +
      "PARTITION BY LIST (id);\nCREATE TABLE dk_2025_1 PARTITION OF dk_2025 FOR VALUES IN (1);",
    down: "DROP TABLE dk;",
    incomplete: [],
  },
  {
    name: "the parent stays when only its partition is dropped",
    up: "CREATE TABLE dl (id int, d date) PARTITION BY RANGE (d);\n" +
      "CREATE TABLE dl_2025 PARTITION OF dl FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');",
    down: "DROP TABLE dl_2025;",
    incomplete: ["table dl"],
  },
  {
    name: "a sequence goes with the table of the column that owns it",
    up: "CREATE TABLE dm (id int);\nCREATE SEQUENCE dm_seq OWNED BY dm.id;",
    down: "DROP TABLE dm;",
    incomplete: [],
  },
  {
    name: "a sequence owned by a column of an existing table stays",
    before: "CREATE TABLE dn (id int);",
    up: "CREATE SEQUENCE dn_seq OWNED BY public.dn.id;",
    down: "SELECT 1;",
    incomplete: ["sequence dn_seq"],
  },
  {
    name: "a table renamed in UP is dropped by its new name",
    up: "CREATE TABLE do_t (id int);\nCREATE INDEX do_t_id ON do_t (id);\n" +
      "ALTER TABLE do_t RENAME TO do_u;",
    down: "DROP TABLE do_u;",
    incomplete: [],
  },
  {
    name: "a table renamed in UP is not dropped by its old name",
    up: "CREATE TABLE dp (id int);\nALTER TABLE dp RENAME TO dp2;",
    down: "DROP TABLE IF EXISTS dp;",
    incomplete: ["table dp2"],
  },
  {
    name: "a column renamed in UP takes its index along when dropped",
    before: "CREATE TABLE dq (id int);",
    up: "ALTER TABLE dq ADD COLUMN a text;\nCREATE INDEX dq_a ON dq (a);\n" +
      "ALTER TABLE dq RENAME COLUMN a TO b;",
    down: "ALTER TABLE dq DROP COLUMN b;",
    incomplete: [],
  },
  {
    name: "what the UP makes IF NOT EXISTS is the DOWN's to keep",
    before: "CREATE TABLE ds (id int);",
    up:
      "CREATE TABLE IF NOT EXISTS ds_new (id int);\nALTER TABLE ds ADD COLUMN IF NOT EXISTS c int;\n" +
      "CREATE INDEX IF NOT EXISTS ds_id ON ds (id);",
    down: "SELECT 1;",
    incomplete: [],
    kept: true,
  },
  {
    name: "an index on a table made IF NOT EXISTS must still go",
    up: "CREATE TABLE IF NOT EXISTS dt (id int);\nCREATE INDEX dt_id ON dt (id);",
    down: "SELECT 1;",
    incomplete: ["index dt_id"],
  },
  {
    name: "an enum value added to an existing type cannot be dropped: the UP fails again",
    before: "CREATE TYPE du AS ENUM ('a');",
    up: "ALTER TYPE public.du ADD VALUE 'b' AFTER 'a';",
    down: "SELECT 1;",
    incomplete: [
      "the DOWN section cannot drop the value 'b' this adds to enum type du (PostgreSQL has no " +
      "DROP VALUE), so the UP fails when it runs again after the DOWN: write ADD VALUE IF NOT EXISTS",
    ],
  },
  {
    name: "an enum value added IF NOT EXISTS stays, and the UP runs again",
    before: "CREATE TYPE dv AS ENUM ('a');",
    up: "ALTER TYPE dv ADD VALUE IF NOT EXISTS 'b';",
    down: "SELECT 1;",
    incomplete: [],
    kept: true,
  },
  {
    name: "an enum value goes with the type the UP makes",
    up: "CREATE TYPE dw AS ENUM ('a');\nALTER TYPE dw ADD VALUE 'b';",
    down: "DROP TYPE dw;",
    incomplete: [],
  },
  {
    name: "an enum value of a type the UP makes is the type's to report",
    up: "CREATE TYPE dx AS ENUM ('a');\nALTER TYPE dx ADD VALUE 'b';",
    down: "SELECT 1;",
    incomplete: ["type dx"],
  },
  {
    name: "an index on an existing table is forgotten",
    before: "CREATE TABLE dr (id int);",
    up: "CREATE INDEX dr_id ON dr (id);",
    down: "SELECT 1;",
    incomplete: ["index dr_id"],
  },
];

/** What lint's down-incomplete names, in file order. */
async function incomplete(c: Case): Promise<string[]> {
  const text = `-- UP\n${c.up}\n-- DOWN\n${c.down}\n`;
  return (await lintText("migrations/20250101_000000_x.sql", text))
    .filter((f) => f.rule === "down-incomplete")
    .map((f) => f.message.replace(/^the DOWN section does not drop (.*) created here$/, "$1"));
}

for (const c of CASES) {
  Deno.test(`lint down-incomplete: ${c.name}`, async () => {
    assertEquals(await incomplete(c), c.incomplete);
  });
}

driverTest(
  "lint down-incomplete reports exactly the DOWNs verify finds incomplete",
  async (ctx) => {
    let n = 0;
    for (const c of CASES) {
      if (c.before) await ctx.driver.exec(c.before);
      n++;
      const m = await Migration.new({
        version: `20250101_${String(n).padStart(6, "0")}`,
        name: `m${n}`,
        up: c.up,
        down: c.down,
      });
      const report = await verifyMigrations({ replay: [], verify: [m] }, { scratch: ctx.driver });
      const verified = report.migrations[0];
      const found = await incomplete(c);
      assertEquals(
        verified.status === "failed",
        found.length > 0 || c.kept === true,
        `${c.name}: lint says ${JSON.stringify(found)}, verify ${JSON.stringify(verified)}`,
      );
    }
  },
);

/**
 * One generated migration: UP steps drawn from what the DOWN check follows,
 * on a table that exists before it and on ones the UP makes, and a DOWN that
 * undoes each step, or undoes it another way, or forgets it.
 */
function generated(
  n: (k: number) => number,
  p: string,
): { before: string; up: string; down: string } {
  const up: string[] = [];
  const undo: string[][] = []; // for each step, the DOWN statements to choose from
  let table: string | null = null;
  let column = false;
  for (let step = 0, steps = 2 + n(4); step < steps; step++) {
    const x = `${p}${step}`;
    // Most migrations start with a table of their own, which most steps need.
    switch (step === 0 && n(4) !== 0 ? 0 : n(10)) {
      case 0:
        if (table) break;
        table = `${p}t`;
        up.push(`CREATE TABLE ${table} (id int, a text);`);
        // Without CASCADE, whose leniency would hide what the rest forgets (the
        // cases above cover it).
        undo.push([`DROP TABLE ${table};`]);
        break;
      case 1:
        up.push(`CREATE INDEX ${x}_i ON ${p}base (email);`);
        undo.push([`DROP INDEX ${x}_i;`, "SELECT 1;"]);
        break;
      case 2:
        if (!table) break;
        up.push(`CREATE INDEX ${x}_i ON ${table} (a);`);
        undo.push([`DROP INDEX ${x}_i;`, `ALTER TABLE ${table} DROP COLUMN a;`, "SELECT 1;"]);
        break;
      case 3:
      case 4:
        // A column, with a constraint and an index on it that a DROP COLUMN takes along.
        if (column) break;
        column = true;
        up.push(`ALTER TABLE ${p}base ADD COLUMN c text;`);
        up.push(`ALTER TABLE ${p}base ADD CONSTRAINT ${x}_c CHECK (c <> '') NOT VALID;`);
        up.push(`CREATE INDEX ${x}_l ON ${p}base (lower(c));`);
        undo.push([`ALTER TABLE ${p}base DROP COLUMN c;`, "SELECT 1;"]);
        undo.push([`ALTER TABLE ${p}base DROP CONSTRAINT ${x}_c;`, "SELECT 1;"]);
        undo.push([`DROP INDEX ${x}_l;`, "SELECT 1;"]);
        break;
      case 5:
        if (!table) break;
        up.push(`CREATE VIEW ${x}_v AS SELECT id FROM ${table};`);
        undo.push([`DROP VIEW ${x}_v;`, "SELECT 1;"]);
        break;
      case 6:
        if (!table) break;
        up.push(`CREATE MATERIALIZED VIEW ${x}_m AS SELECT id FROM ${table};`);
        up.push(`CREATE INDEX ${x}_mi ON ${x}_m (id);`);
        undo.push([`DROP MATERIALIZED VIEW ${x}_m;`, "SELECT 1;"]);
        undo.push([`DROP INDEX ${x}_mi;`, "SELECT 1;"]);
        break;
      case 7:
        if (!table) break;
        up.push(`CREATE SEQUENCE ${x}_s OWNED BY ${table}.id;`);
        undo.push([`DROP SEQUENCE ${x}_s;`, "SELECT 1;"]);
        break;
      case 8:
        up.push(`CREATE TABLE ${x}_p (id int) PARTITION BY LIST (id);`);
        up.push(`CREATE TABLE ${x}_p1 PARTITION OF ${x}_p FOR VALUES IN (1);`);
        undo.push([`DROP TABLE ${x}_p;`, "SELECT 1;"]);
        undo.push([`DROP TABLE ${x}_p1;`, "SELECT 1;"]);
        break;
      case 9:
        if (!table || table.endsWith("_r")) break;
        up.push(`ALTER TABLE ${table} RENAME TO ${table}_r;`);
        undo.push([`ALTER TABLE ${table}_r RENAME TO ${table};`, "SELECT 1;"]);
        table += "_r";
        break;
    }
  }
  if (up.length === 0) {
    up.push(`CREATE INDEX ${p}i ON ${p}base (email);`);
    undo.push(["SELECT 1;"]);
  }
  // Undone in reverse order; a table is dropped by the name it has by then.
  const down = undo.reverse().map((choices) => choices[n(choices.length)])
    .map((sql) => table ? sql.replace(`DROP TABLE ${p}t`, `DROP TABLE ${table}`) : sql);
  return {
    before: `CREATE TABLE ${p}base (id int PRIMARY KEY, email text);`,
    up: up.join("\n"),
    down: down.join("\n"),
  };
}

serverTest("lint down-incomplete agrees with verify on 100 generated migrations", async () => {
  const { ctx, close } = await openFresh("wire");
  try {
    const n = random(20261203);
    let judged = 0;
    for (let k = 0; k < 100; k++) {
      const c = generated(n, `g${k}_`);
      await ctx.driver.exec(c.before);
      const m = await Migration.new({
        version: `20250101_${String(Math.floor(k / 60)).padStart(4, "0")}${
          String(k % 60).padStart(2, "0")
        }`,
        name: `g${k}`,
        up: c.up,
        down: c.down,
      });
      const [verified] =
        (await verifyMigrations({ replay: [], verify: [m] }, { scratch: ctx.driver }))
          .migrations;
      const found = await incomplete({ name: "", incomplete: [], ...c });
      const where = `${c.up}\n-- DOWN\n${c.down}\nlint: ${JSON.stringify(found)}; verify: ${
        JSON.stringify(verified)
      }`;
      // Never a DOWN reported that verify finds complete.
      if (verified.status === "ok") assertEquals(found, [], where);
      // Every incomplete DOWN reported, but one that fails when it runs
      // (lint does not judge whether a DOWN can run).
      else if (!verified.down) assert(found.length > 0, where);
      else continue;
      judged++;
    }
    assert(judged >= 70, `only ${judged} of 100 generated migrations judged`);
  } finally {
    await close();
  }
});
