/**
 * The docs stay true to the CLI: every command and option in --help is in the
 * README, every lint rule in docs/verify-and-lint.md with its default level.
 */
import { readFileSync } from "node:fs";
import { ENV_OPTIONS } from "../lib/cli_args.ts";
import { LINT_LEVELS } from "../lib/config.ts";
import { ruleIds } from "../lib/lint.ts";
import { assert, assertEquals } from "./support/assert.ts";
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

Deno.test("every lint rule is in the rules table of docs/verify-and-lint.md with its default level", () => {
  const docs = readFileSync(new URL("../docs/verify-and-lint.md", import.meta.url), "utf8");
  const table = new Map(
    [...docs.matchAll(/^\| `([a-z-]+)` +\| (error|warning|off) +\|/gm)].map((m) => [m[1], m[2]]),
  );
  for (const rule of ruleIds()) assertEquals(table.get(rule), LINT_LEVELS[rule], rule);
  assertEquals(table.size, ruleIds().length, "the table lists no rule lint does not have");
});

Deno.test("the README lists every option a DATA_BRIDGE_ variable may give", () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const start = readme.indexOf("`DATA_BRIDGE_<OPTION>` for ");
  assert(start !== -1, "the paragraph on DATA_BRIDGE_ variables");
  const paragraph = readme.slice(start, readme.indexOf("\n\n", start));
  const listed = paragraph.slice(0, paragraph.indexOf("(`")).match(/`--[a-z-]+`/g) ?? [];
  assertEquals(listed.map((flag) => flag.slice(3, -1)), [...ENV_OPTIONS]);
});
