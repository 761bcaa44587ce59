/** Running the CLI as a separate process, as users do. */
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
  "PGPASSFILE",
];

/** The environment for a child: the test's, minus database and DATA_BRIDGE_ variables, plus `env`. */
export function childEnv(env: Record<string, string | undefined> = {}): Record<string, string> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    // Neither the database nor data-bridge's settings of the shell that runs the tests.
    if (v !== undefined && !DATABASE_VARIABLES.includes(k) && !k.startsWith("DATA_BRIDGE_")) {
      base[k] = v;
    }
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

/**
 * Starts a process; `done` resolves when it exits. (Deno.Command, because
 * node:child_process under Deno reports a child that exits 130 after
 * handling SIGINT as killed by the signal.)
 */
export function start(
  file: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string | undefined> } = {},
) {
  const child = new Deno.Command(file, {
    args,
    cwd: options.cwd,
    env: childEnv(options.env),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  const done: Promise<Result> = child.output().then((o) => ({
    code: o.signal ? null : o.code,
    signal: o.signal,
    stdout: decoder.decode(o.stdout),
    stderr: decoder.decode(o.stderr),
  }));
  return { child, done };
}

/** Runs the CLI to completion. */
export function cli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; runtime?: Runtime } = {},
): Promise<Result> {
  const [file, fullArgs] = command(options.runtime ?? "deno", CLI, args);
  return start(file, fullArgs, options).done;
}
