/**
 * Where the `deno` and `bun` executables are: `DENO_PATH`/`BUN_PATH`, else
 * `tools/node_modules/.bin` (`npm ci --prefix tools` brings both from the
 * npm registry), else `PATH`.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import process from "node:process";

const ROOT = new URL("..", import.meta.url).pathname;

/**
 * Path of a tool.
 *
 * @param name `deno` or `bun`.
 * @returns An absolute path.
 * @throws {Error} When the tool is nowhere, saying how to get it.
 */
export function toolPath(name: "deno" | "bun"): string {
  const env = process.env[`${name.toUpperCase()}_PATH`];
  if (env && existsSync(env)) return env;
  const local = join(ROOT, "tools", "node_modules", ".bin", name);
  if (existsSync(local)) return local;
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const candidate = join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  throw new Error(
    `${name} not found: run 'npm ci --prefix tools' in ${ROOT} (it brings deno and bun), or put ${name} on PATH`,
  );
}

/** The repository's root directory. */
export const REPO_ROOT: string = ROOT;
