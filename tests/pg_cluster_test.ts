/** The throwaway cluster of the tests and the benchmark: where its files go. */
import { existsSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname } from "node:path";
import { memoryParent, startCluster } from "../scripts/pg_cluster.ts";
import { assert, assertEquals } from "./support/assert.ts";

/** Linux's TMPFS_MAGIC, as statfs reports it. */
const TMPFS = 0x01021994;

Deno.test("memoryParent names a tmpfs with the room asked for, or nothing", () => {
  assertEquals(memoryParent(Number.POSITIVE_INFINITY), null, "no tmpfs has unlimited room");
  const dir = memoryParent(0);
  if (dir === null) {
    // Then /dev/shm is missing, not a tmpfs or not writable here.
    let type: number | null = null;
    try {
      type = Number(statfsSync("/dev/shm").type);
    } catch {
      // missing
    }
    assert(type !== TMPFS || Deno.uid() !== 0, "/dev/shm is a tmpfs root may write to");
  } else {
    assertEquals(Number(statfsSync(dir).type), TMPFS);
  }
});

Deno.test("startCluster makes its data directory in the parent it is given", async () => {
  const parent = memoryParent(256 * 2 ** 20) ?? tmpdir();
  const cluster = await startCluster({ parent });
  try {
    assert(cluster.dataDir.startsWith(`${parent}/data-bridge-pg-`), cluster.dataDir);
    // Over its socket, in the same directory (local connections need no password).
    const socketDir = dirname(cluster.dataDir);
    const args = ["-h", socketDir, "-p", String(cluster.port), "-U", "postgres", "-At", "-c"];
    assertEquals(cluster.run("psql", [...args, "SELECT 1"]).trim(), "1");
  } finally {
    cluster.stop();
  }
  assert(!existsSync(dirname(cluster.dataDir)), "stop removes the cluster's files");
});
