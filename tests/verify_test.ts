import { Migration } from "../lib/migration.ts";
import { formatChange } from "../lib/schema_diff.ts";
import { planVerify, verifyMigrations } from "../lib/verify.ts";
import { formatVerification, formatVerifySummary } from "../lib/verify_format.ts";
import { palette } from "../lib/format.ts";
import { MigrationError, ValidationError } from "../lib/errors.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "./support/assert.ts";
import { adminQuery, driverTest, serverTest, serverUrl } from "./support/db.ts";

let n = 0;
function migration(up: string, down: string, transactional = true): Promise<Migration> {
  n++;
  return Migration.new({
    version: `20250101_${String(n).padStart(6, "0")}`,
    name: `m${n}`,
    up,
    down,
    transactional,
  });
}

interface Case {
  name: string;
  up: string;
  down: string;
  transactional?: boolean;
  status: string;
  /** Differences after DOWN, then after UP ran again, as formatChange lines. */
  down_: string[];
  reapply: string[];
  /** SQLSTATE of a failed DOWN or re-applied UP. */
  downError?: string;
  reapplyError?: string;
}

/** Each case uses its own tables, so they run one after the other on one database. */
const CASES: Case[] = [
  {
    name: "a correct DOWN",
    up: "CREATE TABLE a (id serial PRIMARY KEY, email text); CREATE INDEX a_email ON a (email);",
    down: "DROP INDEX a_email; DROP TABLE a;",
    status: "ok",
    down_: [],
    reapply: [],
  },
  {
    name: "a DOWN that drops the table, and its index with it",
    up: "CREATE TABLE b (id int, email text); CREATE INDEX b_email ON b (email);",
    down: "DROP TABLE b;",
    status: "ok",
    down_: [],
    reapply: [],
  },
  {
    name: "a DOWN that forgets an index on an existing table",
    up: "CREATE INDEX b_name ON b (email);",
    down: "SELECT 1;",
    status: "failed",
    down_: ["added: index public.b_name"],
    reapply: [],
    reapplyError: "42P07",
  },
  {
    name: "a DOWN that drops columns, then the table",
    up: "CREATE TABLE c (id int, name text); ALTER TABLE c ADD COLUMN age int;",
    down: "ALTER TABLE c DROP COLUMN name; ALTER TABLE c DROP COLUMN age; DROP TABLE c;",
    status: "ok",
    down_: [],
    reapply: [],
  },
  {
    name: "a DOWN that drops the wrong column of an existing table",
    up: "ALTER TABLE b ADD COLUMN age int;",
    down: "ALTER TABLE b DROP COLUMN email;",
    status: "failed",
    down_: [
      "added: column public.b.age",
      "removed: column public.b.email",
      "removed: index public.b_email",
      "removed: index public.b_name",
    ],
    reapply: [],
    reapplyError: "42701",
  },
  {
    name: "a DOWN that fails",
    up: "CREATE TABLE d (id int);",
    down: "DROP TABLE no_such_table;",
    status: "failed",
    down_: [],
    reapply: [],
    downError: "42P01",
  },
  {
    name: "a non-deterministic UP",
    up:
      "DO $$ BEGIN EXECUTE 'ALTER TABLE d ADD COLUMN c_' || md5(clock_timestamp()::text) || ' int'; END $$;",
    down: "DO $$ DECLARE c text; BEGIN FOR c IN SELECT attname FROM pg_attribute " +
      "WHERE attrelid = 'd'::regclass AND attname LIKE 'c\\_%' AND NOT attisdropped LOOP " +
      "EXECUTE format('ALTER TABLE d DROP COLUMN %I', c); END LOOP; END $$;",
    status: "failed",
    down_: [],
    reapply: ["added: column", "removed: column"].sort(),
  },
  {
    name: "a DOWN that changes a column type back wrongly",
    up: "ALTER TABLE d ADD COLUMN v varchar(10) DEFAULT 'x';",
    down: "ALTER TABLE d ALTER COLUMN id TYPE bigint; ALTER TABLE d DROP COLUMN v;",
    status: "failed",
    down_: ["changed: column public.d.id: type integer -> bigint"],
    // UP applied again does not change it back either.
    reapply: ["changed: column public.d.id: type integer -> bigint"],
  },
  {
    name: "a non-transactional migration with CONCURRENTLY",
    up: "CREATE INDEX CONCURRENTLY d_id ON d (id);",
    down: "DROP INDEX CONCURRENTLY d_id;",
    transactional: false,
    status: "ok",
    down_: [],
    reapply: [],
  },
  {
    name: "an irreversible migration",
    up: "CREATE TABLE e (id int);",
    down: "",
    status: "irreversible",
    down_: [],
    reapply: [],
  },
  // Contrib extensions, which the embedded database has as a server does.
  {
    name: "a DOWN that drops a table of an extension's type, then the extension",
    up: "CREATE EXTENSION citext; CREATE TABLE ce (email citext UNIQUE);" +
      "INSERT INTO ce VALUES ('A@b.org');",
    down: "DROP TABLE ce; DROP EXTENSION citext;",
    status: "ok",
    down_: [],
    reapply: [],
  },
  {
    name: "a DOWN that forgets an extension",
    up: "CREATE EXTENSION pg_trgm;",
    down: "SELECT 1;",
    status: "failed",
    // CREATE EXTENSION also set the comment of its control file.
    down_: ["added: extension pg_trgm", "added: comment extension pg_trgm"],
    reapply: [],
    reapplyError: "42710",
  },
];

driverTest("verify reports each kind of broken DOWN and UP", async ({ driver }) => {
  for (const c of CASES) {
    const m = await migration(c.up, c.down, c.transactional ?? true);
    const report = await verifyMigrations({ replay: [], verify: [m] }, { scratch: driver });
    const [r] = report.migrations;
    const where = `${c.name}: ${JSON.stringify(r)}`;
    assertEquals(r.status, c.status, where);
    assertEquals(report.ok, c.status === "ok" || c.status === "irreversible", where);
    assertEquals(r.downDifferences.map((d) => formatChange(d)), c.down_, where);
    assertEquals(
      r.reapplyDifferences.map((d) => formatChange(d).replace(/ public\.d\.c_\w+$/, "")).sort(),
      c.reapply,
      where,
    );
    assertEquals(r.down?.pgCode, c.downError, where);
    assertEquals(r.reapply?.pgCode, c.reapplyError, where);
    if (c.downError) assertEquals(r.down?.line, m.downLine, where);
  }
});

driverTest(
  "verify goes on after a failure that left the schema as UP left it, and skips after one that did not",
  async ({ driver }) => {
    const a = await migration("CREATE TABLE f (id int);", "DROP TABLE nope;");
    const b = await migration("CREATE TABLE g (id int);", "DROP TABLE g;");
    const c = await migration(
      "CREATE TABLE h (id int); CREATE TABLE h2 (id int);",
      "DROP TABLE h2;",
    );
    const d = await migration("CREATE TABLE i (id int);", "DROP TABLE i;");
    const report = await verifyMigrations({ replay: [], verify: [a, b, c, d] }, {
      scratch: driver,
    });
    assertEquals(report.migrations.map((r) => r.status), ["failed", "ok", "failed", "skipped"]);
    assertMatch(
      report.migrations[3].note!,
      /^not verified: the UP of .* failed when applied again/,
    );
    const text = report.migrations.map((r) => formatVerification(r, palette(false))).join("");
    assertMatch(
      text,
      /: FAILED \(\d+ ms\)\n {2}DOWN failed: table "nope" does not exist \(SQLSTATE 42P01\)\n/,
    );
    assertMatch(
      formatVerifySummary(report),
      /^Verify failed: 4 migrations on .*: 1 ok, 2 failed, 1 skipped\.\n$/,
    );
  },
);

driverTest(
  "verify replays applied migrations first and stops when one cannot be replayed",
  async ({ driver }) => {
    const base = await migration("CREATE TABLE j (id int);", "DROP TABLE j;");
    const next = await migration("ALTER TABLE j ADD COLUMN x int;", "ALTER TABLE j DROP COLUMN x;");
    const row = { ...base, appliedAt: new Date(), executionMs: 1, appliedBy: null };
    const plan = planVerify([base, next], [row], false);
    assertEquals([plan.replay, plan.verify], [[base], [next]]);
    const report = await verifyMigrations(plan, { scratch: driver });
    assertEquals([report.ok, report.replayed, report.migrations.length], [true, [base.version], 1]);
    const broken = await migration("ALTER TABLE missing ADD COLUMN x int;", "SELECT 1;");
    await assertRejects<MigrationError>(
      () => verifyMigrations({ replay: [broken], verify: [next] }, { scratch: driver }),
      (e) => {
        assert(e instanceof MigrationError);
        assertMatch(e.message, /replaying applied migration .* on the scratch database failed/);
      },
    );
    const modified = { ...row, checksum: "0".repeat(64) };
    const error = (() => {
      try {
        planVerify([base], [modified], false);
      } catch (e) {
        return e;
      }
    })();
    assert(error instanceof ValidationError && error.code === "CHECKSUM_MISMATCH");
    assertEquals(planVerify([base, next], [row], true).verify, [base, next]);
  },
);

Deno.test("verify --scratch-url creates a temporary database on the server and drops it", async () => {
  const url = await serverUrl();
  const m = await migration("CREATE TABLE k (id int);", "DROP TABLE k;");
  let seen = "";
  const report = await verifyMigrations({ replay: [], verify: [m] }, {
    scratchUrl: url,
    onEvent: (e) => {
      if (e.type === "start") seen = e.migration.version;
    },
  });
  assertEquals([report.ok, seen], [true, m.version]);
  assertMatch(report.scratch, /\/data_bridge_verify_[0-9a-f]{12}$/);
  assert(!report.scratch.includes(new URL(url).password), "no password");
  const left = await adminQuery(
    url,
    "SELECT datname FROM pg_database WHERE datname LIKE 'data_bridge_verify_%'",
  );
  assertEquals(left, []);
});

serverTest(
  "verify on the embedded database says where to run a migration needing an extension it lacks",
  async () => {
    // PostGIS is not among the contrib extensions PGlite ships.
    const m = await migration("CREATE EXTENSION postgis;", "DROP EXTENSION postgis;");
    const report = await verifyMigrations({ replay: [], verify: [m] }, {
      scratchUrl: "pglite:memory",
    });
    const [r] = report.migrations;
    assertEquals([r.status, r.up?.pgCode], ["failed", "0A000"]);
    assertMatch(
      r.up?.hint ?? "",
      /^the embedded database \(PGlite\) has no extension postgis: .*--database-url.*--scratch-url/,
    );
    assertMatch(
      formatVerification(r, palette(false)),
      /\n {4}hint: the embedded database \(PGlite\)/,
    );
  },
);
