import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { acquireFileLock } from "../lib/file_lock.ts";
import { RuntimeError } from "../lib/errors.ts";
import { assert, assertEquals, assertRejects } from "./support/assert.ts";

function tempLock() {
  const dir = mkdtempSync(join(tmpdir(), "db-lock-"));
  return {
    path: join(dir, "db.lock"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

Deno.test("a held lock file makes a second taker wait, then give up at its limit", async () => {
  const lock = tempLock();
  try {
    const release = await acquireFileLock(lock.path);
    let told = 0;
    const error = await assertRejects<RuntimeError>(() =>
      acquireFileLock(lock.path, { waitSeconds: 0.3, pollMs: 50, onWait: () => told++ })
    );
    assert(error instanceof RuntimeError);
    assertEquals([error.code, told], ["LOCK_TIMEOUT", 1]);
    release();
    assertEquals(existsSync(lock.path), false);
    (await acquireFileLock(lock.path, { waitSeconds: 0 }))();
  } finally {
    lock.remove();
  }
});

Deno.test("a lock file left by a dead process is taken over", async () => {
  const lock = tempLock();
  try {
    writeFileSync(lock.path, "2147483646\n");
    const release = await acquireFileLock(lock.path, { waitSeconds: 0 });
    release();
  } finally {
    lock.remove();
  }
});

Deno.test("an aborted signal ends the wait for a held lock file at once, taking nothing", async () => {
  const lock = tempLock();
  try {
    const release = await acquireFileLock(lock.path);
    const controller = new AbortController();
    const waiting = acquireFileLock(lock.path, { pollMs: 5000, signal: controller.signal });
    waiting.catch(() => {}); // awaited below
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    controller.abort("SIGINT");
    const error = await assertRejects<RuntimeError>(() => waiting);
    assertEquals([error.code, error.exitCode], ["INTERRUPTED", 130]);
    assert(Date.now() - started < 1000, "at once, not at the next poll");
    assert(existsSync(lock.path), "the holder's lock stays");
    release();
  } finally {
    lock.remove();
  }
});
