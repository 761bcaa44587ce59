#!/usr/bin/env node
/**
 * Entry point of `dist/node/cli.js`, the `data-bridge` command of the npm
 * package under Node (PGlite and postgres.js come from `node_modules`).
 *
 * @module
 */
import { main } from "../../cli.ts";
import { args, exit } from "../../lib/runtime.ts";

exit(await main(args()));
