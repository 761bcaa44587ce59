/**
 * The Bun half of `deno task build`: the single-file executable through
 * `bun build --compile` (PGlite's three files embedded and handed to it by
 * packaging/embedded_assets.ts), the URL bundle `dist/mod.js` and the Node
 * build `dist/node/`.
 *
 * @module
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BINARY_JIT_POLICY } from "../lib/config.ts";
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
  const args = [
    "build",
    "--compile",
    "--minify",
    "--splitting",
    ...flags,
    "packaging/binary.ts",
    ...PGLITE_FILES.map((name) => join(PGLITE_DIST, name)),
    // The three files are embedded as they are; their names keep a hash.
    "--loader",
    ".data:file",
    "--loader",
    ".wasm:file",
    "--entry-naming",
    "[name]-[hash].[ext]",
    "--outfile",
    options.outfile,
  ];
  const run = runTool(toolPath("bun"), args, { cwd: REPO_ROOT });
  if (run.code !== 0) {
    const download = options.host ? "" : `Bun builds for ${options.platform} with that platform's` +
      ` runtime, which it downloads once from the npm registry (${platform.bunPackage})` +
      " into ~/.bun/install/cache; without access to the registry only the host" +
      " executable can be built.\n";
    throw new Error(
      `bun build --compile for ${options.platform} failed.\n${download}${run.output.trim()}`,
    );
  }
  return `bun ${bunVersion()} build --compile ${flags.join(" ")}`;
}

/**
 * Builds the self-contained ES module bundle for importing by URL:
 * `mod.js` and `cli.js` with shared chunks, PGlite in chunks of its own that
 * only the embedded database loads, and PGlite's files beside them.
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
