/** The README stays true to the CLI: every command and option in --help is documented. */
import { readFileSync } from "node:fs";
import { assert } from "./support/assert.ts";
import { cli } from "./support/cli.ts";

const README = readFileSync(new URL("../README.md", import.meta.url), "utf8");

Deno.test("every command and option of --help is in the README", async () => {
  const help = (await cli(["--help"])).stdout;
  const options = [...help.matchAll(/--[a-z][a-z-]+/g)].map((m) => m[0]);
  const commands = [...help.matchAll(/^ {2}([a-z]+)/gm)].map((m) => m[1]);
  assert(options.length > 10 && commands.length > 4, "help lists options and commands");
  for (const option of new Set(options)) {
    assert(README.includes(`\`${option}`), `README documents ${option}`);
  }
  for (const command of new Set(commands)) {
    assert(README.includes(`| \`${command}`), `README's command table has ${command}`);
  }
});
