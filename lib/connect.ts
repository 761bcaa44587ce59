/**
 * Opening the driver a target needs.
 *
 * @module
 */
import type { Driver, DriverOptions } from "./driver.ts";
import type { Target } from "./target.ts";

/**
 * Opens a session on a target: postgres.js for servers, PGlite (imported
 * only now) for the embedded database.
 *
 * @param target From `resolveTarget` or `parseTarget`.
 * @param options Driver options.
 * @returns The driver.
 * @throws {RuntimeError} When the embedded database cannot be opened.
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
  const { openPostgres } = await import("./postgres_driver.ts");
  return await openPostgres(target.url, options);
}
