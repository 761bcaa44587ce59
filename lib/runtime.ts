/**
 * The few things that differ between Deno, Bun and Node, behind one small
 * surface. Everything here goes through `node:` modules, which all three
 * runtimes provide, so the rest of data-bridge never touches `Deno.*` or
 * `Bun.*`.
 *
 * @module
 */
import { isatty } from "node:tty";
import process from "node:process";
import { writeSync } from "node:fs";
import { setImmediate } from "node:timers";

/** Name of the JavaScript runtime running data-bridge. */
export type RuntimeName = "deno" | "bun" | "node";

/**
 * Which runtime this is.
 *
 * @returns `"deno"`, `"bun"` or `"node"`.
 * @example
 * ```ts
 * import { runtimeName } from "./runtime.ts";
 * console.log(runtimeName());
 * ```
 */
export function runtimeName(): RuntimeName {
  const g = globalThis as Record<string, unknown>;
  if (typeof g.Deno === "object") return "deno";
  if (typeof g.Bun === "object") return "bun";
  return "node";
}

/**
 * Reads an environment variable.
 *
 * @param name Variable name.
 * @returns Its value, or `undefined` when unset or empty.
 * @example
 * ```ts
 * import { env } from "./runtime.ts";
 * const url = env("DATABASE_URL");
 * ```
 */
export function env(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === "" ? undefined : value;
}

/**
 * The command-line arguments after the script name.
 *
 * @returns The user's arguments.
 * @example
 * ```ts
 * import { args } from "./runtime.ts";
 * const argv = args();
 * ```
 */
export function args(): string[] {
  const g = globalThis as { Deno?: { args: string[] } };
  if (g.Deno) return [...g.Deno.args];
  return process.argv.slice(2);
}

/**
 * Writes text to standard output synchronously, so nothing is lost when the
 * process exits right after.
 *
 * @param text Text to write, written as is.
 * @example
 * ```ts
 * import { writeStdout } from "./runtime.ts";
 * writeStdout("done\n");
 * ```
 */
export function writeStdout(text: string): void {
  writeAll(1, text);
}

/**
 * Writes text to standard error synchronously.
 *
 * @param text Text to write, written as is.
 * @example
 * ```ts
 * import { writeStderr } from "./runtime.ts";
 * writeStderr("warning\n");
 * ```
 */
export function writeStderr(text: string): void {
  writeAll(2, text);
}

const encoder = new TextEncoder();

function writeAll(fd: number, text: string): void {
  const bytes = encoder.encode(text);
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset);
    } catch (error) {
      // A non-blocking pipe that is full: try again; a closed pipe: give up.
      if ((error as { code?: string }).code !== "EAGAIN") return;
    }
  }
}

/**
 * Whether a standard stream is a terminal.
 *
 * @param stream `"stdout"`, `"stderr"` or `"stdin"`.
 * @returns `true` for a TTY.
 * @example
 * ```ts
 * import { isTerminal } from "./runtime.ts";
 * const colour = isTerminal("stdout");
 * ```
 */
export function isTerminal(stream: "stdout" | "stderr" | "stdin"): boolean {
  // isatty, not process.stdout.isTTY: making the stream object costs Bun ~20 ms.
  return isatty(stream === "stdin" ? 0 : stream === "stdout" ? 1 : 2);
}

/**
 * Ends the process with an exit code.
 *
 * @param code Exit code.
 * @returns Never.
 * @example
 * ```ts
 * import { exit } from "./runtime.ts";
 * function fail(): never {
 *   return exit(1);
 * }
 * ```
 */
export function exit(code: number): never {
  process.exit(code);
}

/**
 * Registers a handler for SIGINT or SIGTERM.
 *
 * @param signal The signal.
 * @param handler Called when the signal arrives.
 * @returns A function that removes the handler.
 * @example
 * ```ts
 * import { onSignal } from "./runtime.ts";
 * const off = onSignal("SIGINT", () => console.log("interrupted"));
 * off();
 * ```
 */
export function onSignal(
  signal: "SIGINT" | "SIGTERM",
  handler: () => void,
): () => void {
  process.on(signal, handler);
  return () => {
    process.off(signal, handler);
  };
}

/**
 * The current working directory.
 *
 * @returns An absolute path.
 * @example
 * ```ts
 * import { cwd } from "./runtime.ts";
 * console.log(cwd());
 * ```
 */
export function cwd(): string {
  return process.cwd();
}

/**
 * Whether a process with this id is alive on this machine.
 *
 * @param pid Process id.
 * @returns `false` when no such process exists.
 * @example
 * ```ts
 * import { processAlive } from "./runtime.ts";
 * import process from "node:process";
 * console.log(processAlive(process.pid)); // true
 * ```
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === "EPERM";
  }
}

/**
 * One turn of the event loop, I/O included, for long synchronous work to let
 * a connection or a signal handler make progress. `setImmediate`, not
 * `setTimeout(0)`, which waits a millisecond or more on Bun and Deno.
 *
 * @returns A promise resolved on the next turn.
 * @example
 * ```ts
 * import { nextTurn } from "./runtime.ts";
 * await nextTurn();
 * ```
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Bun's JIT policy switch, where there is one. */
function setJitPolicy(scale: number): void {
  const bun = (globalThis as { Bun?: { unsafe?: { setJITPolicy?: (scale: number) => void } } })
    .Bun;
  bun?.unsafe?.setJITPolicy?.(scale);
}

/** The JIT policy between bursts of long work; `null`: the runtime's own, left alone. */
let idleJitPolicy: number | null = null;

/**
 * Holds JavaScriptCore's optimising JITs back (Bun only): the compiled
 * binary's entry point calls it with the policy it was built with, so that
 * {@link longWork} returns to it. Short runs that mostly wait on PostgreSQL
 * are faster and smaller without the JITs.
 *
 * @param scale Tier-up thresholds' scale (`Bun.unsafe.setJITPolicy`), at least 1.
 * @example
 * ```ts
 * import { holdBackJit } from "./runtime.ts";
 * holdBackJit(1);
 * ```
 */
export function holdBackJit(scale: number): void {
  idleJitPolicy = scale;
  setJitPolicy(scale);
}

/**
 * Starts long CPU-bound work, such as parsing or linting much SQL: after
 * {@link holdBackJit}, the JITs work again until the returned function is
 * called (in a `finally`). Does nothing otherwise.
 *
 * @returns Ends the long work.
 * @example
 * ```ts
 * import { longWork } from "./runtime.ts";
 * const end = longWork();
 * try {
 *   // ... tokenize megabytes of SQL ...
 * } finally {
 *   end();
 * }
 * ```
 */
export function longWork(): () => void {
  const idle = idleJitPolicy;
  if (idle === null) return () => {};
  setJitPolicy(1);
  return () => setJitPolicy(idle);
}

/**
 * Asks the runtime to collect garbage soon, without waiting for it (Bun's
 * `Bun.gc(false)`; nothing elsewhere). A long run calls it now and then so
 * that its peak memory does not grow with the number of migrations.
 *
 * @example
 * ```ts
 * import { collectGarbageSoon } from "./runtime.ts";
 * collectGarbageSoon();
 * ```
 */
export function collectGarbageSoon(): void {
  (globalThis as { Bun?: { gc?: (force: boolean) => void } }).Bun?.gc?.(false);
}

/**
 * This process's id.
 *
 * @returns The pid.
 * @example
 * ```ts
 * import { pid } from "./runtime.ts";
 * console.log(pid());
 * ```
 */
export function pid(): number {
  return process.pid;
}

/**
 * Asks a question on the terminal and reads one line of answer from stdin.
 *
 * @param question Text shown before the cursor.
 * @returns The answer without its line break (`""` at end of input).
 * @example
 * ```ts
 * import { ask } from "./runtime.ts";
 * async function confirm(): Promise<boolean> {
 *   return /^y(es)?$/i.test(await ask("Continue? [y/N] "));
 * }
 * ```
 */
export async function ask(question: string): Promise<string> {
  const { createInterface } = await import("node:readline");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await new Promise<string>((resolve) => {
      rl.question(question, resolve);
      rl.once("close", () => resolve(""));
    });
  } finally {
    rl.close();
  }
}
