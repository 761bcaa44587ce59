/**
 * A copy of an executable whose file the page cache holds as it does after
 * the file was read back from disk, for the benchmark's figure of a binary
 * that is not freshly written.
 *
 * How the kernel holds an executable's file changes how fast it starts: on
 * the machine of 2026-12-02 (Linux 6.18, ext4), a file written in large
 * writes (a fresh build, `cp`) sits in the page cache in large folios, and
 * `data-bridge --version` took 8.4 ms; the same bytes read back from disk
 * (after a reboot, or after the machine paged the idle file out) sit in
 * small ones, and it took 10.9 ms, every run, until the file was written
 * again; a no-op `apply` of 1000 files 23.5 against 26.0 ms.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { chmodSync, closeSync, copyFileSync, fsyncSync, openSync } from "node:fs";

/** The copy, or why none could be made. */
export type ReadBackCopy = { path: string } | { why: string };

/**
 * Copies `binary` to `path`, writes it to the disk, then drops the copy's
 * pages from the page cache (`dd iflag=nocache`) and checks with `fincore`
 * that none is left, so its first run reads it back from disk.
 *
 * @param binary The executable.
 * @param path Where the copy goes: on a disk, not a tmpfs (whose pages cannot be dropped).
 * @returns The copy's path, or why it could not be dropped from the cache.
 * @throws When the copy cannot be written.
 * @example
 * ```ts
 * import { readBackCopy } from "./bench_page_cache.ts";
 * const copy = readBackCopy("/bin/true", "/tmp/true-read-back");
 * console.log("path" in copy || copy.why.length > 0); // true
 * ```
 */
export function readBackCopy(binary: string, path: string): ReadBackCopy {
  copyFileSync(binary, path);
  chmodSync(path, 0o755);
  // Written back first: the cache cannot drop pages not yet on the disk.
  const fd = openSync(path, "r+");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const dropped = spawnSync("dd", [`if=${path}`, "iflag=nocache", "count=0", "status=none"], {
    encoding: "utf8",
  });
  if (dropped.error || dropped.status !== 0) {
    return { why: `dd iflag=nocache failed: ${dropped.error?.message ?? dropped.stderr.trim()}` };
  }
  const resident = residentPages(path);
  if (typeof resident === "string") return { why: resident };
  if (resident > 0) {
    return { why: `${resident} pages of ${path} stay in the page cache (a tmpfs?)` };
  }
  return { path };
}

/**
 * How many pages of `path` the page cache holds (util-linux `fincore`).
 *
 * @param path A file.
 * @returns The count, or why it could not be told.
 * @example
 * ```ts
 * import { residentPages } from "./bench_page_cache.ts";
 * console.log(typeof residentPages("/bin/true")); // "number" where fincore is installed
 * ```
 */
export function residentPages(path: string): number | string {
  const run = spawnSync("fincore", ["--raw", "--noheadings", "--output", "PAGES", path], {
    encoding: "utf8",
  });
  if (run.error || run.status !== 0) {
    return `fincore failed: ${run.error?.message ?? run.stderr.trim()}`;
  }
  const pages = Number(run.stdout.trim());
  return Number.isInteger(pages) ? pages : `fincore printed '${run.stdout.trim()}'`;
}
