/**
 * PGlite's files read from beside a module: the URL bundle ships
 * `pglite.wasm`, `initdb.wasm`, `pglite.data` and the contrib extensions'
 * archive `pglite-contrib.tgz` next to `mod.js`, and finds
 * them from its own `import.meta.url`, over HTTP(S) or on disk. `node:fs`
 * and `node:url` are imported only when the embedded database starts: on
 * Deno the first `node:` module starts its Node layer (~25 ms a run).
 *
 * @module
 */
import { loadPGliteAssets, type PGliteAssetSource } from "../lib/pglite_assets.ts";

/**
 * A source of PGlite's files in the folder of `base`.
 *
 * @param base URL of a module in that folder (its `import.meta.url`).
 * @returns The source, to give to `providePGliteAssets`.
 * @example
 * ```ts
 * import { assetsBeside } from "./assets_beside.ts";
 * const source = assetsBeside("https://example.com/data-bridge/dist/mod.js");
 * ```
 */
export function assetsBeside(base: string | URL): PGliteAssetSource {
  return () =>
    loadPGliteAssets(async (name) => {
      const url = new URL(name, base);
      if (url.protocol === "file:") {
        const [{ readFile }, { fileURLToPath }] = await Promise.all([
          import("node:fs/promises"),
          import("node:url"),
        ]);
        return await readFile(fileURLToPath(url));
      }
      const response = await fetch(url);
      if (!response.ok) {
        await response.body?.cancel();
        throw new Error(`${url} answered ${response.status} ${response.statusText}`.trim());
      }
      return await response.arrayBuffer();
    });
}
