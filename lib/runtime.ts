/**
 * The few things that differ between Deno, Bun and Node, behind one small
 * surface: `node:` modules, which all three runtimes provide, and the
 * runtimes' own faster APIs where they have them (sockets, SHA-256, files),
 * so the rest of data-bridge never touches `Deno.*` or `Bun.*`.
 *
 * No `node:` module is imported here, and none is loaded on Deno for what a
 * deploy does (start, read the files, connect, report): the first `node:`
 * module a Deno run loads, or its first look at `globalThis.process`, starts
 * Deno's whole Node layer, ~25 ms of every `deno run` (`node:fs`: 43 against
 * 18 ms for a script that prints a line; `cli.ts --version` 77 -> 42 ms).
 * There the process, its streams, signals and files are `Deno.*`'s, and
 * SHA-256 is lib/sha256.ts. Bun and Node get their built-in modules from
 * `process.getBuiltinModule` (Node 20.16 and 22.3 on: the package's
 * `engines`), when first used (`node:tty` and `node:crypto`
 * cost Bun ~1.2 and ~1.5 ms to load: never on a deploy's path). Loading this
 * module loads none of them.
 *
 * @module
 */
import { DEFAULTS, LONG_WORK_JIT_POLICY } from "./config.ts";
import { sha256 } from "./sha256.ts";

/** What data-bridge uses of Deno's namespace, where it runs on Deno. */
interface DenoApi {
  args: string[];
  pid: number;
  build: { os: string };
  env: { get(name: string): string | undefined };
  exit(code: number): never;
  cwd(): string;
  stdin: { isTerminal(): boolean };
  stdout: { writeSync(bytes: Uint8Array): number; isTerminal(): boolean };
  stderr: { writeSync(bytes: Uint8Array): number; isTerminal(): boolean };
  addSignalListener(signal: string, handler: () => void): void;
  removeSignalListener(signal: string, handler: () => void): void;
  readTextFileSync(path: string): string;
  statSync(path: string): { isDirectory: boolean };
  readDirSync(path: string): Iterable<{ name: string; isFile: boolean }>;
}

/** Deno's namespace, or `null` on Bun and Node. */
const DENO = (globalThis as { Deno?: DenoApi }).Deno ?? null;

/** Node's `process` (Bun's and Node's global); on Deno it would start the Node layer. */
function nodeProcess(): NodeProcess {
  return (globalThis as unknown as { process: NodeProcess }).process;
}

/** What data-bridge uses of Node's `process`. */
interface NodeProcess {
  env: Record<string, string | undefined>;
  argv: string[];
  platform: string;
  pid: number;
  exit(code: number): never;
  cwd(): string;
  on(signal: string, handler: () => void): void;
  off(signal: string, handler: () => void): void;
  kill(pid: number, signal: number): void;
  getBuiltinModule(id: string): unknown;
  stdin: unknown;
  stderr: unknown;
}

/**
 * `node:fs`, loaded when first asked for: on Deno only off a deploy's path
 * (see the module's documentation). Named, not through {@link builtin}: the
 * URL bundle's types are inferred from its JavaScript, where a literal name
 * gives `getBuiltinModule` the module's type and a variable one `any`.
 *
 * @returns The module.
 * @example
 * ```ts
 * import { nodeFs } from "./runtime.ts";
 * console.log(typeof nodeFs().readFileSync); // "function"
 * ```
 */
export function nodeFs(): typeof import("node:fs") {
  return nodeProcess().getBuiltinModule("node:fs") as typeof import("node:fs");
}

/** `node:path`, named for the same reason as {@link nodeFs}. */
function nodePath(): typeof import("node:path") {
  return nodeProcess().getBuiltinModule("node:path") as typeof import("node:path");
}

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
  const value = DENO ? DENO.env.get(name) : nodeProcess().env[name];
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
  if (DENO) return [...DENO.args];
  return nodeProcess().argv.slice(2);
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

function writeAll(fd: 1 | 2, text: string): void {
  const bytes = encoder.encode(text);
  const stream = DENO ? (fd === 1 ? DENO.stdout : DENO.stderr) : null;
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += stream
        ? stream.writeSync(bytes.subarray(offset))
        : (NODE_WRITE ??= nodeFs().writeSync)(fd, bytes, offset);
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
  if (DENO) return DENO[stream].isTerminal();
  const fd = stream === "stdin" ? 0 : stream === "stdout" ? 1 : 2;
  // A pipe, a file or /dev/null (every deploy's output) is never a terminal:
  // fstat says so without loading node:tty, which costs Bun ~1.2 ms. isatty, not
  // process.stdout.isTTY: making the stream object costs Bun ~20 ms.
  try {
    const stat = nodeFs().fstatSync(fd);
    if (!stat.isCharacterDevice()) return false;
    // On Linux, terminals are the character devices of majors 4, 5 and
    // 136-143 (pseudo-terminals); /dev/null (major 1) is not one.
    if (nodeProcess().platform === "linux") {
      const major = (Number(stat.rdev) >> 8) & 0xfff;
      if (major !== 4 && major !== 5 && (major < 136 || major > 143)) return false;
    }
  } catch {
    return false;
  }
  return builtin<typeof import("node:tty")>("node:tty").isatty(fd);
}

/**
 * A built-in module, loaded synchronously the first time it is asked for
 * (`process.getBuiltinModule`), so that start-up does not pay for modules a
 * run does not use.
 *
 * @param name E.g. `node:crypto`.
 * @returns The module.
 * @example
 * ```ts
 * import { builtin } from "./runtime.ts";
 * const os = builtin<typeof import("node:os")>("node:os");
 * console.log(typeof os.hostname()); // "string"
 * ```
 */
export function builtin<T>(name: string): T {
  return nodeProcess().getBuiltinModule(name) as T;
}

type Sha256Input = string | Uint8Array;

/**
 * SHA-256 as lowercase hex: `Bun.SHA256` on Bun (node:crypto costs its
 * start-up ~1.5 ms to load), lib/sha256.ts on Deno (see the module's
 * documentation), `node:crypto` on Node. Strings are hashed as UTF-8.
 *
 * @param data Text or bytes.
 * @returns 64 hex characters.
 * @example
 * ```ts
 * import { sha256Hex } from "./runtime.ts";
 * console.log(sha256Hex("abc").slice(0, 8)); // "ba7816bf"
 * ```
 */
export function sha256Hex(data: Sha256Input): string {
  if (BUN_SHA256) return BUN_SHA256.hash(data, "hex");
  if (DENO) return sha256(data);
  const { createHash } = builtin<typeof import("node:crypto")>("node:crypto");
  return createHash("sha256").update(data).digest("hex");
}

/** Bun's native SHA-256, looked up once (this runs for every file). */
const BUN_SHA256 = (globalThis as {
  Bun?: {
    SHA256?: {
      hash(data: Sha256Input, encoding: "hex"): string;
      hash(data: Sha256Input): Uint8Array;
    };
  };
}).Bun?.SHA256;

/**
 * SHA-256 as bytes at once, where the runtime has it without a promise
 * (`Bun.SHA256`), else `null` (see {@link hmacSha256Now}).
 *
 * @param data Text (as UTF-8) or bytes.
 * @returns The 32-byte digest, or `null`.
 * @example
 * ```ts
 * import { sha256Now } from "./runtime.ts";
 * const digest = sha256Now("abc");
 * console.log(digest === null || digest[0] === 0xba); // true
 * ```
 */
export function sha256Now(data: Sha256Input): Uint8Array | null {
  return BUN_SHA256 ? new Uint8Array(BUN_SHA256.hash(data)) : null;
}

/**
 * HMAC-SHA-256 at once, where the runtime has it without a promise
 * (`Bun.CryptoHasher` with a key): SCRAM's four HMACs cost ~20 µs so
 * instead of ~0.4 ms of Web Crypto calls, each waiting for a turn of the
 * event loop while the files are read. Elsewhere `null`: the caller uses
 * Web Crypto (node:crypto would cost Bun its ~1.5 ms load).
 *
 * @param key The key.
 * @param data The message, hashed as UTF-8 when text.
 * @returns The 32-byte MAC, or `null` when there is no synchronous HMAC here.
 * @example
 * ```ts
 * import { hmacSha256Now } from "./runtime.ts";
 * const mac = hmacSha256Now(new Uint8Array(32), "Client Key");
 * console.log(mac === null || mac.length === 32); // true
 * ```
 */
export function hmacSha256Now(key: Uint8Array, data: string | Uint8Array): Uint8Array | null {
  if (!BUN_HASHER) return null;
  const hasher = new BUN_HASHER("sha256", key);
  hasher.update(data);
  return hasher.digest();
}

/** Bun's native hasher class, which takes an HMAC key. */
const BUN_HASHER = (globalThis as {
  Bun?: {
    CryptoHasher?: new (algorithm: string, key: Uint8Array) => {
      update(data: string | Uint8Array): void;
      digest(): Uint8Array;
    };
  };
}).Bun?.CryptoHasher;

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
  return DENO ? DENO.exit(code) : nodeProcess().exit(code);
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
  if (DENO) {
    try {
      DENO.addSignalListener(signal, handler);
    } catch {
      // Windows has no SIGTERM to listen for.
      return () => {};
    }
    return () => DENO.removeSignalListener(signal, handler);
  }
  const process = nodeProcess();
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
  return DENO ? DENO.cwd() : nodeProcess().cwd();
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
    nodeProcess().kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === "EPERM";
  }
}

/**
 * One turn of the event loop, I/O included, for long synchronous work to let
 * a connection or a signal handler make progress. `setImmediate`, not
 * `setTimeout(0)`, which waits a millisecond or more on Bun and Deno; except
 * on Deno, whose `setImmediate` (its Node layer's) runs before the runtime
 * polls for I/O: a socket opened beside 30 ms of work that turned the loop
 * every 0.3 ms so opened 23-27 ms in, after the work. There the turn waits
 * for an operation the runtime completes off the main thread, a SHA-256 of
 * nothing (no permission needed), which has it poll first: opened 1.6-3.2 ms
 * in (a no-op `deno run cli.ts apply` of 1000 files 108 -> 96 ms, the
 * connection made while the files are read). Mostly: Deno's scheduler polls
 * sockets when it has nothing ready, or every 61 tasks, so with the second
 * CPU busy an odd run's socket waits that long (in 20 runs beside two busy
 * loops: a median of 1-2 turns of 1 ms of work, the slowest 3 to 164; no
 * other operation, a file's `stat` among them, did better, and a timer costs
 * 2.3 ms a turn).
 *
 * @returns A promise resolved on the next turn.
 * @example
 * ```ts
 * import { nextTurn } from "./runtime.ts";
 * await nextTurn();
 * ```
 */
export function nextTurn(): Promise<void> {
  if (DENO) return crypto.subtle.digest("SHA-256", NOTHING).then(ignore);
  return new Promise((resolve) => setImmediate(resolve));
}

const NOTHING = new Uint8Array(0);
const ignore = () => {};

/**
 * Starts the runtime's crypto worker threads now (Bun only: they start with
 * its first Web Crypto operation), so that a SCRAM key derived later does
 * not wait for them. A connection with a password calls it when it opens its
 * socket: the threads start while the server starts its session, not when
 * the server's salt arrives (a no-op `status` of 1000 files 0.2-0.4 ms
 * sooner, 600 paired runs). Deno's turns of the event loop start its workers already.
 *
 * @example
 * ```ts
 * import { warmCrypto } from "./runtime.ts";
 * warmCrypto();
 * ```
 */
export function warmCrypto(): void {
  if (!DENO) globalThis.crypto?.subtle?.digest("SHA-256", NOTHING).then(ignore, ignore);
}

/**
 * A file's text as UTF-8, read in one call, as `readFileSync(path, "utf8")`
 * reads it (a byte-order mark kept, bytes that are not UTF-8 each replaced by
 * U+FFFD): `Deno.readTextFileSync` on Deno, where node:fs took 13-48 ms for
 * 1000 small files against 8 ms; node:fs elsewhere.
 *
 * @param path The file.
 * @returns Its text.
 * @throws {Error} The runtime's error when the file cannot be read.
 * @example
 * ```ts
 * import { readTextFileSync } from "./runtime.ts";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * const file = join(mkdtempSync(join(tmpdir(), "rt-")), "a.sql");
 * writeFileSync(file, "-- UP\n");
 * console.log(readTextFileSync(file)); // "-- UP\n"
 * ```
 */
export function readTextFileSync(path: string): string {
  if (DENO) {
    try {
      return DENO.readTextFileSync(path);
    } catch {
      // Failures are node:fs's below, with its codes and messages on every runtime.
    }
  }
  return (NODE_READ_FILE ??= nodeFs().readFileSync)(path, "utf8");
}

/** node:fs's `readFileSync` on Bun and Node, looked up once, when first used (this runs for every file). */
let NODE_READ_FILE: typeof import("node:fs").readFileSync | null = null;
/** node:fs's `writeSync` on Bun and Node, looked up once, when first used (a run writes a line a migration). */
let NODE_WRITE: typeof import("node:fs").writeSync | null = null;

/**
 * Whether the path names something that exists, as `existsSync` says (a
 * link to nothing does not).
 *
 * @param path The path.
 * @returns `true` when it exists.
 * @example
 * ```ts
 * import { fileExists } from "./runtime.ts";
 * console.log(fileExists("/")); // true
 * ```
 */
export function fileExists(path: string): boolean {
  if (!DENO) return nodeFs().existsSync(path);
  try {
    DENO.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the path names a directory (a link to one counts).
 *
 * @param path The path.
 * @returns `true` for a directory.
 * @throws {Error} node:fs's error (its `code`: `ENOENT`, `EACCES`, ...) when
 *   the path cannot be looked at.
 * @example
 * ```ts
 * import { isDirectory } from "./runtime.ts";
 * console.log(isDirectory("/")); // true
 * ```
 */
export function isDirectory(path: string): boolean {
  if (DENO) {
    try {
      return DENO.statSync(path).isDirectory;
    } catch {
      // node:fs's error below.
    }
  }
  return nodeFs().statSync(path).isDirectory();
}

/** One entry of {@link readDirectory}. */
export interface DirectoryEntry {
  /** The entry's name. */
  readonly name: string;
  /** Whether it is a regular file (a link, directory, FIFO, socket or device is not). */
  isFile(): boolean;
}

/**
 * The entries of a directory, each with its type as the listing gives it
 * (no `stat` of each).
 *
 * @param dir The directory.
 * @returns Its entries, in the order the directory lists them.
 * @throws {Error} node:fs's error (its `code`) when it cannot be listed.
 * @example
 * ```ts
 * import { readDirectory } from "./runtime.ts";
 * console.log(Array.isArray(readDirectory("/"))); // true
 * ```
 */
export function readDirectory(dir: string): DirectoryEntry[] {
  if (DENO) {
    try {
      const entries: DirectoryEntry[] = [];
      for (const entry of DENO.readDirSync(dir)) {
        const file = entry.isFile;
        entries.push({ name: entry.name, isFile: () => file });
      }
      return entries;
    } catch {
      // node:fs's error below.
    }
  }
  return nodeFs().readdirSync(dir, { withFileTypes: true });
}

/**
 * Paths joined and normalized as `node:path`'s `join` does them: `.` and
 * `..` segments resolved, separators collapsed, `.` for nothing. On
 * Windows, `node:path` itself (its separators and drives).
 *
 * @param parts Path segments.
 * @returns The joined path.
 * @example
 * ```ts
 * import { joinPath } from "./runtime.ts";
 * console.log(joinPath("./migrations/", "a.sql")); // "migrations/a.sql"
 * ```
 */
export function joinPath(...parts: string[]): string {
  if (WINDOWS) return nodePath().join(...parts);
  const joined = parts.filter((part) => part !== "").join("/");
  if (joined === "") return ".";
  const absolute = joined.charCodeAt(0) === 47;
  const out: string[] = [];
  for (const segment of joined.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (out.length && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
      continue;
    }
    out.push(segment);
  }
  const trailing = joined.charCodeAt(joined.length - 1) === 47;
  const path = out.join("/");
  if (path === "") return absolute ? "/" : trailing ? "./" : ".";
  return `${absolute ? "/" : ""}${path}${trailing ? "/" : ""}`;
}

/**
 * The last segment of a path, as `node:path`'s `basename` gives it
 * (trailing separators ignored). On Windows, `node:path` itself.
 *
 * @param path A path.
 * @returns Its last segment.
 * @example
 * ```ts
 * import { baseName } from "./runtime.ts";
 * console.log(baseName("migrations/20250101_000000_a.sql")); // "20250101_000000_a.sql"
 * ```
 */
export function baseName(path: string): string {
  if (WINDOWS) return nodePath().basename(path);
  let end = path.length;
  while (end > 1 && path.charCodeAt(end - 1) === 47) end--;
  const trimmed = path.slice(0, end);
  if (trimmed === "/") return "";
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

const WINDOWS = DENO ? DENO.build.os === "windows" : nodeProcess().platform === "win32";

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

/** Work measured as it goes by {@link longWork}. */
export interface LongWork {
  /** Counts `chars` more characters of work (a file counts its text and a fixed share). */
  add(chars: number): void;
  /** Ends the work: the JITs are held back again (call it in a `finally`). */
  end(): void;
}

/**
 * Measures CPU-bound work such as parsing or linting much SQL. After
 * {@link holdBackJit}, the JITs work again once more than `longWorkChars`
 * characters have been counted, with tier-up thresholds scaled by
 * `LONG_WORK_JIT_POLICY`, and with JavaScriptCore's own past
 * `fullJitChars`, where compiling more sooner pays; {@link LongWork.end}
 * holds them back again. Without `holdBackJit` it only counts.
 *
 * @returns The work's meter.
 * @example
 * ```ts
 * import { longWork } from "./runtime.ts";
 * const work = longWork();
 * try {
 *   for (const text of ["SELECT 1;", "SELECT 2;"]) {
 *     work.add(text.length);
 *     // ... tokenize the text ...
 *   }
 * } finally {
 *   work.end();
 * }
 * ```
 */
export function longWork(): LongWork {
  let chars = 0;
  let policy: number | null = null;
  return {
    add(more: number): void {
      chars += more;
      if (idleJitPolicy === null || chars <= DEFAULTS.longWorkChars) return;
      const wanted = chars > DEFAULTS.fullJitChars ? 1 : LONG_WORK_JIT_POLICY;
      if (wanted !== policy) setJitPolicy(policy = wanted);
    },
    end(): void {
      if (policy !== null && idleJitPolicy !== null) setJitPolicy(idleJitPolicy);
      policy = null;
    },
  };
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
  return DENO ? DENO.pid : nodeProcess().pid;
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
  const process = nodeProcess();
  const rl = createInterface({
    input: process.stdin as NodeJS.ReadableStream,
    output: process.stderr as NodeJS.WritableStream,
  });
  try {
    return await new Promise<string>((resolve) => {
      rl.question(question, resolve);
      rl.once("close", () => resolve(""));
    });
  } finally {
    rl.close();
  }
}

/** Where a socket connects: a TCP host and port, or a Unix-domain socket. */
export type SocketAddress = { host: string; port: number } | { path: string };

/** What a socket tells its owner. */
export interface SocketEvents {
  /**
   * Bytes arrived. The chunk is only valid during the call.
   *
   * @param chunk The bytes.
   */
  data(chunk: Uint8Array): void;
  /**
   * The connection ended: closed by the peer, or failed with `error`.
   *
   * @param error Why, when it failed.
   */
  closed(error?: Error): void;
}

/** A connected byte stream. */
export interface ByteSocket {
  /**
   * Queues bytes for sending, in order; never blocks.
   *
   * @param bytes What to send (not modified afterwards by the caller).
   */
  write(bytes: Uint8Array): void;
  /** Sends what is queued, then closes. */
  close(): void;
  /**
   * Starts TLS on the connection (after the peer agreed to it): from then
   * on bytes are written and received encrypted, through the same events.
   * Only where {@link canStartTls} says so.
   *
   * @param options The server's name and what its certificate is checked against.
   * @throws {Error} The handshake's or the certificate's error (its `code`
   *   as Node's TLS stack names it, e.g. `UNABLE_TO_VERIFY_LEAF_SIGNATURE`).
   */
  startTls?(options: TlsOptions): Promise<void>;
}

/** How {@link ByteSocket.startTls} checks the server. */
export interface TlsOptions {
  /** The host connected to: sent as SNI, and checked with `verify: "full"`. */
  serverName: string;
  /** PEM root certificates, or `undefined` for the runtime's own. */
  ca: string | undefined;
  /** `none`: encryption only; `ca`: the chain; `full`: the chain and the host name. */
  verify: "none" | "ca" | "full";
  /** The client's PEM certificate and key (and the key's passphrase), for certificate authentication. */
  client?: { cert: string; key: string; passphrase?: string };
}

/**
 * Whether sockets of {@link openSocket} can start TLS themselves with this
 * verification: on Bun (`upgradeTLS`) with any; on Deno (`Deno.startTls`)
 * only with the chain and the host name checked, which it always does, and
 * without a client certificate. Elsewhere TLS connections go through
 * postgres.js.
 *
 * @param verify What the server's certificate is to be checked against.
 * @param clientCertificate Whether the client authenticates with a certificate.
 * @returns `true` when {@link ByteSocket.startTls} can do it here.
 * @example
 * ```ts
 * import { canStartTls } from "./runtime.ts";
 * console.log(typeof canStartTls("full")); // "boolean"
 * ```
 */
export function canStartTls(verify: TlsOptions["verify"], clientCertificate = false): boolean {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  if (g.Bun !== undefined) return true;
  // Deno.startTls takes no client certificate.
  return g.Deno !== undefined && verify === "full" && !clientCertificate;
}

/**
 * Opens a TCP or Unix-domain socket with the runtime's own sockets
 * (`Bun.connect`, `Deno.connect`, else `node:net`). A failure to connect
 * rejects with an error whose `code` is the system's (`ECONNREFUSED`,
 * `ENOTFOUND`, `ENOENT`, ...).
 *
 * @param address Where to connect.
 * @param events Called with incoming bytes and at the end.
 * @returns The socket, once connected.
 * @throws {Error} When the connection cannot be made.
 * @example
 * ```ts
 * import { openSocket } from "./runtime.ts";
 * async function ping(port: number): Promise<void> {
 *   const socket = await openSocket({ host: "127.0.0.1", port }, {
 *     data: (chunk) => console.log(chunk.length),
 *     closed: () => console.log("closed"),
 *   });
 *   socket.write(new Uint8Array([0, 0, 0, 8, 4, 210, 22, 47])); // SSLRequest
 *   socket.close();
 * }
 * ```
 */
export function openSocket(address: SocketAddress, events: SocketEvents): Promise<ByteSocket> {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  if (g.Bun) return bunSocket(address, events);
  if (g.Deno) return denoSocket(address, events);
  return nodeSocket(address, events);
}

interface BunSocketHandle {
  write(data: Uint8Array): number;
  end(): void;
  setNoDelay?(on: boolean): void;
  upgradeTLS?(options: Record<string, unknown>): [BunSocketHandle, BunSocketHandle];
}

async function bunSocket(address: SocketAddress, events: SocketEvents): Promise<ByteSocket> {
  const bun = (globalThis as unknown as {
    Bun: { connect(options: Record<string, unknown>): Promise<BunSocketHandle> };
  }).Bun;
  const queue: Uint8Array[] = [];
  let handle: BunSocketHandle | null = null;
  let ended = false;
  let closing = false;
  const finish = (error?: Error) => {
    if (ended) return;
    ended = true;
    events.closed(error);
  };
  const flush = () => {
    while (handle && queue.length) {
      const bytes = queue[0];
      const n = handle.write(bytes);
      if (n < bytes.length) {
        queue[0] = bytes.subarray(Math.max(n, 0));
        return;
      }
      queue.shift();
    }
    if (closing && handle && queue.length === 0) handle.end();
  };
  // Once TLS starts, what arrives on the plain socket is the encrypted
  // stream, which the TLS socket reads: only the TLS socket's data counts.
  let secure = false;
  handle = await bun.connect({
    ...("path" in address
      ? { unix: address.path }
      : { hostname: address.host, port: address.port }),
    socket: {
      data: (_s: unknown, chunk: Uint8Array) => {
        if (!secure) events.data(chunk);
      },
      drain: () => flush(),
      close: () => finish(),
      end: () => finish(),
      error: (_s: unknown, error: Error) => finish(error),
    },
  });
  const startTls = (options: TlsOptions) =>
    new Promise<void>((resolve, reject) => {
      const plain = handle!;
      if (!plain.upgradeTLS) return reject(new Error("this Bun cannot start TLS on a socket"));
      secure = true;
      let settled = false;
      const [, tls] = plain.upgradeTLS({
        data: undefined,
        // Checked below, from the handshake's error: `rejectUnauthorized`
        // cannot tell a wrong host name (allowed by verify-ca) from a wrong CA.
        tls: {
          ca: options.ca,
          serverName: options.serverName,
          rejectUnauthorized: false,
          ...(options.client ?? {}),
        },
        socket: {
          data: (_s: unknown, chunk: Uint8Array) => events.data(chunk),
          drain: () => flush(),
          close: () =>
            settled ? finish() : fail(new Error("TLS handshake failed: connection closed")),
          end: () =>
            settled ? finish() : fail(new Error("TLS handshake failed: connection closed")),
          error: (_s: unknown, error: Error) => settled ? finish(error) : fail(error),
          handshake: (_s: unknown, _ok: boolean, error: (Error & { code?: string }) | null) => {
            const problem = certificateProblem(options.verify, error);
            if (problem) return fail(problem);
            settled = true;
            resolve();
          },
        },
      });
      handle = tls;
      function fail(error: Error) {
        if (settled) return;
        settled = true;
        ended = true; // the caller reports this error, not a close
        tls.end();
        reject(error);
      }
    });
  return {
    write(bytes) {
      if (queue.length) queue.push(bytes);
      else {
        const n = handle!.write(bytes);
        if (n < bytes.length) queue.push(bytes.subarray(Math.max(n, 0)));
      }
    },
    close() {
      closing = true;
      flush();
    },
    startTls,
  };
}

/** The handshake's error that the verification asked for refuses, if any. */
function certificateProblem(
  verify: TlsOptions["verify"],
  error: (Error & { code?: string }) | null | undefined,
): Error | null {
  if (!error || verify === "none") return null;
  if (verify === "ca" && error.code === "ERR_TLS_CERT_ALTNAME_INVALID") return null;
  return error;
}

interface DenoConn {
  read(buffer: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
  setNoDelay?(on: boolean): void;
  handshake?(): Promise<unknown>;
}

async function denoSocket(address: SocketAddress, events: SocketEvents): Promise<ByteSocket> {
  const deno = (globalThis as unknown as {
    Deno: {
      connect(options: Record<string, unknown>): Promise<DenoConn>;
      startTls(conn: DenoConn, options: Record<string, unknown>): Promise<DenoConn>;
    };
  }).Deno;
  let conn: DenoConn;
  try {
    conn = await deno.connect(
      "path" in address
        ? { transport: "unix", path: address.path }
        : { hostname: address.host, port: address.port },
    );
  } catch (error) {
    throw withSystemCode(error);
  }
  conn.setNoDelay?.(true);
  let ended = false;
  let closing = false;
  // Set while TLS starts: the read loop hands the connection over.
  let upgrading = false;
  const finish = (error?: Error) => {
    if (ended) return;
    ended = true;
    try {
      conn.close();
    } catch {
      // already closed
    }
    events.closed(error);
  };
  const readLoop = async () => {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) break;
        events.data(buffer.subarray(0, n));
        // startTls, called from that data, takes the connection over.
        if (upgrading) return;
      }
      finish();
    } catch (error) {
      finish(closing ? undefined : withSystemCode(error));
    }
  };
  readLoop();
  let writing: Promise<void> = Promise.resolve();
  return {
    write(bytes) {
      writing = writing.then(async () => {
        let offset = 0;
        while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
      }).catch((error) => finish(withSystemCode(error)));
    },
    close() {
      closing = true;
      writing.then(() => finish());
    },
    async startTls(options) {
      // Deno checks the chain and the host name, and cannot be told not to.
      if (options.verify !== "full") throw new Error("Deno's TLS always verifies the host name");
      upgrading = true;
      await writing;
      try {
        const secure = await deno.startTls(conn, {
          hostname: options.serverName,
          ...(options.ca === undefined ? {} : { caCerts: [options.ca] }),
        });
        conn = secure;
        await secure.handshake?.();
      } catch (error) {
        ended = true; // the caller reports this error, not a close
        try {
          conn.close();
        } catch {
          // already closed
        }
        throw denoTlsError(error);
      }
      upgrading = false;
      readLoop();
    },
  };
}

/** Deno's certificate errors with the codes Node's TLS stack gives them (messages kept). */
function denoTlsError(error: unknown): Error {
  const e = error as Error & { code?: string };
  const message = String(e?.message ?? e);
  if (/invalid peer certificate/i.test(message)) {
    e.code = /not valid for name/i.test(message)
      ? "ERR_TLS_CERT_ALTNAME_INVALID"
      : /expired/i.test(message)
      ? "CERT_HAS_EXPIRED"
      : /notvalidyet|not yet valid/i.test(message)
      ? "CERT_NOT_YET_VALID"
      : "UNABLE_TO_VERIFY_LEAF_SIGNATURE";
  }
  return e;
}

async function nodeSocket(address: SocketAddress, events: SocketEvents): Promise<ByteSocket> {
  const net = await import("node:net");
  return await new Promise((resolve, reject) => {
    const socket = net.createConnection(
      "path" in address ? { path: address.path } : { host: address.host, port: address.port },
    );
    let connected = false;
    socket.setNoDelay(true);
    socket.once("connect", () => {
      connected = true;
      resolve({ write: (bytes) => socket.write(bytes), close: () => socket.end() });
    });
    socket.on("data", (chunk: Uint8Array) => events.data(chunk));
    socket.on("error", (error) => {
      if (!connected) reject(error);
      else events.closed(error);
    });
    socket.on("close", () => {
      if (connected) events.closed();
    });
  });
}

/** Deno's connection errors with the system code Bun and Node give. */
function withSystemCode(error: unknown): Error {
  const e = error instanceof Error ? error : new Error(String(error));
  const coded = e as Error & { code?: string };
  if (coded.code) return e;
  const byName: Record<string, string> = {
    ConnectionRefused: "ECONNREFUSED",
    ConnectionReset: "ECONNRESET",
    ConnectionAborted: "ECONNRESET",
    BrokenPipe: "EPIPE",
    TimedOut: "ETIMEDOUT",
    NotFound: "ENOENT",
    PermissionDenied: "EACCES",
    AddrNotAvailable: "EADDRNOTAVAIL",
  };
  coded.code = byName[e.name] ??
    (/lookup address|Name or service not known|nodename nor servname/i.test(e.message)
      ? "ENOTFOUND"
      : /unreachable/i.test(e.message)
      ? "EHOSTUNREACH"
      : undefined);
  return e;
}
