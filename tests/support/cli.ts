/** Running the CLI as a separate process, as users do. */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { toolPath } from "../../scripts/tools.ts";

/** The CLI entry point. */
export const CLI = fileURLToPath(new URL("../../cli.ts", import.meta.url));

/** What a finished process left. */
export interface Result {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Variables that would point the CLI at a database the test did not choose. */
const DATABASE_VARIABLES = [
  "DATABASE_URL",
  "PGHOST",
  "PGPORT",
  "PGUSER",
  "PGPASSWORD",
  "PGDATABASE",
  "PGSSLMODE",
  "PGSSLROOTCERT",
];

/** The environment for a child: the test's, minus database variables, plus `env`. */
export function childEnv(env: Record<string, string | undefined> = {}): Record<string, string> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !DATABASE_VARIABLES.includes(k)) base[k] = v;
  }
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete base[k];
    else base[k] = v;
  }
  return base;
}

/** Which runtime runs the CLI. */
export type Runtime = "deno" | "bun";

/** The command line that starts a script under a runtime. */
export function command(runtime: Runtime, script: string, args: string[]): [string, string[]] {
  return runtime === "deno"
    ? [Deno.execPath(), ["run", "-A", "--quiet", script, ...args]]
    : [toolPath("bun"), [script, ...args]];
}

/** Starts a process; `done` resolves when it exits. */
export function start(
  file: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string | undefined> } = {},
) {
  const child = spawn(file, args, {
    cwd: options.cwd,
    env: childEnv(options.env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c) => (stdout += c));
  child.stderr.on("data", (c) => (stderr += c));
  const done = new Promise<Result>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }))
  );
  return { child, done, output: () => ({ stdout, stderr }) };
}

/** Runs the CLI to completion. */
export function cli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; runtime?: Runtime } = {},
): Promise<Result> {
  const [file, fullArgs] = command(options.runtime ?? "deno", CLI, args);
  return start(file, fullArgs, options).done;
}
