/**
 * A throwaway PostgreSQL cluster for tests and benchmarks: `initdb` into a
 * temporary directory, a free port on 127.0.0.1, password authentication
 * over TCP, and `pg_ctl stop` plus removal at the end. Run as root, the
 * server runs as the `postgres` user (PostgreSQL refuses to run as root).
 *
 * @module
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  accessSync,
  chmodSync,
  chownSync,
  constants,
  existsSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statfsSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import process from "node:process";

/** A running cluster. */
export interface Cluster {
  /** Superuser URL with password, database `postgres`. */
  url: string;
  /** Host. */
  host: string;
  /** Port. */
  port: number;
  /** Superuser password. */
  password: string;
  /** Data directory. */
  dataDir: string;
  /** Directory of the PostgreSQL binaries. */
  binDir: string;
  /** Server log file. */
  logFile: string;
  /** Runs a command as the cluster's owner. */
  run(binary: string, args: string[]): string;
  /** Restarts the server (same port and data). */
  restart(): void;
  /** Stops the server and removes its files. */
  stop(): void;
}

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  /** Extra `postgresql.conf` settings. */
  settings?: Record<string, string>;
  /** Extra `pg_hba.conf` lines, before the default ones. */
  hba?: string[];
  /** Files to write into the data directory before start (e.g. TLS keys). */
  files?: Record<string, string>;
  /** Fast but unsafe settings (fsync off); default `true`. */
  fast?: boolean;
  /** Directory the cluster's temporary directory is made in (default or `null`: the system's temp dir). */
  parent?: string | null;
}

/** `f_type` of a tmpfs in `statfs` (Linux's `TMPFS_MAGIC`). */
const TMPFS_MAGIC = 0x01021994;

/**
 * A directory kept in memory (Linux's `/dev/shm`, a tmpfs) with at least
 * `minFreeBytes` free and writable by this process, else `null`. A cluster
 * made there creates its relation files without the disk: on an ext4 file
 * system mounted with `discard` each file's creation or removal can cost
 * the server hundreds of microseconds, which fsync off does not avoid.
 *
 * @param minFreeBytes Free space it must have (default 4 GiB: W5's 10,000 tables and their WAL).
 * @returns The directory, or `null`.
 */
export function memoryParent(minFreeBytes = 4 * 2 ** 30): string | null {
  const dir = "/dev/shm";
  try {
    const fs = statfsSync(dir);
    if (Number(fs.type) !== TMPFS_MAGIC) return null;
    if (Number(fs.bavail) * Number(fs.bsize) < minFreeBytes) return null;
    accessSync(dir, constants.W_OK);
    return dir;
  } catch {
    return null;
  }
}

/**
 * Where the test command's cluster (and a test file's own) is made: in
 * memory when 2 GiB are free there, else `null` (the temp dir). The tests
 * make and drop thousands of tables, each a few files for the server to
 * create.
 *
 * @returns The directory, or `null`.
 */
export function testClusterParent(): string | null {
  return memoryParent(2 * 2 ** 30);
}

/**
 * Finds the PostgreSQL binaries: `$PG_BIN`, else the newest
 * `/usr/lib/postgresql/N/bin`, else `pg_config --bindir`.
 *
 * @returns The directory.
 * @throws {Error} When none is found.
 */
export function findPgBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const base = "/usr/lib/postgresql";
  if (existsSync(base)) {
    const versions = readdirSync(base).filter((v) => existsSync(join(base, v, "bin", "initdb")))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length) return join(base, versions[0], "bin");
  }
  const found = spawnSync("pg_config", ["--bindir"], { encoding: "utf8" });
  if (found.status === 0 && existsSync(join(found.stdout.trim(), "initdb"))) {
    return found.stdout.trim();
  }
  throw new Error(
    "PostgreSQL server binaries not found (initdb); install PostgreSQL or set PG_BIN, or set TEST_DATABASE_URL",
  );
}

/**
 * A free TCP port on 127.0.0.1.
 *
 * @returns The port.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a throwaway cluster.
 *
 * @param options Settings, pg_hba lines, files.
 * @returns The running cluster.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const binDir = findPgBin();
  const root = mkdtempSync(join(options.parent ?? tmpdir(), "data-bridge-pg-"));
  const dataDir = join(root, "data");
  const logFile = join(root, "server.log");
  const password = `pw-${crypto.randomUUID()}`;
  const asRoot = userInfo().uid === 0;
  let owner: { uid: number; gid: number } | null = null;
  if (asRoot) {
    const id = (flag: string) =>
      Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }));
    owner = { uid: id("-u"), gid: id("-g") };
    chownSync(root, owner.uid, owner.gid);
  }
  chmodSync(root, 0o700);
  const run = (binary: string, args: string[]): string => {
    const path = join(binDir, binary);
    const command = asRoot ? "runuser" : path;
    const fullArgs = asRoot ? ["-u", "postgres", "--", path, ...args] : args;
    const result = spawnSync(command, fullArgs, { encoding: "utf8", cwd: root });
    if (result.status !== 0) {
      throw new Error(`${binary} ${args.join(" ")} failed:\n${result.stdout}${result.stderr}`);
    }
    return result.stdout;
  };
  const pwFile = join(root, "pw");
  writeFileSync(pwFile, password);
  if (owner) chownSync(pwFile, owner.uid, owner.gid);
  run("initdb", [
    "-D",
    dataDir,
    "-U",
    "postgres",
    "--pwfile",
    pwFile,
    "--auth-local=trust",
    "--auth-host=scram-sha-256",
    "-E",
    "UTF8",
    "--locale=C",
    "--no-sync",
  ]);
  rmSync(pwFile);
  for (const [name, content] of Object.entries(options.files ?? {})) {
    const path = join(dataDir, name);
    writeFileSync(path, content, { mode: 0o600 });
    if (owner) chownSync(path, owner.uid, owner.gid);
  }
  if (options.hba?.length) {
    const hbaPath = join(dataDir, "pg_hba.conf");
    const current = execFileSync("cat", [hbaPath], { encoding: "utf8" });
    writeFileSync(hbaPath, `${options.hba.join("\n")}\n${current}`);
  }
  const port = await freePort();
  const settings: Record<string, string> = {
    listen_addresses: "'127.0.0.1'",
    port: String(port),
    unix_socket_directories: `'${root}'`,
    max_connections: "200",
    ...(options.fast === false
      ? {}
      : { fsync: "off", synchronous_commit: "off", full_page_writes: "off" }),
    ...options.settings,
  };
  const conf = Object.entries(settings).map(([k, v]) => `${k} = ${v}`).join("\n");
  writeFileSync(join(dataDir, "postgresql.auto.conf"), `${conf}\n`);
  const start = () => run("pg_ctl", ["-D", dataDir, "-l", logFile, "-w", "-t", "60", "start"]);
  start();
  let stopped = false;
  const cluster: Cluster = {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    host: "127.0.0.1",
    port,
    password,
    dataDir,
    binDir,
    logFile,
    run,
    restart() {
      run("pg_ctl", ["-D", dataDir, "-m", "fast", "-w", "restart", "-l", logFile]);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        run("pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"]);
      } catch {
        // already stopped
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
  return cluster;
}
