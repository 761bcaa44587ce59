/**
 * TLS against a real server that accepts only TLS connections: a throwaway
 * cluster with a certificate from a CA made here by openssl (valid for
 * `localhost` and 127.0.0.1, listening on 127.0.0.1 and 127.0.0.2).
 * `sslmode` and `sslrootcert` in the URL and `PGSSLMODE`/`PGSSLROOTCERT`
 * behave as in libpq, and every refusal is one line saying it is a TLS or
 * certificate problem and what to check.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Cluster, startCluster } from "../scripts/pg_cluster.ts";
import postgresJs from "postgres";
import { assert, assertEquals, assertMatch } from "./support/assert.ts";
import { CLI, cli, command, type Result, type Runtime, start } from "./support/cli.ts";
import { serverUrl } from "./support/db.ts";
import { migrationText, tempMigrations } from "./support/files.ts";

/** A CA, a second unrelated CA, and a server certificate signed by the first. */
function makeCertificates(dir: string) {
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const ca = (name: string, subject: string) =>
    openssl(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "2",
      "-subj",
      subject,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.crt`,
    );
  ca("ca", "/CN=data-bridge test CA");
  ca("other-ca", "/CN=someone else's CA");
  // A key and a signing request, then the certificate signed by the first CA.
  const request = (name: string, subject: string) =>
    openssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      subject,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
    );
  const sign = (name: string, ...extra: string[]) =>
    openssl(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "2",
      ...extra,
      "-out",
      `${name}.crt`,
    );
  request("server", "/CN=localhost");
  Deno.writeTextFileSync(
    join(dir, "server.ext"),
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n" +
      "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
  );
  sign("server", "-extfile", "server.ext");
  // A client certificate for the user `certuser`, signed by the first CA.
  request("client", "/CN=certuser");
  sign("client");
  return {
    clientCert: join(dir, "client.crt"),
    clientKey: join(dir, "client.key"),
    caText: readFileSync(join(dir, "ca.crt"), "utf8"),
    ca: join(dir, "ca.crt"),
    otherCa: join(dir, "other-ca.crt"),
    cert: readFileSync(join(dir, "server.crt"), "utf8"),
    key: readFileSync(join(dir, "server.key"), "utf8"),
  };
}

function refused(result: Result, pattern: RegExp, what: string): void {
  assertEquals(result.code, 1, `${what}: exit code; ${result.stdout}${result.stderr}`);
  const lines = result.stderr.trimEnd().split("\n");
  assertEquals(lines.length, 1, `${what}: one line: ${result.stderr}`);
  assertMatch(lines[0], /^error: cannot connect to postgres:\/\/postgres:\*\*\*@/, what);
  assertMatch(lines[0], pattern, what);
}

Deno.test({
  name:
    "TLS: verify-full checks CA and host name, require encrypts, disable is refused by a TLS-only server (postgres.js under Deno, the wire client under Bun)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const dir = mkdtempSync(join(tmpdir(), "data-bridge-tls-"));
    const project = tempMigrations({});
    let cluster: Cluster | undefined;
    try {
      const certs = makeCertificates(dir);
      cluster = await startCluster({
        settings: {
          ssl: "on",
          ssl_cert_file: "'server.crt'",
          ssl_key_file: "'server.key'",
          listen_addresses: "'127.0.0.1,127.0.0.2'",
          ssl_ca_file: "'ca.crt'",
        },
        files: { "server.crt": certs.cert, "server.key": certs.key, "ca.crt": certs.caText },
        // TLS only: plain connections are rejected before authentication.
        hba: [
          "hostnossl all all all reject",
          "hostssl all certuser 127.0.0.0/8 cert",
          "hostssl all all 127.0.0.0/8 scram-sha-256",
        ],
      });
      const { port, password } = cluster;
      const url = (host: string, query: string) =>
        `postgres://postgres:${password}@${host}:${port}/postgres${query ? `?${query}` : ""}`;
      let rt: Runtime = "deno";
      const status = (
        args: string[],
        env: Record<string, string> = {},
        runtime: Runtime = rt,
      ) => cli(["status", ...args], { cwd: project.root, env, runtime });
      const connects = async (what: string, result: Promise<Result>) => {
        const r = await result;
        assertEquals(r.code, 0, `${what}: ${r.stdout}${r.stderr}`);
        assertEquals(r.stdout, "No migrations.\n", what);
      };
      const ca = `sslrootcert=${certs.ca}`;
      const otherCa = `sslrootcert=${certs.otherCa}`;
      const wrongCa =
        /TLS certificate problem: the certificate of .* could not be verified \(.+\); check that sslrootcert names the CA that signed the server's certificate/;
      const wrongHost =
        /TLS certificate problem: the server's certificate is not valid for the host connected to \(.*127\.0\.0\.2.*\); connect with a host name the certificate names, or use sslmode=verify-ca/;
      const plain =
        /no encryption; the server accepts only TLS connections from here: use sslmode=require or verify-full, not sslmode=disable$/;

      // Under Deno, TLS goes through postgres.js; under Bun, through the wire client.
      for (const runtime of ["deno", "bun"] as Runtime[]) {
        rt = runtime;
        const step = (name: string, fn: () => Promise<void>) => t.step(`${name} [${runtime}]`, fn);
        await step(
          "verify-full with the right CA connects, by name and by IP address",
          async () => {
            await connects(
              "localhost",
              status(["--database-url", url("localhost", `sslmode=verify-full&${ca}`)]),
            );
            await connects(
              "127.0.0.1",
              status(["--database-url", url("127.0.0.1", `sslmode=verify-full&${ca}`)]),
            );
          },
        );
        await step("verify-full refuses a certificate from another CA", async () => {
          refused(
            await status(["--database-url", url("localhost", `sslmode=verify-full&${otherCa}`)]),
            wrongCa,
            "other CA",
          );
        });
        await step("verify-full refuses a host the certificate does not name", async () => {
          refused(
            await status(["--database-url", url("127.0.0.2", `sslmode=verify-full&${ca}`)]),
            wrongHost,
            `127.0.0.2 under ${runtime}`,
          );
        });
        await step("verify-ca checks the CA but not the host name", async () => {
          await connects(
            "127.0.0.2",
            status(["--database-url", url("127.0.0.2", `sslmode=verify-ca&${ca}`)]),
          );
          refused(
            await status(["--database-url", url("127.0.0.2", `sslmode=verify-ca&${otherCa}`)]),
            wrongCa,
            "verify-ca, other CA",
          );
        });
        await step(
          "require encrypts without verifying; with sslrootcert it checks the CA, as libpq",
          async () => {
            await connects(
              "require",
              status(["--database-url", url("127.0.0.2", "sslmode=require")]),
            );
            refused(
              await status(["--database-url", url("localhost", `sslmode=require&${otherCa}`)]),
              wrongCa,
              "require, other CA",
            );
          },
        );
        await step("sslrootcert=system does not trust a private CA", async () => {
          refused(
            await status([
              "--database-url",
              url("localhost", "sslmode=verify-full&sslrootcert=system"),
            ]),
            /TLS certificate problem/,
            "system CAs",
          );
        });
        await step(
          "disable, or no sslmode, is refused by the TLS-only server with advice",
          async () => {
            refused(
              await status(["--database-url", url("127.0.0.1", "sslmode=disable")]),
              plain,
              "disable",
            );
            refused(await status(["--database-url", url("127.0.0.1", "")]), plain, "no sslmode");
          },
        );
        await step(
          "PGSSLMODE and PGSSLROOTCERT apply without a URL sslmode; the URL's wins",
          async () => {
            const pg = {
              PGHOST: "localhost",
              PGPORT: String(port),
              PGUSER: "postgres",
              PGPASSWORD: password,
              PGDATABASE: "postgres",
            };
            await connects("PGSSLMODE=require", status([], { ...pg, PGSSLMODE: "require" }));
            await connects(
              "PGSSLMODE=verify-full",
              status([], { ...pg, PGSSLMODE: "verify-full", PGSSLROOTCERT: certs.ca }),
            );
            refused(
              await status([], {
                ...pg,
                PGHOST: "127.0.0.2",
                PGSSLMODE: "verify-full",
                PGSSLROOTCERT: certs.ca,
              }),
              wrongHost,
              "PGHOST not in the certificate",
            );
            refused(await status([], { ...pg, PGSSLMODE: "disable" }), plain, "PGSSLMODE=disable");
            await connects(
              "URL sslmode over PGSSLMODE",
              status(["--database-url", url("localhost", "sslmode=require")], {
                PGSSLMODE: "disable",
              }),
            );
          },
        );
        await step("a refusal is CONNECTION_FAILED in --json", async () => {
          const r = await status([
            "--json",
            "--database-url",
            url("localhost", `sslmode=verify-full&${otherCa}`),
          ]);
          assertEquals(r.code, 1);
          assertEquals(JSON.parse(r.stdout).error.code, "CONNECTION_FAILED");
        });
        await step(
          "a client certificate authenticates a user admitted by certificate",
          async () => {
            const admin = postgresJs(url("localhost", "sslmode=require"), {
              max: 1,
              onnotice() {},
            });
            try {
              await admin.unsafe(
                "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'certuser') THEN CREATE ROLE certuser LOGIN; END IF; END $$",
              );
              const [db] = await admin`SELECT 1 FROM pg_database WHERE datname = 'certdb'`;
              if (!db) await admin.unsafe("CREATE DATABASE certdb OWNER certuser");
            } finally {
              await admin.end();
            }
            const certUrl = (query: string) =>
              `postgres://certuser@localhost:${port}/certdb?sslmode=verify-full&${ca}${query}`;
            await connects(
              "sslcert and sslkey",
              status([
                "--database-url",
                certUrl(`&sslcert=${certs.clientCert}&sslkey=${certs.clientKey}`),
              ]),
            );
            await connects(
              "PGSSLCERT and PGSSLKEY",
              status(["--database-url", certUrl("")], {
                PGSSLCERT: certs.clientCert,
                PGSSLKEY: certs.clientKey,
              }),
            );
            const without = await status(["--database-url", certUrl("")]);
            assertEquals(without.code, 1, without.stderr);
            assertEquals(without.stderr.trimEnd().split("\n").length, 1, without.stderr);
            assertMatch(
              without.stderr,
              /^error: cannot connect to postgres:\/\/certuser@localhost:\d+\/certdb\?.*: connection requires a valid client certificate; the server authenticates this user by certificate: give sslcert and sslkey/,
            );
            const half = await status(["--database-url", certUrl(`&sslcert=${certs.clientCert}`)]);
            assertEquals(half.code, 2, half.stderr);
            assertMatch(
              half.stderr,
              /^error: sslcert is given without sslkey; give the file of its private key too\n$/,
            );
          },
        );
        await step("Ctrl-C over TLS cancels the running migration and rolls it back", async () => {
          // The cancel request goes over a connection of its own, as libpq's.
          const slow = tempMigrations({
            "20250101_000000_slow.sql": migrationText(
              "CREATE TABLE slow_made ();\nSELECT pg_sleep(30);",
              "DROP TABLE slow_made;",
            ),
          });
          const admin = postgresJs(url("localhost", "sslmode=require"), { max: 1, onnotice() {} });
          try {
            const [file, args] = command(runtime, CLI, [
              "apply",
              "--database-url",
              url("localhost", `sslmode=verify-full&${ca}`),
            ]);
            const run = start(file, args, { cwd: slow.root });
            const deadline = Date.now() + 20000;
            while (Date.now() < deadline) {
              const rows = await admin`SELECT 1 FROM pg_stat_activity
                WHERE application_name = 'data-bridge' AND query LIKE '%pg_sleep%' AND state = 'active'`;
              if (rows.length) break;
              await new Promise((r) => setTimeout(r, 50));
            }
            const sentAt = Date.now();
            run.child.kill("SIGINT");
            const result = await run.done;
            assertEquals(result.code, 130, result.stderr);
            assert(Date.now() - sentAt < 10000, "stops promptly");
            assertMatch(
              result.stderr,
              /interrupted by SIGINT: during migration 20250101_000000 .*; it was rolled back/,
            );
            const [made] = await admin`SELECT to_regclass('slow_made')::text AS t`;
            assertEquals(made.t, null);
          } finally {
            await admin.end();
            slow.remove();
          }
        });
      }
    } finally {
      cluster?.stop();
      project.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  },
});

Deno.test("sslmode=require against a server without TLS says the handshake failed; prefer connects", async () => {
  const project = tempMigrations({});
  try {
    const u = new URL(await serverUrl());
    for (const runtime of ["deno", "bun"] as Runtime[]) {
      u.searchParams.set("sslmode", "require");
      const result = await cli(["status", "--database-url", u.toString()], {
        cwd: project.root,
        runtime,
      });
      refused(
        result,
        /TLS problem: .* closed the connection during the TLS handshake .*; the server may not accept TLS \(ssl = off\): check sslmode=require/,
        `require against ssl = off under ${runtime}`,
      );
      u.searchParams.set("sslmode", "prefer");
      const preferred = await cli(["status", "--database-url", u.toString()], {
        cwd: project.root,
        runtime,
      });
      assertEquals(preferred.code, 0, `prefer under ${runtime}: ${preferred.stderr}`);
      assertEquals(preferred.stdout, "No migrations.\n");
    }
  } finally {
    project.remove();
  }
});
