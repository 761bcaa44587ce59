/**
 * PostgreSQL's contrib extensions (citext, pgcrypto, uuid-ossp, hstore,
 * pg_trgm, ltree, btree_gist, ...) on the embedded database, so that a
 * migration's `CREATE EXTENSION` runs on PGlite as on a server.
 *
 * PGlite ships each as a gzipped tar of its files and, handed one as an
 * extension, compiles its library at every start whether a migration uses it
 * or not: all of them ~0.4-0.8 s a start. Here their files are copied into
 * the embedded database's file system once it has started (~25 ms for all),
 * and PostgreSQL loads a library when something first needs it, as on a
 * server. A database whose tables use an extension's types finds its
 * library again in every later process.
 *
 * @module
 */
import type { Extension, PGliteInterface } from "@electric-sql/pglite";
import { readTar, type TarFile } from "./tar.ts";

/**
 * The file packagings ship beside PGlite's own: every contrib extension's
 * files in one gzipped tar, made from PGlite's tarballs by
 * scripts/build_bun.ts, so that a packaging ships (and a start reads) one
 * file.
 */
export const CONTRIB_ARCHIVE = "pglite-contrib.tgz";

/** Where PGlite's file system keeps PostgreSQL's `share` and `lib` folders. */
const PGLITE_ROOT = "/pglite";

/**
 * The files of gzipped tar archives, in the order given.
 *
 * @param archives Gzipped tar archives.
 * @returns Their regular files.
 * @throws {Error} When an archive is not a gzipped tar.
 * @example
 * ```ts
 * import { contribFiles } from "./pglite_contrib.ts";
 * console.log(await contribFiles([])); // []
 * ```
 */
export async function contribFiles(archives: readonly Blob[]): Promise<TarFile[]> {
  const files: TarFile[] = [];
  for (const archive of archives) {
    const tar = await new Response(archive.stream().pipeThrough(new DecompressionStream("gzip")))
      .arrayBuffer();
    files.push(...readTar(new Uint8Array(tar)));
  }
  return files;
}

/**
 * PGlite's own contrib tarballs, from its package's folder (`node_modules`,
 * or Deno's npm cache): where the embedded database finds them when no
 * packaging provides {@link CONTRIB_ARCHIVE}.
 *
 * @returns The tarballs, sorted by name; none when PGlite's package is not a
 *   folder on disk.
 * @example
 * ```ts
 * import { packageContrib } from "./pglite_contrib.ts";
 * console.log((await packageContrib()).length > 0); // true
 * ```
 */
export async function packageContrib(): Promise<Blob[]> {
  // Every contrib module of PGlite names its tarball beside the others.
  const { citext } = await import("@electric-sql/pglite/contrib/citext");
  const { bundlePath } = await citext.setup(undefined as unknown as PGliteInterface, undefined);
  if (bundlePath.protocol !== "file:") return [];
  const [{ readdirSync, readFileSync }, { fileURLToPath }] = await Promise.all([
    import("node:fs"),
    import("node:url"),
  ]);
  const dir = new URL(".", bundlePath);
  return readdirSync(fileURLToPath(dir))
    .filter((name) => name.endsWith(".tar.gz"))
    .sort()
    .map((name) => new Blob([readFileSync(fileURLToPath(new URL(name, dir)))]));
}

/**
 * A PGlite extension that copies the contrib extensions' files into the
 * database's file system once it has started. The archives are decompressed
 * while PGlite starts.
 *
 * @param archives Gets the gzipped tar archives (called once, at setup).
 * @returns The extension, for `PGlite.create`'s `extensions`.
 * @throws {Error} From PGlite's start, when an archive cannot be read.
 * @example
 * ```ts
 * import { PGlite } from "@electric-sql/pglite";
 * import { contribExtension, packageContrib } from "./pglite_contrib.ts";
 *
 * const db = await PGlite.create({ extensions: { contrib: contribExtension(packageContrib) } });
 * await db.exec("CREATE EXTENSION citext");
 * console.log((await db.query("SELECT 'A'::citext = 'a' AS same")).rows); // [{ same: true }]
 * await db.close();
 * ```
 */
export function contribExtension(archives: () => Promise<readonly Blob[]>): Extension {
  return {
    name: "data-bridge contrib",
    setup: (pg) => {
      const files = archives().then(contribFiles);
      files.catch(() => {}); // awaited in init
      return Promise.resolve({
        init: async () => {
          for (const file of await files) pg.copyToFS(`${PGLITE_ROOT}/${file.path}`, file.data);
        },
      });
    },
  };
}
