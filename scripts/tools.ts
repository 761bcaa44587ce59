/**
 * Where the `deno` and `bun` executables are: `DENO_PATH`/`BUN_PATH`, else
 * `tools/node_modules/.bin` (`npm ci --prefix tools` brings both from the
 * npm registry), else `PATH`. On a machine with only Deno, Bun is fetched
 * into Deno's npm cache (the `@oven/bun-<platform>` package of the version
 * pinned in `tools/package.json`).
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { arch, platform } from "node:os";
import { delimiter, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** The repository's root directory. */
export const REPO_ROOT: string = fileURLToPath(new URL("..", import.meta.url));

/**
 * Path of a tool.
 *
 * @param name `deno` or `bun`.
 * @returns An absolute path.
 * @throws {Error} When the tool is nowhere and cannot be fetched, saying how to get it.
 */
export function toolPath(name: "deno" | "bun"): string {
  const env = process.env[`${name.toUpperCase()}_PATH`];
  if (env && existsSync(env)) return env;
  const local = join(REPO_ROOT, "tools", "node_modules", ".bin", name);
  if (existsSync(local)) return local;
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const candidate = join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  if (name === "bun") {
    const fetched = bunFromDenoCache();
    if (fetched) return fetched;
  }
  throw new Error(
    `${name} not found: run 'npm ci --prefix tools' in ${REPO_ROOT} (it brings deno and bun), or put ${name} on PATH`,
  );
}

/** Fetches Bun's platform package with Deno and returns its binary, when Deno runs this. */
function bunFromDenoCache(): string | undefined {
  if (typeof (globalThis as { Deno?: unknown }).Deno !== "object") return undefined;
  const platforms: Record<string, string> = {
    "linux-x64": "linux-x64",
    "linux-arm64": "linux-aarch64",
    "darwin-x64": "darwin-x64",
    "darwin-arm64": "darwin-aarch64",
    "win32-x64": "windows-x64",
  };
  const target = platforms[`${platform()}-${arch()}`];
  if (!target) return undefined;
  const tools = JSON.parse(readFileSync(join(REPO_ROOT, "tools", "package.json"), "utf8"));
  const version = tools.devDependencies.bun as string;
  const pkg = `@oven/bun-${target}`;
  const deno = process.execPath;
  const cached = spawnSync(deno, ["cache", "--no-config", "--no-lock", `npm:${pkg}@${version}`], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "ignore", "inherit"],
  });
  if (cached.status !== 0) return undefined;
  const info = spawnSync(deno, ["info", "--json"], { encoding: "utf8" });
  const npmCache = JSON.parse(info.stdout).npmCache as string;
  const binary = join(
    npmCache,
    "registry.npmjs.org",
    pkg,
    version,
    "bin",
    platform() === "win32" ? "bun.exe" : "bun",
  );
  return existsSync(binary) ? binary : undefined;
}
