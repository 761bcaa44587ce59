/**
 * An exclusive lock file, for the embedded database: PGlite keeps its data
 * in a folder that only one process may open at a time, so opening it takes
 * this lock first and a second process waits, as it would wait for the
 * advisory lock on a server.
 *
 * @module
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { interruptedError, RuntimeError } from "./errors.ts";
import { pid, processAlive } from "./runtime.ts";
import { sleep } from "./sleep.ts";

/** Options of {@link acquireFileLock}. */
export interface FileLockOptions {
  /** Seconds to wait for another holder; `Infinity` waits for ever. */
  waitSeconds?: number;
  /** Milliseconds between attempts. */
  pollMs?: number;
  /** Called once, when the lock is busy, with the holder's pid. */
  onWait?: (holderPid: number | null) => void;
  /** Aborted: the wait ends at once with `INTERRUPTED`. */
  signal?: AbortSignal;
}

/**
 * Takes an exclusive lock file, waiting while a live process holds it. A
 * lock left by a dead process is taken over.
 *
 * @param path The lock file.
 * @param options Wait limit and callback.
 * @returns A function that releases the lock.
 * @throws {RuntimeError} `LOCK_TIMEOUT` when the wait limit passes;
 *   `INTERRUPTED` when the signal aborts the wait.
 * @example
 * ```ts
 * import { acquireFileLock } from "./file_lock.ts";
 * import { mkdtempSync } from "node:fs";
 * import { join } from "node:path";
 * import { tmpdir } from "node:os";
 * const release = await acquireFileLock(join(mkdtempSync(join(tmpdir(), "lock-")), "db.lock"));
 * release();
 * ```
 */
export async function acquireFileLock(
  path: string,
  options: FileLockOptions = {},
): Promise<() => void> {
  const waitMs = (options.waitSeconds ?? Infinity) * 1000;
  const pollMs = options.pollMs ?? 100;
  const started = Date.now();
  let told = false;
  for (;;) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, `${pid()}\n`);
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as { code?: string }).code !== "EEXIST") {
        throw new RuntimeError(
          "LOCK_TIMEOUT",
          `cannot create the lock file ${path}: ${(error as Error).message}`,
        );
      }
    }
    const holder = readHolder(path);
    if (holder !== null && !processAlive(holder)) {
      rmSync(path, { force: true });
      continue;
    }
    if (!told) {
      told = true;
      options.onWait?.(holder);
    }
    if (Date.now() - started >= waitMs) {
      throw new RuntimeError(
        "LOCK_TIMEOUT",
        `gave up after ${waitMs / 1000}s waiting for process ${
          holder ?? "unknown"
        } to release ${path}`,
      );
    }
    const signal = options.signal;
    await sleep(pollMs, signal);
    if (signal?.aborted) {
      throw interruptedError(
        signal,
        `while waiting for process ${holder ?? "unknown"} to release ${path}`,
      );
    }
  }
}

function readHolder(path: string): number | null {
  try {
    const value = Number.parseInt(readFileSync(path, "utf8"), 10);
    return Number.isSafeInteger(value) && value > 0 ? value : null;
  } catch {
    return null;
  }
}
