/**
 * What users install: `deno task build` runs once for this file, then the
 * single-file executable, the URL bundle (imported by a Deno script over
 * HTTP), the npm package (installed by Bun from a packed tarball, also run by
 * Node) and `deno publish --dry-run` are each exercised from temporary
 * directories outside the repository, against the test server and the
 * embedded database.
 */
import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import process from "node:process";
import { VERSION } from "../lib/config.ts";
import { CONTRIB_ARCHIVE } from "../lib/pglite_contrib.ts";
import { median } from "../scripts/measure_startup.ts";
import { REPO_ROOT, toolPath } from "../scripts/tools.ts";
import { assert, assertEquals, assertMatch, assertNotMatch } from "./support/assert.ts";
import { adminQuery, freshDatabase } from "./support/db.ts";

const DIST = join(REPO_ROOT, "dist");
const BINARY = join(DIST, process.platform === "win32" ? "data-bridge.exe" : "data-bridge");
const DENO = process.execPath;

/** What a finished child process gives back. */
interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  /** Peak resident memory in KiB (VmHWM), when asked for. */
  peakKiB: number;
}

/**
 * Runs a command without blocking this process (the HTTP server below
 * answers the child), optionally sampling its peak memory from /proc.
 */
function exec(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; peak?: boolean } = {},
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? userEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let peakKiB = 0;
    const sample = () => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
        peakKiB = Math.max(peakKiB, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
      } catch {
        // exited between two samples
      }
    };
    const timer = options.peak ? setInterval(sample, 5) : undefined;
    child.stdout.on("data", (c: Uint8Array) => stdout += new TextDecoder().decode(c));
    child.stderr.on("data", (c: Uint8Array) => stderr += new TextDecoder().decode(c));
    child.on("error", reject);
    child.on("close", (code) => {
      clearInterval(timer);
      resolve({ code: code ?? 1, stdout, stderr, peakKiB });
    });
  });
}

/** Throws with the output when a command did not exit 0. */
function ok(ran: Ran, what: string): Ran {
  if (ran.code !== 0) {
    throw new Error(`${what} exited ${ran.code}\nstdout:\n${ran.stdout}\nstderr:\n${ran.stderr}`);
  }
  return ran;
}

/** This process's environment without anything that selects a database. */
function userEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || key === "DATABASE_URL" || /^PG[A-Z]+$/.test(key)) continue;
    env[key] = value;
  }
  return { ...env, NO_COLOR: "1", ...extra };
}

/** A temporary directory outside the repository; `remove` deletes it. */
function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

const MIGRATION = "-- UP\nCREATE TABLE widgets (id int PRIMARY KEY, name text NOT NULL);\n" +
  "-- DOWN\nDROP TABLE widgets;\n";

/** Writes one migration into `dir/migrations`; returns its version. */
function writeMigration(dir: string): string {
  mkdirSync(join(dir, "migrations"), { recursive: true });
  writeFileSync(join(dir, "migrations", "20250128_120000_create_widgets.sql"), MIGRATION);
  return "20250128_120000";
}

/** A migration creating contrib extensions, and a later one using them (new process). */
const EXTENSION_MIGRATIONS: Record<string, string> = {
  "20250129_120000_extensions.sql":
    "-- UP\nCREATE EXTENSION citext;\nCREATE EXTENSION pgcrypto;\n" +
    "CREATE TABLE accounts (email citext PRIMARY KEY, pw text NOT NULL);\n" +
    "INSERT INTO accounts VALUES ('Ann@Example.org', crypt('secret', gen_salt('bf', 4)));\n" +
    "-- DOWN\nDROP TABLE accounts;\nDROP EXTENSION pgcrypto;\nDROP EXTENSION citext;\n",
  // Fails unless citext compares without case and pgcrypto checks the password.
  "20250129_130000_check_accounts.sql": "-- UP\nDO $$ BEGIN\n" +
    "  IF (SELECT count(*) FROM accounts WHERE email = 'ann@example.ORG'\n" +
    "      AND pw = crypt('secret', pw)) <> 1 THEN RAISE EXCEPTION 'accounts check failed';\n" +
    "  END IF;\nEND $$;\nCREATE TABLE checked (at timestamptz DEFAULT now());\n" +
    "-- DOWN\nDROP TABLE checked;\n",
};

/** Writes {@link EXTENSION_MIGRATIONS} into `dir/sub`; returns their versions. */
function writeExtensionMigrations(dir: string, sub = "migrations"): string[] {
  mkdirSync(join(dir, sub), { recursive: true });
  for (const [name, text] of Object.entries(EXTENSION_MIGRATIONS)) {
    writeFileSync(join(dir, sub, name), text);
  }
  return Object.keys(EXTENSION_MIGRATIONS).map((name) => name.slice(0, 15));
}

let building: Promise<string> | null = null;

/**
 * Runs `deno task build` once for the whole file (with Bun, the compiler that
 * works on this machine, whatever DENORT_BIN says); resolves with BUILD-INFO.
 */
function built(): Promise<string> {
  const script = join(REPO_ROOT, "scripts", "build.ts");
  building ??= exec(DENO, ["run", "-A", script, "--compiler", "bun"], {
    cwd: REPO_ROOT,
    env: userEnv(),
  }).then((ran) => {
    ok(ran, "deno task build");
    return readFileSync(join(DIST, "BUILD-INFO"), "utf8");
  });
  return building;
}

function distTest(name: string, fn: (t: Deno.TestContext) => Promise<void>): void {
  Deno.test({ name, sanitizeOps: false, sanitizeResources: false, fn });
}

distTest("deno task build writes the executable, both bundles and BUILD-INFO", async () => {
  const info = await built();
  for (
    const file of ["mod.js", "cli.js", "pglite.wasm", "initdb.wasm", "pglite.data", CONTRIB_ARCHIVE]
  ) {
    assert(existsSync(join(DIST, file)), `dist/${file} is missing`);
  }
  for (const file of ["mod.js", "cli.js"]) {
    assert(existsSync(join(DIST, "node", file)), `dist/node/${file} is missing`);
  }
  assertMatch(info, new RegExp(`^data-bridge ${VERSION.replaceAll(".", "\\.")}\n`));
  assertMatch(
    info,
    /^dist\/data-bridge(\.exe)?: [a-z0-9-]+, built with bun \d+\.\d+\.\d+ build --compile --no-compile-autoload-dotenv --no-compile-autoload-bunfig .*--bytecode-order \(recorded by apply, status and --version\)/m,
  );
  assertMatch(info, /^dist\/mod\.js, dist\/cli\.js: built with bun /m);
  // PGlite (its Emscripten glue, its client) is in none of the files that
  // importing mod.js loads: only the embedded database imports it.
  const loaded = new Set<string>();
  const visit = (file: string) => {
    if (loaded.has(file)) return;
    loaded.add(file);
    const text = readFileSync(join(DIST, file), "utf8");
    for (const m of text.matchAll(/^(?:import|export) [^;]*?from "\.\/([^"]+)";$/gms)) visit(m[1]);
    for (const m of text.matchAll(/^import "\.\/([^"]+)";$/gm)) visit(m[1]);
  };
  visit("mod.js");
  assert(loaded.size > 1, `mod.js imports its chunks: ${[...loaded]}`);
  for (const file of loaded) {
    assertNotMatch(
      readFileSync(join(DIST, file), "utf8"),
      /ENVIRONMENT_IS_NODE|execProtocolRaw/,
      file,
    );
  }
  const all = readdirSync(DIST).filter((f) => f.endsWith(".js"));
  assert(
    all.some((f) => /ENVIRONMENT_IS_NODE/.test(readFileSync(join(DIST, f), "utf8"))),
    "PGlite is in a chunk of its own",
  );
});

distTest("the executable prints --version and --help without a database", async () => {
  await built();
  const dir = tempDir("db-dist-noop-");
  try {
    const version = ok(await exec(BINARY, ["--version"], { cwd: dir.path }), "--version");
    assertEquals(version.stdout, `data-bridge ${VERSION}\n`);
    const help = ok(await exec(BINARY, ["--help"], { cwd: dir.path }), "--help");
    assertMatch(help.stdout, /^Usage: data-bridge <command> \[options\]$/m);
    assertMatch(help.stdout, /^ {2}rollback \(down\) /m);
    assert(!existsSync(join(dir.path, ".data-bridge")), "no database was opened");
  } finally {
    dir.remove();
  }
});

distTest("the executable reads no bunfig.toml or .env from the directory it runs in", async () => {
  await built();
  const dir = tempDir("db-dist-autoload-");
  try {
    // Bun's executables would: the preload would run inside data-bridge, and
    // DATABASE_URL would point validate at a port where nothing listens.
    const marker = join(dir.path, "preloaded");
    writeFileSync(join(dir.path, "bunfig.toml"), 'preload = ["./preload.ts"]\n');
    writeFileSync(
      join(dir.path, "preload.ts"),
      `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "ran");\n`,
    );
    writeFileSync(join(dir.path, ".env"), "DATABASE_URL=postgres://u:p@127.0.0.1:1/refused\n");
    writeMigration(dir.path);
    const version = ok(await exec(BINARY, ["--version"], { cwd: dir.path }), "--version");
    assertEquals(version.stdout, `data-bridge ${VERSION}\n`);
    const validated = ok(await exec(BINARY, ["validate"], { cwd: dir.path }), "validate");
    assertMatch(validated.stdout, /^OK: 1 migration valid \(files only: no database given/m);
    assert(!existsSync(marker), "bunfig.toml's preload ran");
  } finally {
    dir.remove();
  }
});

distTest(
  "the executable runs the quick start on a server and on the embedded default",
  async (t) => {
    await built();
    const peaks: Record<string, number> = {};

    await t.step("against the test server (DATABASE_URL)", async () => {
      const db = await freshDatabase();
      const dir = tempDir("db-dist-server-");
      const env = userEnv({ DATABASE_URL: db.url });
      const cli = (...args: string[]) => exec(BINARY, args, { cwd: dir.path, env, peak: true });
      try {
        const created = ok(await cli("create", "create widgets"), "create");
        const file = created.stdout.trim();
        assertMatch(file, /^migrations[\\/]\d{8}_\d{6}_create_widgets\.sql$/);
        writeFileSync(join(dir.path, file), MIGRATION);
        const version = /(\d{8}_\d{6})/.exec(file)![1];

        const before = ok(await cli("status"), "status");
        assertMatch(before.stdout, new RegExp(`^${version}\\s+pending\\s`, "m"));
        peaks.server = before.peakKiB;
        assertNotMatch(before.stderr, /embedded/);

        assertMatch(ok(await cli("apply"), "apply").stdout, /^Applied 1 migration in /m);
        assertEquals(
          await adminQuery(db.url, "SELECT version FROM _migrations"),
          [{ version }],
        );
        assertEquals(
          await adminQuery(db.url, "SELECT to_regclass('widgets') IS NOT NULL AS present"),
          [{ present: true }],
        );

        assertMatch(ok(await cli("rollback"), "rollback").stdout, /^Reverted 1 migration\.$/m);
        assertEquals(
          await adminQuery(db.url, "SELECT to_regclass('widgets') IS NOT NULL AS present"),
          [{ present: false }],
        );
        const after = ok(await cli("status", "--json"), "status --json");
        assertEquals(JSON.parse(after.stdout).pending, [version]);
      } finally {
        dir.remove();
        await db.drop();
      }
    });

    await t.step("on the embedded database when nothing selects a server", async () => {
      const dir = tempDir("db-dist-embedded-");
      const cli = (...args: string[]) => exec(BINARY, args, { cwd: dir.path, peak: true });
      const notice = "No DATABASE_URL: using the embedded database at .data-bridge/pglite\n";
      try {
        const file = ok(await cli("create", "create widgets"), "create").stdout.trim();
        writeFileSync(join(dir.path, file), MIGRATION);
        const version = /(\d{8}_\d{6})/.exec(file)![1];

        const before = ok(await cli("status"), "status");
        assertEquals(before.stderr, notice);
        assertMatch(before.stdout, new RegExp(`^${version}\\s+pending\\s`, "m"));

        const applied = ok(await cli("apply"), "apply");
        assertEquals(applied.stderr, notice);
        assertMatch(applied.stdout, /^Applied 1 migration in /m);
        assert(existsSync(join(dir.path, ".data-bridge", "pglite")), "data folder created");

        // A new process finds the migration applied in the data folder.
        const reverted = ok(await cli("rollback"), "rollback").stdout;
        assertMatch(
          reverted,
          new RegExp(`^reverting ${version} create widgets \\.\\.\\. done`, "m"),
        );
        assertMatch(reverted, /^Reverted 1 migration\.$/m);
        const after = ok(await cli("status", "--json"), "status --json");
        assertEquals(JSON.parse(after.stdout).pending, [version]);
        peaks.embedded = after.peakKiB;
      } finally {
        dir.remove();
      }
    });

    await t.step("the embedded database has PostgreSQL's contrib extensions", async () => {
      const dir = tempDir("db-dist-contrib-");
      const cli = (...args: string[]) => exec(BINARY, args, { cwd: dir.path });
      try {
        const [first, second] = writeExtensionMigrations(dir.path);
        // One process creates the extensions; the next uses them on the data folder.
        ok(await cli("apply", "--to", first), "apply --to the extensions");
        ok(await cli("apply"), "apply the check");
        const verified = ok(await cli("verify", "--all"), "verify --all on pglite:memory");
        assertMatch(verified.stdout, /^Verified 2 migrations on pglite:memory: 2 ok\.$/m);
        const status = ok(await cli("status", "--json"), "status --json");
        assertEquals(JSON.parse(status.stdout).applied, [first, second]);
        const schema = ok(await cli("schema"), "schema");
        assertMatch(schema.stdout, /^CREATE EXTENSION citext /m);
        assertMatch(schema.stdout, /^CREATE EXTENSION pgcrypto /m);
      } finally {
        dir.remove();
      }
    });

    await t.step("a server run does not load the embedded database", () => {
      // Memory as a ratio of the embedded run's, measured in this run: PGlite
      // alone takes several times what the server path needs.
      assert(peaks.server > 0 && peaks.embedded > 0, `peaks measured: ${JSON.stringify(peaks)}`);
      assert(
        peaks.server * 3 < peaks.embedded,
        `server status peaked at ${peaks.server} KiB, embedded at ${peaks.embedded} KiB`,
      );
    });
  },
);

distTest("the executable starts within 3x the bare Bun runtime it carries", async () => {
  await built();
  const bun = toolPath("bun");
  const ours: number[] = [];
  const floor: number[] = [];
  const time = async (command: string, args: string[]) => {
    const started = performance.now();
    ok(await exec(command, args), `${command} ${args.join(" ")}`);
    return performance.now() - started;
  };
  await time(BINARY, ["--version"]);
  await time(bun, ["-e", "0"]);
  for (let i = 0; i < 9; i++) {
    ours.push(await time(BINARY, ["--version"]));
    floor.push(await time(bun, ["-e", "0"]));
  }
  const [a, b] = [median(ours), median(floor)];
  assert(a < 3 * b, `--version median ${a.toFixed(1)} ms, bun -e 0 median ${b.toFixed(1)} ms`);
});

/** Serves dist/ under /data-bridge/dist/ on 127.0.0.1, logging request paths. */
async function serveDist(): Promise<{ base: string; host: string; log: string[]; close(): void }> {
  const log: string[] = [];
  const types: Record<string, string> = {
    ".js": "application/javascript",
    ".wasm": "application/wasm",
  };
  const server: Server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname);
    log.push(path);
    const prefix = "/data-bridge/dist/";
    const file = normalize(join(DIST, path.slice(prefix.length)));
    if (!path.startsWith(prefix) || !file.startsWith(DIST) || !existsSync(file)) {
      response.writeHead(404).end("not found");
      return;
    }
    response.writeHead(200, {
      "content-type": types[extname(file)] ?? "application/octet-stream",
    });
    response.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    base: `http://127.0.0.1:${port}/data-bridge/dist/`,
    host: `127.0.0.1:${port}`,
    log,
    close: () => server.close(),
  };
}

distTest("a Deno script imports the bundle by URL and migrates a server and PGlite", async (t) => {
  await built();
  const http = await serveDist();
  const db = await freshDatabase();
  const dir = tempDir("db-dist-url-");
  const denoDir = join(dir.path, "deno-cache");
  const env = userEnv({ DENO_DIR: denoDir, DATABASE_URL: db.url });
  const flags = [
    `--allow-import=${http.host}`,
    "--allow-net=127.0.0.1",
    "--allow-read",
    "--allow-env",
  ];
  const version = writeMigration(dir.path);
  const run = (script: string) => exec(DENO, ["run", ...flags, script], { cwd: dir.path, env });
  try {
    await t.step(
      "server: applies through postgres.js, fetches none of PGlite's files",
      async () => {
        writeFileSync(
          join(dir.path, "server.ts"),
          `import { postgres } from "${http.base}mod.js";\n` +
            `await postgres.init(Deno.env.get("DATABASE_URL"));\n` +
            `const applied = await postgres.migrationApply("migrations");\n` +
            `const status = await postgres.migrationStatus("migrations");\n` +
            `await postgres.close();\n` +
            `console.log(JSON.stringify({ applied, pending: status.pending }));\n`,
        );
        const ran = ok(await run("server.ts"), "deno run server.ts");
        assertEquals(JSON.parse(ran.stdout), { applied: [version], pending: [] });
        assertEquals(await adminQuery(db.url, "SELECT version FROM _migrations"), [{ version }]);
        assert(http.log.includes("/data-bridge/dist/mod.js"), "mod.js came from the server");
        assertEquals(http.log.filter((p) => /\.(wasm|data|tgz)$/.test(p)), []);
      },
    );

    await t.step("embedded: PGlite's files come from beside the bundle", async () => {
      const extensions = writeExtensionMigrations(dir.path);
      writeFileSync(
        join(dir.path, "embedded.ts"),
        `import { MigrationRunner } from "${http.base}mod.js";\n` +
          `const runner = new MigrationRunner("pglite:memory");\n` +
          `try {\n` +
          `  console.log(JSON.stringify(await runner.apply("migrations")));\n` +
          `} finally {\n` +
          `  await runner.close();\n` +
          `}\n`,
      );
      const ran = ok(await run("embedded.ts"), "deno run embedded.ts");
      assertEquals(JSON.parse(ran.stdout), [version, ...extensions]);
      assertEquals(
        http.log.filter((p) => /\.(wasm|data|tgz)$/.test(p)).sort(),
        ["initdb.wasm", "pglite-contrib.tgz", "pglite.data", "pglite.wasm"].map((f) =>
          `/data-bridge/dist/${f}`
        ),
      );
    });

    await t.step("deno check sees the bundle's types", async () => {
      // One file: correct uses of the API, then one wrong one. Exactly one
      // error means the types came through and the rest checked.
      writeFileSync(
        join(dir.path, "typed.ts"),
        `import { MigrationRunner, postgres } from "${http.base}mod.js";\n` +
          `const runner = new MigrationRunner("pglite:memory");\n` +
          `export const pending: string[] = (await runner.status("migrations")).pending;\n` +
          `export const path: string = postgres.migrationCreate("x", "migrations");\n` +
          `export const wrong: number = postgres.migrationCreate("x", "migrations");\n`,
      );
      const ran = await exec(DENO, ["check", `--allow-import=${http.host}`, "typed.ts"], {
        cwd: dir.path,
        env,
      });
      assertEquals(ran.code, 1, ran.stderr);
      assertEquals([...ran.stderr.matchAll(/TS\d+ \[ERROR\]/g)].map((m) => m[0]), [
        "TS2322 [ERROR]",
      ]);
      assertMatch(ran.stderr, /const wrong: number/);
    });

    await t.step("the CLI runs by URL", async () => {
      const ran = await exec(DENO, ["run", ...flags, `${http.base}cli.js`, "--version"], {
        cwd: dir.path,
        env,
      });
      assertEquals(ok(ran, "deno run cli.js --version").stdout, `data-bridge ${VERSION}\n`);
    });
  } finally {
    http.close();
    dir.remove();
    await db.drop();
  }
});

distTest("a Bun project installs the packed package and migrates; Node runs it too", async () => {
  await built();
  const db = await freshDatabase();
  const dir = tempDir("db-dist-bun-");
  const env = userEnv({ DATABASE_URL: db.url });
  try {
    const packed = ok(
      await exec("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", dir.path], {
        cwd: REPO_ROOT,
        env,
      }),
      "npm pack",
    );
    const tarball = packed.stdout.trim().split("\n").at(-1)!;
    assertEquals(tarball, `data-bridge-${VERSION}.tgz`);
    writeFileSync(
      join(dir.path, "package.json"),
      JSON.stringify({
        name: "app",
        private: true,
        type: "module",
        dependencies: { "data-bridge": `file:./${tarball}` },
      }),
    );
    ok(await exec(toolPath("bun"), ["install"], { cwd: dir.path, env }), "bun install");
    const version = writeMigration(dir.path);
    // The embedded database's contrib extensions come from PGlite's package here.
    const extensions = writeExtensionMigrations(dir.path, "extensions");
    const script = `import { MigrationRunner, postgres } from "data-bridge";\n` +
      `await postgres.init(process.env.DATABASE_URL);\n` +
      `const applied = await postgres.migrationApply("migrations");\n` +
      `const reverted = await postgres.migrationRollback("migrations", 1);\n` +
      `await postgres.close();\n` +
      `const runner = new MigrationRunner("pglite:memory");\n` +
      `const embedded = await runner.apply("extensions");\n` +
      `await runner.close();\n` +
      `const resolved = import.meta.resolve("data-bridge");\n` +
      `console.log(JSON.stringify({ applied, reverted, embedded, resolved, runner: typeof MigrationRunner }));\n`;
    writeFileSync(join(dir.path, "app.ts"), script);
    writeFileSync(join(dir.path, "app.mjs"), script);

    const bun = ok(await exec(toolPath("bun"), ["app.ts"], { cwd: dir.path, env }), "bun app.ts");
    const fromBun = JSON.parse(bun.stdout);
    assertEquals([fromBun.applied, fromBun.reverted], [[version], [version]]);
    assertEquals(fromBun.embedded, extensions);
    assertEquals(fromBun.runner, "function");
    assertMatch(fromBun.resolved, /node_modules\/data-bridge\/mod\.ts$/);

    const node = ok(await exec("node", ["app.mjs"], { cwd: dir.path, env }), "node app.mjs");
    const fromNode = JSON.parse(node.stdout);
    assertEquals([fromNode.applied, fromNode.reverted], [[version], [version]]);
    assertEquals(fromNode.embedded, extensions);
    assertMatch(fromNode.resolved, /node_modules\/data-bridge\/dist\/node\/mod\.js$/);

    const bin = join(dir.path, "node_modules", ".bin", "data-bridge");
    assertEquals(
      ok(await exec(bin, ["--version"], { cwd: dir.path, env }), "bin").stdout,
      `data-bridge ${VERSION}\n`,
    );
    assertEquals(await adminQuery(db.url, "SELECT count(*)::int AS n FROM _migrations"), [{
      n: 0,
    }]);
  } finally {
    dir.remove();
    await db.drop();
  }
});

distTest("deno publish --dry-run accepts the package with only the library in it", async () => {
  const ran = ok(
    await exec(DENO, ["publish", "--dry-run", "--allow-dirty"], { cwd: REPO_ROOT }),
    "deno publish --dry-run",
  );
  const output = ran.stdout + ran.stderr;
  assertMatch(output, /Dry run complete/);
  for (const file of ["mod.ts", "cli.ts", "lib/pglite_assets.ts", "deno.json"]) {
    assert(output.includes(`/${file} (`), `${file} is published`);
  }
  assertNotMatch(output, /\/(tests|scripts|packaging|dist|node_modules)\//);
});

distTest("package.json, deno.json and --version agree on name, version and exports", () => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8"));
  const deno = JSON.parse(readFileSync(join(REPO_ROOT, "deno.json"), "utf8"));
  assertEquals([pkg.version, deno.version], [VERSION, VERSION]);
  assertEquals(pkg.name, "data-bridge");
  assertMatch(deno.name, /^@[a-z0-9-]+\/data-bridge$/);
  assertEquals(pkg.description, deno.description);
  assertEquals(deno.exports, { ".": "./mod.ts", "./cli": "./cli.ts" });
  assertEquals(pkg.exports["."].bun, deno.exports["."]);
  assertEquals(pkg.exports["./cli"].bun, deno.exports["./cli"]);
  for (
    const target of [pkg.exports["."].default, pkg.exports["./cli"].default, pkg.bin["data-bridge"]]
  ) {
    assertMatch(target, /^\.\/dist\/node\/[a-z]+\.js$/);
  }
  assertEquals(Object.keys(pkg.dependencies).sort(), ["@electric-sql/pglite", "postgres"]);
  for (const [name, version] of Object.entries(pkg.dependencies)) {
    assertEquals(deno.imports[name], `npm:${name}@${version}`);
  }
  return Promise.resolve();
});
