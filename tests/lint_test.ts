import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { DEFAULTS, LINT_LEVELS } from "../lib/config.ts";
import {
  formatLintGithub,
  formatLintText,
  lintFiles,
  lintLevels,
  lintMigrations,
  lintText,
  ruleIds,
  RULES,
} from "../lib/lint.ts";
import type { RuleId } from "../lib/lint_rules.ts";
import { Migration, migrationFile, parsedScan, parseMigrationFile } from "../lib/migration.ts";
import { createMigration } from "../lib/create.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "./support/assert.ts";
import postgres from "postgres";
import { VOLATILE_DEFAULTS } from "../lib/lint_rules.ts";
import { driverTest, freshDatabase, serverTest } from "./support/db.ts";

const FILE = "migrations/20250101_000000_change.sql";
const NO_TX = "-- Transaction: none\n";

/** A migration text from UP and DOWN (DOWN given, so `irreversible` stays quiet). */
function m(up: string, down = "SELECT 1;", header = ""): string {
  return `${header}-- UP\n${up}\n-- DOWN\n${down}\n`;
}

/** Findings as `line rule`, every rule turned on at its default level. */
async function found(text: string): Promise<string[]> {
  return (await lintText(FILE, text)).map((f) => `${f.line} ${f.rule}`);
}

interface Case {
  rule: RuleId;
  bad: string;
  /** Line of the finding in `bad`. */
  line: number;
  good: string;
}

const CASES: Case[] = [
  {
    rule: "index-not-concurrently",
    bad: m("CREATE INDEX users_email ON users (email);", "DROP INDEX users_email;"),
    line: 2,
    good: m(
      "CREATE INDEX CONCURRENTLY users_email ON users (email);",
      "DROP INDEX CONCURRENTLY users_email;",
      NO_TX,
    ),
  },
  {
    rule: "index-not-concurrently",
    bad: m("CREATE UNIQUE INDEX ON public.users (email);"),
    line: 2,
    good: m(
      "CREATE TABLE users (email text);\nCREATE INDEX users_email ON users (email);",
      "DROP TABLE users;",
    ),
  },
  {
    rule: "index-not-concurrently",
    bad: m("REINDEX (VERBOSE) TABLE public.users;"),
    line: 2,
    good: m("REINDEX TABLE CONCURRENTLY public.users;", "SELECT 1;", NO_TX),
  },
  {
    rule: "drop-index-not-concurrently",
    bad: m("DROP INDEX IF EXISTS users_email;"),
    line: 2,
    good: m("DROP INDEX CONCURRENTLY IF EXISTS users_email;", "SELECT 1;", NO_TX),
  },
  {
    rule: "drop-index-not-concurrently",
    bad: m("DROP INDEX public.users_email, users_name CASCADE;"),
    line: 2,
    good: m(
      "CREATE TABLE t (a int);\nCREATE INDEX t_a ON t (a);\nDROP INDEX t_a;",
      "DROP TABLE t;",
    ),
  },
  {
    rule: "refresh-not-concurrently",
    bad: m("REFRESH MATERIALIZED VIEW org_stats;"),
    line: 2,
    good: m(
      "REFRESH MATERIALIZED VIEW CONCURRENTLY org_stats;\n" +
        "CREATE MATERIALIZED VIEW fresh AS SELECT 1 AS one WITH NO DATA;\nREFRESH MATERIALIZED VIEW fresh;\n" +
        "REFRESH MATERIALIZED VIEW org_stats WITH NO DATA;",
      "DROP MATERIALIZED VIEW fresh;",
    ),
  },
  {
    rule: "add-column-not-null",
    bad: m("ALTER TABLE users ADD COLUMN age int NOT NULL;", "ALTER TABLE users DROP COLUMN age;"),
    line: 2,
    good: m(
      "ALTER TABLE users ADD COLUMN age int NOT NULL DEFAULT 0;",
      "ALTER TABLE users DROP COLUMN age;",
    ),
  },
  {
    rule: "add-column-not-null",
    bad: m("ALTER TABLE users ADD id2 bigint PRIMARY KEY;", "ALTER TABLE users DROP COLUMN id2;"),
    line: 2,
    good: m(
      "ALTER TABLE users ADD COLUMN n bigint NOT NULL GENERATED ALWAYS AS (id * 2) STORED; -- lint:ignore table-rewrite small table",
      "ALTER TABLE users DROP COLUMN n;",
    ),
  },
  {
    rule: "table-rewrite",
    bad: m(
      "ALTER TABLE users ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid();",
      "ALTER TABLE users DROP COLUMN token;",
    ),
    line: 2,
    good: m(
      "ALTER TABLE users ADD COLUMN token uuid;\nALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid();",
      "ALTER TABLE users DROP COLUMN token;",
    ),
  },
  {
    rule: "table-rewrite",
    bad: m("ALTER TABLE users ADD COLUMN n bigserial;", "ALTER TABLE users DROP COLUMN n;"),
    line: 2,
    good: m(
      "CREATE TABLE t (a int);\nALTER TABLE t ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY, SET UNLOGGED;",
      "DROP TABLE t;",
    ),
  },
  {
    rule: "table-rewrite",
    bad: m("ALTER TABLE ONLY public.events SET UNLOGGED;", "ALTER TABLE public.events SET LOGGED;"),
    line: 2,
    good: m(
      "ALTER TABLE events ADD COLUMN at timestamptz NOT NULL DEFAULT now();",
      "ALTER TABLE events DROP COLUMN at;",
    ),
  },
  {
    rule: "table-rewrite",
    bad: m("VACUUM (FULL, ANALYZE) events;", "SELECT 1;", NO_TX),
    line: 3,
    good: m("VACUUM (ANALYZE) events;", "SELECT 1;", NO_TX),
  },
  {
    rule: "alter-column-type",
    bad: m("ALTER TABLE users ALTER COLUMN email TYPE varchar(100);"),
    line: 2,
    good: m("ALTER TABLE users ALTER COLUMN email SET DEFAULT '';"),
  },
  {
    rule: "alter-column-type",
    bad: m("ALTER TABLE users ALTER email SET DATA TYPE text;"),
    line: 2,
    good: m(
      "CREATE TABLE t (a int);\nALTER TABLE t ALTER COLUMN a TYPE bigint;",
      "DROP TABLE t;",
    ),
  },
  {
    rule: "set-not-null",
    bad: m("ALTER TABLE users ALTER COLUMN email SET NOT NULL;"),
    line: 2,
    good: m(
      [
        "ALTER TABLE users ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) NOT VALID;",
        "ALTER TABLE users VALIDATE CONSTRAINT email_nn;",
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
        "ALTER TABLE users DROP CONSTRAINT email_nn;",
      ].join("\n"),
      "SELECT 1;",
      NO_TX,
    ),
  },
  {
    rule: "constraint-not-valid",
    bad: m(
      "ALTER TABLE posts ADD CONSTRAINT posts_user FOREIGN KEY (user_id) REFERENCES users (id);",
      "ALTER TABLE posts DROP CONSTRAINT posts_user;",
    ),
    line: 2,
    good: m(
      "ALTER TABLE posts ADD CONSTRAINT posts_user FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\n" +
        "ALTER TABLE posts VALIDATE CONSTRAINT posts_user;",
      "ALTER TABLE posts DROP CONSTRAINT posts_user;",
      NO_TX,
    ),
  },
  {
    rule: "constraint-not-valid",
    bad: m(
      "ALTER TABLE users ADD COLUMN org_id bigint REFERENCES orgs (id);",
      "ALTER TABLE users DROP COLUMN org_id;",
    ),
    line: 2,
    good: m(
      "ALTER TABLE users ADD COLUMN org_id bigint;\n" +
        "ALTER TABLE users ADD CONSTRAINT users_org FOREIGN KEY (org_id) REFERENCES orgs (id) NOT VALID;\n" +
        "ALTER TABLE users VALIDATE CONSTRAINT users_org;",
      "ALTER TABLE users DROP COLUMN org_id;",
      NO_TX,
    ),
  },
  {
    rule: "constraint-not-valid",
    bad: m(
      "ALTER TABLE posts ADD CONSTRAINT posts_user FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\n" +
        "ALTER TABLE posts VALIDATE CONSTRAINT posts_user;",
      "ALTER TABLE posts DROP CONSTRAINT posts_user;",
    ),
    line: 3,
    // Validated in the next migration, or on its own.
    good: m("ALTER TABLE posts VALIDATE CONSTRAINT posts_user;"),
  },
  {
    rule: "constraint-not-valid",
    bad: m(
      [
        "BEGIN;",
        "ALTER TABLE users ADD CONSTRAINT age_pos CHECK (age > 0) NOT VALID;",
        "ALTER TABLE users VALIDATE CONSTRAINT age_pos;",
        "COMMIT;",
      ].join("\n"),
      "ALTER TABLE users DROP CONSTRAINT age_pos;",
      NO_TX,
    ),
    line: 5,
    good: m(
      [
        "BEGIN;",
        "ALTER TABLE users ADD CONSTRAINT age_pos CHECK (age > 0) NOT VALID;",
        "COMMIT;",
        "ALTER TABLE users VALIDATE CONSTRAINT age_pos;",
      ].join("\n"),
      "ALTER TABLE users DROP CONSTRAINT age_pos;",
      NO_TX,
    ),
  },
  {
    rule: "constraint-not-valid",
    bad: m("ALTER TABLE users ADD CHECK (age > 0);"),
    line: 2,
    good: m("ALTER TABLE users ADD CHECK (age > 0) NOT VALID;"),
  },
  {
    rule: "add-unique-constraint",
    bad: m(
      "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
      "ALTER TABLE users DROP CONSTRAINT users_email_key;",
    ),
    line: 2,
    good: m(
      "CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);",
      "DROP INDEX CONCURRENTLY IF EXISTS users_email_key;",
      NO_TX,
    ),
  },
  {
    rule: "add-unique-constraint",
    bad: m(
      "ALTER TABLE users ADD COLUMN id bigserial PRIMARY KEY;",
      "ALTER TABLE users DROP COLUMN id;",
    ),
    line: 2,
    good: m(
      "ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY USING INDEX users_id_key;\n" +
        "CREATE TABLE t (id bigserial PRIMARY KEY, email text UNIQUE);\n" +
        "ALTER TABLE t ADD CONSTRAINT t_email_key UNIQUE (email);",
      "DROP TABLE t;\nALTER TABLE users DROP CONSTRAINT users_pkey;",
    ),
  },
  {
    rule: "index-not-concurrently",
    bad: m("CREATE UNIQUE INDEX org_stats_id ON org_stats (id);", "DROP INDEX org_stats_id;"),
    line: 2,
    good: m(
      "CREATE MATERIALIZED VIEW org_stats AS SELECT 1 AS id;\n" +
        "CREATE UNIQUE INDEX org_stats_id ON org_stats (id);",
      "DROP MATERIALIZED VIEW org_stats;",
    ),
  },
  {
    rule: "add-column-not-null",
    bad: m("ALTER TABLE users ADD COLUMN id int NOT NULL;", "ALTER TABLE users DROP COLUMN id;"),
    line: 2,
    good: m(
      "-- lint:ignore table-rewrite users is small\nALTER TABLE users ADD COLUMN id serial NOT NULL;\n" +
        "-- lint:ignore table-rewrite users is small\nALTER TABLE users ADD COLUMN n bigserial;",
      "ALTER TABLE users DROP COLUMN n;\nALTER TABLE users DROP COLUMN id;",
    ),
  },
  {
    rule: "drop-table",
    bad: m("DROP TABLE IF EXISTS old_logs;"),
    line: 2,
    good: m(
      "-- lint:ignore drop-table archived to S3 in ticket 42\nDROP TABLE IF EXISTS old_logs;",
    ),
  },
  {
    rule: "drop-table",
    bad: m("DROP SCHEMA IF EXISTS reporting CASCADE;"),
    line: 2,
    good: m("CREATE SCHEMA scratch;\nDROP SCHEMA scratch;"),
  },
  {
    rule: "drop-table",
    bad: m("DROP DATABASE old_app;", "SELECT 1;", NO_TX),
    line: 3,
    good: m("DROP TABLE IF EXISTS gone; -- lint:ignore drop-table gone since 2024"),
  },
  {
    rule: "drop-column",
    bad: m("ALTER TABLE users DROP COLUMN legacy;"),
    line: 2,
    good: m("ALTER TABLE users DROP CONSTRAINT users_legacy_check;"),
  },
  {
    rule: "rename",
    bad: m("ALTER TABLE users RENAME COLUMN name TO full_name;"),
    line: 2,
    good: m(
      "ALTER TABLE users ADD COLUMN full_name text;",
      "ALTER TABLE users DROP COLUMN full_name;",
    ),
  },
  {
    rule: "rename",
    bad: m("ALTER TABLE users RENAME TO people;"),
    line: 2,
    good: m("ALTER INDEX users_email RENAME TO users_email_idx;"),
  },
  {
    rule: "concurrently-in-transaction",
    bad: m("CREATE INDEX CONCURRENTLY users_email ON users (email);", "DROP INDEX users_email;"),
    line: 2,
    good: m(
      "CREATE INDEX CONCURRENTLY users_email ON users (email);",
      "DROP INDEX users_email;",
      NO_TX,
    ),
  },
  {
    rule: "concurrently-in-transaction",
    bad: m(
      "BEGIN;\nCREATE INDEX CONCURRENTLY users_email ON users (email);\nCOMMIT;",
      "DROP INDEX users_email;",
      NO_TX,
    ),
    line: 4,
    good: m(
      "BEGIN;\nCREATE TABLE new_t (email text);\nCREATE INDEX users_email ON new_t (email);\nCOMMIT;",
      "DROP TABLE new_t;",
      NO_TX,
    ),
  },
  {
    rule: "irreversible",
    bad: "-- UP\nCREATE TABLE t (id int);\n-- DOWN\n",
    line: 3,
    good:
      "-- UP\nCREATE TABLE t (id int);\n-- DOWN\n-- lint:ignore irreversible nothing to undo safely\n",
  },
  {
    rule: "down-incomplete",
    bad: m(
      "CREATE TABLE t (id int);\nCREATE INDEX t_id ON t (id);\nCREATE TABLE u (id int);",
      "DROP TABLE u;",
    ),
    line: 2,
    good: m(
      "CREATE TABLE t (id int);\nCREATE INDEX t_id ON t (id);\nCREATE TABLE u (id int);",
      "DROP TABLE u;\nDROP TABLE t;",
    ),
  },
  {
    rule: "down-incomplete",
    bad: m(
      "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';\nALTER TABLE users ADD COLUMN age int;",
      "ALTER TABLE users DROP COLUMN name;\nDROP FUNCTION f();",
    ),
    line: 3,
    good: m(
      "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 2';\nALTER TABLE users ADD COLUMN age int;",
      "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';\nALTER TABLE users DROP COLUMN age;",
    ),
  },
  {
    rule: "delete-all-rows",
    bad: m("DELETE FROM sessions;"),
    line: 2,
    good: m("DELETE FROM sessions WHERE expires_at < now();"),
  },
  {
    rule: "delete-all-rows",
    bad: m("TRUNCATE TABLE sessions, tokens;"),
    line: 2,
    good: m("CREATE TABLE s (id int);\nTRUNCATE s;", "DROP TABLE s;"),
  },
  {
    rule: "update-all-rows",
    bad: m("UPDATE users SET email = lower(email);"),
    line: 2,
    good: m("UPDATE users SET email = lower(email) WHERE id BETWEEN 1 AND 10000;"),
  },
  {
    rule: "update-all-rows",
    bad: m("UPDATE ONLY public.users SET flags = (SELECT 0 FROM orgs WHERE orgs.id = 1);"),
    line: 2,
    good: m("CREATE TABLE s (id int);\nUPDATE s SET id = 1;", "DROP TABLE s;"),
  },
  {
    rule: "invalid-ignore",
    bad: m("-- lint:ignore drop-tabel oops\nDROP TABLE t;\n-- lint:ignore drop-table"),
    line: 2,
    good: m("-- lint:ignore drop-table,delete-all-rows replaced by partitions\nDROP TABLE t;"),
  },
  {
    rule: "invalid-migration",
    bad: "-- UP\n-- DOWN\nSELECT 1;\n",
    line: 2,
    good: "-- UP\nSELECT 1;\n-- DOWN\nSELECT 1;\n",
  },
];

for (const c of CASES) {
  Deno.test(`lint ${c.rule}: reports ${JSON.stringify(c.bad.split("\n")[c.line - 1])}`, async () => {
    const findings = await found(c.bad);
    assert(
      findings.includes(`${c.line} ${c.rule}`),
      `expected ${c.line} ${c.rule} in ${JSON.stringify(findings)}`,
    );
  });
  Deno.test(`lint ${c.rule}: the safe form passes: ${JSON.stringify(c.good.slice(0, 60))}`, async () => {
    assertEquals(await found(c.good), []);
  });
}

Deno.test("every rule has a violating and a clean fixture, a reason and a fix", () => {
  for (const rule of ruleIds()) {
    assert(CASES.some((c) => c.rule === rule), `no fixture for ${rule}`);
    assert(RULES[rule].why.length > 20 && RULES[rule].fix.length > 10, rule);
    assert(rule in LINT_LEVELS, `no default level for ${rule}`);
  }
});

Deno.test("lint looks at statements, not at strings, comments or function bodies", async () => {
  const text = m(
    [
      "-- DROP TABLE users;",
      "SELECT 'ALTER TABLE users DROP COLUMN x';",
      "CREATE FUNCTION g() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELETE FROM users; END $$;",
    ].join("\n"),
    "DROP FUNCTION g();",
  );
  assertEquals(await found(text), []);
});

Deno.test("lint:ignore covers the statement it precedes, not the next ones", async () => {
  const text = m(
    [
      "-- lint:ignore drop-column legacy field, unused since v2",
      "ALTER TABLE users",
      "  DROP COLUMN legacy;",
      "ALTER TABLE users DROP COLUMN other;",
      "DROP TABLE a; -- lint:ignore drop-table replaced by b",
    ].join("\n"),
  );
  assertEquals(await found(text), ["5 drop-column"]);
});

Deno.test("lint:ignore is recognised with any case and spacing after the dashes", async () => {
  for (
    const comment of ["--lint:ignore", "-- LINT:IGNORE", "--\t Lint:Ignore", "--  lint:ignore"]
  ) {
    assertEquals(await found(m(`${comment} drop-table archived\nDROP TABLE t;`)), [], comment);
  }
  // Other comments before it, and one that only looks alike, ignore nothing.
  assertEquals(
    await found(m("-- lint: drop-table\n-- note: lint:ignore drop-table x\nDROP TABLE t;")),
    ["4 drop-table"],
  );
});

Deno.test("levels: defaults, data-bridge.json, then flags; off removes a rule", async () => {
  const dir = mkdtempSync(join(tmpdir(), "db-lint-"));
  const config = join(dir, "data-bridge.json");
  writeFileSync(
    config,
    JSON.stringify({ lint: { rules: { "drop-table": "warning", "rename": "off" } } }),
  );
  const levels = lintLevels({ "index-not-concurrently": "error" }, config);
  assertEquals(
    [
      levels["drop-table"],
      levels["rename"],
      levels["index-not-concurrently"],
      levels["drop-column"],
    ],
    ["warning", "off", "error", "error"],
  );
  const text = m("DROP TABLE t;\nALTER TABLE u RENAME TO v;");
  const findings = await lintText(FILE, text, levels);
  assertEquals(findings.map((f) => `${f.rule} ${f.level}`), ["drop-table warning"]);
  writeFileSync(config, JSON.stringify({ lint: { rules: { "drop-tables": "warning" } } }));
  assertMatch(
    assertThrows<Error>(() => lintLevels({}, config)).message,
    /unknown lint rule 'drop-tables'/,
  );
  assertMatch(
    assertThrows<Error>(() => lintLevels({ "drop-table": "fatal" as "error" }, "/none")).message,
    /must be "error", "warning" or "off"/,
  );
});

Deno.test("text and github formats name file, line, rule, why and fix", async () => {
  const dir = mkdtempSync(join(tmpdir(), "db-lint-"));
  const path = join(dir, "20250101_000000_x.sql");
  writeFileSync(path, m("DROP TABLE users;"));
  const report = await lintFiles([path]);
  assertEquals([report.errors, report.warnings], [1, 0]);
  const text = formatLintText(report);
  assertMatch(text, new RegExp(`^${path}:2: error \\[drop-table\\] DROP TABLE users\\n  why: `));
  assertMatch(text, /1 file linted: 1 error, 0 warnings\.\n$/);
  assertEquals(
    formatLintGithub(report),
    `::error file=${path},line=2,title=drop-table::DROP TABLE users: ${
      RULES["drop-table"].why
    }. Fix: ${RULES["drop-table"].fix.replace(/%/g, "%25")}\n`,
  );
});

Deno.test("the templates of create pass lint", async () => {
  const dir = join(mkdtempSync(join(tmpdir(), "db-lint-")), "migrations");
  const a = createMigration("plain", dir, { now: new Date("2025-01-01T00:00:00Z") });
  const b = createMigration("no tx", dir, {
    now: new Date("2025-01-01T00:00:01Z"),
    noTransaction: true,
  });
  const levels = Object.fromEntries(ruleIds().map((r) => [r, "error"])) as Record<
    RuleId,
    "error"
  >;
  assertEquals((await lintFiles([a, b], levels)).findings, []);
});

Deno.test("lintFiles with validated runs the rules but does not check the format again", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/20250101_000000_no_down.sql`;
    Deno.writeTextFileSync(path, "-- UP\nDROP TABLE users;\n");
    const checked = await lintFiles([path]);
    assertEquals(checked.findings.map((f) => f.rule).sort(), ["drop-table", "invalid-migration"]);
    const validated = await lintFiles([path], undefined, { validated: true });
    assertEquals(validated.findings.map((f) => f.rule), ["drop-table"]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("lintMigrations lints the text a migration was parsed from, not its file read again", async () => {
  const dir = mkdtempSync(join(tmpdir(), "data-bridge-lint-"));
  const name = "20250101_000000_index.sql";
  const path = join(dir, name);
  const indexing = "-- UP\nCREATE INDEX i ON t (c);\n-- DOWN\nDROP INDEX i;\n";
  writeFileSync(path, indexing);
  const kept = parseMigrationFile(migrationFile({ name, file: path, content: indexing }), {
    keepSource: true,
  });
  const plain = parseMigrationFile(migrationFile({ name, file: path, content: indexing }));
  // The file changes after it was parsed: the kept source is what runs.
  writeFileSync(path, "-- UP\nSELECT 1;\n-- DOWN\n");
  const rules = async (m: Migration) =>
    (await lintMigrations([m], undefined, { validated: true })).findings.map((f) => f.rule);
  assertEquals(await rules(kept), ["index-not-concurrently"]);
  // Without a kept source the file is read, as it is now.
  assertEquals(await rules(plain), ["irreversible"]);
  const inCode = await Migration.new({ version: "20250102_000000", name: "x", up: "SELECT 1" });
  assertEquals((await lintMigrations([inCode])).files, []);
});

Deno.test("lint of a parsed migration, from the scan its parse kept, finds what lint of its text finds", async () => {
  let compared = 0;
  // Padded past the size from which a parse keeps its scan.
  const pad = `\n-- ${"x".repeat(DEFAULTS.keepScanChars)}\n`;
  for (const c of CASES) {
    for (const text of [c.bad + pad, c.good + pad]) {
      let parsed: Migration;
      try {
        parsed = parseMigrationFile(
          migrationFile({ name: basename(FILE), file: FILE, content: text }),
          {
            keepSource: true,
          },
        );
      } catch {
        continue; // Not a migration: only lint of the text sees it.
      }
      assert(parsedScan(parsed) !== undefined);
      const fromScan = (await lintMigrations([parsed], undefined, { validated: true })).findings;
      const fromText = (await lintText(FILE, text)).filter((f) => f.rule !== "invalid-migration");
      assertEquals(fromScan, fromText, text);
      compared++;
    }
  }
  assert(compared >= 2 * CASES.length - 4, `only ${compared} fixtures parse`);
});

driverTest(
  "lint add-column-not-null reports exactly the columns PostgreSQL refuses on a table with rows",
  async (ctx) => {
    const cases: string[] = [
      "c int NOT NULL",
      "c int NOT NULL DEFAULT 0",
      "c text DEFAULT 'x' NOT NULL",
      "c serial NOT NULL",
      "c bigserial PRIMARY KEY",
      "c int PRIMARY KEY",
      "c int GENERATED ALWAYS AS IDENTITY",
      "c int GENERATED ALWAYS AS (id * 2) STORED NOT NULL",
      "c int NOT NULL CHECK (c > 0)",
      "c int",
    ];
    let n = 0;
    for (const column of cases) {
      const table = `nn${++n}`;
      await ctx.driver.exec(`CREATE TABLE ${table} (id int); INSERT INTO ${table} VALUES (1)`);
      const up = `ALTER TABLE ${table} ADD COLUMN ${column};`;
      const reported = (await lintText(FILE, m(up, `ALTER TABLE ${table} DROP COLUMN c;`)))
        .some((f) => f.rule === "add-column-not-null");
      const refused = await ctx.driver.exec(up).then(() => false, () => true);
      assertEquals(reported, refused, `${column}: lint ${reported}, PostgreSQL refused ${refused}`);
    }
  },
);

/** DROP INDEX forms, and whether the table's readers queue behind each while it waits. */
const INDEX_DROPS: Array<[string, boolean]> = [
  ["DROP INDEX di_a", true],
  ["DROP INDEX IF EXISTS di_a, di_b", true],
  ["DROP INDEX CONCURRENTLY di_a", false],
  ["DROP INDEX CONCURRENTLY IF EXISTS public.di_a", false],
];

serverTest(
  "drop-index-not-concurrently reports a DROP INDEX exactly when the table's readers wait behind it",
  async () => {
    const db = await freshDatabase();
    const holder = postgres(db.url, { max: 1, onnotice: () => {} });
    const dropper = postgres(db.url, { max: 1, onnotice: () => {} });
    const reader = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const [{ pid }] = await dropper`SELECT pg_backend_pid() AS pid`;
      for (const [drop, queues] of INDEX_DROPS) {
        await holder.unsafe(
          "DROP TABLE IF EXISTS di; CREATE TABLE di (a int, b int); " +
            "CREATE INDEX di_a ON di (a); CREATE INDEX di_b ON di (b); INSERT INTO di VALUES (1, 2)",
        );
        // A transaction reading the table holds its lock until it ends.
        const held = await holder.reserve();
        let blocked: boolean;
        try {
          await held`BEGIN`;
          await held`SELECT count(*) FROM di`;
          // Started now (a postgres.js query runs once it is awaited or executed).
          const dropping = dropper.unsafe(drop).execute();
          try {
            // The DROP waits (for the table's lock, or for the reader to end).
            for (let i = 0;; i++) {
              const [{ waiting }] = await reader`
                SELECT count(*)::int AS waiting FROM pg_locks WHERE pid = ${pid} AND NOT granted`;
              if (waiting > 0) break;
              assert(i < 500, `${drop} never waited`);
              await new Promise((resolve) => setTimeout(resolve, 10));
            }
            blocked = await reader.begin(async (tx) => {
              await tx`SET LOCAL lock_timeout = '300ms'`;
              await tx`SELECT count(*) FROM di`;
            }).then(() => false, (error) => {
              assertEquals(error.code, "55P03", String(error));
              return true;
            });
          } finally {
            await held`COMMIT`;
            await dropping;
          }
        } finally {
          held.release();
        }
        assertEquals(blocked, queues, `PostgreSQL on ${drop}`);
        const header = drop.includes("CONCURRENTLY") ? NO_TX : "";
        const rules = (await found(m(`${drop};`, "SELECT 1;", header))).map((f) => f.split(" ")[1]);
        assertEquals(
          rules.includes("drop-index-not-concurrently"),
          queues,
          `lint on ${drop}: ${rules}`,
        );
      }
    } finally {
      await Promise.all([holder.end(), dropper.end(), reader.end()]);
      await db.drop();
    }
  },
);

/**
 * Migrations whose last statement scans a table with rows, and whether
 * another session's write of a row waits behind the migration while it runs
 * (its locks are held until it commits): the ground truth of
 * constraint-not-valid's VALIDATE and of update-all-rows. cv_old is a CHECK
 * added NOT VALID before each.
 */
const WRITES_WAIT: Array<{ header: string; up: string[]; waits: boolean }> = [
  {
    header: "",
    up: [
      "ALTER TABLE cv ADD CONSTRAINT cv_new CHECK (qty > 0) NOT VALID",
      "ALTER TABLE cv VALIDATE CONSTRAINT cv_new",
    ],
    waits: true,
  },
  {
    header: NO_TX,
    up: [
      "ALTER TABLE cv ADD CONSTRAINT cv_new CHECK (qty > 0) NOT VALID",
      "ALTER TABLE cv VALIDATE CONSTRAINT cv_new",
    ],
    waits: false,
  },
  {
    header: "",
    up: [
      "ALTER TABLE cv ADD CONSTRAINT cv_fk FOREIGN KEY (id) REFERENCES cu (id) NOT VALID",
      "ALTER TABLE cv VALIDATE CONSTRAINT cv_fk",
    ],
    waits: true,
  },
  {
    header: NO_TX,
    up: [
      "ALTER TABLE cv ADD CONSTRAINT cv_fk FOREIGN KEY (id) REFERENCES cu (id) NOT VALID",
      "ALTER TABLE cv VALIDATE CONSTRAINT cv_fk",
    ],
    waits: false,
  },
  { header: "", up: ["ALTER TABLE cv VALIDATE CONSTRAINT cv_old"], waits: false },
  {
    header: "",
    up: ["ALTER TABLE cv ADD COLUMN z int", "ALTER TABLE cv VALIDATE CONSTRAINT cv_old"],
    waits: true,
  },
  {
    header: "",
    up: [
      "ALTER TABLE cv ALTER COLUMN qty SET STATISTICS 100",
      "ALTER TABLE cv VALIDATE CONSTRAINT cv_old",
    ],
    waits: false,
  },
  {
    header: "",
    up: [
      "ALTER TABLE cv SET (autovacuum_enabled = false)",
      "ALTER TABLE cv VALIDATE CONSTRAINT cv_old",
    ],
    waits: false,
  },
  {
    header: "",
    up: ["CREATE INDEX cv_qty ON cv (qty)", "ALTER TABLE cv VALIDATE CONSTRAINT cv_old"],
    waits: true,
  },
  {
    header: "",
    up: [
      "CREATE TRIGGER cv_t BEFORE UPDATE ON cv FOR EACH ROW EXECUTE FUNCTION cv_noop()",
      "ALTER TABLE cv VALIDATE CONSTRAINT cv_old",
    ],
    waits: true,
  },
  {
    header: "",
    up: [
      "LOCK TABLE cv IN SHARE UPDATE EXCLUSIVE MODE",
      "ALTER TABLE cv VALIDATE CONSTRAINT cv_old",
    ],
    waits: false,
  },
  { header: "", up: ["LOCK TABLE cv", "ALTER TABLE cv VALIDATE CONSTRAINT cv_old"], waits: true },
  { header: "", up: ["UPDATE cv SET qty = qty + 1"], waits: true },
  { header: NO_TX, up: ["UPDATE ONLY cv SET qty = qty + 1"], waits: true },
  { header: "", up: ["UPDATE cv SET qty = qty + 1 WHERE id = 1"], waits: false },
];

serverTest(
  "constraint-not-valid and update-all-rows report a scan exactly when other sessions' writes wait behind it",
  async () => {
    const db = await freshDatabase();
    const migrator = postgres(db.url, { max: 1, onnotice: () => {} });
    const writer = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      for (const c of WRITES_WAIT) {
        await migrator.unsafe(
          "DROP TABLE IF EXISTS cv, cu; CREATE TABLE cu (id int PRIMARY KEY); " +
            "CREATE TABLE cv (id int PRIMARY KEY, qty int); " +
            "INSERT INTO cu SELECT generate_series(1, 3); INSERT INTO cv SELECT g, g FROM generate_series(1, 3) g; " +
            "ALTER TABLE cv ADD CONSTRAINT cv_old CHECK (qty > 0) NOT VALID; " +
            "CREATE OR REPLACE FUNCTION cv_noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
        );
        // Run as apply runs the file, the last statement's transaction held open.
        const held = await migrator.reserve();
        let waits: boolean;
        try {
          const last = c.up.length - 1;
          if (c.header) { for (const sql of c.up.slice(0, last)) await held.unsafe(sql); }
          await held`BEGIN`;
          for (const sql of c.header ? c.up.slice(last) : c.up) await held.unsafe(sql);
          waits = await writer.begin(async (tx) => {
            await tx`SET LOCAL lock_timeout = '300ms'`;
            await tx`UPDATE cv SET qty = 9 WHERE id = 3`;
          }).then(() => false, (error) => {
            assertEquals(error.code, "55P03", String(error));
            return true;
          });
          await held`ROLLBACK`;
        } finally {
          held.release();
        }
        const what = `${c.header ? "(no transaction) " : ""}${c.up.join("; ")}`;
        assertEquals(waits, c.waits, `PostgreSQL on ${what}`);
        const line = (c.header ? 2 : 1) + c.up.length;
        const reported = (await found(m(`${c.up.join(";\n")};`, "SELECT 1;", c.header)))
          .filter((f) => f === `${line} constraint-not-valid` || f === `${line} update-all-rows`);
        assertEquals(reported.length > 0, c.waits, `lint on ${what}: ${reported}`);
      }
    } finally {
      await Promise.all([migrator.end(), writer.end()]);
      await db.drop();
    }
  },
);

/** ALTER TABLE actions on a table with rows, and whether PostgreSQL rewrites it for each. */
const REWRITES: Array<[string, boolean]> = [
  ["ADD COLUMN x int DEFAULT 0", false],
  ["ADD COLUMN x timestamptz NOT NULL DEFAULT now()", false],
  ["ADD COLUMN x text DEFAULT 'a' || 'b'", false],
  ["ADD COLUMN x int", false],
  ["ALTER COLUMN id SET DEFAULT 5", false],
  ["ADD COLUMN x float8 DEFAULT random()", true],
  ["ADD COLUMN x uuid DEFAULT gen_random_uuid()", true],
  ["ADD COLUMN x timestamptz DEFAULT clock_timestamp()", true],
  ["ADD COLUMN x int DEFAULT (nextval('rw_seq') * 2)", true],
  ["ADD COLUMN x serial", true],
  ["ADD COLUMN IF NOT EXISTS x bigserial", true],
  ["ADD COLUMN x bigint GENERATED ALWAYS AS IDENTITY", true],
  ["ADD COLUMN x int GENERATED ALWAYS AS (id * 2) STORED", true],
  ["ADD COLUMN x int DEFAULT 1, ADD COLUMN y float8 DEFAULT random()", true],
  ["SET UNLOGGED", true],
];

serverTest(
  "table-rewrite reports an ALTER TABLE exactly when PostgreSQL rewrites the table",
  async () => {
    const db = await freshDatabase();
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      for (const [action, rewrites] of REWRITES) {
        await sql.unsafe(
          "DROP TABLE IF EXISTS rw; DROP SEQUENCE IF EXISTS rw_seq; CREATE SEQUENCE rw_seq; " +
            "CREATE TABLE rw (id int); INSERT INTO rw SELECT generate_series(1, 100)",
        );
        const node = async () =>
          (await sql`SELECT relfilenode::text AS n FROM pg_class WHERE relname = 'rw'`)[0].n;
        const before = await node();
        await sql.unsafe(`ALTER TABLE rw ${action}`);
        assertEquals(before !== await node(), rewrites, `PostgreSQL on ${action}`);
        const rules = (await found(m(`ALTER TABLE rw ${action};`))).map((f) => f.split(" ")[1]);
        assertEquals(rules.includes("table-rewrite"), rewrites, `lint on ${action}: ${rules}`);
      }
      // Every function the rule knows as volatile is, where the server has it
      // (uuid-ossp's when it is installed; PostgreSQL 16's and 18's on those).
      await sql.unsafe('CREATE EXTENSION IF NOT EXISTS "uuid-ossp"').catch(() => {});
      const known = [...VOLATILE_DEFAULTS].map((name) => name.toLowerCase());
      const rows = await sql<{ proname: string; provolatile: string }[]>`
      SELECT DISTINCT proname::text, provolatile::text FROM pg_proc WHERE proname = ANY(${known})`;
      assert(rows.length >= 5, `found ${rows.map((r) => r.proname)}`);
      assertEquals(rows.filter((r) => r.provolatile !== "v"), []);
    } finally {
      await sql.end();
      await db.drop();
    }
  },
);
