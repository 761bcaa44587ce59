import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "../lib/connect.ts";
import type { DataBridgeError } from "../lib/errors.ts";
import { passwordFromFile, type PgpassKey, pgpassLookup } from "../lib/pgpass.ts";
import { parseTarget } from "../lib/target.ts";
import { assertEquals, assertMatch, assertRejects } from "./support/assert.ts";
import { serverTest, serverUrl } from "./support/db.ts";

const KEY: PgpassKey = { host: "db.internal", port: 5432, database: "app", user: "deploy" };

const LOOKUPS: Array<[string, string, Partial<PgpassKey>, string | undefined]> = [
  ["an exact line", "db.internal:5432:app:deploy:s3cret", {}, "s3cret"],
  ["wildcards", "*:*:*:deploy:any", {}, "any"],
  ["no line for the user", "db.internal:5432:app:other:x", {}, undefined],
  ["another port", "db.internal:6432:app:deploy:x", {}, undefined],
  [
    "the first matching line wins",
    "*:*:*:*:first\ndb.internal:5432:app:deploy:second",
    {},
    "first",
  ],
  ["comments and blank lines", "# db.internal:5432:app:deploy:no\n\n*:*:app:deploy:yes", {}, "yes"],
  ["escaped colons and backslashes", "db.internal:5432:app:deploy:a\\:b\\\\c", {}, "a:b\\c"],
  ["an escaped colon in a host", "fe80\\:\\:1:5432:*:deploy:v6", { host: "fe80::1" }, "v6"],
  ["an escaped * is a character, not a wildcard", "\\*:5432:app:deploy:x", {}, undefined],
  ["the password ends at an unescaped colon", "*:*:*:*:pass:ignored", {}, "pass"],
  ["a line with too few fields", "db.internal:5432:app:deploy", {}, undefined],
  ["CRLF line ends", "db.internal:5432:app:deploy:crlf\r\n", {}, "crlf"],
  ["the default socket directory as localhost", "localhost:5432:*:*:local", {
    host: "/var/run/postgresql",
  }, "local"],
  ["another socket directory by its path", "/srv/pg:5432:*:*:sock", { host: "/srv/pg" }, "sock"],
  ["the port as a string", "db.internal:5432:*:*:p", { port: "5432" }, "p"],
];
for (const [name, text, key, expected] of LOOKUPS) {
  Deno.test(`pgpassLookup: ${name}`, () => {
    assertEquals(pgpassLookup(text, { ...KEY, ...key }), expected);
  });
}

/** A temporary folder, removed after `fn`. */
async function withDir<T>(fn: (dir: string) => Promise<T> | T): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "db-pgpass-"));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

Deno.test("the password file is used only when others cannot read it, and PGPASSFILE or HOME names it", async () => {
  await withDir((dir) => {
    const file = join(dir, "pgpass");
    writeFileSync(file, "*:*:*:deploy:s3cret\n");
    const warnings: string[] = [];
    const read = (vars: Record<string, string>) =>
      passwordFromFile(KEY, (name) => vars[name], (m) => warnings.push(m));
    chmodSync(file, 0o600);
    assertEquals(read({ PGPASSFILE: file }), "s3cret");
    chmodSync(file, 0o644);
    assertEquals(read({ PGPASSFILE: file }), undefined);
    assertEquals(warnings, [
      `password file "${file}" has group or world access; permissions should be u=rw (0600) or less`,
    ]);
    writeFileSync(join(dir, ".pgpass"), "*:*:*:*:from-home\n", { mode: 0o600 });
    assertEquals(read({ HOME: `${dir}/` }), "from-home");
    assertEquals(read({ HOME: dir, PGPASSFILE: join(dir, "none") }), undefined);
    mkdirSync(join(dir, "folder"));
    assertEquals(read({ PGPASSFILE: join(dir, "folder") }), undefined);
    assertMatch(warnings.at(-1)!, /folder" is not a plain file$/);
    assertEquals(warnings.length, 2, "a missing file is not worth a warning");
  });
});

serverTest(
  "a URL without a password connects with the password file's, on either client",
  async () => {
    const server = new URL(await serverUrl());
    const password = decodeURIComponent(server.password);
    const base = `postgres://${server.username}@127.0.0.1:${server.port}/postgres`;
    const urls = {
      wire: base,
      // target_session_attrs hands the URL to postgres.js.
      "postgres.js": `${base}?target_session_attrs=read-write`,
    };
    const before = Deno.env.get("PGPASSFILE");
    const escaped = password.replaceAll("\\", "\\\\").replaceAll(":", "\\:");
    try {
      await withDir(async (dir) => {
        const file = join(dir, "pgpass");
        Deno.env.set("PGPASSFILE", file);
        for (const [client, url] of Object.entries(urls)) {
          // Without the file the server refuses: the file is what lets it in.
          const refused = await connect(parseTarget(url, "api"));
          try {
            const error = await assertRejects<DataBridgeError>(() => refused.query("SELECT 1"));
            assertEquals(error.pgCode, "28P01", `${client}: ${error.message}`);
          } finally {
            await refused.close();
          }
          writeFileSync(
            file,
            `# test\nother:1:*:*:wrong\n127.0.0.1:${server.port}:*:${server.username}:${escaped}\n`,
            {
              mode: 0o600,
            },
          );
          const notices: string[] = [];
          const driver = await connect(parseTarget(url, "api"), {
            onNotice: (n) => notices.push(n.message),
          });
          try {
            assertEquals(await driver.query("SELECT 1 AS one"), [{ one: 1 }], client);
            assertEquals(notices, [], client);
          } finally {
            await driver.close();
          }
          rmSync(file);
        }
      });
    } finally {
      if (before === undefined) Deno.env.delete("PGPASSFILE");
      else Deno.env.set("PGPASSFILE", before);
    }
  },
);
