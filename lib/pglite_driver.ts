/**
 * The driver for the embedded database, PGlite: PostgreSQL compiled to
 * WebAssembly, running inside this process. It is imported only when used,
 * so runs against a server never load it.
 *
 * @module
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseError, DataBridgeError, RuntimeError, type ServerErrorFields } from "./errors.ts";
import {
  type Driver,
  type DriverOptions,
  type Queryable,
  type Row,
  sendAll,
  type TransactionStatement,
} from "./driver.ts";
import { acquireFileLock } from "./file_lock.ts";
import { pgliteAssets } from "./pglite_assets.ts";
import { contribExtension, packageContrib } from "./pglite_contrib.ts";

interface PGliteLike {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  exec(sql: string): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * Opens the embedded database. An on-disk database is locked for this
 * process until {@link Driver.close}: a second process waits for it, as it
 * would wait for the advisory lock on a server.
 *
 * @param path Folder of the data (created when missing), or `null` for a
 *   database in memory.
 * @param options Wait limit for the folder's lock.
 * @returns The driver.
 * @throws {RuntimeError} `LOCK_TIMEOUT` when another process keeps the folder
 *   past the wait limit; `CONNECTION_FAILED` when PGlite cannot start.
 * @example
 * ```ts
 * import { openPGlite } from "./pglite_driver.ts";
 * const driver = await openPGlite(null);
 * console.log(await driver.query("SELECT 1 AS one")); // [{ one: 1 }]
 * await driver.close();
 * ```
 */
export async function openPGlite(
  path: string | null,
  options: DriverOptions & { loadDataDir?: Blob } = {},
): Promise<Driver> {
  let release = () => {};
  if (path !== null) {
    mkdirSync(dirname(path), { recursive: true });
    release = await acquireFileLock(`${path}.lock`, {
      waitSeconds: options.lockWaitSeconds,
      signal: options.signal,
      onWait: (holder) =>
        options.onNotice?.({
          severity: "INFO",
          client: true,
          message: `waiting for process ${holder ?? "unknown"} to finish with ${path}`,
        }),
    });
  }
  try {
    const { PGlite } = await import("@electric-sql/pglite");
    const { contrib, ...assets } = await pgliteAssets();
    const db = await PGlite.create({
      ...assets,
      // The contrib extensions: from the packaging's archive, else PGlite's own tarballs.
      extensions: {
        contrib: contribExtension(() => contrib ? Promise.resolve([contrib]) : packageContrib()),
      },
      ...(path === null ? {} : { dataDir: path }),
      ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
    });
    return new PGliteDriver(db as unknown as PGliteLike, `pglite:${path ?? "memory"}`, release);
  } catch (error) {
    release();
    if (error instanceof DataBridgeError) throw error;
    throw new RuntimeError(
      "CONNECTION_FAILED",
      `cannot open the embedded database pglite:${path ?? "memory"}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

class PGliteDriver implements Driver {
  readonly kind = "pglite" as const;
  readonly target: string;
  #db: PGliteLike;
  #release: () => void;

  constructor(db: PGliteLike, target: string, release: () => void) {
    this.#db = db;
    this.target = target;
    this.#release = release;
  }

  async query<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    try {
      return (await this.#db.query<T>(sql, [...params])).rows;
    } catch (error) {
      throw translate(error);
    }
  }

  async exec(script: string): Promise<void> {
    try {
      await this.#db.exec(script);
    } catch (error) {
      throw translate(error);
    }
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    await this.exec("BEGIN");
    let result: T;
    try {
      result = await fn(this);
    } catch (error) {
      await this.exec("ROLLBACK").catch(() => {});
      throw error;
    }
    await this.exec("COMMIT");
    return result;
  }

  atomic(statements: readonly TransactionStatement[]): Promise<Row[][]> {
    return this.transaction((tx) => sendAll(tx, statements));
  }

  /** In-process: nothing to gain from sending ahead, and `atomic` awaits its BEGIN. */
  readonly pipelinesAtomic = false;

  tryLock(): Promise<boolean> {
    // The data folder's lock file, taken when it was opened, is the lock.
    return Promise.resolve(true);
  }

  keepLock(): Promise<boolean> {
    return Promise.resolve(true);
  }

  unlock(): Promise<void> {
    return Promise.resolve();
  }

  cancel(): Promise<void> {
    return Promise.resolve();
  }

  async close(): Promise<void> {
    try {
      await this.#db.close();
    } finally {
      this.#release();
    }
  }
}

/** PostgreSQL's message for a `CREATE EXTENSION` of an extension it does not have. */
const MISSING_EXTENSION = /^extension "(.+)" is not available$/;

function translate(error: unknown): DataBridgeError {
  if (error instanceof DataBridgeError) return error;
  const e = error as ServerErrorFields;
  if (typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code)) {
    const translated = DatabaseError.from(e);
    // PostgreSQL's hint (install it on the server) cannot be followed here.
    const missing = e.code === "0A000" ? MISSING_EXTENSION.exec(e.message ?? "") : null;
    if (missing) {
      translated.hint = `the embedded database (PGlite) has no extension ${missing[1]}: ` +
        "migrate a PostgreSQL server that has it (--database-url), and verify there (--scratch-url)";
    }
    return translated;
  }
  return new RuntimeError("INTERNAL", e.message ?? String(error), { cause: error });
}
