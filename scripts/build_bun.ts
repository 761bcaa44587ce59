/**
 * The Bun half of `deno task build`: the single-file executable through
 * `bun build --compile` (PGlite's files and the contrib archive embedded and handed to it by
 * packaging/embedded_assets.ts), the URL bundle `dist/mod.js` and the Node
 * build `dist/node/`.
 *
 * @module
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { BINARY_JIT_POLICY } from "../lib/config.ts";
import { CONTRIB_ARCHIVE } from "../lib/pglite_contrib.ts";
import { readTar, writeTar } from "../lib/tar.ts";
import { PLATFORMS, runTool } from "./build_targets.ts";
import { REPO_ROOT, toolPath } from "./tools.ts";

/** PGlite's files, the ones packaging/pglite assets hand over. */
export const PGLITE_FILES = ["pglite.wasm", "initdb.wasm", "pglite.data"] as const;

/** Folder of the installed PGlite package's files. */
export const PGLITE_DIST: string = join(
  REPO_ROOT,
  "node_modules",
  "@electric-sql",
  "pglite",
  "dist",
);

/**
 * {@link CONTRIB_ARCHIVE}: the files of every contrib extension tarball of the
 * installed PGlite in one gzipped tar, which the executable embeds and the
 * URL bundle ships beside `mod.js`.
 *
 * @returns The archive's bytes.
 * @throws {Error} When PGlite's folder holds no tarballs, or two hold the same file.
 */
export function contribArchive(): Uint8Array {
  const tarballs = readdirSync(PGLITE_DIST).filter((name) => name.endsWith(".tar.gz")).sort();
  if (tarballs.length === 0) throw new Error(`no contrib extension tarballs in ${PGLITE_DIST}`);
  const files = tarballs.flatMap((name) =>
    readTar(gunzipSync(readFileSync(join(PGLITE_DIST, name))))
  );
  const seen = new Set<string>();
  for (const file of files) {
    if (seen.has(file.path)) throw new Error(`two of PGlite's contrib tarballs hold ${file.path}`);
    seen.add(file.path);
  }
  return gzipSync(writeTar(files), { level: 9 });
}

/**
 * The running Bun's version.
 *
 * @returns e.g. `1.4.5`.
 * @throws {Error} When bun does not run.
 */
export function bunVersion(): string {
  const run = runTool(toolPath("bun"), ["--version"]);
  if (run.code !== 0) throw new Error(`bun --version failed: ${run.output.trim()}`);
  return run.output.trim();
}

function bun(args: string[], what: string): void {
  const run = runTool(toolPath("bun"), args, { cwd: REPO_ROOT });
  if (run.code !== 0) {
    throw new Error(`${what} failed (bun ${args.join(" ")}):\n${run.output.trim()}`);
  }
}

/** What a compiled executable must not read from the directory it runs in. */
export const COMPILE_NO_AUTOLOAD = ["--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig"];

/**
 * Compiles the CLI into one executable with `bun build --compile`.
 *
 * @param options Platform name (a key of PLATFORMS), whether it is this
 *   machine's (then no runtime download is needed) and the output path.
 * @returns How it was built, for BUILD-INFO.
 * @throws {Error} When Bun fails; for another platform, saying that Bun
 *   downloads that platform's runtime from the npm registry.
 */
export function compileWithBun(
  options: { platform: string; host: boolean; outfile: string },
): string {
  const platform = PLATFORMS[options.platform];
  // Bytecode saves ~7 ms of start-up; it is only made for this machine's
  // runtime, as other platforms' executables cannot be run here to check it.
  const flags = options.host
    ? ["--bytecode", "--format=esm", `--compile-jit-policy=${BINARY_JIT_POLICY}`]
    : [`--target=${platform.bun}`, `--compile-jit-policy=${BINARY_JIT_POLICY}`];
  // The contrib archive is made in a folder of its own, then embedded.
  const contribDir = mkdtempSync(join(tmpdir(), "data-bridge-contrib-"));
  const contrib = join(contribDir, CONTRIB_ARCHIVE);
  writeFileSync(contrib, contribArchive());
  const args = [
    "build",
    "--compile",
    "--minify",
    "--splitting",
    // The executable reads no bunfig.toml or .env of the directory it runs
    // in: a bunfig.toml's `preload` would run its code inside data-bridge,
    // and a .env would change DATABASE_URL for the binary only (the Deno
    // and Node builds never read one).
    ...COMPILE_NO_AUTOLOAD,
    ...flags,
    "packaging/binary.ts",
    ...PGLITE_FILES.map((name) => join(PGLITE_DIST, name)),
    contrib,
    // The four files are embedded as they are; their names keep a hash.
    "--loader",
    ".data:file",
    "--loader",
    ".wasm:file",
    "--loader",
    ".tgz:file",
    "--entry-naming",
    "[name]-[hash].[ext]",
    "--outfile",
    options.outfile,
  ];
  const compile = (extra: string[]) =>
    runTool(toolPath("bun"), [...args, ...extra], { cwd: REPO_ROOT });
  let run;
  let ordered = "";
  try {
    run = compile([]);
    if (run.code === 0 && options.host) {
      // Bytecode laid out in the order a run first needs it: the executable
      // is run on the paths every deploy takes, then built again with that
      // order (a no-op apply of 1000 files ~0.4 ms sooner, --version ~0.6).
      // A runtime that writes no order (another platform's Bun) keeps the
      // executable as built; BUILD-INFO then does not name the order.
      const orders = recordBytecodeOrder(options.outfile);
      if (orders.files.length) {
        run = compile([`--bytecode-order=${orders.files.join(",")}`]);
        ordered = " --bytecode-order (recorded by apply, status and --version)";
      }
      orders.remove();
    }
  } finally {
    rmSync(contribDir, { recursive: true, force: true });
  }
  if (run.code !== 0) {
    const download = options.host ? "" : `Bun builds for ${options.platform} with that platform's` +
      ` runtime, which it downloads once from the npm registry (${platform.bunPackage})` +
      " into ~/.bun/install/cache; without access to the registry only the host" +
      " executable can be built.\n";
    throw new Error(
      `bun build --compile for ${options.platform} failed.\n${download}${run.output.trim()}`,
    );
  }
  return `bun ${bunVersion()} build --compile ${
    [...COMPILE_NO_AUTOLOAD, ...flags].join(" ")
  }${ordered}`;
}

/**
 * Runs a freshly built executable the ways a deploy runs it, each run writing
 * the order in which its functions' bytecode was first used
 * (`BUN_BYTECODE_ORDER_OUT`), for `bun build --bytecode-order`. No database
 * is reached: `status` and `apply` read three migration files and find no
 * server at a socket directory that does not exist, which is where a no-op
 * run spends its start (the runtime, the command line, the files, the wire
 * client).
 *
 * @param executable The executable built without an order.
 * @returns The order files, most important first (none when the runtime
 *   wrote none), and how to remove them.
 * @throws {Error} When a run does not end as expected: the executable is broken.
 */
export function recordBytecodeOrder(
  executable: string,
): { files: string[]; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "db-bytecode-order-"));
  const migrations = join(dir, "migrations");
  mkdirSync(migrations);
  for (let i = 1; i <= 3; i++) {
    writeFileSync(
      join(migrations, `20250101_00000${i}_create_t_${i}.sql`),
      `-- UP\nCREATE TABLE t_${i} (id serial primary key, name text);\n-- DOWN\nDROP TABLE t_${i};\n`,
    );
  }
  const url = `postgres://trainer@localhost/order?host=${join(dir, "no-server")}`;
  const runs: { args: string[]; code: number }[] = [
    { args: ["apply", "--database-url", url, "--migrations-dir", migrations], code: 1 },
    { args: ["status", "--database-url", url, "--migrations-dir", migrations], code: 1 },
    { args: ["--version"], code: 0 },
  ];
  const files = runs.map((run, i) => {
    const file = join(dir, `order-${i}.txt`);
    const ran = runTool(executable, run.args, {
      cwd: dir,
      env: { BUN_BYTECODE_ORDER_OUT: file, DATABASE_URL: "", PGPASSWORD: "", PGSSLMODE: "" },
    });
    if (ran.code !== run.code) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(
        `recording the bytecode order: ${executable} ${
          run.args.join(" ")
        } exited with ${ran.code} (expected ${run.code}):\n${ran.output.trim()}`,
      );
    }
    return file;
  });
  const remove = () => rmSync(dir, { recursive: true, force: true });
  return { files: files.every((file) => existsSync(file)) ? files : [], remove };
}

/**
 * Builds the self-contained ES module bundle for importing by URL:
 * `mod.js` and `cli.js` with shared chunks, PGlite in chunks of its own that
 * only the embedded database loads, and PGlite's files beside them (the
 * contrib extensions as one archive).
 *
 * @param outDir Output folder (`dist`).
 * @param banner First line of each entry file.
 * @returns How it was built, for BUILD-INFO.
 * @throws {Error} When Bun fails.
 */
export function bundleForUrl(outDir: string, banner: string): string {
  const args = [
    "build",
    "packaging/mod.ts",
    "packaging/cli.ts",
    "--target=node",
    "--format=esm",
    "--splitting",
    "--entry-naming",
    "[name].js",
    "--chunk-naming",
    "chunk-[hash].js",
    "--banner",
    banner,
    "--outdir",
    outDir,
  ];
  bun(args, "bundling dist/mod.js");
  allowRemoteRequire(outDir);
  for (const name of PGLITE_FILES) copyFileSync(join(PGLITE_DIST, name), join(outDir, name));
  writeFileSync(join(outDir, CONTRIB_ARCHIVE), contribArchive());
  return `bun ${bunVersion()} build --target=node --format=esm --splitting`;
}

/**
 * PGlite's Emscripten glue (pglite.js and initdb.js) starts with
 * `createRequire(import.meta.url)` whenever `process` exists, as it does in
 * Deno; imported by an `http(s):` URL that throws before PGlite's own options
 * are read. The bundle's copies get a `file:` base instead when their URL is
 * not one (the require is only used for Node built-ins there). Fails loudly
 * when a PGlite update changes that code.
 *
 * @param outDir The bundle's folder.
 * @throws {Error} When the two expected calls are not found.
 */
function allowRemoteRequire(outDir: string): void {
  const pattern = /var require = (\w+)\(import\.meta\.url\);/g;
  let patched = 0;
  for (const name of readdirSync(outDir).filter((n) => n.endsWith(".js"))) {
    const path = join(outDir, name);
    const text = readFileSync(path, "utf8");
    const next = text.replace(pattern, (_all, fn: string) => {
      patched++;
      return `var require = ${fn}(import.meta.url.startsWith("file:") ? import.meta.url : "file:///");`;
    });
    if (next !== text) writeFileSync(path, next);
  }
  if (patched !== 2) {
    throw new Error(
      `expected PGlite's two createRequire(import.meta.url) calls in the bundle, found ${patched};` +
        " PGlite changed: update allowRemoteRequire in scripts/build_bun.ts",
    );
  }
}

/**
 * Builds the npm package's JavaScript for Node: `mod.js` and `cli.js` with
 * postgres.js and PGlite left as imports of the package's dependencies.
 *
 * @param outDir Output folder (`dist/node`).
 * @param banner First line of each entry file (after a shebang).
 * @returns How it was built, for BUILD-INFO.
 * @throws {Error} When Bun fails.
 */
export function bundleForNode(outDir: string, banner: string): string {
  mkdirSync(outDir, { recursive: true });
  const shared = [
    "--target=node",
    "--format=esm",
    "--splitting",
    "--external",
    "postgres",
    "--external",
    "@electric-sql/pglite",
    "--chunk-naming",
    "chunk-[hash].js",
    "--banner",
    banner,
    "--outdir",
    outDir,
  ];
  bun(
    ["build", "mod.ts", "packaging/node/cli.ts", ...shared, "--entry-naming", "[name].js"],
    "bundling dist/node",
  );
  return `bun ${bunVersion()} build --target=node --format=esm --splitting` +
    " --external postgres --external @electric-sql/pglite";
}
