import { spawnSync } from "node:child_process";
import { connect } from "../lib/connect.ts";
import { formatPgUrl, parsePgUrl, type PgUrl, PgUrlError } from "../lib/pg_url.ts";
import { parseTarget } from "../lib/target.ts";
import { assertEquals, assertMatch, assertThrows } from "./support/assert.ts";
import { serverTest, serverUrl } from "./support/db.ts";

const host = (name: string, port = "") => ({ host: name, port });

const CASES: Array<[string, Omit<PgUrl, "scheme" | "params"> & { params?: [string, string][] }]> = [
  ["postgresql://", { hosts: [host("")] }],
  ["postgresql://localhost", { hosts: [host("localhost")] }],
  ["postgresql://localhost:5433", { hosts: [host("localhost", "5433")] }],
  ["postgresql://localhost/mydb", { hosts: [host("localhost")], database: "mydb" }],
  ["postgresql://user@localhost", { user: "user", hosts: [host("localhost")] }],
  [
    "postgresql://user:secret@localhost",
    { user: "user", password: "secret", hosts: [host("localhost")] },
  ],
  [
    "postgresql://other@localhost/otherdb?connect_timeout=10&application_name=myapp",
    {
      user: "other",
      hosts: [host("localhost")],
      database: "otherdb",
      params: [["connect_timeout", "10"], ["application_name", "myapp"]],
    },
  ],
  [
    "postgresql://host1:123,host2:456/somedb?target_session_attrs=any",
    {
      hosts: [host("host1", "123"), host("host2", "456")],
      database: "somedb",
      params: [["target_session_attrs", "any"]],
    },
  ],
  ["postgresql://h1,h2:6432,/db", {
    hosts: [host("h1"), host("h2", "6432"), host("")],
    database: "db",
  }],
  [
    "postgresql:///mydb?host=localhost&port=5433",
    { hosts: [host("")], database: "mydb", params: [["host", "localhost"], ["port", "5433"]] },
  ],
  ["postgresql://[2001:db8::1234]/database", {
    hosts: [host("2001:db8::1234")],
    database: "database",
  }],
  ["postgresql://[::1]:5433", { hosts: [host("::1", "5433")] }],
  [
    "postgresql:///dbname?host=/var/lib/postgresql",
    { hosts: [host("")], database: "dbname", params: [["host", "/var/lib/postgresql"]] },
  ],
  ["postgresql://%2Fvar%2Flib%2Fpostgresql/dbname", {
    hosts: [host("/var/lib/postgresql")],
    database: "dbname",
  }],
  [
    "postgres://user@/dbname?host=/var/run/postgresql",
    {
      user: "user",
      hosts: [host("")],
      database: "dbname",
      params: [["host", "/var/run/postgresql"]],
    },
  ],
  [
    "postgres://app:p%40ss%2Fw%3Ard@db/my%20db?application_name=a%26b",
    {
      user: "app",
      password: "p@ss/w:rd",
      hosts: [host("db")],
      database: "my db",
      params: [["application_name", "a&b"]],
    },
  ],
  // As libpq: an '@' ends the user info only before the first '/'; a '#' is a character.
  ["postgres://app:a#b@db/x", { user: "app", password: "a#b", hosts: [host("db")], database: "x" }],
  ["postgres://db/x@y", { hosts: [host("db")], database: "x@y" }],
  ["postgres://app:@db", { user: "app", password: "", hosts: [host("db")] }],
  ["POSTGRES://db?", { hosts: [host("db")] }],
];

for (const [url, expected] of CASES) {
  Deno.test(`parsePgUrl reads ${url} as libpq does`, () => {
    const parsed = parsePgUrl(url);
    const { scheme: _, ...rest } = parsed;
    assertEquals(rest, { params: [], ...expected });
    // Written back, it reads the same.
    assertEquals(parsePgUrl(formatPgUrl(parsed)), parsed);
  });
}

const BAD: Array<[string, RegExp]> = [
  ["mysql://db", /does not start with postgres:\/\/ or postgresql:\/\//],
  ["postgres://[::1/db", /the IPv6 address \[::1\/db lacks its '\]'/],
  ["postgres://[::1]x/db", /unexpected 'x' after the host ::1/],
  ["postgres://db:0/x", /port 0 is not a number from 1 to 65535/],
  ["postgres://db:65536/x", /port 65536 is not/],
  ["postgres://db:54a/x", /port 54a is not/],
  ["postgres://db:/x", /port {2}is not/],
  ["postgres://app:50%off@db", /user name or password holds a '%' .* write a literal % as %25/],
  ["postgres://db/100%", /database name holds a '%'/],
  ["postgres://db/x?sslmode", /the parameter sslmode has no '=value'/],
];
for (const [url, message] of BAD) {
  Deno.test(`parsePgUrl refuses ${url}`, () => {
    assertMatch(assertThrows<Error>(() => parsePgUrl(url)).message, message);
  });
}

/** What psql says of a URL: the database and port it reached, or its error's first line. */
function psql(url: string): string {
  const run = spawnSync(
    "/usr/lib/postgresql/15/bin/psql",
    [url, "-XAtc", "SELECT current_database() || ' ' || inet_server_port()"],
    { encoding: "utf8", env: { PATH: "/usr/bin:/bin" } },
  );
  return run.status === 0 ? run.stdout.trim() : `error: ${run.stderr.split("\n")[0]}`;
}

serverTest("URL forms libpq reads reach the server psql reaches, on either client", async () => {
  const server = new URL(await serverUrl());
  const [user, password, port] = [
    server.username,
    decodeURIComponent(server.password),
    server.port,
  ];
  const pw = encodeURIComponent(password);
  const forms = [
    `postgresql://${user}:${pw}@127.0.0.1:${port}/postgres`,
    // No host before the path: the query names it (the wire client).
    `postgresql://${user}:${pw}@/postgres?host=127.0.0.1&port=${port}`,
    `postgresql:///postgres?host=127.0.0.1&port=${port}&user=${user}&password=${pw}`,
    // target_session_attrs hands the URL to postgres.js, which reads URLs as the web does.
    `postgresql://${user}:${pw}@/postgres?host=127.0.0.1&port=${port}&target_session_attrs=read-write`,
    `postgresql:///postgres?host=127.0.0.1&port=${port}&user=${user}&password=${pw}&target_session_attrs=read-write`,
    // libpq's default, which postgres.js would refuse by name.
    `postgresql://${user}:${pw}@127.0.0.1:${port}/postgres?target_session_attrs=any`,
    `postgresql://${user}:${pw}@127.0.0.1:1,127.0.0.1:${port}/postgres?target_session_attrs=any`,
    // Several hosts, each with its port: the first refuses, the second answers.
    `postgresql://${user}:${pw}@127.0.0.1:1,127.0.0.1:${port}/postgres`,
  ];
  for (const url of forms) {
    const expected = psql(url);
    assertEquals(expected, `postgres ${port}`, `psql ${url}`);
    const driver = await connect(parseTarget(url, "api"), { connectTimeoutSeconds: 5 });
    try {
      const [row] = await driver.query<{ reached: string }>(
        "SELECT current_database() || ' ' || inet_server_port() AS reached",
      );
      assertEquals(row.reached, expected, url);
    } finally {
      await driver.close();
    }
  }
});

Deno.test("parsePgUrl says which part it refused: a port, an escape, or the form", () => {
  const part = (url: string) => {
    const error = assertThrows<PgUrlError>(() => parsePgUrl(url));
    return [error instanceof PgUrlError, error.part, error.value];
  };
  assertEquals(part("postgres://db:99999/x"), [true, "port", "99999"]);
  assertEquals(part("postgres://db:5x/x"), [true, "port", "5x"]);
  assertEquals(part("postgres://db/100%"), [true, "escape", undefined]);
  assertEquals(part("postgres://[::1/x"), [true, "form", undefined]);
});
