/** The benchmark's copy of the binary that the page cache holds as read back from disk. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readBackCopy, residentPages } from "../scripts/bench_page_cache.ts";
import { memoryParent } from "../scripts/pg_cluster.ts";
import { REPO_ROOT } from "../scripts/tools.ts";
import { assert, assertEquals } from "./support/assert.ts";

// A directory on the repository's disk: a tmpfs (which /tmp may be) keeps its pages.
function diskDir(): string {
  return mkdtempSync(join(REPO_ROOT, ".page-cache-test-"));
}

Deno.test("readBackCopy leaves the copy with the same bytes and no page in the cache", () => {
  const dir = diskDir();
  try {
    const source = join(dir, "source");
    const bytes = new Uint8Array(1 << 20).map((_, i) => i % 251);
    writeFileSync(source, bytes);
    assert(Number(residentPages(source)) > 0, "a file just written is in the page cache");
    const copy = readBackCopy(source, join(dir, "copy"));
    assert("path" in copy, "why" in copy ? copy.why : "");
    assertEquals(residentPages(copy.path), 0);
    assertEquals(new Uint8Array(readFileSync(copy.path)), bytes);
    assert(Number(residentPages(copy.path)) > 0, "reading it brings it back");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("readBackCopy says why when the copy's pages cannot be dropped (a tmpfs)", () => {
  const memory = memoryParent(1 << 20);
  assert(memory !== null, "this machine has no tmpfs at /dev/shm to try it on");
  const dir = mkdtempSync(join(memory, "page-cache-test-"));
  try {
    const source = join(dir, "source");
    writeFileSync(source, new Uint8Array(1 << 16).fill(7));
    const copy = readBackCopy(source, join(dir, "copy"));
    assert("why" in copy, "a tmpfs copy was reported as dropped");
    assert(copy.why.includes("stay in the page cache"), copy.why);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
