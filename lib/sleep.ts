/**
 * Waiting that a signal cuts short: the pauses between attempts (a busy
 * lock, a server coming up, a retried migration) end at once on SIGINT or
 * SIGTERM instead of at their next turn.
 *
 * @module
 */

/**
 * Waits `ms` milliseconds, or until `signal` aborts, whichever comes first.
 *
 * @param ms How long.
 * @param signal Ends the wait early when it aborts (at once when it already has).
 * @returns Resolves either way; the caller looks at `signal.aborted`.
 * @example
 * ```ts
 * import { sleep } from "./sleep.ts";
 * const controller = new AbortController();
 * setTimeout(() => controller.abort(), 10);
 * await sleep(60_000, controller.signal); // returns after ~10 ms
 * console.log(controller.signal.aborted); // true
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
