/**
 * The platforms data-bridge executables are built for, with each compiler's
 * name for them, and a small helper to run a build tool.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import process from "node:process";

/** A platform a single-file executable can be built for. */
export interface Platform {
  /** Bun's `--target` value. */
  bun: string;
  /** The npm package Bun downloads that runtime from, for messages. */
  bunPackage: string;
  /** Deno's `--target` value. */
  deno: string;
  /** File name suffix of executables there. */
  exe: "" | ".exe";
}

/** Platforms by the names `deno task build --target NAME` accepts. */
export const PLATFORMS: Record<string, Platform> = {
  "linux-x64": {
    bun: "bun-linux-x64",
    bunPackage: "@oven/bun-linux-x64",
    deno: "x86_64-unknown-linux-gnu",
    exe: "",
  },
  "linux-arm64": {
    bun: "bun-linux-arm64",
    bunPackage: "@oven/bun-linux-aarch64",
    deno: "aarch64-unknown-linux-gnu",
    exe: "",
  },
  "darwin-arm64": {
    bun: "bun-darwin-arm64",
    bunPackage: "@oven/bun-darwin-aarch64",
    deno: "aarch64-apple-darwin",
    exe: "",
  },
  "windows-x64": {
    bun: "bun-windows-x64",
    bunPackage: "@oven/bun-windows-x64",
    deno: "x86_64-pc-windows-msvc",
    exe: ".exe",
  },
};

/**
 * The platform this process runs on, by its {@link PLATFORMS} name.
 *
 * @returns A key of {@link PLATFORMS}.
 * @throws {Error} On a platform data-bridge is not built for.
 */
export function hostPlatform(): string {
  const os = { linux: "linux", darwin: "darwin", win32: "windows" }[process.platform as string];
  const arch = { x64: "x64", arm64: "arm64" }[process.arch as string];
  const name = `${os}-${arch}`;
  if (!os || !arch || !PLATFORMS[name]) {
    throw new Error(
      `no executable target for ${process.platform}-${process.arch}; known: ${
        Object.keys(PLATFORMS).join(", ")
      }`,
    );
  }
  return name;
}

/** What a finished tool run gives back. */
export interface ToolRun {
  /** Exit code (1 when the tool could not start). */
  code: number;
  /** Standard output and error, interleaved per stream. */
  output: string;
}

/**
 * Runs a build tool to completion, capturing its output.
 *
 * @param command Executable.
 * @param args Arguments.
 * @param options Working directory and extra environment.
 * @returns Exit code and output.
 */
export function runTool(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): ToolRun {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) return { code: 1, output: result.error.message };
  return { code: result.status ?? 1, output: `${result.stdout}${result.stderr}` };
}
