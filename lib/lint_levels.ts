/**
 * The level of each lint rule: the defaults of `lib/config.ts`, the `lint`
 * key of `data-bridge.json`, and `--error`/`--warn`/`--off`. Apart from the
 * lint engine, so that `apply` checks its lint options before connecting
 * without loading the rules, which it needs only when something is pending.
 *
 * @module
 */
import { DEFAULTS, LINT_LEVELS } from "./config.ts";
import { UsageError } from "./errors.ts";
import { fileExists, readTextFileSync } from "./runtime.ts";
import type { RuleId } from "./lint_rules.ts";

/** How much a rule matters: `error` fails `lint` and stops `apply`. */
export type LintLevel = "error" | "warning" | "off";

/** The level of every rule. */
export type LintLevels = Record<RuleId, LintLevel>;

/**
 * The level of each rule: the defaults of `lib/config.ts`, then the `lint`
 * key of `data-bridge.json` (`{"lint": {"rules": {"drop-table": "warning"}}}`),
 * then the given overrides (from `--error`, `--warn`, `--off`).
 *
 * @param overrides Levels that win, e.g. `{ "index-not-concurrently": "error" }`.
 * @param configFile The project file (default `data-bridge.json` in the working directory).
 * @returns Every rule's level.
 * @throws {UsageError} For an unknown rule or level, or an unreadable config file.
 * @example
 * ```ts
 * import { lintLevels } from "./lint_levels.ts";
 * const levels = lintLevels({ "rename": "error" }, "/nonexistent/data-bridge.json");
 * console.log(levels["rename"], levels["drop-table"]); // "error" "error"
 * ```
 */
export function lintLevels(
  overrides: Partial<Record<string, LintLevel>> = {},
  configFile: string = DEFAULTS.lintConfigFile,
): LintLevels {
  const levels = { ...LINT_LEVELS } as LintLevels;
  const set = (rule: string, level: unknown, where: string) => {
    if (!(rule in LINT_LEVELS)) {
      throw new UsageError(
        "USAGE",
        `${where}: unknown lint rule '${rule}'; rules are ${Object.keys(LINT_LEVELS).join(", ")}`,
      );
    }
    if (level !== "error" && level !== "warning" && level !== "off") {
      throw new UsageError(
        "USAGE",
        `${where}: level of ${rule} must be "error", "warning" or "off", got ${
          JSON.stringify(level)
        }`,
      );
    }
    levels[rule as RuleId] = level;
  };
  if (fileExists(configFile)) {
    let config: { lint?: { rules?: Record<string, unknown> } };
    try {
      config = JSON.parse(readTextFileSync(configFile));
    } catch (error) {
      throw new UsageError(
        "USAGE",
        `${configFile}: cannot be read as JSON (${(error as Error).message})`,
      );
    }
    for (const [rule, level] of Object.entries(config?.lint?.rules ?? {})) {
      set(rule, level, configFile);
    }
  }
  for (const [rule, level] of Object.entries(overrides)) set(rule, level, "lint option");
  return levels;
}
