/**
 * Entry point of `dist/cli.js`, the CLI in the URL bundle:
 * `deno run -A https://host/data-bridge/dist/cli.js status`.
 *
 * @module
 */
import { main } from "../cli.ts";
import { providePGliteAssets } from "../lib/pglite_assets.ts";
import { args, exit } from "../lib/runtime.ts";
import { assetsBeside } from "./assets_beside.ts";

providePGliteAssets(assetsBeside(import.meta.url));
exit(await main(args()));
