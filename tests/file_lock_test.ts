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
