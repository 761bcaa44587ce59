/** One translation of socket and server errors into data-bridge's, with advice, for both server drivers. */
import {
  lostError,
  transientConnectError,
  translateDriverError,
  waitingNotice,
} from "../lib/connection_errors.ts";
import { DatabaseError } from "../lib/errors.ts";
import { assert, assertEquals, assertMatch } from "./support/assert.ts";

const fresh = {
  target: "postgres://app:***@db:5432/app",
  established: false,
  lost: false,
  seconds: 7,
};
const live = { ...fresh, established: true };

const coded = (code: string, message = code) => Object.assign(new Error(message), { code });
const server = (code: string, message: string, severity = "FATAL") => ({ code, message, severity });

const CASES: Array<[string, unknown, typeof fresh, string, RegExp]> = [
  [
    "a refused connection",
    coded("ECONNREFUSED"),
    fresh,
    "CONNECTION_FAILED",
    /connection refused at db:5432/,
  ],
  ["an unknown host", coded("ENOTFOUND"), fresh, "CONNECTION_FAILED", /host of db:5432 not found/],
  [
    "no socket file",
    coded("ENOENT", "No such file"),
    fresh,
    "CONNECTION_FAILED",
    /no PostgreSQL socket/,
  ],
  [
    "no socket file in a socket directory given as the host parameter",
    coded("ENOENT", "No such file"),
    { ...fresh, target: "postgres://app@localhost/app?host=/run/pg%20x&port=6543" },
    "CONNECTION_FAILED",
    /no PostgreSQL socket at \/run\/pg x\/\.s\.PGSQL\.6543 \(No such file\)/,
  ],
  [
    "a refused connection at the host parameter's host",
    coded("ECONNREFUSED"),
    { ...fresh, target: "postgres://app@localhost:5433/app?host=db2" },
    "CONNECTION_FAILED",
    /connection refused at db2:5433;/,
  ],
  [
    "the connect timeout",
    coded("CONNECT_TIMEOUT"),
    fresh,
    "CONNECTION_FAILED",
    /within 7s \(--connect-timeout\)/,
  ],
  [
    "a peer that closes",
    coded("CONNECTION_CLOSED", "the server closed the connection"),
    fresh,
    "CONNECTION_FAILED",
    /closed the connection before the session started/,
  ],
  [
    "an authentication method not spoken",
    coded("AUTH_UNSUPPORTED", "the server asks for GSSAPI authentication"),
    fresh,
    "CONNECTION_FAILED",
    /GSSAPI.*pg_hba\.conf/,
  ],
  [
    "a wrong password",
    server("28P01", 'password authentication failed for user "app"'),
    fresh,
    "CONNECTION_FAILED",
    /check the user name and password/,
  ],
  [
    "a missing database",
    server("3D000", 'database "app" does not exist'),
    fresh,
    "CONNECTION_FAILED",
    /create the database \(apply --create-database does\) or fix the URL$/,
  ],
  ["a reset on a live session", coded("ECONNRESET"), live, "CONNECTION_LOST", /was lost/],
  [
    "the backend terminated",
    server("57P01", "terminating connection due to administrator command"),
    live,
    "CONNECTION_LOST",
    /was lost: terminating connection.*57P01/,
  ],
  [
    "the server's idle-in-transaction timeout (a FATAL outside the session classes)",
    server("25P03", "terminating connection due to idle-in-transaction timeout"),
    live,
    "CONNECTION_LOST",
    /was lost: terminating connection due to idle-in-transaction timeout \(SQLSTATE 25P03\)$/,
  ],
  ["something else", new Error("boom"), live, "INTERNAL", /boom/],
];

Deno.test("socket and session errors become CONNECTION_FAILED or CONNECTION_LOST with advice", async (t) => {
  for (const [name, error, state, code, message] of CASES) {
    await t.step(name, () => {
      const { error: translated, lost } = translateDriverError(error, state);
      assertEquals(translated.code, code);
      assertMatch(translated.message, message);
      assertEquals(lost, code === "CONNECTION_LOST");
    });
  }
});

Deno.test("a statement's error on a live session stays the database's error", () => {
  const { error, lost } = translateDriverError(
    { code: "42P01", message: 'relation "x" does not exist', severity: "ERROR", position: "15" },
    live,
  );
  assert(error instanceof DatabaseError);
  assertEquals([error.pgCode, error.position, lost], ["42P01", 15, false]);
});

Deno.test("a query after the session is gone says so", () => {
  assertEquals(lostError("postgres://db/app").code, "CONNECTION_LOST");
});

Deno.test("--connect-wait retries what a server coming up gives, and nothing else", () => {
  const cases: Array<[unknown, boolean]> = [
    [coded("ECONNREFUSED"), true],
    [coded("ENOENT"), true], // a Unix socket not made yet
    [coded("ENOTFOUND"), true], // a container not in DNS yet
    [coded("EAI_AGAIN"), true],
    [coded("CONNECT_TIMEOUT"), true],
    [coded("ECONNRESET"), true],
    [coded("CONNECTION_CLOSED"), true],
    [server("57P03", "the database system is starting up"), true],
    [server("57P03", "the database system is shutting down"), true],
    [server("53300", "sorry, too many clients already"), true],
    [server("28P01", 'password authentication failed for user "app"'), false],
    [server("3D000", 'database "app" does not exist'), false],
    [server("28000", "no pg_hba.conf entry"), false],
    [coded("EACCES"), false],
    [coded("PROTOCOL"), false],
    [coded("AUTH_UNSUPPORTED"), false],
    [coded("ERR_TLS_CERT_ALTNAME_INVALID"), false],
    [new Error("boom"), false],
    [null, false],
  ];
  for (const [error, expected] of cases) {
    assertEquals(transientConnectError(error), expected, JSON.stringify(error));
  }
});

Deno.test("an attempt given up after --connect-wait says how long it tried", () => {
  const refused = coded("ECONNREFUSED");
  const waited = translateDriverError(refused, { ...fresh, waited: 30.04 }).error.message;
  assertMatch(
    waited,
    /connection refused at db:5432; .* \(still so after trying for 30s: --connect-wait\)$/,
  );
  assert(!translateDriverError(refused, fresh).error.message.includes("--connect-wait"));
  const notice = waitingNotice(
    fresh.target,
    server("57P03", "the database system is starting up"),
    60,
  );
  assertEquals(notice, {
    severity: "INFO",
    client: true,
    message:
      "cannot connect to postgres://app:***@db:5432/app yet (the database system is starting up" +
      " (SQLSTATE 57P03)); trying again for up to 60s (--connect-wait)",
  });
});
