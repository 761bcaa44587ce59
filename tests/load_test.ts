import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { userInfo } from "node:os";
import {
  loadMigrations,
  parseAhead,
  parseFiles,
  readMigrations,
  scanMigrations,
} from "../lib/load.ts";
import {
  isParsed,
  type Migration,
  type MigrationFile,
  migrationFile,
  parsedSource,
} from "../lib/migration.ts";
import { DEFAULTS, LONG_WORK_JIT_POLICY } from "../lib/config.ts";
import { lintMigrations } from "../lib/lint.ts";
import { HELD, jitPolicies } from "./support/jit.ts";
import type { ValidationError } from "../lib/errors.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "./support/assert.ts";
import { migrationText, tempMigrations } from "./support/files.ts";

Deno.test("loadMigrations sorts by version and ignores non-.sql files and dotfiles", async () => {
  const t = tempMigrations({
    "20250129_093000_c.sql": migrationText("SELECT 3;"),
    "20250128_120000_a.sql": migrationText("SELECT 1;"),
    "20250128_130000_b.sql": migrationText("SELECT 2;"),
    "README.md": "not a migration",
    "data-bridge.sum": "x",
    ".20250101_000000_editor_swap.sql": "garbage",
  });
  try {
    mkdirSync(join(t.dir, "archive"));
    const migrations = await loadMigrations(t.dir);
    assertEquals(migrations.map((m) => m.version), [
      "20250128_120000",
      "20250128_130000",
      "20250129_093000",
    ]);
    assertEquals(migrations[0].file, join(t.dir, "20250128_120000_a.sql"));
  } finally {
    t.remove();
  }
});

Deno.test("a name ending in .sql in any case is a migration or a problem; other names are ignored", async () => {
  const cases: [string, "migration" | "problem" | "ignored"][] = [
    ["20250128_120000_a.sql", "migration"],
    ["20250128_130000_b.SQL", "problem"],
    ["20250128_140000_c.Sql", "problem"],
    ["notes.sql", "problem"],
    ["20250128_150000_d.sql.bak", "ignored"],
    ["20250128_160000_esql", "ignored"],
    [".hidden.sql", "ignored"],
    ["sql", "ignored"],
  ];
  const t = tempMigrations(
    Object.fromEntries(cases.map(([name]) => [name, migrationText("SELECT 1;")])),
  );
  try {
    const { files, problems } = await scanMigrations(t.dir);
    const named = (p: ValidationError) => p.file!.slice(t.dir.length + 1);
    const got = [
      ...files.map((f) => [f.label.slice(t.dir.length + 1), "migration"]),
      ...problems.map((p) => [named(p), "problem"]),
    ].sort();
    assertEquals(got, cases.filter(([, what]) => what !== "ignored").sort());
  } finally {
    t.remove();
  }
});

Deno.test("duplicate versions are an error naming both files", async () => {
  const t = tempMigrations({
    "20250128_120000_alice_feature.sql": migrationText("SELECT 1;"),
    "20250128_120000_bob_feature.sql": migrationText("SELECT 2;"),
  });
  try {
    const error = await assertRejects<ValidationError>(() => loadMigrations(t.dir));
    assertEquals([error.code, error.exitCode], ["DUPLICATE_VERSION", 3]);
    assertMatch(
      error.message,
      /alice_feature\.sql and .*bob_feature\.sql have the same version 20250128_120000/,
    );
  } finally {
    t.remove();
  }
});

Deno.test("every bad file is listed, not just the first", async () => {
  const t = tempMigrations({
    "20250128_120000_good.sql": migrationText("SELECT 1;"),
    "bad_name.sql": migrationText("SELECT 1;"),
    "20250128_130000_no_markers.sql": "SELECT 1;",
    "20251399_250000_bad_date.sql": migrationText("SELECT 1;"),
  });
  try {
    const error = await assertRejects<ValidationError>(() => loadMigrations(t.dir));
    assertEquals(error.problems.map((p) => p.code).sort(), [
      "INVALID_FILE_NAME",
      "INVALID_MIGRATION",
      "INVALID_VERSION",
    ]);
    assertMatch(error.message, /\(and 2 more problems\)$/);
  } finally {
    t.remove();
  }
});

const DIRECTORY_CASES: Array<[string, (root: string) => string, RegExp]> = [
  ["missing", (root) => join(root, "nope"), /does not exist/],
  ["a file", (root) => {
    writeFileSync(join(root, "file"), "x");
    return join(root, "file");
  }, /is not a directory/],
  ["a symlink loop", (root) => {
    symlinkSync(join(root, "loop"), join(root, "loop"));
    return join(root, "loop");
  }, /symbolic link loop/],
];
for (const [what, make, message] of DIRECTORY_CASES) {
  Deno.test(`a migrations directory that is ${what} is a validation error naming it`, async () => {
    const t = tempMigrations();
    try {
      const dir = make(t.root);
      const error = await assertRejects<ValidationError>(() => loadMigrations(dir));
      assertEquals([error.code, error.exitCode], ["DIRECTORY_NOT_FOUND", 3]);
      assertMatch(error.message, new RegExp(`^migrations directory ${dir} `));
      assertMatch(error.message, message);
    } finally {
      t.remove();
    }
  });
}

Deno.test("oversized, unreadable and looping files are errors naming the file", async () => {
  const t = tempMigrations({ "20250128_120000_big.sql": migrationText("SELECT 1;".repeat(20)) });
  try {
    symlinkSync(join(t.dir, "20250128_130000_loop.sql"), join(t.dir, "20250128_130000_loop.sql"));
    const locked = t.write("20250128_140000_locked.sql", migrationText("SELECT 1;"));
    chmodSync(locked, 0);
    const error = await assertRejects<ValidationError>(() =>
      loadMigrations(t.dir, { maxFileBytes: 100 })
    );
    const messages = error.problems.map((p) => p.message).join("\n");
    assertMatch(messages, /20250128_120000_big\.sql: \d+ bytes is over the limit of 100/);
    assertMatch(messages, /20250128_130000_loop\.sql: cannot be read \(symbolic link loop\)/);
    if (userInfo().uid !== 0) {
      assertMatch(messages, /20250128_140000_locked\.sql: cannot be read \(permission denied\)/);
    }
  } finally {
    t.remove();
  }
});

Deno.test("scanMigrations reads and hashes without parsing; parseFiles parses what is not kept", async () => {
  const bad = "-- UP\nSELECT 'open;\n-- DOWN\n";
  const t = tempMigrations({
    "20250128_120000_good.sql": migrationText("SELECT 1;"),
    "20250128_130000_bad.sql": bad,
    "not_a_version.sql": "SELECT 1;",
  });
  try {
    const scan = await scanMigrations(t.dir);
    assertEquals(scan.files.map((f) => f.version), ["20250128_120000", "20250128_130000"]);
    assertEquals(scan.problems.map((p) => p.code), ["INVALID_FILE_NAME"]);
    const all = parseFiles(scan.files);
    assertEquals(all.problems.map((p) => [p.code, p.version]), [[
      "UNTERMINATED",
      "20250128_130000",
    ]]);
    assertEquals(all.parsed.map(isParsed), [true]);
    const kept = parseFiles(scan.files, (f) => f.version === "20250128_130000");
    assertEquals([kept.problems.length, kept.parsed.map(isParsed)], [0, [true, false]]);
    // Parsing keeps the checksum the scan computed; a parsed migration passes through.
    const migration = kept.parsed[0];
    assertEquals(parseFiles([migration]).parsed[0], migration);
    assertEquals(migration.checksum, scan.files[0].checksum);
    const read = await readMigrations(t.dir);
    assertEquals(read.brokenVersions.sort(), ["20250128_130000"]);
    assertEquals(read.problems.map((p) => p.code), ["UNTERMINATED", "INVALID_FILE_NAME"]);
  } finally {
    t.remove();
  }
});

Deno.test("parseAhead parses newest first until what it waits for settles; parseFiles takes what it parsed", async () => {
  const bad = "-- UP\nSELECT 'open;\n-- DOWN\n";
  const names: Record<string, string> = {};
  for (let i = 10; i < 40; i++) {
    names[`20250101_1200${i}_m${i}.sql`] = migrationText(`SELECT ${i};`);
  }
  names["20250101_130000_bad.sql"] = bad;
  const t = tempMigrations(names);
  try {
    const { files } = await scanMigrations(t.dir);
    // Settled already: nothing is parsed.
    assertEquals((await parseAhead(files, Promise.resolve())).size, 0);
    assertEquals((await parseAhead(files, Promise.reject(new Error("x")))).size, 0);
    // Never settles: all of them, the broken one's error kept for later.
    const all = await parseAhead(files, new Promise(() => {}), { keepSource: true });
    assertEquals(all.size, files.length);
    assertEquals((all.get(files.at(-1)!) as ValidationError).code, "UNTERMINATED");
    // Settles after a few turns: the newest are parsed, the oldest not.
    let turns = 0;
    const soon = new Promise<void>((resolve) => {
      const tick = () => (++turns === 3 ? resolve() : setImmediate(tick));
      setImmediate(tick);
    });
    const some = await parseAhead(files, soon);
    assert(some.size > 0 && some.size < files.length, `parsed ${some.size}`);
    assert(some.has(files.at(-1)!) && !some.has(files[0]));
    // parseFiles takes those parsed ahead (the same objects) and their problems.
    const { parsed, problems } = parseFiles(files, undefined, { keepSource: true, ahead: all });
    assertEquals(problems.map((p) => p.code), ["UNTERMINATED"]);
    assert(parsed[0] === all.get(files[0]));
    assertEquals(typeof parsedSource(parsed[0] as never), "string");
  } finally {
    t.remove();
  }
});

Deno.test("files read as text hash to what their bytes hash to, a replacement character and a BOM included", async () => {
  const contents: Record<string, string> = {
    "20250101_000001_plain.sql": migrationText("SELECT 1;"),
    "20250101_000002_accents.sql": migrationText("SELECT 'é, ß, 日本';"),
    "20250101_000003_replacement.sql": migrationText("SELECT '\uFFFD';"),
    "20250101_000004_bom_crlf.sql": `\uFEFF${migrationText("SELECT 2;").replaceAll("\n", "\r\n")}`,
    "20250101_000005_lone_cr.sql": migrationText("SELECT 3;").replaceAll("\n", "\r"),
    "20250131_000006_day_31.sql": migrationText("SELECT 4;"),
    "20240229_000007_leap_day.sql": migrationText("SELECT 5;"),
  };
  const t = tempMigrations(contents);
  try {
    const { files, problems } = await scanMigrations(t.dir);
    assertEquals(problems, []);
    assertEquals(files.length, Object.keys(contents).length);
    for (const f of files) {
      const name = f.file!.slice(t.dir.length + 1);
      const bytes = new TextEncoder().encode(contents[name]);
      assertEquals(f, migrationFile({ name, file: f.file!, content: bytes }), name);
    }
    // Not UTF-8 at all, though its decoding as text would be a replacement character.
    writeFileSync(
      join(t.dir, "20250101_000008_latin1.sql"),
      new Uint8Array([0x2d, 0x2d, 0xe9, 0x0a]),
    );
    writeFileSync(join(t.dir, "20250101_000009_nul.sql"), migrationText("SELECT 6;\0"));
    writeFileSync(join(t.dir, "20250230_000010_no_such_day.sql"), migrationText("SELECT 7;"));
    const again = await scanMigrations(t.dir);
    assertEquals(again.problems.map((p) => p.code), [
      "INVALID_ENCODING",
      "INVALID_ENCODING",
      "INVALID_VERSION",
    ]);
  } finally {
    t.remove();
  }
});

Deno.test("many small files are long work for the parse and the lint: the JITs work while they run, and are held back after", async () => {
  const files = (n: number) =>
    Array.from({ length: n }, (_, i) => {
      const p2 = (n: number) => String(n).padStart(2, "0");
      const time = `${p2(Math.floor(i / 3600))}${p2(Math.floor(i / 60) % 60)}${p2(i % 60)}`;
      const name = `20250101_${time}_t${i}.sql`;
      return migrationFile({
        name,
        file: `migrations/${name}`,
        content: migrationText(`CREATE TABLE t${i} (id int);`, `DROP TABLE t${i};`),
      });
    });
  // 200 files of ~60 characters: 12 KB of text, 400 KiB of work with each file's share.
  const many = files(200);
  assert(many.reduce((n, f) => n + f.text.length, 0) < DEFAULTS.longWorkChars / 20);
  let parsed: (Migration | MigrationFile)[] = [];
  assertEquals(
    await jitPolicies(() => parsed = parseFiles(many, undefined, { keepSource: true }).parsed),
    [LONG_WORK_JIT_POLICY, HELD],
  );
  const migrations = parsed.filter(isParsed);
  assertEquals(migrations.length, 200);
  assertEquals(await jitPolicies(() => lintMigrations(migrations)), [LONG_WORK_JIT_POLICY, HELD]);
  // Parsed ahead while a history that never comes is awaited: all 200.
  assertEquals(
    await jitPolicies(() => parseAhead(files(200), new Promise(() => {}))),
    [LONG_WORK_JIT_POLICY, HELD],
  );
  // A deploy's few files stay in the interpreter.
  assertEquals(await jitPolicies(() => parseFiles(files(20))), []);
});
