/**
 * Entry point of the single-file executable `dist/data-bridge`: the CLI,
 * with PGlite's files taken from inside the executable.
 *
 * @module
 */
import { main } from "../cli.ts";
import { providePGliteAssets } from "../lib/pglite_assets.ts";
import { BINARY_JIT_POLICY } from "../lib/config.ts";
import { args, exit, holdBackJit } from "../lib/runtime.ts";
import { embeddedAssetSource } from "./embedded_assets.ts";

holdBackJit(BINARY_JIT_POLICY);
const embedded = embeddedAssetSource();
if (embedded) providePGliteAssets(embedded);
exit(await main(args()));
