import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openPGlite } from "../lib/pglite_driver.ts";
import { CONTRIB_ARCHIVE, contribFiles, packageContrib } from "../lib/pglite_contrib.ts";
import { contribArchive } from "../scripts/build_bun.ts";
import { REPO_ROOT } from "../scripts/tools.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { driverTest, serverTest } from "./support/db.ts";

/** Extensions migrations commonly create, each with a query that needs its library. */
const USES: { extension: string; query: string; expected: unknown }[] = [
  { extension: "citext", query: "SELECT 'Ab'::citext = 'aB' AS v", expected: true },
  {
    extension: "pgcrypto",
    query: "SELECT encode(digest('abc', 'sha256'), 'hex') AS v",
    expected: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  },
  {
    extension: "uuid-ossp",
    query: "SELECT uuid_generate_v5(uuid_ns_url(), 'https://example.com')::text AS v",
    expected: "4fd35a71-71ef-5a55-a9d9-aa75c889a6d0",
  },
  { extension: "hstore", query: "SELECT ('a=>1, b=>2'::hstore) -> 'b' AS v", expected: "2" },
  { extension: "pg_trgm", query: "SELECT similarity('word', 'word') AS v", expected: 1 },
  { extension: "ltree", query: "SELECT 'a.b'::ltree @> 'a.b.c'::ltree AS v", expected: true },
  {
    extension: "fuzzystrmatch",
    query: "SELECT levenshtein('kitten', 'sitting') AS v",
    expected: 3,
  },
  { extension: "intarray", query: "SELECT icount('{1,2,3}'::int[]) AS v", expected: 3 },
  { extension: "unaccent", query: "SELECT unaccent('Hôtel') AS v", expected: "Hotel" },
  { extension: "cube", query: "SELECT cube_dim('(1,2,3)'::cube) AS v", expected: 3 },
  { extension: "isn", query: "SELECT isn_weak() AS v", expected: false },
];

driverTest(
  "migrations' common contrib extensions are created and used alike on every driver",
  async ({ sql }) => {
    for (const use of USES) {
      await sql(`CREATE EXTENSION IF NOT EXISTS "${use.extension}"`);
      const [row] = await sql<{ v: unknown }>(use.query);
      assertEquals(row.v, use.expected, `${use.extension}: ${use.query}`);
    }
    // An exclusion constraint mixing = and && needs btree_gist's operator classes.
    await sql('CREATE EXTENSION IF NOT EXISTS "btree_gist"');
    await sql(
      "CREATE TABLE booking (room int, during int4range, EXCLUDE USING gist (room WITH =, during WITH &&))",
    );
    await sql("INSERT INTO booking VALUES (1, '[1,5)')");
    const refused = await sql("INSERT INTO booking VALUES (1, '[3,7)')").then(
      () => null,
      (error: { pgCode?: string }) => error,
    );
    assertEquals(refused?.pgCode, "23P01");
  },
);

/** The extensions PGlite ships: their control files' names. */
async function shippedExtensions(): Promise<string[]> {
  return (await contribFiles(await packageContrib()))
    .map((file) => /^share\/postgresql\/extension\/(.+)\.control$/.exec(file.path)?.[1])
    .filter((name): name is string => name !== undefined)
    .sort();
}

serverTest("every contrib extension PGlite ships is created on the embedded database", async () => {
  const controls = await shippedExtensions();
  assert(controls.length >= 30, `PGlite's contrib extensions: ${controls.join(" ")}`);
  const driver = await openPGlite(null);
  try {
    for (const name of controls) await driver.exec(`CREATE EXTENSION "${name}" CASCADE`);
    const rows = await driver.query<{ extname: string }>(
      "SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY extname",
    );
    assertEquals(rows.map((r) => r.extname), [...controls].sort());
  } finally {
    await driver.close();
  }
});

serverTest(
  "a database on disk finds its extensions' libraries again when it is opened again",
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "db-contrib-"));
    const path = join(dir, "pglite");
    try {
      const first = await openPGlite(path);
      try {
        await first.exec(
          "CREATE EXTENSION citext; CREATE EXTENSION pgcrypto;" +
            "CREATE TABLE users (email citext UNIQUE, pw text);" +
            "INSERT INTO users VALUES ('Ann@Example.org', crypt('secret', gen_salt('bf', 4)))",
        );
      } finally {
        await first.close();
      }
      // A new instance: its file system starts without the libraries.
      const again = await openPGlite(path);
      try {
        const rows = await again.query(
          "SELECT email::text, pw = crypt('secret', pw) AS ok FROM users WHERE email = 'ann@example.ORG'",
        );
        assertEquals(rows, [{ email: "Ann@Example.org", ok: true }]);
      } finally {
        await again.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

Deno.test(`${CONTRIB_ARCHIVE} holds exactly the files of PGlite's contrib tarballs`, async () => {
  const fromPackage = await contribFiles(await packageContrib());
  const fromArchive = await contribFiles([new Blob([contribArchive() as Uint8Array<ArrayBuffer>])]);
  const key = (files: typeof fromPackage) => files.map((f) => `${f.path} ${f.data.length}`).sort();
  assertEquals(key(fromArchive), key(fromPackage));
  const byPath = new Map(fromPackage.map((f) => [f.path, f.data]));
  for (const file of fromArchive) assertEquals(file.data, byPath.get(file.path), file.path);
});

Deno.test("docs/distribution.md names every contrib extension PGlite ships", async () => {
  const shipped = await shippedExtensions();
  const text = readFileSync(join(REPO_ROOT, "docs", "distribution.md"), "utf8");
  const section = text.slice(
    text.indexOf("## Extensions on the embedded database"),
    text.indexOf("## How it is built"),
  );
  const listed = section.slice(0, section.indexOf(": the ")).match(/`[a-z0-9_-]+`/g) ?? [];
  assertEquals(listed.map((name) => name.slice(1, -1)).sort(), shipped);
  assert(section.includes(`the ${shipped.length} PGlite ships`), "the count is right");
});
