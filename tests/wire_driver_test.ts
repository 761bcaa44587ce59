/**
 * The wire client against a real server of its own: every password method
 * it speaks (SCRAM-SHA-256, MD5, cleartext) and one it does not, a Unix
 * socket, and what a session does when the server ends it, cancels a
 * statement, starts a COPY, or drops its prepared statements.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type Cluster, startCluster } from "../scripts/pg_cluster.ts";
import { connInfo } from "../lib/conninfo.ts";
import type { Driver } from "../lib/driver.ts";
import type { DatabaseError, DataBridgeError } from "../lib/errors.ts";
import { maskUrl } from "../lib/target.ts";
import { openWire } from "../lib/wire_driver.ts";
import { assert, assertEquals, assertMatch, assertRejects, within } from "./support/assert.ts";
import { serverTest } from "./support/db.ts";

let clusterPromise: Promise<Cluster> | null = null;

/** One cluster for the file: a user per password method, hba lines to match. */
function cluster(): Promise<Cluster> {
  clusterPromise ??= startCluster({
    hba: [
      "host all md5_user 127.0.0.1/32 md5",
      "host all clear_user 127.0.0.1/32 password",
      "host all reject_user 127.0.0.1/32 reject",
      "host all gss_user 127.0.0.1/32 gss",
    ],
  }).then(async (c) => {
    globalThis.addEventListener("unload", () => c.stop());
    const admin = open(c.url);
    try {
      await admin.exec(`
        SET password_encryption = 'md5';
        CREATE ROLE md5_user LOGIN PASSWORD 'md5 secret';
        SET password_encryption = 'scram-sha-256';
        CREATE ROLE scram_user LOGIN PASSWORD 'scrám secret';
        CREATE ROLE clear_user LOGIN PASSWORD 'clear secret';
        CREATE ROLE reject_user LOGIN PASSWORD 'x';
        CREATE ROLE gss_user LOGIN PASSWORD 'x';`);
    } finally {
      await admin.close();
    }
    return c;
  });
  return clusterPromise;
}

function open(url: string, options = {}): Driver {
  return openWire(connInfo(url, () => undefined)!, maskUrl(url), options);
}

function urlFor(c: Cluster, user: string, password: string): string {
  return `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${c.port}/postgres`;
}

async function withDriver<T>(url: string, fn: (d: Driver) => Promise<T>, options = {}): Promise<T> {
  const driver = open(url, options);
  try {
    return await fn(driver);
  } finally {
    await driver.close();
  }
}

const test = serverTest;

test("the wire client logs in with SCRAM-SHA-256, MD5 and cleartext passwords", async () => {
  const c = await cluster();
  for (
    const [user, password] of [
      ["scram_user", "scrám secret"],
      ["md5_user", "md5 secret"],
      ["clear_user", "clear secret"],
    ]
  ) {
    const [row] = await withDriver(
      urlFor(c, user, password),
      (d) => d.query<{ u: string }>("SELECT current_user AS u"),
    );
    assertEquals(row.u, user);
  }
});

test("a wrong password is the server's refusal, CONNECTION_FAILED with advice", async () => {
  const c = await cluster();
  for (const user of ["scram_user", "md5_user", "clear_user"]) {
    const error = await assertRejects<DataBridgeError>(() =>
      withDriver(urlFor(c, user, "wrong"), (d) => d.query("SELECT 1"))
    );
    assertEquals(error.code, "CONNECTION_FAILED");
    assertEquals(error.pgCode, "28P01");
    assertMatch(error.message, /password authentication failed.*check the user name and password/);
    assert(!error.message.includes("wrong"), "the password is never shown");
  }
});

test("an authentication method the client does not speak, or a rejecting pg_hba.conf, says so", async () => {
  const c = await cluster();
  const gss = await assertRejects<DataBridgeError>(() =>
    withDriver(urlFor(c, "gss_user", "x"), (d) => d.query("SELECT 1"))
  );
  assertEquals(gss.code, "CONNECTION_FAILED");
  assertMatch(gss.message, /GSSAPI|gss/i);
  const rejected = await assertRejects<DataBridgeError>(() =>
    withDriver(urlFor(c, "reject_user", "x"), (d) => d.query("SELECT 1"))
  );
  assertEquals(rejected.pgCode, "28000");
  assertMatch(rejected.message, /pg_hba\.conf/);
});

test("the wire client connects over a Unix socket", async () => {
  const c = await cluster();
  const dir = dirname(c.dataDir);
  const url = `postgres://postgres@${encodeURIComponent(dir)}:${c.port}/postgres`;
  assertEquals(connInfo(url, () => undefined)?.socket, join(dir, `.s.PGSQL.${c.port}`));
  const [row] = await withDriver(url, (d) => d.query<{ n: number }>("SELECT 1 AS n"));
  assertEquals(row.n, 1);
});

test("a session the server ends fails the running query and every later one with CONNECTION_LOST", async () => {
  const c = await cluster();
  await withDriver(c.url, async (d) => {
    const [{ pid }] = await d.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    const sleeping = d.query("SELECT pg_sleep(30)");
    sleeping.catch(() => {}); // it fails while the other session is still at work
    await withDriver(c.url, (admin) => admin.query("SELECT pg_terminate_backend($1)", [pid]));
    const error = await assertRejects<DataBridgeError>(() => sleeping);
    assertEquals(error.code, "CONNECTION_LOST");
    assertEquals(
      (await assertRejects<DataBridgeError>(() => d.query("SELECT 1"))).code,
      "CONNECTION_LOST",
    );
  });
});

test("cancel stops the running statement and the session goes on", async () => {
  const c = await cluster();
  await withDriver(c.url, async (d) => {
    await d.query("SELECT 1");
    const sleeping = d.query("SELECT pg_sleep(30)");
    sleeping.catch(() => {}); // awaited below, after the cancel
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    await d.cancel();
    const error = await assertRejects<DatabaseError>(() => sleeping);
    assertEquals(error.pgCode, "57014");
    assert(Date.now() - started < 5000, "cancelled, not waited for");
    assertEquals(await d.query("SELECT 2 AS n"), [{ n: 2 }]);
  });
});

test("COPY ... FROM STDIN is refused by the client, and the session goes on", async () => {
  const c = await cluster();
  await withDriver(c.url, async (d) => {
    await d.exec("CREATE TEMP TABLE t (id int)");
    const error = await assertRejects<DatabaseError>(() => d.exec("COPY t FROM STDIN"));
    assertMatch(error.message, /COPY/);
    assertEquals(await d.query("SELECT count(*)::int AS n FROM t"), [{ n: 0 }]);
  });
});

test("notices and warnings reach onNotice", async () => {
  const c = await cluster();
  const seen: string[] = [];
  await withDriver(c.url, async (d) => {
    await d.exec("DO $$ BEGIN RAISE NOTICE 'hello %', 1; RAISE WARNING 'careful'; END $$");
  }, {
    onNotice: (n: { severity: string; message: string }) =>
      seen.push(`${n.severity}: ${n.message}`),
  });
  assertEquals(seen, ["NOTICE: hello 1", "WARNING: careful"]);
});

test("statements with parameters are prepared once; DEALLOCATE ALL does not break later ones", async () => {
  const c = await cluster();
  await withDriver(c.url, async (d) => {
    for (let i = 0; i < 3; i++) assertEquals(await d.query("SELECT $1::int AS n", [i]), [{ n: i }]);
    const [{ n }] = await d.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_prepared_statements",
    );
    assertEquals(n, 1);
    await d.exec("DEALLOCATE ALL");
    await assertRejects(() => d.query("SELECT $1::int AS n", [5]));
    assertEquals(await d.query("SELECT $1::int AS n", [6]), [{ n: 6 }]);
  });
});

test("a query without parameters is one simple Query (the server plans no statement to keep), its rows decoded as with parameters", async () => {
  const c = await cluster();
  await withDriver(c.url, async (d) => {
    const bare = await d.query(
      "SELECT 7::int AS i, 'x'::text AS t, NULL::int AS n, true AS b, 1.5::float8 AS f, " +
        "'2025-01-28T12:00:00.123Z'::timestamptz AS ts, 9007199254740993::bigint AS big, " +
        "'{1,2}'::int[] AS arr",
    );
    const withParams = await d.query(
      "SELECT $1::int AS i, $2::text AS t, $3::int AS n, $4::boolean AS b, $5::float8 AS f, " +
        "$6::timestamptz AS ts, $7::bigint AS big, $8::int[] AS arr",
      [7, "x", null, true, 1.5, "2025-01-28T12:00:00.123Z", "9007199254740993", "{1,2}"],
    );
    assertEquals(bare, withParams);
    const [{ prepared }] = await d.query<{ prepared: number }>(
      "SELECT count(*)::int AS prepared FROM pg_prepared_statements",
    );
    assertEquals(prepared, 1); // the one with parameters
    // The server's log names the protocol: "statement:" for a simple Query,
    // "execute <name>:" for the extended one.
    await d.exec("SET log_min_duration_statement = 0");
    await d.query("SELECT 'bare marker' AS m");
    await d.query("SELECT $1::text AS m", ["parameter marker"]);
    await d.exec("RESET log_min_duration_statement");
    const log = readFileSync(c.logFile, "utf8");
    assertMatch(log, /statement: SELECT 'bare marker' AS m/);
    assert(!/execute [^:]*: SELECT 'bare marker'/.test(log), "the bare query was prepared");
    assertMatch(log, /execute data_bridge_\d+: SELECT \$1::text AS m/);
  });
});

test("a statement that fails to parse is not kept as prepared", async () => {
  const c = await cluster();
  await withDriver(c.url, async (d) => {
    await assertRejects(() => d.query("SELEC $1", [1]));
    await assertRejects(() => d.query("SELEC $1", [1]));
    assertEquals(await d.query("SELECT $1::text AS t", ["ok"]), [{ t: "ok" }]);
  });
});

test("a value of several megabytes crosses the socket in both directions", async () => {
  const c = await cluster();
  const big = "é".repeat(1_500_000);
  await withDriver(c.url, async (d) => {
    const [row] = await d.query<{ t: string; n: number }>("SELECT $1::text AS t, length($1) AS n", [
      big,
    ]);
    assertEquals(row.n, big.length);
    assert(row.t === big);
  });
});

test("closing a session fails what is still queued instead of leaving it waiting", async () => {
  const c = await cluster();
  const d = open(c.url);
  await d.query("SELECT 1");
  const pending = d.query("SELECT pg_sleep(5)");
  pending.catch(() => {}); // awaited below, after the close
  await d.close();
  const error = await assertRejects<DataBridgeError>(() => pending);
  assertEquals(error.code, "CONNECTION_LOST");
});

test("the session's application_name is data-bridge's, or the caller's", async () => {
  const c = await cluster();
  const name = (opts = {}) =>
    withDriver(
      c.url,
      async (d) =>
        (await d.query<{ a: string }>("SELECT current_setting('application_name') AS a"))[0].a,
      opts,
    );
  assertEquals(await name(), "data-bridge");
  assertEquals(await name({ applicationName: "nightly" }), "nightly");
});

test("closing during the connection attempt ends it: the peer sees the socket closed", async () => {
  const { createServer } = await import("node:net");
  let closedByClient!: () => void;
  const peerClosed = new Promise<void>((resolve) => (closedByClient = resolve));
  const server = createServer((socket) => {
    socket.on("data", () => {}); // reads the startup message, never answers
    socket.on("close", () => closedByClient());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  try {
    const d = open(`postgres://u:p@127.0.0.1:${port}/db`);
    const pending = d.query("SELECT 1");
    pending.catch(() => {}); // awaited below, after the close
    await new Promise((r) => setTimeout(r, 100));
    await d.close();
    assertEquals((await assertRejects<DataBridgeError>(() => pending)).code, "CONNECTION_LOST");
    const timer = new Promise((_, reject) =>
      setTimeout(() => reject(new Error("still open")), 3000)
    );
    await Promise.race([peerClosed, timer]);
  } finally {
    server.close();
  }
});

test("the connect timeout closes the socket of an attempt that never gets an answer", async () => {
  const { createServer } = await import("node:net");
  let closedByClient!: () => void;
  const peerClosed = new Promise<void>((resolve) => (closedByClient = resolve));
  const server = createServer((socket) => {
    socket.on("data", () => {});
    socket.on("close", () => closedByClient());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  try {
    const d = open(`postgres://u:p@127.0.0.1:${port}/db`, { connectTimeoutSeconds: 1 });
    const error = await assertRejects<DataBridgeError>(() => d.query("SELECT 1"));
    assertEquals(error.code, "CONNECTION_FAILED");
    assertMatch(error.message, /within 1s \(--connect-timeout\)/);
    const timer = new Promise((_, reject) =>
      setTimeout(() => reject(new Error("still open")), 3000)
    );
    await Promise.race([peerClosed, timer]);
    await d.close();
  } finally {
    server.close();
  }
});

/** What a relay saw: each side's messages by type, numbered in the order the relay got them. */
interface RelayLog {
  /** The startup messages' parameter names, one list a connection. */
  startups: string[][];
  /** Client and server messages of every connection, in arrival order. */
  messages: { from: "client" | "server"; type: string; connection: number }[];
}

/**
 * A TCP relay to the real server that logs the messages crossing it. With
 * `rename`, the first connection's startup parameter of that name goes to
 * the server as `<name>_x`, which the server refuses after the login, as
 * PostgreSQL 13 refuses `client_connection_check_interval`.
 */
async function relay(
  target: number,
  rename?: string,
): Promise<{ port: number; log: RelayLog; close(): Promise<void> }> {
  const { connect, createServer } = await import("node:net");
  const log: RelayLog = { startups: [], messages: [] };
  const sockets: { destroy(): void }[] = [];
  const server = createServer((client) => {
    const connection = log.startups.length;
    log.startups.push([]);
    const upstream = connect(target, "127.0.0.1");
    sockets.push(client, upstream);
    client.on("error", () => {});
    upstream.on("error", () => {});
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    // Each side's bytes, cut into messages; the client's first is the untyped startup.
    const cutter = (from: "client" | "server") => {
      let pending = new Uint8Array(0);
      let startup = from === "client";
      return (chunk: Uint8Array): Uint8Array => {
        const all = new Uint8Array(pending.length + chunk.length);
        all.set(pending);
        all.set(chunk, pending.length);
        const view = new DataView(all.buffer);
        let at = 0;
        let out: Uint8Array = all;
        for (;;) {
          if (startup) {
            if (all.length < 4 || all.length < view.getInt32(0)) break;
            const length = view.getInt32(0);
            // key\0value\0 ... \0: the text before the last NUL, its last field empty.
            const fields = new TextDecoder().decode(all.subarray(8, length - 1)).split("\0");
            fields.pop();
            const names = fields.filter((_, i) => i % 2 === 0);
            log.startups[connection].push(...names);
            startup = false;
            at = length;
            if (rename !== undefined && connection === 0 && names.includes(rename)) {
              const renamed = fields.map((f, i) => (i % 2 === 0 && f === rename ? `${f}_x` : f));
              const body = new TextEncoder().encode(`${renamed.join("\0")}\0\0`);
              const message = new Uint8Array(8 + body.length);
              new DataView(message.buffer).setInt32(0, message.length);
              new DataView(message.buffer).setInt32(4, 196608);
              message.set(body, 8);
              const rest = all.subarray(length);
              out = new Uint8Array(message.length + rest.length);
              out.set(message);
              out.set(rest, message.length);
            }
            continue;
          }
          if (all.length - at < 5 || all.length - at < 1 + view.getInt32(at + 1)) break;
          log.messages.push({ from, type: String.fromCharCode(all[at]), connection });
          at += 1 + view.getInt32(at + 1);
        }
        pending = all.slice(at);
        // Bytes are forwarded as they come; only a renamed startup is sent rebuilt.
        return out === all ? chunk : out;
      };
    };
    const fromClient = cutter("client");
    const fromServer = cutter("server");
    client.on("data", (chunk: Uint8Array) => upstream.write(fromClient(chunk)));
    upstream.on("data", (chunk: Uint8Array) => client.write(fromServer(chunk)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Where in the log a connection's first message of a type is; -1 when absent. */
function indexOf(log: RelayLog, from: "client" | "server", type: string, connection = 0): number {
  return log.messages.findIndex((m) =>
    m.from === from && m.type === type && m.connection === connection
  );
}

test("an early read leaves with the last password message, before the server is ready; other queries wait for it", async () => {
  const c = await cluster();
  const r = await relay(c.port);
  try {
    const users = [["scram_user", "scrám secret", "p"], ["md5_user", "md5 secret", "p"], [
      "clear_user",
      "clear secret",
      "p",
    ]];
    for (const [i, [user, password]] of users.entries()) {
      const url = `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${r.port}/postgres`;
      const rows = await withDriver(url, (d) =>
        Promise.all([
          d.query<{ n: number }>("SELECT 1 AS n", [], { early: true }),
          d.query<{ n: number }>("SELECT 2 AS n"),
          // Queued behind a query that waits: it waits too, answers stay in order.
          d.query<{ n: number }>("SELECT $1::int AS n", [3], { early: true }),
        ]));
      assertEquals(rows.map((x) => x[0].n), [1, 2, 3]);
      const ready = indexOf(r.log, "server", "Z", i);
      const queries = r.log.messages.filter((m) =>
        m.from === "client" && m.connection === i && (m.type === "Q" || m.type === "P")
      );
      assertEquals(queries.map((m) => m.type), ["Q", "Q", "P"], user);
      const at = (m: unknown) => r.log.messages.indexOf(m as RelayLog["messages"][number]);
      assert(at(queries[0]) < ready, `${user}: the early read is sent before ReadyForQuery`);
      assert(at(queries[0]) > indexOf(r.log, "client", "p", i), `${user}: after the password`);
      assert(at(queries[1]) > ready && at(queries[2]) > ready, `${user}: the others after it`);
    }
    // Without the option, nothing is sent before the server is ready.
    await withDriver(
      `postgres://scram_user:${encodeURIComponent("scrám secret")}@127.0.0.1:${r.port}/postgres`,
      (d) => d.query("SELECT 1"),
    );
    const last = r.log.startups.length - 1;
    assert(indexOf(r.log, "client", "Q", last) > indexOf(r.log, "server", "Z", last));
  } finally {
    await r.close();
  }
});

test("an early read with a wrong password, or on a database that does not exist, fails with the server's refusal", async () => {
  const c = await cluster();
  for (const user of ["scram_user", "md5_user", "clear_user"]) {
    const error = await assertRejects<DataBridgeError>(() =>
      withDriver(urlFor(c, user, "wrong"), (d) => d.query("SELECT 1", [], { early: true }))
    );
    assertEquals(error.code, "CONNECTION_FAILED");
    assertEquals(error.pgCode, "28P01");
  }
  const url = urlFor(c, "scram_user", "scrám secret").replace(/\/postgres$/, "/no_such_db");
  const missing = await assertRejects<DataBridgeError>(() =>
    withDriver(url, (d) => d.query("SELECT 1", [], { early: true }))
  );
  assertEquals(missing.pgCode, "3D000");
});

test("a server that refuses client_connection_check_interval after the login (PostgreSQL 13) is asked again without it, the early read sent again", async () => {
  const c = await cluster();
  const r = await relay(c.port, "client_connection_check_interval");
  try {
    const url = `postgres://scram_user:${
      encodeURIComponent("scrám secret")
    }@127.0.0.1:${r.port}/postgres`;
    // A read the second attempt failed to send would never be answered: bounded.
    const [rows, later] = await within(
      10_000,
      withDriver(url, async (d) => [
        await d.query<{ n: number }>("SELECT 1 AS n", [], { early: true }),
        await d.query<{ n: number }>("SELECT 2 AS n"),
      ]),
    );
    assertEquals([rows[0].n, later[0].n], [1, 2]);
    assertEquals(r.log.startups.length, 2);
    assert(r.log.startups[0].includes("client_connection_check_interval"));
    assert(!r.log.startups[1].includes("client_connection_check_interval"));
    // The first attempt sent the read with its password; the server ran none of it.
    assert(indexOf(r.log, "client", "Q", 0) > indexOf(r.log, "client", "p", 0));
    assertEquals(indexOf(r.log, "server", "Z", 0), -1);
    assertEquals(indexOf(r.log, "server", "E", 0) > 0, true);
    assert(indexOf(r.log, "client", "Q", 1) < indexOf(r.log, "server", "Z", 1));
  } finally {
    await r.close();
  }
});
