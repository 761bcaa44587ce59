/** validate, repair, baseline and history: on both drivers, and through the CLI. */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MigrationRunner } from "../lib/runner.ts";
import type { UsageError, ValidationError } from "../lib/errors.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "./support/assert.ts";
import { cli } from "./support/cli.ts";
import { adminQuery, type DriverContext, driverTest, freshDatabase } from "./support/db.ts";
import { migrationText, tempMigrations } from "./support/files.ts";

const A = migrationText("CREATE TABLE a (id INT);", "DROP TABLE a;");
const B = migrationText("CREATE TABLE b (id INT);", "DROP TABLE b;");
const C = migrationText("CREATE TABLE c (id INT);", "DROP TABLE c;");

async function rows(ctx: DriverContext) {
  return await ctx.sql<{ version: string; checksum: string; execution_ms: number | null }>(
    "SELECT version, checksum, execution_ms FROM _migrations ORDER BY version",
  );
}

driverTest(
  "validate lists every problem of the files and the history, and changes nothing",
  async (ctx) => {
    const t = tempMigrations({ "20250128_120000_a.sql": A, "20250128_130000_b.sql": B });
    try {
      const runner = new MigrationRunner(ctx.driver);
      assertEquals((await runner.validate(t.dir)).valid, true);
      await runner.apply(t.dir);
      t.write("20250128_120000_a.sql", A.replace("INT", "BIGINT"));
      t.write("20250128_140000_bad.sql", "SELECT 1;");
      t.write("20250128_150000_c.sql", C);
      t.write("20250128_150000_c_again.sql", C);
      rmSync(join(t.dir, "20250128_130000_b.sql"));
      const before = await rows(ctx);
      const report = await runner.validate(t.dir);
      assertEquals(report.valid, false);
      assertEquals(report.checkedDatabase, true);
      assertEquals(report.problems.map((p) => p.code).sort(), [
        "CHECKSUM_MISMATCH",
        "DUPLICATE_VERSION",
        "INVALID_MIGRATION",
        "MISSING_FILE",
      ]);
      assertEquals(await rows(ctx), before);
      const filesOnly = await runner.validate(t.dir, { database: false });
      assertEquals(filesOnly.problems.map((p) => p.code).sort(), [
        "DUPLICATE_VERSION",
        "INVALID_MIGRATION",
      ]);
    } finally {
      t.remove();
    }
  },
);

driverTest(
  "repair sets modified checksums and, when asked, removes rows of missing files",
  async (ctx) => {
    const t = tempMigrations({ "20250128_120000_a.sql": A, "20250128_130000_b.sql": B });
    try {
      const runner = new MigrationRunner(ctx.driver);
      await runner.apply(t.dir);
      t.write("20250128_120000_a.sql", A + "\n-- a comment added after it was applied\n");
      rmSync(join(t.dir, "20250128_130000_b.sql"));
      await assertRejects(() => runner.apply(t.dir));

      const planned = await runner.repair(t.dir, { removeMissing: true, dryRun: true });
      assertEquals(planned.map((c) => [c.version, c.action]), [
        ["20250128_120000", "checksum"],
        ["20250128_130000", "remove"],
      ]);
      const declined = await runner.repair(t.dir, { removeMissing: true, confirm: () => false });
      assertEquals(declined, []);
      assertEquals((await rows(ctx)).length, 2, "nothing changed");

      const checksumOnly = await runner.repair(t.dir);
      assertEquals(checksumOnly.map((c) => c.action), ["checksum"]);
      const status = await runner.status(t.dir);
      assertEquals(status.migrations.map((m) => m.state), ["applied", "missing"]);
      assertEquals((await runner.repair(t.dir, { removeMissing: true })).map((c) => c.action), [
        "remove",
      ]);
      assertEquals((await rows(ctx)).map((r) => r.version), ["20250128_120000"]);
      assertEquals(await runner.apply(t.dir), []);
    } finally {
      t.remove();
    }
  },
);

driverTest("baseline records migrations up to a version without running them", async (ctx) => {
  const t = tempMigrations({
    "20250128_120000_a.sql": A,
    "20250128_130000_b.sql": B,
    "20250128_140000_c.sql": C,
  });
  try {
    const runner = new MigrationRunner(ctx.driver);
    // The database already has a and b, made before data-bridge.
    await ctx.driver.exec("CREATE TABLE a (id INT); CREATE TABLE b (id INT);");
    assertEquals(await runner.baseline(t.dir, "20250128_130000"), [
      "20250128_120000",
      "20250128_130000",
    ]);
    const recorded = await rows(ctx);
    assertEquals(recorded.map((r) => [r.version, r.execution_ms]), [
      ["20250128_120000", null],
      ["20250128_130000", null],
    ]);
    assertEquals(await runner.apply(t.dir), ["20250128_140000"]);
    const again = await assertRejects<ValidationError>(() =>
      runner.baseline(t.dir, "20250128_130000")
    );
    assertEquals([again.code, again.exitCode], ["ALREADY_APPLIED", 3]);
    assertMatch(again.message, /20250128_120000, 20250128_130000 are already recorded/);
    const unknown = await assertRejects<UsageError>(() =>
      runner.baseline(t.dir, "20200101_000000")
    );
    assertEquals([unknown.code, unknown.exitCode], ["UNKNOWN_VERSION", 2]);
  } finally {
    t.remove();
  }
});

driverTest("history lists rows in applied order with timings and who applied them", async (ctx) => {
  const t = tempMigrations({ "20250128_120000_a.sql": A, "20250128_140000_c.sql": C });
  try {
    const runner = new MigrationRunner(ctx.driver);
    assertEquals(await runner.history(), []);
    await runner.apply(t.dir);
    t.write("20250128_130000_b.sql", B);
    await runner.apply(t.dir);
    const history = await runner.history();
    assertEquals(history.map((r) => r.version), [
      "20250128_120000",
      "20250128_140000",
      "20250128_130000",
    ]);
    assert(history.every((r) => r.executionMs !== null && r.appliedBy));
  } finally {
    t.remove();
  }
});

Deno.test("CLI: validate exits 0 or 3 listing every problem; files only without a database", async () => {
  const db = await freshDatabase();
  const t = tempMigrations({ "20250128_120000_a.sql": A });
  try {
    const env = { DATABASE_URL: db.url };
    const ok = await cli(["validate"], { cwd: t.root, env });
    assertEquals([ok.code, ok.stdout], [0, "OK: 1 migration valid (0 applied, 1 pending).\n"]);
    assertEquals((await cli(["apply"], { cwd: t.root, env })).code, 0);
    t.write("20250128_120000_a.sql", A.replace("INT", "TEXT"));
    t.write("x.sql", A);
    const bad = await cli(["validate"], { cwd: t.root, env });
    assertEquals(bad.code, 3);
    const errors = bad.stderr.trim().split("\n");
    assertEquals(errors.length, 2);
    assertMatch(errors.join("\n"), /x\.sql: file name must be/);
    assertMatch(errors.join("\n"), /Checksum mismatch for migration 20250128_120000/);
    assertEquals(bad.stdout, "2 problems (1 applied, 0 pending).\n");
    const json = JSON.parse((await cli(["validate", "--json"], { cwd: t.root, env })).stdout);
    assertEquals([json.valid, json.checkedDatabase, json.problems.length], [false, true, 2]);
    const offline = await cli(["validate"], { cwd: t.root });
    assertEquals(offline.code, 3);
    assertMatch(offline.stdout, /files only: no database given/);
    assertEquals(offline.stderr.trim().split("\n").length, 1);
  } finally {
    t.remove();
    await db.drop();
  }
});

Deno.test("CLI: repair needs --yes off a terminal, then prints each change", async () => {
  const db = await freshDatabase();
  const t = tempMigrations({ "20250128_120000_a.sql": A });
  try {
    const env = { DATABASE_URL: db.url };
    await cli(["apply"], { cwd: t.root, env });
    writeFileSync(join(t.dir, "20250128_120000_a.sql"), A + "\n");
    const refused = await cli(["repair"], { cwd: t.root, env });
    assertEquals(refused.code, 2);
    assertMatch(refused.stderr, /^error: repair changes the recorded history: pass --yes/);
    const dry = await cli(["repair", "--dry-run"], { cwd: t.root, env });
    assertMatch(
      dry.stdout,
      /^would set checksum of 20250128_120000: [0-9a-f]{12}\.\.\. -> [0-9a-f]{12}\.\.\.\nWould repair 1 row\.\n$/,
    );
    const done = await cli(["repair", "--yes", "--json"], { cwd: t.root, env });
    assertEquals(done.code, 0, done.stderr);
    assertEquals(JSON.parse(done.stdout).repaired[0].version, "20250128_120000");
    assertEquals((await cli(["validate"], { cwd: t.root, env })).code, 0);
  } finally {
    t.remove();
    await db.drop();
  }
});

Deno.test("CLI: baseline --version and history", async () => {
  const db = await freshDatabase();
  const t = tempMigrations({ "20250128_120000_a.sql": A, "20250128_130000_b.sql": B });
  try {
    const env = { DATABASE_URL: db.url };
    const base = await cli(["baseline", "--version", "20250128_120000"], { cwd: t.root, env });
    assertEquals(base.code, 0, base.stderr);
    assertEquals(
      base.stdout,
      "Recorded 1 migration up to 20250128_120000 as applied, without running them.\n",
    );
    assertEquals(await adminQuery(db.url, "SELECT to_regclass('a') AS a"), [{ a: null }]);
    const missing = await cli(["baseline"], { cwd: t.root, env });
    assertEquals(missing.code, 2);
    await cli(["apply"], { cwd: t.root, env });
    const history = await cli(["history"], { cwd: t.root, env });
    const lines = history.stdout.trimEnd().split("\n");
    assertMatch(lines[0], /^APPLIED AT\s+VERSION\s+MS\s+BY\s+DESCRIPTION$/);
    assertMatch(lines[1], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\s+20250128_120000\s+postgres\s+a$/);
    assertMatch(lines[2], /20250128_130000\s+\d+\s+postgres\s+b$/);
    const json = JSON.parse((await cli(["history", "--json"], { cwd: t.root, env })).stdout);
    assertEquals(Object.keys(json.history[0]), [
      "version",
      "description",
      "appliedAt",
      "checksum",
      "executionMs",
      "appliedBy",
    ]);
  } finally {
    t.remove();
    await db.drop();
  }
});
