/**
 * Where the embedded database's files come from. PGlite reads `pglite.wasm`,
 * `initdb.wasm` and `pglite.data` from beside its own module, which works when
 * it runs from `node_modules` or Deno's npm cache, and data-bridge finds the
 * contrib extensions' tarballs there too. A packaging of data-bridge where
 * those files are elsewhere (inside a single-file executable, or beside a
 * bundle served over HTTP) provides them here once, before the first embedded
 * database opens, the extensions as one archive, `pglite-contrib.tgz`;
 * without a provider PGlite finds its files itself.
 *
 * @module
 */

/** The files PGlite needs, ready for `PGlite.create`. */
export interface PGliteAssets {
  /** `pglite.wasm`, compiled. */
  pgliteWasmModule: WebAssembly.Module;
  /** `initdb.wasm`, compiled. */
  initdbWasmModule: WebAssembly.Module;
  /** `pglite.data`: PostgreSQL's share and lib folders. */
  fsBundle: Blob;
  /**
   * `pglite-contrib.tgz`: the contrib extensions' files, one gzipped tar
   * (see `lib/pglite_contrib.ts`).
   */
  contrib: Blob;
}

/**
 * Produces the assets, or `null` when PGlite is to find its files itself;
 * called at most once per process while it succeeds.
 */
export type PGliteAssetSource = () => Promise<PGliteAssets | null>;

/** The names of the files {@link loadPGliteAssets} asks for. */
export type PGliteAssetName =
  | "pglite.wasm"
  | "initdb.wasm"
  | "pglite.data"
  | "pglite-contrib.tgz";

let source: PGliteAssetSource | null = null;
let loaded: Promise<Partial<PGliteAssets>> | null = null;

/**
 * Sets where the embedded database's files come from, for every later
 * `pglite:` connection of this process.
 *
 * @param next The source, or `null` to let PGlite find its files itself.
 * @example
 * ```ts
 * import { readFile } from "node:fs/promises";
 * import { loadPGliteAssets, providePGliteAssets } from "./pglite_assets.ts";
 *
 * const dir = "node_modules/@electric-sql/pglite/dist/";
 * // The contrib archive is made by the build; any gzipped tar of extensions will do.
 * const file = (name: string) => name === "pglite-contrib.tgz" ? "citext.tar.gz" : name;
 * providePGliteAssets(() => loadPGliteAssets((name) => readFile(dir + file(name))));
 * providePGliteAssets(null); // back to PGlite's own lookup
 * ```
 */
export function providePGliteAssets(next: PGliteAssetSource | null): void {
  source = next;
  loaded = null;
}

/**
 * The provided assets, loaded on first use and kept; an empty object when
 * nothing was provided (PGlite then reads its files itself).
 *
 * @returns Options to spread into `PGlite.create`.
 * @throws Whatever the source throws; the next call tries again.
 * @example
 * ```ts
 * import { pgliteAssets } from "./pglite_assets.ts";
 * console.log(await pgliteAssets()); // {} when nothing was provided
 * ```
 */
export function pgliteAssets(): Promise<Partial<PGliteAssets>> {
  if (!source) return Promise.resolve({});
  if (!loaded) {
    const attempt = source().then((assets) => assets ?? {});
    loaded = attempt;
    attempt.catch(() => {
      if (loaded === attempt) loaded = null;
    });
  }
  return loaded;
}

/**
 * Builds {@link PGliteAssets} from a function that reads a file by name,
 * compiling both WebAssembly modules.
 *
 * @param read Reads one of the four files.
 * @returns The assets.
 * @throws {Error} Naming the file when one cannot be read or compiled.
 * @example
 * ```ts
 * import { readFile } from "node:fs/promises";
 * import { loadPGliteAssets } from "./pglite_assets.ts";
 *
 * const dir = "node_modules/@electric-sql/pglite/dist/";
 * // The contrib archive is made by the build; here citext's tarball stands in.
 * const file = (name: string) => name === "pglite-contrib.tgz" ? "citext.tar.gz" : name;
 * const assets = await loadPGliteAssets((name) => readFile(dir + file(name)));
 * console.log(assets.fsBundle.size > 0); // true
 * ```
 */
export async function loadPGliteAssets(
  read: (name: PGliteAssetName) => Promise<ArrayBuffer | Uint8Array | Blob>,
): Promise<PGliteAssets> {
  const bytes = async (name: PGliteAssetName): Promise<Uint8Array<ArrayBuffer>> => {
    try {
      const data = await read(name);
      if (data instanceof Blob) return new Uint8Array(await data.arrayBuffer());
      return data instanceof Uint8Array ? new Uint8Array(data) : new Uint8Array(data);
    } catch (error) {
      throw new Error(`cannot read ${name}: ${(error as Error).message}`, { cause: error });
    }
  };
  const compile = async (name: PGliteAssetName): Promise<WebAssembly.Module> => {
    const data = await bytes(name);
    try {
      return await WebAssembly.compile(data);
    } catch (error) {
      throw new Error(`${name} is not valid WebAssembly: ${(error as Error).message}`, {
        cause: error,
      });
    }
  };
  const [pgliteWasmModule, initdbWasmModule, data, contrib] = await Promise.all([
    compile("pglite.wasm"),
    compile("initdb.wasm"),
    bytes("pglite.data"),
    bytes("pglite-contrib.tgz"),
  ]);
  return {
    pgliteWasmModule,
    initdbWasmModule,
    fsBundle: new Blob([data]),
    contrib: new Blob([contrib]),
  };
}
