/**
 * `deno run -A scripts/measure_startup.ts [RUNS]`: start-up time of
 * `dist/data-bridge --version` against floors measured in the same run
 * (`true`, `psql --version`, the bare Bun runtime) and the size of the
 * executable, as a Markdown table for docs/distribution.md. Build first
 * (`deno task build`).
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { findPgBin } from "./pg_cluster.ts";
import { REPO_ROOT, toolPath } from "./tools.ts";

/** A command to time. */
export interface Timed {
  /** Label in the table. */
  label: string;
  /** Executable. */
  command: string;
  /** Arguments. */
  args: string[];
}

/** Median of numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Times commands, interleaved so that load on the machine hits all alike.
 *
 * @param commands What to run.
 * @param runs Runs of each (after one warm-up run each).
 * @returns Median wall-clock milliseconds per label.
 * @throws {Error} When a command fails.
 */
export function timeCommands(commands: Timed[], runs: number): Map<string, number> {
  const samples = new Map<string, number[]>(commands.map((c) => [c.label, []]));
  for (let i = -1; i < runs; i++) {
    for (const c of commands) {
      const started = performance.now();
      const result = spawnSync(c.command, c.args, { stdio: ["ignore", "pipe", "pipe"] });
      const ms = performance.now() - started;
      if (result.status !== 0) {
        throw new Error(`${c.label} failed: ${result.stderr?.toString() ?? result.error}`);
      }
      if (i >= 0) samples.get(c.label)!.push(ms);
    }
  }
  return new Map([...samples].map(([label, values]) => [label, median(values)]));
}

/**
 * The commands compared with `data-bridge --version`.
 *
 * @param binary Path of the executable.
 * @returns The binary and its floors.
 */
export function startupCommands(binary: string): Timed[] {
  return [
    { label: "`data-bridge --version`", command: binary, args: ["--version"] },
    { label: "`true` (process floor)", command: "true", args: [] },
    {
      label: "`psql --version`",
      command: join(findPgBin(), "psql"),
      args: ["--version"],
    },
    { label: "`bun -e 0` (the runtime inside)", command: toolPath("bun"), args: ["-e", "0"] },
  ];
}

if (import.meta.main) {
  const runs = Number(process.argv[2] ?? 21);
  const binary = join(REPO_ROOT, "dist", "data-bridge");
  if (!existsSync(binary)) {
    console.error("dist/data-bridge is missing: run deno task build first");
    process.exit(1);
  }
  const medians = timeCommands(startupCommands(binary), runs);
  const mib = (statSync(binary).size / 1024 / 1024).toFixed(1);
  console.log(`dist/data-bridge: ${mib} MiB; median of ${runs} runs each, interleaved:\n`);
  console.log("| command | median start-up |\n| --- | --- |");
  for (const [label, ms] of medians) console.log(`| ${label} | ${ms.toFixed(1)} ms |`);
}
