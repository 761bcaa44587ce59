/**
 * The benchmark's floor of data-bridge's own stack: the UP sections of a
 * migrations directory sent over one connection by the wire client alone,
 * each between `BEGIN` and `COMMIT` in one round trip, as `apply` sends
 * them, with none of its work around them (no parsing, lint, lock or
 * history). Compiled like `dist/data-bridge`, it is what `apply` could be
 * if everything it adds were free.
 *
 * Usage: `bench_wire_floor URL DIR`
 *
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { connInfo } from "../lib/conninfo.ts";
import { args, env, exit, holdBackJit, writeStderr } from "../lib/runtime.ts";
import { BINARY_JIT_POLICY } from "../lib/config.ts";
import { openWire } from "../lib/wire_driver.ts";

holdBackJit(BINARY_JIT_POLICY);
const [url, dir] = args();
const info = connInfo(url, env);
if (!info || !dir) {
  writeStderr("usage: bench_wire_floor URL DIR (a plain TCP or Unix-socket URL)\n");
  exit(2);
}
const driver = openWire(info, url, {});
try {
  for (const name of readdirSync(dir).filter((n) => n.endsWith(".sql")).sort()) {
    const text = readFileSync(join(dir, name), "utf8");
    const up = text.slice(text.indexOf("-- UP") + 5, text.indexOf("-- DOWN"));
    await driver.atomic([{ sql: up, script: true }]);
  }
} catch (error) {
  writeStderr(`${(error as Error).message}\n`);
  exit(1);
} finally {
  await driver.close();
}
