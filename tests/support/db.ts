/**
 * Databases for tests: a real PostgreSQL server (the test command's
 * throwaway cluster via `TEST_DATABASE_URL`, or one started here when a
 * test file runs alone) and PGlite. Each test gets its own database.
 * A missing PostgreSQL fails the tests; nothing is skipped.
 */
import postgres from "postgres";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Cluster, startCluster, testClusterParent } from "../../scripts/pg_cluster.ts";
import type { Driver } from "../../lib/driver.ts";
import { openPostgres } from "../../lib/postgres_driver.ts";
import { openPGlite } from "../../lib/pglite_driver.ts";
import { openWire } from "../../lib/wire_driver.ts";
import { connInfo } from "../../lib/conninfo.ts";
import { maskUrl } from "../../lib/target.ts";

let cluster: Promise<Cluster> | null = null;

/** URL of the test server's superuser, database `postgres`. */
export async function serverUrl(): Promise<string> {
  const fromEnv = Deno.env.get("TEST_DATABASE_URL");
  if (fromEnv) return fromEnv;
  cluster ??= startCluster({ parent: testClusterParent() }).then((c) => {
    globalThis.addEventListener("unload", () => c.stop());
    return c;
  });
  return (await cluster).url;
}

/** The same URL with another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A new empty database on the test server; `drop` removes it. */
export async function freshDatabase(): Promise<
  { url: string; name: string; drop(): Promise<void> }
> {
  const admin = await serverUrl();
  const name = `t_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const sql = postgres(admin, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await sql.end();
  }
  return {
    url: withDatabase(admin, name),
    name,
    async drop() {
      const sql = postgres(admin, { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await sql.end();
      }
    },
  };
}

/** Runs SQL on a server database with a connection of its own. */
export async function adminQuery<T = Record<string, unknown>>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return Array.from(await sql.unsafe(text, params as never[])) as unknown as T[];
  } finally {
    await sql.end();
  }
}

/** How many sessions data-bridge (its application_name) has open on the URL's database. */
export async function dataBridgeSessions(url: string): Promise<number> {
  const [{ n }] = await adminQuery<{ n: number }>(
    url,
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'data-bridge'",
  );
  return n;
}

let pgliteTemplate: Promise<Blob> | null = null;
let pgliteDirTemplate: string | null = null;

/** A fresh initialised PGlite data image, made once per process. */
function template(): Promise<Blob> {
  pgliteTemplate ??= (async () => {
    const { PGlite } = await import("@electric-sql/pglite");
    const db = await PGlite.create();
    const dump = await db.dumpDataDir("none");
    await db.close();
    return dump;
  })();
  return pgliteTemplate;
}

/**
 * A folder holding a fresh PGlite database, for `pglite:PATH` URLs given to
 * CLI processes; copying a template avoids PGlite's slow first start.
 */
export async function freshPGliteDir(): Promise<{ path: string; remove(): void }> {
  if (!pgliteDirTemplate) {
    const dir = mkdtempSync(join(tmpdir(), "db-pglite-template-"));
    const path = join(dir, "data");
    const driver = await openPGlite(path);
    await driver.close();
    pgliteDirTemplate = path;
    globalThis.addEventListener("unload", () => rmSync(dir, { recursive: true, force: true }));
  }
  const dir = mkdtempSync(join(tmpdir(), "db-pglite-"));
  const path = join(dir, "data");
  cpSync(pgliteDirTemplate, path, { recursive: true });
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The drivers every behavioural test runs on: the wire client and
 * postgres.js on the server, and PGlite.
 */
export const DRIVER_KINDS = ["wire", "postgres", "pglite"] as const;
/** One of {@link DRIVER_KINDS}. */
export type DriverKind = typeof DRIVER_KINDS[number];

/** What a behavioural test body gets. */
export interface DriverContext {
  /** Which driver. */
  kind: DriverKind;
  /** An open driver on a fresh database. */
  driver: Driver;
  /** Runs SQL on the same database (through the same driver). */
  sql<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
}

/** A fresh database behind a driver of the given kind. */
export async function openFresh(
  kind: DriverKind,
): Promise<{ ctx: DriverContext; close(): Promise<void> }> {
  if (kind === "postgres" || kind === "wire") {
    const db = await freshDatabase();
    const driver = kind === "postgres"
      ? await openPostgres(db.url, {})
      : openWire(connInfo(db.url, () => undefined)!, maskUrl(db.url), {});
    return {
      ctx: { kind, driver, sql: (t, p) => driver.query(t, p ?? []) as never },
      async close() {
        await driver.close();
        await db.drop();
      },
    };
  }
  const driver = await openPGlite(null, { loadDataDir: await template() });
  return {
    ctx: { kind, driver, sql: (t, p) => driver.query(t, p ?? []) as never },
    close: () => driver.close(),
  };
}

/**
 * Registers a test whose sessions, sockets and timers may outlive its body
 * (a server's connections close on their own time).
 *
 * @param name The test's name.
 * @param fn Its body.
 */
export function serverTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, sanitizeOps: false, sanitizeResources: false, fn });
}

/**
 * Registers one test body for every driver: `name [postgres]` and
 * `name [pglite]`.
 */
export function driverTest(name: string, body: (ctx: DriverContext) => Promise<void>): void {
  for (const kind of DRIVER_KINDS) {
    Deno.test({
      name: `${name} [${kind}]`,
      sanitizeOps: false,
      sanitizeResources: false,
      async fn() {
        const { ctx, close } = await openFresh(kind);
        try {
          await body(ctx);
        } finally {
          await close();
        }
      },
    });
  }
}
