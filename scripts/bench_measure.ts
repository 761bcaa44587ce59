/**
 * Timing whole processes for the benchmark: wall time from spawn to exit
 * and peak resident memory (from the kernel's `wait4` accounting, read
 * through GNU time), and the summary of several runs.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** One run of a command. */
export interface Sample {
  /** Wall time, milliseconds. */
  ms: number;
  /** Peak resident set size, KiB; `null` when it cannot be measured here. */
  rssKb: number | null;
}

/** Several runs of one command. */
export interface Summary {
  /** Number of runs. */
  runs: number;
  /** Median wall time, ms. */
  medianMs: number;
  /** Fastest run, ms. */
  minMs: number;
  /** Slowest run, ms. */
  maxMs: number;
  /** Highest peak RSS of any run, KiB. */
  peakRssKb: number | null;
}

/** GNU time, which reports the child's peak RSS (`%M`). */
const GNU_TIME = ["/usr/bin/time", "/bin/time"].find((p) => existsSync(p)) ?? null;

/** Whether peak RSS can be measured on this machine. */
export const CAN_MEASURE_RSS: boolean = GNU_TIME !== null;

const scratch = mkdtempSync(join(tmpdir(), "data-bridge-bench-time-"));
addEventListener("unload", () => rmSync(scratch, { recursive: true, force: true }));

/** Where a command runs and with what environment. */
export interface RunOptions {
  /** Working directory. */
  cwd?: string;
  /** The whole environment of the child. */
  env?: Record<string, string>;
}

/**
 * Runs a command to completion, its output discarded, and times it.
 *
 * @param command Executable.
 * @param args Arguments.
 * @param options Directory and environment.
 * @returns The wall time and peak RSS.
 * @throws {Error} When the command exits non-zero (a benchmark of a failure
 *   measures nothing), with its stderr.
 */
export function measure(command: string, args: string[], options: RunOptions = {}): Sample {
  const report = join(scratch, "time");
  const [file, argv] = GNU_TIME
    ? [GNU_TIME, ["-f", "%M", "-o", report, command, ...args]]
    : [command, args];
  const started = performance.now();
  const result = spawnSync(file, argv, {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", "ignore", "pipe"],
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = performance.now() - started;
  if (result.status !== 0) {
    const stderr = result.stderr?.toString() ?? "";
    throw new Error(
      masked(
        `${command} ${args.join(" ")} exited with ${result.status ?? result.signal}:\n${
          stderr.slice(-2000)
        }`,
      ),
    );
  }
  const rssKb = GNU_TIME ? Number(readFileSync(report, "utf8").trim().split("\n").at(-1)) : null;
  return { ms, rssKb: Number.isFinite(rssKb) ? rssKb : null };
}

/**
 * The CPU time (user and system) a command takes, to the microsecond, from
 * the kernel's accounting of the child (run through scripts/bench_cpu.ts
 * under Bun). Where wall time overlaps work with waiting (a no-op run reads
 * its files while it connects), CPU time adds up what each file costs.
 *
 * @param bun Path of the bun executable.
 * @param command Executable.
 * @param args Arguments.
 * @param options Directory and environment.
 * @returns Milliseconds of CPU time.
 * @throws {Error} When the command exits non-zero, with its stderr.
 */
export function measureCpu(
  bun: string,
  command: string,
  args: string[],
  options: RunOptions = {},
): number {
  const script = new URL("./bench_cpu.ts", import.meta.url).pathname;
  const result = spawnSync(bun, [script, command, ...args], {
    cwd: options.cwd,
    env: options.env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const us = Number(result.stdout?.trim());
  if (result.status !== 0 || !Number.isFinite(us)) {
    throw new Error(
      masked(`${command} ${args.join(" ")} failed:\n${(result.stderr ?? "").slice(-2000)}`),
    );
  }
  return us / 1000;
}

/** The median of some numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Text with the password of every database URL in it replaced by `***`. */
function masked(text: string): string {
  return text.replace(/(postgres(?:ql)?:\/\/[^:/@\s]*:)[^@\s]*@/g, "$1***@");
}

/**
 * Median, min, max and the highest peak RSS of several runs.
 *
 * @param samples At least one run.
 * @returns The summary.
 */
export function summarize(samples: Sample[]): Summary {
  const times = samples.map((s) => s.ms).sort((a, b) => a - b);
  const rss = samples.map((s) => s.rssKb).filter((r): r is number => r !== null);
  return {
    runs: samples.length,
    medianMs: median(times),
    minMs: times[0],
    maxMs: times.at(-1)!,
    peakRssKb: rss.length ? Math.max(...rss) : null,
  };
}

/**
 * The CPU time (user and system) of a local server's ended backends: what
 * the kernel adds to the postmaster's `cutime` and `cstime` once it reaps a
 * child. Read before and after a run, the difference is the server's own
 * work for the run's sessions, which no client can go below.
 *
 * @param dataDir The cluster's data directory (its `postmaster.pid`).
 * @returns A reader of that time in milliseconds, or `null` where there is
 *   no `/proc` (not Linux) or the server's process cannot be read.
 * @throws Nothing: where the time cannot be read, it returns `null`.
 * @example
 * ```ts ignore
 * const cpu = serverCpuReader(cluster.dataDir);
 * const before = cpu?.();
 * ```
 */
export function serverCpuReader(dataDir: string): (() => number) | null {
  try {
    const pid = readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0].trim();
    const ticksPerSecond = Number(
      spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout?.trim() || "100",
    );
    const read = () => {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // Fields after the command name (which may hold spaces) in parentheses:
      // the 14th and 15th of those are cutime and cstime (fields 16 and 17).
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return (Number(fields[13]) + Number(fields[14])) * 1000 / ticksPerSecond;
    };
    read();
    return read;
  } catch {
    return null;
  }
}

/**
 * Waits, blocking the thread (the benchmark runs its commands one at a
 * time): gives a server the moment it needs to reap a backend whose client
 * has just exited.
 *
 * @param ms How long.
 * @example
 * ```ts ignore
 * sleepSync(100);
 * ```
 */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
