/** Rule levels: defaults, data-bridge.json, flags; and the rules they name are the rules that exist. */
import { LINT_LEVELS } from "../lib/config.ts";
import { lintLevels } from "../lib/lint_levels.ts";
import { ruleIds } from "../lib/lint.ts";
import { assertEquals, assertMatch, assertThrows } from "./support/assert.ts";

Deno.test("every rule has a default level and every default names a rule", () => {
  assertEquals(Object.keys(LINT_LEVELS).sort(), ruleIds().sort());
});

Deno.test("flags win over the defaults; an unknown rule or level is a usage error naming it", () => {
  const levels = lintLevels(
    { rename: "error", "drop-table": "off" },
    "/nonexistent/data-bridge.json",
  );
  assertEquals([levels.rename, levels["drop-table"], levels["drop-column"]], [
    "error",
    "off",
    "error",
  ]);
  assertMatch(
    assertThrows<Error>(() => lintLevels({ "drop-tables": "off" }, "/none")).message,
    /lint option: unknown lint rule 'drop-tables'; rules are index-not-concurrently, /,
  );
});
