/**
 * Run by Bun for the benchmark: runs a command to completion and prints its
 * CPU time, user and system, in microseconds, as the kernel accounts it for
 * the reaped child (`wait4`'s rusage, which `Bun.spawnSync` returns). GNU
 * time prints it to the hundredth of a second only.
 *
 * Usage: `bun scripts/bench_cpu.ts COMMAND [ARGS...]`; exits 1 with the
 * command's stderr when it fails.
 *
 * @module
 */
declare const Bun: {
  spawnSync(
    argv: string[],
    options: { stdout: "ignore"; stderr: "pipe" },
  ): {
    exitCode: number | null;
    stderr: Uint8Array;
    resourceUsage?: { cpuTime: { total: bigint | number } };
  };
};
declare const process: {
  argv: string[];
  stdout: { write(text: string): void };
  stderr: { write(text: string | Uint8Array): void };
  exit(code: number): never;
};

const run = Bun.spawnSync(process.argv.slice(2), { stdout: "ignore", stderr: "pipe" });
if (run.exitCode !== 0 || !run.resourceUsage) {
  process.stderr.write(run.stderr);
  process.exit(1);
}
process.stdout.write(`${run.resourceUsage.cpuTime.total}\n`);
