/**
 * `deno task build`: writes everything data-bridge ships into `dist/`.
 *
 * - `dist/data-bridge` (`.exe` on Windows): single-file executable of the
 *   CLI for this machine, PostgreSQL driver and embedded database inside.
 * - `dist/data-bridge-<platform>`: the same for other platforms, with
 *   `--target <platform>` (repeatable) or `--all`.
 * - `dist/mod.js`, `dist/cli.js`, chunks and PGlite's files: the bundle
 *   imported by URL (`import { postgres } from "https://host/dist/mod.js"`).
 * - `dist/node/`: the npm package's JavaScript for Node.
 * - `dist/BUILD-INFO`: what was built from which commit, with which tool.
 *
 * Executables are built with `bun build --compile`, or with `deno compile`
 * when `--compiler deno` is given or `DENORT_BIN` is set (deno compile needs
 * its denort runtime: downloaded, or that file). Bundles are always built
 * with Bun.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { VERSION } from "../lib/config.ts";
import { bundleForNode, bundleForUrl, compileWithBun } from "./build_bun.ts";
import { compileWithDeno } from "./build_deno.ts";
import { hostPlatform, PLATFORMS, runTool } from "./build_targets.ts";
import { REPO_ROOT } from "./tools.ts";

/** Where `deno task build` writes. */
export const DIST: string = join(REPO_ROOT, "dist");

/** What `deno task build` was asked for. */
export interface BuildOptions {
  /** Platforms to build executables for besides this machine's. */
  platforms: string[];
  /** Which tool compiles executables. */
  compiler: "bun" | "deno";
  /** Skip executables (bundles only, as for `npm pack`). */
  noBinary: boolean;
}

const USAGE =
  `Usage: deno task build [--all | --target PLATFORM ...] [--compiler bun|deno] [--no-binary]

Writes dist/data-bridge (this machine), dist/mod.js + dist/cli.js (URL bundle),
dist/node/ (npm package for Node) and dist/BUILD-INFO.

  --target PLATFORM   also build dist/data-bridge-PLATFORM; one of:
                      ${Object.keys(PLATFORMS).join(", ")}
  --all               every platform above
  --compiler NAME     bun (default) or deno (default when DENORT_BIN is set)
  --no-binary         bundles only
`;

/**
 * Reads the command line of `deno task build`.
 *
 * @param argv Arguments.
 * @returns The options, or `null` after printing help.
 * @throws {Error} On an unknown flag, platform or compiler.
 */
export function parseBuildArgs(argv: string[]): BuildOptions | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      all: { type: "boolean" },
      target: { type: "string", multiple: true },
      compiler: { type: "string" },
      "no-binary": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return null;
  }
  const platforms = values.all ? Object.keys(PLATFORMS) : values.target ?? [];
  for (const name of platforms) {
    if (!PLATFORMS[name]) {
      throw new Error(
        `unknown platform '${name}'; use one of ${Object.keys(PLATFORMS).join(", ")}`,
      );
    }
  }
  const compiler = values.compiler ?? (process.env.DENORT_BIN ? "deno" : "bun");
  if (compiler !== "bun" && compiler !== "deno") {
    throw new Error(`--compiler must be bun or deno, got '${compiler}'`);
  }
  return { platforms, compiler, noBinary: values["no-binary"] === true };
}

function commit(): string {
  const head = runTool("git", ["rev-parse", "--short=12", "HEAD"], { cwd: REPO_ROOT });
  if (head.code !== 0) return "unknown (not a git checkout)";
  const dirty = runTool("git", ["status", "--porcelain", "--untracked-files=no"], {
    cwd: REPO_ROOT,
  });
  return `${head.output.trim()}${dirty.output.trim() ? " with uncommitted changes" : ""}`;
}

function describeFile(path: string): string {
  const bytes = readFileSync(path);
  const mib = (bytes.length / 1024 / 1024).toFixed(1);
  return `${mib} MiB, sha256 ${createHash("sha256").update(bytes).digest("hex")}`;
}

/**
 * Builds everything asked for into `dist/`, replacing what was there.
 *
 * @param options From {@link parseBuildArgs}.
 * @param log Progress lines.
 * @returns The lines written to `dist/BUILD-INFO`.
 * @throws {Error} When a build step fails, with the tool's output.
 */
export function build(options: BuildOptions, log: (line: string) => void): string[] {
  rmSync(DIST, { recursive: true, force: true });
  mkdirSync(DIST, { recursive: true });
  const info = [
    `data-bridge ${VERSION}`,
    `commit: ${commit()}`,
    `built: ${new Date().toISOString()}`,
  ];
  const banner = `// data-bridge ${VERSION}, bundled by deno task build; see docs/distribution.md`;

  log("bundling dist/mod.js and dist/cli.js (URL import)");
  info.push(`dist/mod.js, dist/cli.js: built with ${bundleForUrl(DIST, banner)}`);
  log("bundling dist/node/ (npm package for Node)");
  info.push(`dist/node/: built with ${bundleForNode(join(DIST, "node"), banner)}`);

  if (!options.noBinary) {
    const host = hostPlatform();
    const jobs = [
      { platform: host, file: `data-bridge${PLATFORMS[host].exe}` },
      ...options.platforms.map((platform) => ({
        platform,
        file: `data-bridge-${platform}${PLATFORMS[platform].exe}`,
      })),
    ];
    for (const job of jobs) {
      const outfile = join(DIST, job.file);
      log(`compiling dist/${job.file} for ${job.platform} with ${options.compiler}`);
      const compile = options.compiler === "deno" ? compileWithDeno : compileWithBun;
      const how = compile({ platform: job.platform, host: job.platform === host, outfile });
      if (!existsSync(outfile)) throw new Error(`${how} reported success but wrote no ${outfile}`);
      info.push(`dist/${job.file}: ${job.platform}, built with ${how}, ${describeFile(outfile)}`);
    }
  }
  writeFileSync(join(DIST, "BUILD-INFO"), `${info.join("\n")}\n`);
  return info;
}

if (import.meta.main) {
  try {
    const options = parseBuildArgs(process.argv.slice(2));
    if (options) {
      const started = performance.now();
      build(options, (line) => process.stderr.write(`${line}\n`));
      process.stderr.write(
        `done in ${((performance.now() - started) / 1000).toFixed(1)} s; ${
          relative(process.cwd(), join(DIST, "BUILD-INFO")) || "dist/BUILD-INFO"
        }:\n`,
      );
      process.stdout.write(readFileSync(join(DIST, "BUILD-INFO"), "utf8"));
    }
  } catch (error) {
    process.stderr.write(`build failed: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
