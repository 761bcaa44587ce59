import { describeTarget, maskUrl, parseTarget, resolveTarget } from "../lib/target.ts";
import type { UsageError } from "../lib/errors.ts";
import { assertEquals, assertMatch, assertNotMatch, assertThrows } from "./support/assert.ts";

const MASKS: Array<[string, string]> = [
  ["postgres://app:s3cret@db:5432/prod", "postgres://app:***@db:5432/prod"],
  [
    "postgresql://app:p%40ss@db/prod?sslmode=require",
    "postgresql://app:***@db/prod?sslmode=require",
  ],
  ["postgres://app:we@ird/pw@db/prod", "postgres://app:***@db/prod"],
  ["postgres://app@db/prod", "postgres://app@db/prod"],
  ["postgres://db/prod?password=s3cret&x=1", "postgres://db/prod?password=***&x=1"],
  ["pglite:./data", "pglite:./data"],
  // An unencoded '#' or '?' in the password must not end the masked part.
  ["postgres://app:se#cret@db/prod", "postgres://app:***@db/prod"],
  ["postgres://app:se?cret@db:5432/prod", "postgres://app:***@db:5432/prod"],
  ["postgres://db/prod?password=se#cret&x=1", "postgres://db/prod?password=***&x=1"],
];
for (const [url, masked] of MASKS) {
  Deno.test(`maskUrl hides the password of ${masked}`, () => assertEquals(maskUrl(url), masked));
}

Deno.test("parseTarget knows servers and the embedded database", () => {
  assertEquals(parseTarget("postgres://a@b/c", "flag").kind, "postgres");
  assertEquals(parseTarget("postgresql://a@b/c", "flag").kind, "postgres");
  assertEquals(parseTarget("pglite:memory", "flag"), {
    kind: "pglite",
    path: null,
    source: "flag",
  });
  assertEquals(parseTarget("pglite:./db", "flag"), {
    kind: "pglite",
    path: "./db",
    source: "flag",
  });
});

const BAD: Array<[string, RegExp]> = [
  ["mysql://root@localhost/db", /unknown scheme 'mysql:'/],
  ["localhost:5432", /unknown scheme 'localhost:'/],
  ["not a url", /unknown value/],
  ["postgres://user:secret@host:99999/db", /port 99999 is out of range/],
  ["postgres://user:secret@host:5x/db", /not a valid URL \(port 5x is not a number/],
  ["postgres://user:secret@[::1/db", /not a valid URL \(the IPv6 address .* lacks its '\]'\)/],
  [
    "postgres://user:se#cret@host/db",
    /not a valid URL \(the user name or password holds '#'; write it as %23\)/,
  ],
  ["postgres://user:se?cret@host/db", /holds '\?'; write it as %3F/],
  ["postgres://user:secret@h1:5432,h2/db?x", /the parameter x has no '=value'/],
  ["postgres://user:secret@[::1]:5432,[::2]:5433/db", /an IPv6 address in a list of several hosts/],
  ["postgres://user:secret@host:0/db", /port 0 is out of range/],
  ["postgres://user:secret@ho st/db", /not a valid URL/],
  ["pglite:", /pglite: needs a folder/],
  ["postgres://user:50%secret@host/db", /password holds a '%' .* write a literal % as %25/],
];
// The URL forms libpq's documentation shows (32.1.1.2), and others it reads.
const LIBPQ_FORMS = [
  "postgresql://",
  "postgresql://localhost",
  "postgresql://localhost:5433",
  "postgresql://localhost/mydb",
  "postgresql://user@localhost",
  "postgresql://user:secret@localhost",
  "postgresql://other@localhost/otherdb?connect_timeout=10&application_name=myapp",
  "postgresql://host1:123,host2:456/somedb?target_session_attrs=any&application_name=myapp",
  "postgresql:///mydb?host=localhost&port=5433",
  "postgresql://[2001:db8::1234]/database",
  "postgresql:///dbname?host=/var/lib/postgresql",
  "postgresql://%2Fvar%2Flib%2Fpostgresql/dbname",
  "postgresql://user@/dbname?host=/var/run/postgresql",
  "postgresql://user:secret@/dbname",
];
for (const url of LIBPQ_FORMS) {
  Deno.test(`parseTarget takes ${maskUrl(url)}, as libpq does`, () => {
    assertEquals(parseTarget(url, "flag"), { kind: "postgres", url, source: "flag" });
  });
}

for (const [url, message] of BAD) {
  Deno.test(`parseTarget refuses ${maskUrl(url)} without showing a password`, () => {
    const error = assertThrows<UsageError>(() => parseTarget(url, "flag"));
    assertEquals([error.code, error.exitCode], ["INVALID_URL", 2]);
    assertMatch(error.message, /^--database-url: /);
    assertMatch(error.message, message);
    assertNotMatch(error.message, /secret/);
  });
}

Deno.test("resolveTarget: flag, then DATABASE_URL, then PG variables, then the embedded default", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assertEquals(
    resolveTarget("pglite:memory", env({ DATABASE_URL: "postgres://x/y" })).source,
    "flag",
  );
  assertEquals(
    resolveTarget(undefined, env({ DATABASE_URL: "postgres://x/y", PGHOST: "h" })).source,
    "DATABASE_URL",
  );
  assertEquals(resolveTarget(undefined, env({ PGHOST: "h" })), {
    kind: "postgres",
    url: "",
    source: "PG environment",
  });
  assertEquals(resolveTarget(undefined, env({ PGDATABASE: "d" })).kind, "postgres");
  assertEquals(resolveTarget(undefined, env({})), {
    kind: "pglite",
    path: ".data-bridge/pglite",
    source: "default",
  });
});

Deno.test("describeTarget shows libpq-style targets without the password", () => {
  const env = (name: string) =>
    ({ PGHOST: "db", PGUSER: "app", PGPASSWORD: "pw", PGDATABASE: "prod" } as Record<
      string,
      string
    >)[name];
  assertEquals(
    describeTarget({ kind: "postgres", url: "", source: "PG environment" }, env),
    "postgres://app:***@db:5432/prod",
  );
});
