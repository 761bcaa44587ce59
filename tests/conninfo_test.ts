/** Reading a target URL and the libpq variables into connection parameters. */
import { connInfo } from "../lib/conninfo.ts";
import { assertEquals } from "./support/assert.ts";

const none = () => undefined;
const vars = (v: Record<string, string>) => (name: string) => v[name];

Deno.test("a full URL gives host, port, user, password, database", () => {
  assertEquals(connInfo("postgres://app:s3cret@db.example.com:6432/prod", none), {
    host: "db.example.com",
    port: 6432,
    socket: null,
    user: "app",
    password: "s3cret",
    database: "prod",
    parameters: {},
    tls: null,
  });
});

const CASES: Array<[string, string, Record<string, string>, Record<string, unknown> | null]> = [
  [
    "percent-encoded user, password and database are decoded",
    "postgres://a%40b:p%23w@h/my%20db",
    {},
    {
      user: "a@b",
      password: "p#w",
      database: "my db",
    },
  ],
  ["the database defaults to the user", "postgres://app@h", {}, { database: "app", port: 5432 }],
  ["an IPv6 host loses its brackets", "postgres://u@[::1]:5433/d", {}, { host: "::1", port: 5433 }],
  ["a host that is a directory is a Unix socket", "postgres://u@%2Ftmp%2Fpg:5433/d", {}, {
    host: "/tmp/pg",
    socket: "/tmp/pg/.s.PGSQL.5433",
  }],
  ["host= in the query names the socket directory", "postgres:///d?host=/run/postgresql", {}, {
    socket: "/run/postgresql/.s.PGSQL.5432",
    database: "d",
  }],
  [
    "user=, password=, port= and dbname= in the query",
    "postgres://h/?user=u&password=p&port=7&dbname=x",
    {},
    {
      user: "u",
      password: "p",
      port: 7,
      database: "x",
    },
  ],
  [
    "other query parameters are sent to the server",
    "postgres://u@h/d?application_name=ci&options=-c%20search_path%3Dapp",
    {},
    {
      parameters: { application_name: "ci", options: "-c search_path=app" },
    },
  ],
  ["postgres.js client options are not sent", "postgres://u@h/d?max=3&connect_timeout=5", {}, {
    parameters: {},
  }],
  ["the URL beats the libpq variables", "postgres://u:p@h:1/d", {
    PGHOST: "other",
    PGPORT: "2",
    PGUSER: "x",
    PGPASSWORD: "y",
    PGDATABASE: "z",
  }, { host: "h", port: 1, user: "u", password: "p", database: "d" }],
  ["without a URL the libpq variables say everything", "", {
    PGHOST: "/var/run/postgresql",
    PGPORT: "5433",
    PGUSER: "x",
    PGPASSWORD: "y",
    PGDATABASE: "z",
    PGAPPNAME: "job",
  }, {
    socket: "/var/run/postgresql/.s.PGSQL.5433",
    user: "x",
    password: "y",
    database: "z",
    parameters: { application_name: "job" },
  }],
  ["sslmode=disable stays with the wire client", "postgres://u@h/d?sslmode=disable", {}, {
    parameters: {},
  }],
  ["no sslmode: no TLS", "postgres://u@h/d", {}, { tls: null }],
  ["sslmode=disable: no TLS", "postgres://u@h/d?sslmode=disable", {}, { tls: null }],
  ["sslmode=prefer encrypts without checking", "postgres://u@h/d?sslmode=prefer", {}, {
    tls: { mode: "prefer", verify: "none", rootCert: undefined },
  }],
  ["sslmode=require encrypts without checking", "postgres://u@h/d?sslmode=require", {}, {
    tls: { mode: "require", verify: "none", rootCert: undefined },
  }],
  [
    "sslmode=require with sslrootcert checks the CA, as libpq",
    "postgres://u@h/d?sslmode=require&sslrootcert=/ca.pem",
    {},
    { tls: { mode: "require", verify: "ca", rootCert: "/ca.pem" } },
  ],
  ["sslmode=verify-ca", "postgres://u@h/d?sslmode=verify-ca&sslrootcert=/ca.pem", {}, {
    tls: { mode: "verify-ca", verify: "ca", rootCert: "/ca.pem" },
  }],
  ["PGSSLMODE=verify-full", "postgres://u@h/d", { PGSSLMODE: "verify-full" }, {
    tls: { mode: "verify-full", verify: "full", rootCert: undefined },
  }],
  ["an sslrootcert alone means verify-full", "postgres://u@h/d?sslrootcert=/ca.pem", {}, {
    tls: { mode: "verify-full", verify: "full", rootCert: "/ca.pem" },
  }],
  ["sslrootcert=system: the runtime's CAs", "postgres://u@h/d?sslrootcert=system", {}, {
    tls: { mode: "verify-full", verify: "full", rootCert: undefined },
  }],
  ["the URL's sslmode beats PGSSLMODE", "postgres://u@h/d?sslmode=disable", {
    PGSSLMODE: "require",
  }, { tls: null }],
  [
    "sslcert, sslkey and sslpassword: the client's certificate, never startup parameters",
    "postgres://u@h/d?sslmode=verify-full&sslcert=/c.crt&sslkey=/c.key&sslpassword=pw",
    {},
    {
      tls: {
        mode: "verify-full",
        verify: "full",
        rootCert: undefined,
        client: { cert: "/c.crt", key: "/c.key", passphrase: "pw" },
      },
      parameters: {},
    },
  ],
  ["PGSSLCERT and PGSSLKEY", "postgres://u@h/d?sslmode=require", {
    PGSSLCERT: "/c.crt",
    PGSSLKEY: "/c.key",
  }, {
    tls: {
      mode: "require",
      verify: "none",
      rootCert: undefined,
      client: { cert: "/c.crt", key: "/c.key" },
    },
  }],
  ["sslcert without TLS is not sent to the server", "postgres://u@h/d?sslcert=/c.crt", {}, {
    tls: null,
    parameters: {},
  }],
  [
    "a certificate without its key is left to postgres.js (it says so)",
    "postgres://u@h/d?sslmode=require&sslcert=/c.crt",
    {},
    null,
  ],
  ["sslmode=allow is left to postgres.js", "postgres://u@h/d?sslmode=allow", {}, null],
  ["an unknown sslmode too (it says which)", "postgres://u@h/d?sslmode=bogus", {}, null],
  ["TLS over a Unix socket too", "postgres://u@%2Ftmp/d?sslmode=require", {}, null],
  ["several hosts too", "postgres://u@h1,h2/d", {}, null],
  ["target_session_attrs too", "postgres://u@h/d?target_session_attrs=read-write", {}, null],
  [
    "but not target_session_attrs=any, libpq's default",
    "postgres://u@h/d?target_session_attrs=any",
    {},
    {
      host: "h",
      parameters: {},
    },
  ],
  ["several hosts with their ports too", "postgres://u@h1:5432,h2:5433/d", {}, null],
  ["a user with no host", "postgres://u:p@/d?host=/run/pg", {}, {
    host: "/run/pg",
    socket: "/run/pg/.s.PGSQL.5432",
    user: "u",
    password: "p",
    database: "d",
  }],
  ["a '#' in the password, as libpq reads it", "postgres://u:a#b@h/d", {}, { password: "a#b" }],
  ["connect_timeout in the URL", "postgres://u@h/d?connect_timeout=7", { PGCONNECT_TIMEOUT: "9" }, {
    connectTimeout: 7,
    parameters: {},
  }],
  ["PGCONNECT_TIMEOUT", "postgres://u@h/d", { PGCONNECT_TIMEOUT: "9" }, { connectTimeout: 9 }],
  ["connect_timeout=1 counts as 2, as in libpq", "postgres://u@h/d?connect_timeout=1", {}, {
    connectTimeout: 2,
  }],
  ["connect_timeout=0 waits as long as a timer can", "postgres://u@h/d?connect_timeout=0", {}, {
    connectTimeout: 2147483,
  }],
  ["no connect_timeout", "postgres://u@h/d", {}, { connectTimeout: undefined }],
];

Deno.test("connection parameters follow libpq's reading of URLs and variables", async (t) => {
  for (const [name, url, env, expected] of CASES) {
    await t.step(name, () => {
      const info = connInfo(url, vars(env));
      if (expected === null) return assertEquals(info, null);
      const picked = Object.fromEntries(
        Object.keys(expected).map((k) => [k, (info as unknown as Record<string, unknown>)[k]]),
      );
      assertEquals(picked, expected);
    });
  }
});

Deno.test("a password given apart (--password-file) beats the URL's and PGPASSWORD", () => {
  assertEquals(
    connInfo("postgres://u:url@h/d", vars({ PGPASSWORD: "env" }), "file")?.password,
    "file",
  );
});
