/**
 * The test command (`deno task test`): starts a throwaway PostgreSQL
 * cluster (unless `TEST_DATABASE_URL` is set), runs the formatter and linter
 * checks, every test file, and the JSDoc examples, then stops the cluster and
 * prints `N passed, N failed`. Exits non-zero when anything failed.
 *
 * Arguments are passed to `deno test` (e.g. a test file or `--filter`).
 *
 * @module
 */
import { spawn } from "node:child_process";
import process from "node:process";
import { startCluster, testClusterParent } from "./pg_cluster.ts";
import { toolPath } from "./tools.ts";

const deno = process.execPath;
let passed = 0;
let failed = 0;

/** Runs a command, echoing its output; resolves with the output and exit code. */
function run(command: string, args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; output: string }>((resolve) => {
    const child = spawn(command, args, {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const take = (chunk: Buffer, stream: NodeJS.WriteStream) => {
      output += chunk.toString();
      stream.write(chunk);
    };
    child.stdout.on("data", (c) => take(c, process.stdout));
    child.stderr.on("data", (c) => take(c, process.stderr));
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

/** A check that counts as one test. */
async function check(name: string, command: string, args: string[]) {
  const { code } = await run(command, args);
  if (code === 0) passed++;
  else {
    failed++;
    console.error(`FAILED check: ${name}`);
  }
}

/** Adds the counts of a `deno test` run; a run without a summary is a failure. */
function count(output: string, code: number) {
  // deno-lint-ignore no-control-regex
  const plain = output.replace(/\x1b\[[0-9;]*m/g, "");
  const summary = [
    ...plain.matchAll(/(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/g),
  ]
    .at(-1);
  if (!summary) {
    failed++;
    console.error("FAILED: deno test printed no summary (a module failed to load?)");
    return;
  }
  passed += Number(summary[1]);
  failed += Number(summary[2]);
  if (code !== 0 && Number(summary[2]) === 0) failed++;
}

const userArgs = process.argv.slice(2);
const env: Record<string, string> = { BUN_PATH: toolPath("bun") };
let stop = () => {};
if (!process.env.TEST_DATABASE_URL) {
  const cluster = await startCluster({ parent: testClusterParent() });
  env.TEST_DATABASE_URL = cluster.url;
  stop = () => cluster.stop();
  process.on("exit", stop);
}
try {
  if (userArgs.length === 0) {
    await check("deno fmt --check", deno, ["fmt", "--check"]);
    await check("deno lint", deno, ["lint"]);
    await check("deno doc --lint mod.ts (every export documented)", deno, [
      "doc",
      "--lint",
      "mod.ts",
    ]);
  }
  const tests = await run(deno, ["test", "-A", ...(userArgs.length ? userArgs : ["tests/"])], env);
  count(tests.output, tests.code);
  if (userArgs.length === 0) {
    const docs = await run(deno, ["test", "-A", "--doc", "mod.ts", "lib/", "cli.ts"], env);
    count(docs.output, docs.code);
  }
} finally {
  stop();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
