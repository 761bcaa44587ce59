/**
 * The Deno half of `deno task build`: the single-file executable through
 * `deno compile`, used with `--compiler deno` or when `DENORT_BIN` is set.
 * Deno embeds the npm packages' folders, PGlite's files included, so PGlite
 * finds them itself and packaging/binary.ts provides nothing.
 *
 * `deno compile` needs the `denort` runtime of its own version: it downloads
 * it from dl.deno.land unless `DENORT_BIN` names a copy on disk.
 *
 * @module
 */
import process from "node:process";
import { PLATFORMS, runTool } from "./build_targets.ts";
import { REPO_ROOT, toolPath } from "./tools.ts";

/**
 * The running Deno's version.
 *
 * @returns e.g. `2.9.6`.
 */
export function denoVersion(): string {
  return process.versions.deno ?? "unknown";
}

/**
 * Compiles the CLI into one executable with `deno compile`.
 *
 * @param options Platform name (a key of PLATFORMS), whether it is this
 *   machine's, and the output path.
 * @returns How it was built, for BUILD-INFO.
 * @throws {Error} When deno compile fails (typically: it cannot download
 *   denort), or when the result does not run data-bridge (a `DENORT_BIN`
 *   that is not a denort runtime).
 */
export function compileWithDeno(
  options: { platform: string; host: boolean; outfile: string },
): string {
  const platform = PLATFORMS[options.platform];
  const args = [
    "compile",
    "--allow-all",
    ...(options.host ? [] : ["--target", platform.deno]),
    "--output",
    options.outfile,
    "packaging/binary.ts",
  ];
  const run = runTool(toolPath("deno"), args, { cwd: REPO_ROOT });
  if (run.code !== 0) {
    const runtime = process.env.DENORT_BIN
      ? `DENORT_BIN=${process.env.DENORT_BIN} was used as the runtime.`
      : "deno compile downloads its runtime (denort) from dl.deno.land unless DENORT_BIN" +
        " names a denort binary of the same version; without either, build with" +
        " --compiler bun.";
    throw new Error(
      `deno compile for ${options.platform} failed. ${runtime}\n${run.output.trim()}`,
    );
  }
  if (options.host) {
    const check = runTool(options.outfile, ["--version"]);
    if (!check.output.startsWith("data-bridge ")) {
      throw new Error(
        `the executable deno compile wrote does not run data-bridge: '${options.outfile}` +
          ` --version' printed '${check.output.trim().split("\n")[0]}'.` +
          (process.env.DENORT_BIN
            ? ` DENORT_BIN=${process.env.DENORT_BIN} must be a denort runtime, not deno itself.`
            : ""),
      );
    }
  }
  return `deno ${denoVersion()} compile${options.host ? "" : ` --target ${platform.deno}`}${
    process.env.DENORT_BIN ? " (DENORT_BIN runtime)" : ""
  }`;
}
