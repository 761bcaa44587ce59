/**
 * `--connect-wait` (`DriverOptions.connectWaitSeconds`) on both server
 * drivers: a deploy that starts beside its database waits for it to come up,
 * and gives up as soon as the failure is not one that waiting ends.
 */
import { createServer, type Server, type Socket } from "node:net";
import { connect as connectTcp } from "node:net";
import { connInfo } from "../lib/conninfo.ts";
import type { Driver, DriverOptions } from "../lib/driver.ts";
import type { DataBridgeError } from "../lib/errors.ts";
import { openPostgres } from "../lib/postgres_driver.ts";
import { maskUrl } from "../lib/target.ts";
import { openWire } from "../lib/wire_driver.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "./support/assert.ts";
import { serverTest, serverUrl } from "./support/db.ts";

const DRIVERS: Record<string, (url: string, options: DriverOptions) => Promise<Driver>> = {
  wire: (url, options) =>
    Promise.resolve(openWire(connInfo(url, () => undefined)!, maskUrl(url), options)),
  "postgres.js": (url, options) => openPostgres(url, options),
};

/** A port nothing listens on (yet). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** The bytes of an ErrorResponse a server starting up sends. */
function startingUpError(): Uint8Array {
  const fields = "SFATAL\0VFATAL\0C57P03\0Mthe database system is starting up\0\0";
  const body = new TextEncoder().encode(fields);
  const message = new Uint8Array(5 + body.length);
  message[0] = 0x45; // E
  new DataView(message.buffer).setInt32(1, 4 + body.length);
  message.set(body, 5);
  return message;
}

/**
 * A server coming up at `port`: nothing listens for `refuseMs`; then the
 * first `startingUp` sessions are refused with 57P03, as PostgreSQL does
 * while it starts; later ones are relayed to the real server at `target`.
 */
function comingUp(port: number, target: number, refuseMs: number, startingUp: number) {
  const seen = { refused: 0, relayed: 0 };
  const sockets: Socket[] = [];
  let server: Server | null = null;
  const listening = new Promise<void>((resolve) => {
    setTimeout(() => {
      server = createServer((client) => {
        sockets.push(client);
        client.on("error", () => {});
        let buffered = new Uint8Array(0);
        const onData = (chunk: Uint8Array) => {
          const all = new Uint8Array(buffered.length + chunk.length);
          all.set(buffered);
          all.set(chunk, buffered.length);
          buffered = all;
          if (all.length < 8) return;
          const view = new DataView(all.buffer);
          // An SSLRequest first: answered "no TLS", then the startup message comes.
          if (view.getInt32(0) === 8 && view.getInt32(4) === 80877103) {
            buffered = all.slice(8);
            client.write(new Uint8Array([0x4e])); // N
            return;
          }
          if (all.length < view.getInt32(0)) return;
          client.off("data", onData);
          if (seen.refused < startingUp) {
            seen.refused++;
            client.end(startingUpError());
            return;
          }
          seen.relayed++;
          const upstream = connectTcp(target, "127.0.0.1");
          sockets.push(upstream);
          upstream.on("error", () => {});
          upstream.write(all);
          client.on("data", (c: Uint8Array) => upstream.write(c));
          upstream.on("data", (c: Uint8Array) => client.write(c));
          client.on("close", () => upstream.destroy());
          upstream.on("close", () => client.destroy());
        };
        client.on("data", onData);
      });
      server.listen(port, "127.0.0.1", resolve);
    }, refuseMs);
  });
  return {
    seen,
    listening,
    close: async () => {
      await listening;
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server!.close(() => resolve()));
    },
  };
}

/** The test server's URL with its host and port replaced. */
async function urlAt(port: number, password?: string): Promise<{ url: string; target: number }> {
  const u = new URL(await serverUrl());
  const target = Number(u.port);
  u.hostname = "127.0.0.1";
  u.port = String(port);
  if (password !== undefined) u.password = password;
  return { url: u.toString(), target };
}

for (const [name, open] of Object.entries(DRIVERS)) {
  serverTest(
    `a first connection waits for a server that is refused, then starting up, then up [${name}]`,
    async () => {
      const port = await freePort();
      const { url, target } = await urlAt(port);
      const server = comingUp(port, target, 400, 2);
      const notices: string[] = [];
      const driver = await open(url, {
        connectWaitSeconds: 20,
        onNotice: (n) => notices.push(`${n.severity} ${n.message}`),
      });
      try {
        const started = Date.now();
        assertEquals(await driver.query("SELECT 41 + 1 AS n"), [{ n: 42 }]);
        const took = Date.now() - started;
        assert(took >= 400, `connected after ${took} ms, before the server listened`);
        assertEquals(server.seen, { refused: 2, relayed: 1 });
        assertEquals(notices.length, 1, notices.join("\n"));
        assertMatch(
          notices[0],
          /^INFO cannot connect to .* yet \(ECONNREFUSED\); trying again for up to 20s/,
        );
        assert(!notices[0].includes(new URL(url).password), "no password in the notice");
      } finally {
        await driver.close();
        await server.close();
      }
    },
  );

  serverTest(`without --connect-wait a refused connection fails at once [${name}]`, async () => {
    const { url } = await urlAt(await freePort());
    const driver = await open(url, {});
    try {
      const started = Date.now();
      const error = await assertRejects<DataBridgeError>(() => driver.query("SELECT 1"));
      assertEquals(error.code, "CONNECTION_FAILED");
      assertMatch(
        error.message,
        /connection refused at 127\.0\.0\.1:\d+; check that PostgreSQL is running/,
      );
      assert(!error.message.includes("--connect-wait"), error.message);
      assert(Date.now() - started < 2000, "no waiting");
    } finally {
      await driver.close();
    }
  });

  serverTest(
    `--connect-wait gives up when it is over, saying how long it tried [${name}]`,
    async () => {
      const { url } = await urlAt(await freePort());
      const driver = await open(url, { connectWaitSeconds: 1 });
      try {
        const started = Date.now();
        const error = await assertRejects<DataBridgeError>(() => driver.query("SELECT 1"));
        const took = Date.now() - started;
        assertEquals(error.code, "CONNECTION_FAILED");
        assertMatch(
          error.message,
          /connection refused .* \(still so after trying for 1(\.\d)?s: --connect-wait\)$/,
        );
        assert(took >= 1000 && took < 4000, `gave up after ${took} ms`);
      } finally {
        await driver.close();
      }
    },
  );

  serverTest(`--connect-wait does not wait out a wrong password [${name}]`, async () => {
    const { url } = await urlAt(Number(new URL(await serverUrl()).port), "wrong password");
    const driver = await open(url, { connectWaitSeconds: 30 });
    try {
      const started = Date.now();
      const error = await assertRejects<DataBridgeError>(() => driver.query("SELECT 1"));
      assertEquals([error.code, error.pgCode], ["CONNECTION_FAILED", "28P01"]);
      assert(Date.now() - started < 3000, "no waiting");
    } finally {
      await driver.close();
    }
  });

  serverTest(`closing while it waits for the server ends the wait [${name}]`, async () => {
    const { url } = await urlAt(await freePort());
    const driver = await open(url, { connectWaitSeconds: 60 });
    const pending = driver.query("SELECT 1");
    pending.catch(() => {}); // awaited below
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    await driver.close();
    const error = await assertRejects<DataBridgeError>(() => pending);
    assert(["CONNECTION_LOST", "CONNECTION_FAILED"].includes(error.code), error.message);
    assert(Date.now() - started < 2000, `ended ${Date.now() - started} ms after close`);
  });
}

for (const [name, open] of Object.entries(DRIVERS)) {
  serverTest(
    `an aborted signal ends the wait for a server with INTERRUPTED [${name}]`,
    async () => {
      const { url } = await urlAt(await freePort());
      const controller = new AbortController();
      const driver = await open(url, { connectWaitSeconds: 60, signal: controller.signal });
      try {
        const pending = driver.query("SELECT 1");
        pending.catch(() => {}); // awaited below
        await new Promise((resolve) => setTimeout(resolve, 300));
        const started = Date.now();
        controller.abort("SIGTERM");
        const error = await assertRejects<DataBridgeError>(() => pending);
        assertEquals([error.code, error.exitCode], ["INTERRUPTED", 143]);
        assertMatch(error.message, /^interrupted by SIGTERM: before the connection was made$/);
        assert(Date.now() - started < 1000, `ended ${Date.now() - started} ms after the abort`);
      } finally {
        await driver.close();
      }
    },
  );
}
