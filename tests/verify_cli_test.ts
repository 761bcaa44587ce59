/**
 * `verify`, `lint`, `schema` and `sum` as users run them: separate
 * processes, exit codes and output shapes; and the checks `apply` and
 * `create` gained from them.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { assert, assertEquals, assertMatch } from "./support/assert.ts";
import { cli, type Result } from "./support/cli.ts";
import { adminQuery, freshDatabase, serverUrl } from "./support/db.ts";
import { migrationText, tempMigrations } from "./support/files.ts";

const USERS = migrationText(
  "CREATE TABLE users (id serial PRIMARY KEY, email text);",
  "DROP TABLE users;",
);
const INDEX_OK = migrationText(
  "CREATE INDEX CONCURRENTLY users_email ON users (email);",
  "DROP INDEX CONCURRENTLY users_email;",
  "-- Transaction: none",
);
/** Its DOWN forgets the index: lint error down-incomplete, verify failure. */
const INDEX_BAD = migrationText(
  "-- lint:ignore index-not-concurrently small table\nCREATE INDEX users_email ON users (email);",
  "SELECT 1;",
);

function json(result: Result): Record<string, unknown> {
  assert(result.stdout.trim() !== "", `stdout is JSON; stderr: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

async function tableExists(url: string, table: string): Promise<boolean> {
  const [row] = await adminQuery<{ t: string | null }>(url, "SELECT to_regclass($1)::text AS t", [
    table,
  ]);
  return row.t !== null;
}

Deno.test("lint: exit codes and the text, json and github formats", async () => {
  const t = tempMigrations({
    "20250101_000000_users.sql": USERS,
    "20250102_000000_index.sql": INDEX_BAD,
  });
  const cwd = t.root;
  try {
    const text = await cli(["lint", "--all"], { cwd });
    assertEquals(text.code, 3, text.stderr);
    assertMatch(
      text.stdout,
      /^migrations\/20250102_000000_index\.sql:3: error \[down-incomplete\] the DOWN section does not drop index users_email created here\n {2}why: .+\n {2}fix: .+\n2 files linted: 1 error, 0 warnings\.\n$/,
    );

    const j = json(await cli(["lint", "--all", "--format", "json"], { cwd }));
    assertEquals(Object.keys(j), ["ok", "files", "findings", "errors", "warnings"]);
    assertEquals([j.ok, j.errors, j.warnings], [false, 1, 0]);
    const [finding] = j.findings as Record<string, unknown>[];
    assertEquals(Object.keys(finding), ["file", "line", "rule", "level", "message", "why", "fix"]);
    assertEquals(json(await cli(["lint", "--all", "--json"], { cwd })), j);

    const github = await cli(["lint", "--all", "--format", "github"], { cwd });
    assertEquals(github.code, 3);
    assertMatch(
      github.stdout,
      /^::error file=migrations\/20250102_000000_index\.sql,line=3,title=down-incomplete::the DOWN section/,
    );

    const warned = await cli(["lint", "--all", "--warn", "down-incomplete"], { cwd });
    assertEquals(warned.code, 0, warned.stdout);
    assertMatch(warned.stdout, /warning \[down-incomplete\]/);

    const clean = await cli(["lint", join("migrations", "20250101_000000_users.sql")], { cwd });
    assertEquals([clean.code, clean.stdout], [0, "1 file linted: no problems.\n"]);

    writeFileSync(join(cwd, "data-bridge.json"), '{"lint": {"rules": {"down-incomplete": "off"}}}');
    assertEquals((await cli(["lint", "--all"], { cwd })).code, 0);

    const bad = await cli(["lint", "--all", "--format", "xml"], { cwd });
    assertEquals(bad.code, 2);
    assertMatch(bad.stderr, /--format must be text, json or github/);
  } finally {
    t.remove();
  }
});

Deno.test("lint without --all lints the migrations pending on the database", async () => {
  const db = await freshDatabase();
  const t = tempMigrations({ "20250101_000000_users.sql": migrationText("DROP TABLE x;", "") });
  const env = { DATABASE_URL: db.url };
  try {
    const before = await cli(["lint", "--json"], { cwd: t.root, env });
    assertEquals((json(before).findings as { rule: string }[]).map((f) => f.rule), [
      "drop-table",
      "irreversible",
    ]);
    await adminQuery(
      db.url,
      "CREATE TABLE _migrations (version text PRIMARY KEY, description text, applied_at timestamptz, checksum text)",
    );
    await adminQuery(
      db.url,
      "INSERT INTO _migrations VALUES ('20250101_000000', 'x', now(), 'c')",
    );
    // Applied (here: with another checksum) migrations are not linted.
    const after = await cli(["lint"], { cwd: t.root, env });
    assertEquals([after.code, after.stdout], [0, "0 files linted: no problems.\n"]);
  } finally {
    t.remove();
    await db.drop();
  }
});

Deno.test("sum writes the integrity file; apply refuses a mismatch before touching the database", async () => {
  const db = await freshDatabase();
  const t = tempMigrations({ "20250101_000000_users.sql": USERS });
  const cwd = t.root;
  const env = { DATABASE_URL: db.url };
  try {
    const sum = await cli(["sum", "--json"], { cwd, env });
    assertEquals(json(sum), { path: "migrations/data-bridge.sum", files: 1 });
    const created = await cli(["create", "add index", "--no-transaction", "--json"], { cwd, env });
    const sumAfterCreate = readFileSync(join(cwd, "migrations", "data-bridge.sum"), "utf8");
    assertEquals(json(created).sum, "migrations/data-bridge.sum");
    assert(sumAfterCreate.includes(String(json(created).path).slice("migrations/".length)));

    writeFileSync(join(cwd, String(json(created).path)), INDEX_OK);
    const refused = await cli(["apply"], { cwd, env });
    assertEquals(refused.code, 3, refused.stderr);
    assertMatch(
      refused.stderr,
      /^error: migrations\/data-bridge\.sum does not match the directory: \d{8}_\d{6}_add_index\.sql changed since the sum was written\n {2}hint: .*run 'data-bridge sum'/,
    );
    assertEquals(await tableExists(db.url, "_migrations"), false, "nothing was touched");
    assertEquals((await cli(["verify", "--json"], { cwd, env })).code, 3);
    const validate = await cli(["validate", "--json"], { cwd, env });
    assertEquals(validate.code, 3);
    assertEquals(
      (json(validate).problems as { code: string }[]).map((p) => p.code),
      ["SUM_MISMATCH"],
    );
    assertEquals((await cli(["validate", "--no-sum"], { cwd, env })).code, 0);

    const sumText = await cli(["sum"], { cwd, env });
    assertEquals(sumText.stdout, "Wrote migrations/data-bridge.sum (2 migration files).\n");
    const applied = await cli(["apply", "--json"], { cwd, env });
    assertEquals(applied.code, 0, applied.stderr);
    assertEquals((json(applied).applied as string[]).length, 2);

    writeFileSync(join(cwd, "migrations", "20300101_000000_more.sql"), USERS);
    assertEquals((await cli(["apply", "--dry-run"], { cwd, env })).code, 3);
    assertEquals((await cli(["apply", "--dry-run", "--no-sum"], { cwd, env })).code, 0);
  } finally {
    t.remove();
    await db.drop();
  }
});

Deno.test("apply refuses migrations that break lint error rules unless --no-lint", async () => {
  const db = await freshDatabase();
  const t = tempMigrations({
    "20250101_000000_users.sql": USERS,
    "20250102_000000_index.sql": INDEX_BAD,
  });
  const cwd = t.root;
  const env = { DATABASE_URL: db.url };
  try {
    const refused = await cli(["apply", "--to", "20250102_000000"], { cwd, env });
    assertEquals(refused.code, 3, refused.stderr);
    assertMatch(
      refused.stderr,
      /^error: migrations\/20250102_000000_index\.sql:3: lint error \[down-incomplete\] .*; nothing was applied\n/,
    );
    assertEquals(await tableExists(db.url, "users"), false);
    const first = await cli(["apply", "--to", "20250101_000000"], { cwd, env });
    assertEquals(first.code, 0, first.stderr);
    const forced = await cli(["apply", "--no-lint", "--json"], { cwd, env });
    assertEquals(json(forced), { applied: ["20250102_000000"] });
  } finally {
    t.remove();
    await db.drop();
  }
});

Deno.test("verify: replays applied migrations, verifies pending ones, exit 0 or 3, --json", async () => {
  const db = await freshDatabase();
  const t = tempMigrations({ "20250101_000000_users.sql": USERS });
  const cwd = t.root;
  const env = { DATABASE_URL: db.url };
  const scratch = await serverUrl();
  try {
    assertEquals((await cli(["apply"], { cwd, env })).code, 0);
    t.write("20250102_000000_index.sql", INDEX_OK);
    const ok = await cli(["verify", "--json", "--scratch-url", scratch], { cwd, env });
    assertEquals(ok.code, 0, ok.stderr);
    const report = json(ok);
    assertEquals(Object.keys(report), ["ok", "scratch", "replayed", "migrations"]);
    assertEquals([report.ok, report.replayed], [true, ["20250101_000000"]]);
    const [m] = report.migrations as Record<string, unknown>[];
    assertEquals([m.version, m.status, m.downDifferences, m.reapplyDifferences], [
      "20250102_000000",
      "ok",
      [],
      [],
    ]);

    t.write("20250103_000000_bad.sql", INDEX_BAD.replaceAll("users_email", "users_email2"));
    const failed = await cli(["verify", "--all"], { cwd, env });
    assertEquals(failed.code, 3, failed.stderr);
    assertMatch(failed.stdout, /^20250101_000000 users: ok \(\d+ (ms|\.\d s)\)\n/);
    assertMatch(
      failed.stdout,
      /\n20250103_000000 bad: FAILED \(.*\)\n {2}left behind by DOWN: index public\.users_email2\n {2}UP applied again after DOWN failed \(migrations\/20250103_000000_bad\.sql:3\): relation "users_email2" already exists \(SQLSTATE 42P07\)\n/,
    );
    assertMatch(failed.stdout, /Verify failed: 3 migrations on pglite:memory: 2 ok, 1 failed\.\n$/);
    assertEquals(await tableExists(db.url, "users_email"), false, "the target is only read");
  } finally {
    t.remove();
    await db.drop();
  }
});

Deno.test("schema prints the database's schema as text or JSON, without the tracking table", async () => {
  const db = await freshDatabase();
  const t = tempMigrations({ "20250101_000000_users.sql": USERS });
  const cwd = t.root;
  const env = { DATABASE_URL: db.url };
  try {
    assertEquals((await cli(["apply"], { cwd, env })).code, 0);
    const text = await cli(["schema"], { cwd, env });
    assertEquals(text.code, 0, text.stderr);
    assertMatch(
      text.stdout,
      /CREATE TABLE public\.users \(\n {4}id integer NOT NULL DEFAULT nextval\('public\.users_id_seq'::regclass\),\n {4}email text\n\);\n/,
    );
    assert(!text.stdout.includes("_migrations"), "tracking table left out");
    const j = json(await cli(["schema", "--json"], { cwd, env }));
    const objects = j.objects as { kind: string; name: string }[];
    assert(objects.some((o) => o.kind === "constraint" && o.name === "public.users.users_pkey"));
    assert(existsSync(join(cwd, "migrations")));
  } finally {
    t.remove();
    await db.drop();
  }
});

Deno.test("verify connects to its scratch server with --connect-timeout and --connect-wait", async () => {
  const t = tempMigrations({ "20250101_000000_users.sql": USERS });
  try {
    const started = Date.now();
    const ran = await cli(
      [
        "verify",
        "--all",
        "--connect-wait",
        "1",
        "--scratch-url",
        "postgres://u:Hunter2@127.0.0.1:1/x",
      ],
      { cwd: t.root },
    );
    assertEquals(ran.code, 1, ran.stderr);
    assertMatch(
      ran.stderr,
      /^error: cannot connect to postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/x: connection refused .* \(still so after trying for 1(\.\d)?s: --connect-wait\)\n$/,
    );
    assert(Date.now() - started >= 1000, "it waited");
  } finally {
    t.remove();
  }
});
