/**
 * Entry point of the URL bundle `dist/mod.js`: the API of `mod.ts` with
 * PGlite's files found beside the bundle, so that
 * `import { postgres } from "https://host/data-bridge/dist/mod.js"` works
 * with nothing installed, for servers and for the embedded database.
 *
 * @module
 */
import { providePGliteAssets } from "../lib/pglite_assets.ts";
import { assetsBeside } from "./assets_beside.ts";

providePGliteAssets(assetsBeside(import.meta.url));

export * from "../mod.ts";
