/**
 * Opening the driver a target needs.
 *
 * @module
 */
import type { Driver, DriverOptions } from "./driver.ts";
import { connInfo } from "./conninfo.ts";
import { openWire } from "./wire_driver.ts";
import { canStartTls, env } from "./runtime.ts";
import { describeTarget, type Target } from "./target.ts";

/**
 * Opens a session on a target: the wire client for a server reached over
 * TCP or a Unix socket, with TLS where the runtime's sockets can start it
 * (Bun; Deno for verify-full); postgres.js (imported only then) for other
 * TLS connections, several hosts
 * or `target_session_attrs`; PGlite (imported only now) for the embedded
 * database.
 *
 * @param target From `resolveTarget` or `parseTarget`.
 * @param options Driver options.
 * @returns The driver.
 * @throws {RuntimeError} When the embedded database cannot be opened.
 * @throws {UsageError} `INVALID_URL` when the URL's TLS settings are wrong.
 * @example
 * ```ts
 * import { connect } from "./connect.ts";
 * import { parseTarget } from "./target.ts";
 * // A server session connects on its first query; PGlite starts at once.
 * const driver = await connect(parseTarget("postgres://app@db.example.com/app", "api"));
 * console.log(driver.kind); // "postgres"
 * await driver.close();
 * ```
 */
export async function connect(target: Target, options: DriverOptions = {}): Promise<Driver> {
  if (target.kind === "pglite") {
    const { openPGlite } = await import("./pglite_driver.ts");
    return await openPGlite(target.path, options);
  }
  const info = connInfo(target.url, env, options.password);
  // TLS where the runtime's sockets can start it themselves, else postgres.js.
  if (
    info !== null &&
    (info.tls === null || canStartTls(info.tls.verify, info.tls.client !== undefined))
  ) {
    // Imported with this module (it is small): the connection starts in the
    // same turn as the run, while the files are read.
    return openWire(info, describeTarget({ ...target, source: "api" }, env), options);
  }
  const { openPostgres } = await import("./postgres_driver.ts");
  return await openPostgres(target.url, options);
}
