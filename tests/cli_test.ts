/**
 * The command line as users run it: separate processes, exit codes, output
 * shapes, against the test PostgreSQL server and the embedded default.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { assert, assertEquals, assertMatch, assertNotMatch } from "./support/assert.ts";
import { childEnv, CLI, cli, command, type Result, type Runtime, start } from "./support/cli.ts";
import {
  adminQuery,
  dataBridgeSessions,
  freshDatabase,
  freshPGliteDir,
  serverUrl,
} from "./support/db.ts";
import { fileURLToPath } from "node:url";
import { migrationText, tempMigrations } from "./support/files.ts";

const USERS = migrationText("CREATE TABLE users (id SERIAL PRIMARY KEY);", "DROP TABLE users;");
const POSTS = migrationText(
  "CREATE TABLE posts (id SERIAL PRIMARY KEY, user_id INT REFERENCES users (id));",
  "DROP TABLE posts;",
);

function json(result: Result): Record<string, unknown> {
  return JSON.parse(result.stdout);
}

function oneLineError(result: Result, code: number, pattern: RegExp): void {
  assertEquals(result.code, code, `exit code; stderr: ${result.stderr}`);
  const lines = result.stderr.trimEnd().split("\n");
  assertEquals(lines.length, 1, `one line: ${result.stderr}`);
  assertMatch(lines[0], /^error: /);
  assertMatch(lines[0], pattern);
  assertNotMatch(result.stderr, /\bat .*\.ts:\d+/, "no stack trace");
}

async function tableExists(url: string, table = "_migrations"): Promise<boolean> {
  const [row] = await adminQuery<{ t: string | null }>(url, "SELECT to_regclass($1)::text AS t", [
    table,
  ]);
  return row.t !== null;
}

Deno.test("--version, --help and help need no database", async () => {
  const version = await cli(["--version"]);
  assertEquals([version.code, version.stdout], [0, "data-bridge 0.1.0\n"]);
  const help = await cli(["--help"]);
  assertEquals(help.code, 0);
  for (
    const word of [
      "init",
      "create",
      "status",
      "apply (up, migrate)",
      "rollback (down)",
      "--database-url",
      "--migrations-dir",
      "--table",
      "--json",
      "Exit codes",
    ]
  ) {
    assert(help.stdout.includes(word), `--help mentions ${word}`);
  }
  const applyHelp = await cli(["apply", "--help"]);
  assertEquals(applyHelp.code, 0);
  assertMatch(applyHelp.stdout, /--to VERSION/);
  assertMatch(applyHelp.stdout, /--dry-run/);
  assertEquals((await cli(["help", "rollback"])).stdout.includes("--steps N"), true);
  assertEquals((await cli([])).code, 2);
});

const USAGE_ERRORS: Array<[string[], RegExp]> = [
  [["frobnicate"], /unknown command 'frobnicate'/],
  [["status", "--nope"], /unknown option --nope/],
  [["rollback", "--steps"], /option --steps needs a value/],
  [["rollback", "--steps", "0"], /--steps must be a whole number of at least 1, got '0'/],
  [["rollback", "--steps", "-1"], /--steps/],
  [["rollback", "--steps", "abc"], /--steps must be a whole number of at least 1, got 'abc'/],
  [["rollback", "--steps", "1", "--to", "0"], /give --steps or --to, not both/],
  [["status", "--steps", "1"], /--steps is not an option of status/],
  [
    ["apply", "--to", "yesterday"],
    /--to must be a migration version YYYYMMDD_HHMMSS, got 'yesterday'/,
  ],
  [["apply", "--lock-timeout", "soon"], /--lock-timeout must be a duration/],
  [["apply", "--lock-wait", "-5"], /--lock-wait/],
  [["create"], /create needs a description/],
  [["status", "extra"], /status takes no argument, got 'extra'/],
  [["status", "--table", "x; drop table y"], /--table "x; drop table y": names may hold only/],
  [["status", "--table", "a".repeat(64)], /longer than PostgreSQL's 63 characters/],
  [["status", "--database-url", "mysql://root:hunter2@db/x"], /unknown scheme 'mysql:'/],
];

for (const [args, message] of USAGE_ERRORS) {
  Deno.test(`usage error: data-bridge ${args.join(" ").slice(0, 60)} exits 2 with one line`, async () => {
    const result = await cli(args);
    oneLineError(result, 2, message);
    assertNotMatch(result.stderr, /hunter2/);
  });
}

Deno.test("--json errors are one JSON document on stdout", async () => {
  const result = await cli(["frobnicate", "--json"]);
  assertEquals(result.code, 2);
  assertEquals(json(result), {
    error: { code: "USAGE", message: "unknown command 'frobnicate'; run data-bridge --help" },
    completed: [],
  });
});

Deno.test("status and history end their database session before they print (a slow reader holds none)", async () => {
  const db = await freshDatabase();
  // Output far larger than a pipe holds: the CLI blocks writing it while
  // the test reads nothing more.
  const files: Record<string, string> = {};
  const two = (n: number) => String(n).padStart(2, "0");
  for (let i = 0; i < 2000; i++) {
    const time = `${two(Math.floor(i / 3600))}${two(Math.floor(i / 60) % 60)}${two(i % 60)}`;
    files[`20250101_${time}_m${i}_${"x".repeat(200)}.sql`] = migrationText(`SELECT ${i};`);
  }
  const t = tempMigrations(files);
  const sessions = () => dataBridgeSessions(db.url);
  try {
    const applied = await cli(["apply", "--to", "20250101_000959", "--migrations-dir", t.dir], {
      env: { DATABASE_URL: db.url },
    });
    assertEquals(applied.code, 0, applied.stderr);
    for (const verb of ["status", "history"]) {
      const [file, args] = command("deno", CLI, [verb, "--json", "--migrations-dir", t.dir]);
      const child = new Deno.Command(file, {
        args,
        env: childEnv({ DATABASE_URL: db.url }),
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "null",
      }).spawn();
      let exited = false;
      const status = child.status.then((s) => {
        exited = true;
        return s;
      });
      const reader = child.stdout.getReader();
      // The first bytes of output: the command has its answer and is printing.
      const first = await reader.read();
      assert(!first.done && first.value.length > 0, `${verb} printed something`);
      let open = await sessions();
      for (let i = 0; i < 100 && open > 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
        open = await sessions();
      }
      assert(!exited, `${verb} is still writing its output`);
      assertEquals(open, 0, `${verb} holds no session while its output waits for a reader`);
      // Read the rest: the output is whole.
      let text = new TextDecoder().decode(first.value);
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      assertEquals((await status).code, 0);
      assert(text.length > 200_000, `${verb} printed ${text.length} characters`);
      JSON.parse(text);
    }
  } finally {
    t.remove();
    await db.drop();
  }
});

Deno.test("quick start: create, status, apply, rollback and --json shapes on a server", async () => {
  const db = await freshDatabase();
  const t = tempMigrations();
  const env = { DATABASE_URL: db.url };
  const cwd = t.root;
  try {
    const created = await cli(["create", "create users table"], { cwd, env });
    assertEquals(created.code, 0, created.stderr);
    const path = created.stdout.trim();
    assertMatch(path, /^migrations\/\d{8}_\d{6}_create_users_table\.sql$/);
    writeFileSync(join(cwd, path), USERS);
    const createdJson = await cli(["create", "add posts", "--json"], { cwd, env });
    const postsPath = String(json(createdJson).path);
    writeFileSync(join(cwd, postsPath), POSTS);
    assertEquals(await tableExists(db.url), false);

    const status = await cli(["status"], { cwd, env });
    assertEquals(status.code, 0, status.stderr);
    assertMatch(status.stdout, /^VERSION\s+STATE\s+APPLIED AT\s+MS\s+DESCRIPTION\n/);
    assertMatch(status.stdout, /2 migrations: 2 pending\n$/);
    assertEquals(await tableExists(db.url), false, "status creates nothing");
    assertEquals(
      (status.stdout + status.stderr).includes("\x1b["),
      false,
      "no colour when not a terminal",
    );

    const dry = await cli(["apply", "--dry-run", "--json"], { cwd, env });
    assertEquals(Object.keys(json(dry)), ["dryRun", "wouldApply"]);
    assertEquals(await tableExists(db.url), false, "dry run creates nothing");

    const apply = await cli(["apply"], { cwd, env });
    assertEquals(apply.code, 0, apply.stderr);
    assertMatch(apply.stdout, /applying \d{8}_\d{6} create users table \.\.\. done \(\d+ ms\)\n/);
    assertMatch(apply.stdout, /Applied 2 migrations in /);

    const statusJson = json(await cli(["status", "--json"], { cwd, env }));
    assertEquals(Object.keys(statusJson), ["applied", "pending", "migrations"]);
    const migrations = statusJson.migrations as Record<string, unknown>[];
    assertEquals(Object.keys(migrations[0]), [
      "version",
      "description",
      "file",
      "state",
      "appliedAt",
      "checksum",
      "executionMs",
    ]);
    assertEquals(migrations.map((m) => m.state), ["applied", "applied"]);
    assertEquals((statusJson.pending as string[]).length, 0);

    const rollback = json(await cli(["rollback", "--json"], { cwd, env }));
    assertEquals(rollback, { reverted: [migrations[1].version] });
    const again = json(await cli(["up", "--json"], { cwd, env }));
    assertEquals(again, { applied: [migrations[1].version] });
    const nothing = await cli(["migrate"], { cwd, env });
    assertEquals(nothing.stdout, "Nothing to apply: the database is up to date.\n");
    const down = json(await cli(["down", "--steps", "2", "--json"], { cwd, env }));
    assertEquals((down.reverted as string[]).length, 2);
  } finally {
    t.remove();
    await db.drop();
  }
});

Deno.test("a bad file is exit 3 naming it, and the database is not touched", async () => {
  const db = await freshDatabase();
  const t = tempMigrations({
    "20250128_120000_users.sql": USERS,
    "20250128_130000_bad.sql": "-- UP\nSELECT 1;\n",
  });
  try {
    const result = await cli(["apply"], { cwd: t.root, env: { DATABASE_URL: db.url } });
    oneLineError(result, 3, /migrations\/20250128_130000_bad\.sql: missing the '-- DOWN' line/);
    assertEquals(await tableExists(db.url), false);
  } finally {
    t.remove();
    await db.drop();
  }
});

/** A fresh database of each kind, as a URL for the CLI. */
const TARGETS = {
  async postgres() {
    const db = await freshDatabase();
    return { url: db.url, done: () => db.drop() };
  },
  async pglite() {
    const dir = await freshPGliteDir();
    return { url: `pglite:${dir.path}`, done: () => Promise.resolve(dir.remove()) };
  },
};

for (const [kind, open] of Object.entries(TARGETS)) {
  Deno.test(`a failing migration exits 1 with file:line:column, a caret and what was applied [${kind}]`, async () => {
    const db = await open();
    const t = tempMigrations({
      "20250128_120000_users.sql": USERS,
      "20250128_130000_bad.sql":
        "-- UP\nCREATE TABLE x (id INT);\nSELECT nope FROM x;\n-- DOWN\nDROP TABLE x;\n",
    });
    try {
      const env = { DATABASE_URL: db.url };
      const human = await cli(["apply"], { cwd: t.root, env });
      assertEquals(human.code, 1);
      assertMatch(human.stdout, /applying 20250128_130000 bad \.\.\. FAILED\n/);
      assertEquals(
        human.stderr,
        [
          'error: migrations/20250128_130000_bad.sql:3:8: migration 20250128_130000 failed: column "nope" does not exist (SQLSTATE 42703); it was rolled back',
          "  3 | SELECT nope FROM x;",
          "    |        ^",
          "applied before the failure: 20250128_120000",
          "",
        ].join("\n"),
      );
      assertEquals((await cli(["rollback"], { cwd: t.root, env })).code, 0);
      const machine = await cli(["apply", "--json"], { cwd: t.root, env });
      assertEquals(machine.code, 1);
      assertEquals(json(machine), {
        error: {
          code: "MIGRATION_FAILED",
          message:
            'migrations/20250128_130000_bad.sql:3:8: migration 20250128_130000 failed: column "nope" does not exist (SQLSTATE 42703); it was rolled back',
          file: "migrations/20250128_130000_bad.sql",
          line: 3,
          column: 8,
          version: "20250128_130000",
          pgCode: "42703",
        },
        completed: ["20250128_120000"],
      });
      const status = json(await cli(["status", "--json"], { cwd: t.root, env }));
      assertEquals([status.applied, status.pending], [["20250128_120000"], ["20250128_130000"]]);
    } finally {
      t.remove();
      await db.done();
    }
  });

  Deno.test(`a transactional file with CONCURRENTLY is refused before anything runs [${kind}]`, async () => {
    const db = await open();
    const t = tempMigrations({
      "20250128_120000_users.sql": USERS,
      "20250128_130000_index.sql": migrationText(
        "CREATE INDEX CONCURRENTLY idx ON users (id);",
        "DROP INDEX idx;",
      ),
    });
    try {
      const env = { DATABASE_URL: db.url };
      const result = await cli(["apply"], { cwd: t.root, env });
      oneLineError(
        result,
        3,
        /_index\.sql:2: CREATE INDEX CONCURRENTLY cannot run inside a transaction; add the header line '-- Transaction: none' before '-- UP'/,
      );
      // Nothing ran: with the file fixed, nothing is applied yet.
      t.write("20250128_130000_index.sql", migrationText("SELECT 1;", ""));
      assertEquals(json(await cli(["status", "--json"], { cwd: t.root, env })).applied, []);
    } finally {
      t.remove();
      await db.done();
    }
  });
}

Deno.test("runs against a server never load PGlite", async () => {
  const db = await freshDatabase();
  const t = tempMigrations({ "20250128_120000_users.sql": USERS });
  const map = fileURLToPath(new URL("./fixtures/no_pglite_import_map.json", import.meta.url));
  try {
    const env = childEnv({ DATABASE_URL: db.url });
    for (const args of [["apply"], ["status"], ["rollback"]]) {
      const result = await start(
        Deno.execPath(),
        ["run", "-A", "--quiet", `--import-map=${map}`, CLI, ...args],
        { cwd: t.root, env },
      ).done;
      assertEquals(result.code, 0, result.stderr);
    }
    // The same import map does fail the embedded database: the check is real.
    const embedded = await start(
      Deno.execPath(),
      [
        "run",
        "-A",
        "--quiet",
        `--import-map=${map}`,
        CLI,
        "status",
        "--database-url",
        "pglite:memory",
      ],
      { cwd: t.root, env },
    ).done;
    assertEquals(embedded.code, 1);
    assertMatch(embedded.stderr, /PGlite was loaded on a server run/);
  } finally {
    t.remove();
    await db.drop();
  }
});

Deno.test("checksum mismatch and missing files exit 3 with the seed's messages", async () => {
  const db = await freshDatabase();
  const t = tempMigrations({ "20250128_120000_users.sql": USERS });
  try {
    const env = { DATABASE_URL: db.url };
    assertEquals((await cli(["apply"], { cwd: t.root, env })).code, 0);
    t.write("20250128_120000_users.sql", USERS.replace("SERIAL", "BIGSERIAL"));
    const modified = await cli(["apply"], { cwd: t.root, env });
    assertEquals(modified.code, 3);
    assertMatch(
      modified.stderr,
      /^error: Checksum mismatch for migration 20250128_120000\. The migration file migrations\/20250128_120000_users\.sql has been modified after being applied\.\n {2}hint: /,
    );
    const status = await cli(["status"], { cwd: t.root, env });
    assertEquals(status.code, 0);
    assertMatch(status.stdout, /20250128_120000\s+modified/);
    t.remove();
    const t2 = tempMigrations({});
    const missing = await cli(["apply"], { cwd: t2.root, env });
    assertEquals(missing.code, 3);
    assertMatch(
      missing.stderr,
      /^error: Migration 20250128_120000 is applied but not found in migration files\n/,
    );
    t2.remove();
  } finally {
    t.remove();
    await db.drop();
  }
});

Deno.test("status --exit-code is 4 while migrations are pending, 0 once applied, 3 when one is modified or missing", async () => {
  const db = await freshDatabase();
  const t = tempMigrations({ "20250128_120000_users.sql": USERS });
  const env = { DATABASE_URL: db.url };
  const cwd = t.root;
  try {
    const check = () => cli(["status", "--exit-code"], { cwd, env });
    const pending = await check();
    assertEquals([pending.code, pending.stderr], [4, ""]);
    assertMatch(pending.stdout, /20250128_120000\s+pending/, "the report is printed all the same");
    assertEquals(await tableExists(db.url), false, "status --exit-code creates nothing");
    const plain = await cli(["status"], { cwd, env });
    assertEquals(plain.code, 0, "without --exit-code, pending is not a failure");
    const down = await cli([
      "status",
      "--exit-code",
      "--database-url",
      "postgres://u@127.0.0.1:1/x",
    ], {
      cwd,
      env,
    });
    assertEquals(down.code, 1, "an unreachable server is a failure at run time, not a verdict");

    assertEquals((await cli(["apply"], { cwd, env })).code, 0);
    const current = await check();
    assertEquals([current.code, current.stderr], [0, ""]);
    t.write("20250129_120000_posts.sql", POSTS);
    const json = await cli(["status", "--exit-code", "--json"], { cwd, env });
    assertEquals(json.code, 4);
    assertEquals(JSON.parse(json.stdout).pending, ["20250129_120000"]);

    t.write("20250128_120000_users.sql", USERS.replace("SERIAL", "BIGSERIAL"));
    const modified = await check();
    assertEquals(modified.code, 3, "modified wins over pending: apply would refuse");
    assertMatch(modified.stdout, /20250128_120000\s+modified/);
    t.write("20250128_120000_users.sql", USERS);
    assertEquals((await cli(["apply"], { cwd, env })).code, 0);
    t.remove();
    const empty = tempMigrations({});
    try {
      const missing = await cli(["status", "--exit-code"], { cwd: empty.root, env });
      assertEquals(missing.code, 3);
      assertMatch(missing.stdout, /20250128_120000\s+missing/);
    } finally {
      empty.remove();
    }
  } finally {
    t.remove();
    await db.drop();
  }
});

Deno.test("apply --single-transaction: a failure is exit 1 with nothing completed, a file without a transaction exit 3 before anything changes", async () => {
  const db = await freshDatabase();
  const t = tempMigrations({
    "20250128_120000_users.sql": USERS,
    "20250128_130000_bad.sql": migrationText("CREATE TABLE bad ();\nSELECT nope;"),
  });
  const env = { DATABASE_URL: db.url };
  const cwd = t.root;
  try {
    const failed = await cli(["apply", "--single-transaction", "--json"], { cwd, env });
    assertEquals(failed.code, 1, failed.stderr);
    const doc = json(failed) as { error: { code: string; message: string }; completed: string[] };
    assertEquals([doc.error.code, doc.completed], ["MIGRATION_FAILED", []]);
    assertMatch(
      doc.error.message,
      /the 1 migration before it was rolled back too, nothing was applied/,
    );
    const [row] = await adminQuery<{ n: number }>(
      db.url,
      "SELECT count(*)::int AS n FROM _migrations",
    );
    assertEquals(row.n, 0);

    t.write(
      "20250128_130000_bad.sql",
      migrationText("CREATE INDEX CONCURRENTLY i ON users (id);", "", "-- Transaction: none"),
    );
    await adminQuery(db.url, "DROP TABLE _migrations");
    oneLineError(
      await cli(["apply", "--single-transaction"], { cwd, env }),
      3,
      /20250128_130000_bad\.sql runs outside a transaction \(-- Transaction: none\), which --single-transaction cannot hold/,
    );
    assertEquals(await tableExists(db.url), false, "refused before the tracking table was made");
    const up = await cli(["apply", "--single-transaction", "--to", "20250128_120000"], {
      cwd,
      env,
    });
    assertEquals(up.code, 0, up.stderr);
  } finally {
    t.remove();
    await db.drop();
  }
});

Deno.test("DATA_BRIDGE_OUT_OF_ORDER=refuse stops a migration merged late with exit 3 naming it; --out-of-order allow applies it", async () => {
  const db = await freshDatabase();
  const t = tempMigrations({
    "20250128_120000_users.sql": USERS,
    "20250128_140000_tags.sql": migrationText("CREATE TABLE tags (id int);", "DROP TABLE tags;"),
  });
  const cwd = t.root;
  const env = { DATABASE_URL: db.url, DATA_BRIDGE_OUT_OF_ORDER: "refuse" };
  try {
    assertEquals((await cli(["apply"], { cwd, env })).code, 0);
    t.write(
      "20250128_130000_posts.sql",
      migrationText("CREATE TABLE posts (id int);", "DROP TABLE posts;"),
    );
    oneLineError(
      await cli(["apply"], { cwd, env }),
      3,
      /^error: migrations\/20250128_130000_posts\.sql is older than the newest applied migration 20250128_140000, which --out-of-order refuse stops; give it a later version \(rename the file\), or apply it with --out-of-order allow$/,
    );
    const status = await cli(["status"], { cwd, env });
    assertMatch(
      status.stdout,
      /\nmerged late: 20250128_130000 is older than the newest applied migration 20250128_140000; apply applies it with a warning, --out-of-order refuse stops it\n$/,
    );
    assertEquals((await cli(["status", "--exit-code"], { cwd, env })).code, 3);
    const allowing = await cli(["status", "--exit-code", "--out-of-order", "allow"], { cwd, env });
    assertEquals(allowing.code, 4, "pending, merged late or not, when allowed");
    const validated = await cli(["validate"], { cwd, env });
    assertEquals(validated.code, 3, validated.stderr);
    assertMatch(
      validated.stderr,
      /^error: migrations\/20250128_130000_posts\.sql is older than the newest applied migration 20250128_140000, which --out-of-order refuse stops/,
    );
    const refused = await cli(["apply", "--json"], { cwd, env });
    assertEquals(refused.code, 3);
    assertEquals((json(refused) as { error: { code: string } }).error.code, "OUT_OF_ORDER");
    assertEquals(await tableExists(db.url, "posts"), false);
    const allowed = await cli(["apply", "--out-of-order", "allow"], { cwd, env });
    assertEquals(allowed.code, 0, allowed.stderr);
    assertMatch(
      allowed.stderr,
      /^warning: migrations\/20250128_130000_posts\.sql is older than the newest applied migration 20250128_140000; applying it anyway/,
    );
    assertEquals(await tableExists(db.url, "posts"), true);
  } finally {
    t.remove();
    await db.drop();
  }
});

Deno.test("rollback --to an unknown version is a usage error and changes nothing", async () => {
  const db = await freshDatabase();
  const t = tempMigrations({ "20250128_120000_users.sql": USERS });
  try {
    const env = { DATABASE_URL: db.url };
    await cli(["apply"], { cwd: t.root, env });
    const result = await cli(["rollback", "--to", "20200101_000000"], { cwd: t.root, env });
    oneLineError(result, 2, /--to 20200101_000000: no migration has this version/);
    const [{ n }] = await adminQuery<{ n: number }>(
      db.url,
      "SELECT count(*)::int AS n FROM _migrations",
    );
    assertEquals(n, 1);
  } finally {
    t.remove();
    await db.drop();
  }
});

Deno.test("passwords never appear in output, and connection failures name host and port", async () => {
  const server = new URL(await serverUrl());
  const password = "Sup3r-Secret-Pw";
  const refused = `postgres://app:${password}@127.0.0.1:1/db`;
  const t = tempMigrations({ "20250128_120000_users.sql": USERS });
  try {
    for (const args of [["status"], ["apply", "--json"]]) {
      const result = await cli([...args, "--database-url", refused], { cwd: t.root });
      assertEquals(result.code, 1);
      const out = result.stdout + result.stderr;
      assertNotMatch(out, new RegExp(password));
      assertMatch(
        out,
        /cannot connect to postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/db: connection refused at 127\.0\.0\.1:1/,
      );
    }
    const wrong = `postgres://postgres:${password}@${server.host}/postgres`;
    const auth = await cli(["status", "--database-url", wrong], { cwd: t.root });
    assertEquals(auth.code, 1);
    assertNotMatch(auth.stdout + auth.stderr, new RegExp(password));
    assertMatch(
      auth.stderr,
      /password authentication failed for user "postgres"; check the user name and password/,
    );
    const viaEnv = await cli(["status"], { cwd: t.root, env: { DATABASE_URL: wrong } });
    assertNotMatch(viaEnv.stdout + viaEnv.stderr, new RegExp(password));
  } finally {
    t.remove();
  }
});

Deno.test("8 concurrent apply processes apply each migration exactly once and all exit 0", async () => {
  const db = await freshDatabase();
  const files: Record<string, string> = {};
  for (let i = 0; i < 12; i++) {
    const version = `20250128_1200${String(i).padStart(2, "0")}`;
    files[`${version}_t${i}.sql`] = migrationText(
      `CREATE TABLE t${i} (id INT);\nSELECT pg_sleep(0.02);`,
      `DROP TABLE t${i};`,
    );
  }
  const t = tempMigrations(files);
  try {
    const runs = await Promise.all(
      Array.from(
        { length: 8 },
        () => cli(["apply", "--json"], { cwd: t.root, env: { DATABASE_URL: db.url } }),
      ),
    );
    for (const run of runs) assertEquals(run.code, 0, run.stderr);
    const applied = runs.flatMap((r) => json(r).applied as string[]);
    assertEquals(applied.sort(), Object.keys(files).map((f) => f.slice(0, 15)).sort());
    const rows = await adminQuery<{ version: string }>(
      db.url,
      "SELECT version FROM _migrations ORDER BY 1",
    );
    assertEquals(rows.length, 12);
  } finally {
    t.remove();
    await db.drop();
  }
});

Deno.test("without DATABASE_URL the embedded database is used and said so on stderr", async () => {
  const t = tempMigrations({ "20250128_120000_users.sql": USERS });
  try {
    // Before the first apply: read as an empty database, and none is made.
    const before = await cli(["status", "--json"], { cwd: t.root });
    assertEquals(json(before).pending, ["20250128_120000"]);
    const dry = await cli(["apply", "--dry-run", "--json"], { cwd: t.root });
    assertEquals(dry.code, 0, dry.stderr);
    assert(!existsSync(join(t.root, ".data-bridge")), "status and a dry run make no database");
    const apply = await cli(["apply"], { cwd: t.root });
    assertEquals(apply.code, 0, apply.stderr);
    assertEquals(
      apply.stderr,
      "No DATABASE_URL: using the embedded database at .data-bridge/pglite\n",
    );
    assert(existsSync(join(t.root, ".data-bridge", "pglite", "PG_VERSION")));
    const status = await cli(["status", "--json"], { cwd: t.root });
    assertEquals(json(status).applied, ["20250128_120000"]);
  } finally {
    t.remove();
  }
});

for (const runtime of ["deno", "bun"] as Runtime[]) {
  Deno.test(`the seed's quick-start flow runs under ${runtime}`, async () => {
    const db = await freshDatabase();
    const t = tempMigrations();
    const env = { DATABASE_URL: db.url };
    try {
      const run = (args: string[]) => cli(args, { cwd: t.root, env, runtime });
      const created = await run(["create", "create users table"]);
      assertEquals(created.code, 0, created.stderr);
      const path = join(t.root, created.stdout.trim());
      assertMatch(readFileSync(path, "utf8"), /-- UP\nCREATE TABLE example/);
      writeFileSync(path, USERS);
      assertEquals((await run(["init"])).code, 0);
      assertEquals(json(await run(["status", "--json"])).pending, [
        created.stdout.trim().slice(11, 26),
      ]);
      assertEquals((await run(["apply"])).code, 0);
      assertEquals(json(await run(["rollback", "--json"])).reverted, [
        created.stdout.trim().slice(11, 26),
      ]);
      assertEquals((await run(["apply"])).code, 0);
      const rows = await adminQuery(db.url, "SELECT * FROM users");
      assertEquals(rows, []);
    } finally {
      t.remove();
      await db.drop();
    }
  });
}

Deno.test("a project's settings come from DATA_BRIDGE_ variables, and a flag wins over them", async () => {
  const db = await freshDatabase();
  const t = tempMigrations();
  const env = {
    DATABASE_URL: db.url,
    DATA_BRIDGE_MIGRATIONS_DIR: "db/migrations",
    DATA_BRIDGE_TABLE: "schema_history",
  };
  try {
    const created = await cli(["create", "add widgets"], { cwd: t.root, env });
    assertEquals(created.code, 0, created.stderr);
    const path = created.stdout.trim();
    assertMatch(path, /^db\/migrations\/\d{8}_\d{6}_add_widgets\.sql$/);
    writeFileSync(
      join(t.root, path),
      migrationText("CREATE TABLE widgets (id int);", "DROP TABLE widgets;"),
    );
    const applied = await cli(["apply"], { cwd: t.root, env });
    assertEquals(applied.code, 0, applied.stderr);
    assertEquals(await tableExists(db.url, "schema_history"), true);
    assertEquals(await tableExists(db.url, "_migrations"), false);
    // The flag wins: this table has no history, so the migration is pending there.
    const other = await cli(["status", "--json", "--table", "other_history"], { cwd: t.root, env });
    assertEquals(other.code, 0, other.stderr);
    assertEquals((json(other).pending as string[]).length, 1);
    oneLineError(
      await cli(["status"], { cwd: t.root, env: { ...env, DATA_BRIDGE_TABLE: "a.b.c" } }),
      2,
      /^error: DATA_BRIDGE_TABLE "a\.b\.c": use TABLE or SCHEMA\.TABLE$/,
    );
  } finally {
    t.remove();
    await db.drop();
  }
});

Deno.test("-v says once that it waits for a server to come up (--connect-wait)", async () => {
  const t = tempMigrations();
  try {
    const args = ["status", "-v", "--connect-wait", "0.5"];
    const ran = await cli([...args, "--database-url", "postgres://app:Hunter2@127.0.0.1:1/app"], {
      cwd: t.root,
    });
    assertEquals(ran.code, 1, ran.stderr);
    assertEquals(ran.stderr.trimEnd().split("\n").map((line) => line.replace(/ \(.*$/, "")), [
      "cannot connect to postgres://app:***@127.0.0.1:1/app yet",
      "error: cannot connect to postgres://app:***@127.0.0.1:1/app: connection refused at 127.0.0.1:1; check that PostgreSQL is running there and accepts TCP connections",
    ]);
    assertMatch(
      ran.stderr,
      /yet \(ECONNREFUSED\); trying again for up to 0\.5s \(--connect-wait\)\n/,
    );
    assertNotMatch(ran.stderr, /Hunter2/);
  } finally {
    t.remove();
  }
});

Deno.test("a password file others may read is not used, and the warning says why", async () => {
  const server = new URL(await serverUrl());
  const t = tempMigrations();
  const file = join(t.root, "pgpass");
  writeFileSync(file, `*:*:*:*:${decodeURIComponent(server.password)}\n`, { mode: 0o644 });
  chmodSync(file, 0o644);
  const url = `postgres://${server.username}@127.0.0.1:${server.port}/postgres`;
  try {
    const refused = await cli(["status", "--database-url", url], {
      cwd: t.root,
      env: { PGPASSFILE: file },
    });
    assertEquals(refused.code, 1, refused.stderr);
    assertEquals(
      refused.stderr.split("\n")[0],
      `warning: password file "${file}" has group or world access; permissions should be u=rw (0600) or less`,
    );
    assertMatch(refused.stderr, /\nerror: cannot connect to .*password authentication failed/);
    chmodSync(file, 0o600);
    const ok = await cli(["status", "--database-url", url], {
      cwd: t.root,
      env: { PGPASSFILE: file },
    });
    assertEquals([ok.code, ok.stderr], [0, ""]);
    assertMatch(ok.stdout, /^No migrations\.\n$/);
  } finally {
    t.remove();
  }
});
