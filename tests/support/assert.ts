/**
 * Assertions for tests, on `node:assert` (JSR's `@std/assert` cannot be
 * fetched here).
 */
import assert from "node:assert/strict";

export const assertEquals: <T>(actual: T, expected: T, message?: string) => void = (
  actual,
  expected,
  message,
) => assert.deepStrictEqual(actual, expected, message);

export function assert_(condition: unknown, message?: string): asserts condition {
  assert.ok(condition, message);
}

export function assertMatch(actual: string, re: RegExp, message?: string): void {
  assert.match(actual, re, message);
}

export function assertNotMatch(actual: string, re: RegExp, message?: string): void {
  assert.doesNotMatch(actual, re, message);
}

/** Awaits a promise that must reject; returns the error for more checks. */
export async function assertRejects<E = Error>(
  fn: () => Promise<unknown>,
  check?: (error: E) => void,
): Promise<E> {
  try {
    await fn();
  } catch (error) {
    check?.(error as E);
    return error as E;
  }
  throw new assert.AssertionError({ message: "expected the promise to reject" });
}

/** Calls a function that must throw; returns the error. */
export function assertThrows<E = Error>(fn: () => unknown): E {
  try {
    fn();
  } catch (error) {
    return error as E;
  }
  throw new assert.AssertionError({ message: "expected the function to throw" });
}

export { assert_ as assert };

/** `promise`, or a rejection after `ms`. */
export async function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
