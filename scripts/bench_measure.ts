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
  const mid = Math.floor(times.length / 2);
  const median = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  const rss = samples.map((s) => s.rssKb).filter((r): r is number => r !== null);
  return {
    runs: samples.length,
    medianMs: median,
    minMs: times[0],
    maxMs: times.at(-1)!,
    peakRssKb: rss.length ? Math.max(...rss) : null,
  };
}
