/**
 * The command line's grammar: every option and command with its help text,
 * parsing (POSIX style, as `node:util` `parseArgs` does), and the checked
 * readers of option values. Pure: nothing here prints or exits (that is `cli.ts`); bad input
 * throws a `UsageError` naming the flag.
 *
 * @module
 */
import { DEFAULTS, LINT_LEVELS, VERSION } from "./config.ts";
import { UsageError } from "./errors.ts";
import { readTextFileSync } from "./runtime.ts";
import type { LockMode } from "./runner.ts";
import { isVersion } from "./version.ts";

/** Parsed option values of one command line. */
export type OptionValues = Partial<Record<OptionName, string | boolean>>;

export type OptionName =
  | "database-url"
  | "migrations-dir"
  | "table"
  | "json"
  | "help"
  | "version"
  | "connect-timeout"
  | "connect-wait"
  | "lock-wait"
  | "lock-timeout"
  | "lock-retries"
  | "statement-timeout"
  | "to"
  | "steps"
  | "dry-run"
  | "exit-code"
  | "sql"
  | "from"
  | "ignore"
  | "single-transaction"
  | "create-database"
  | "no-transaction"
  | "password-file"
  | "verbose"
  | "lock-mode"
  | "out-of-order"
  | "remove-missing"
  | "yes"
  | "all"
  | "scratch-url"
  | "no-sum"
  | "no-lint"
  | "format"
  | "error"
  | "warn"
  | "off";

/** How an option is parsed and described. */
export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  value?: string;
  help: string;
}

export const OPTIONS: Record<OptionName, OptionSpec> = {
  "database-url": {
    type: "string",
    value: "URL",
    help:
      `postgres://user:pass@host:port/db, pglite:PATH or pglite:memory (default: $DATABASE_URL, then PGHOST/PGDATABASE..., else the embedded database at ${DEFAULTS.embeddedPath})`,
  },
  "migrations-dir": {
    type: "string",
    value: "DIR",
    help: `directory of migration files (default: ${DEFAULTS.migrationsDir})`,
  },
  table: {
    type: "string",
    value: "NAME",
    help: `tracking table, optionally SCHEMA.TABLE (default: ${DEFAULTS.table})`,
  },
  json: { type: "boolean", help: "print one JSON document on stdout" },
  help: { type: "boolean", short: "h", help: "show help" },
  version: { type: "boolean", short: "V", help: "print the version" },
  "connect-timeout": {
    type: "string",
    value: "SECONDS",
    help:
      `give up connecting after this long (default: the URL's connect_timeout, PGCONNECT_TIMEOUT, else ${DEFAULTS.connectTimeoutSeconds})`,
  },
  "connect-wait": {
    type: "string",
    value: "SECONDS",
    help:
      `keep trying to connect this long while the server is not up yet: refused, starting up, not yet in DNS (default: ${DEFAULTS.connectWaitSeconds}, one attempt)`,
  },
  "lock-wait": {
    type: "string",
    value: "SECONDS",
    help: "give up waiting for another run's migration lock after this long (default: wait)",
  },
  "lock-timeout": {
    type: "string",
    value: "DURATION",
    help:
      `PostgreSQL lock_timeout inside each migration, e.g. 5s, 500ms, 0 for none (default: ${DEFAULTS.lockTimeout})`,
  },
  "lock-retries": {
    type: "string",
    value: "N",
    help:
      `retries of a migration that hit lock_timeout, with backoff (default: ${DEFAULTS.lockRetries})`,
  },
  "statement-timeout": {
    type: "string",
    value: "DURATION",
    help:
      `PostgreSQL statement_timeout inside each migration (default: ${DEFAULTS.statementTimeout}, none)`,
  },
  to: {
    type: "string",
    value: "VERSION",
    help: "apply: stop after this version; rollback: revert every migration after it (0: all)",
  },
  steps: {
    type: "string",
    value: "N",
    help: `rollback: how many migrations to revert (default: ${DEFAULTS.rollbackSteps})`,
  },
  "dry-run": { type: "boolean", help: "print what would run, change nothing" },
  "single-transaction": {
    type: "boolean",
    help:
      "apply, rollback: run every migration of the run in one transaction, so a failure leaves none of them done",
  },
  "create-database": {
    type: "boolean",
    help:
      "apply, init: create the database when the server has none of that name (from the postgres database, as the same user, who needs CREATEDB)",
  },
  ignore: {
    type: "string",
    value: "LIST",
    help:
      "drift: differences not to report, comma-separated KIND or KIND:NAME (NAME* a prefix), e.g. grant,extension:pg_stat_statements",
  },
  from: {
    type: "string",
    value: "TOOL",
    help:
      "import: the tool whose migrations DIR holds: dbmate, golang-migrate, flyway or node-pg-migrate",
  },
  sql: {
    type: "boolean",
    help:
      "apply, rollback: print the run's SQL script (for review, to run with psql) instead of running it; change nothing",
  },
  "exit-code": {
    type: "boolean",
    help:
      "status: exit 4 when migrations are pending, 3 when one is modified or missing, 0 only when all are applied as they are",
  },
  "no-transaction": {
    type: "boolean",
    help: "create: write the '-- Transaction: none' header into the template",
  },
  "password-file": {
    type: "string",
    value: "FILE",
    help: "read the database password from FILE (first line) instead of the URL or PGPASSWORD",
  },
  "lock-mode": {
    type: "string",
    value: "MODE",
    help:
      "session (advisory lock, default), table (lock row per transaction: works through transaction poolers) or none",
  },
  "out-of-order": {
    type: "string",
    value: "POLICY",
    help:
      `apply, validate, status --exit-code: a pending migration older than the newest applied one (a branch merged late): allow (apply it, with a warning) or refuse (exit 3, nothing applied; validate reports it, status --exit-code exits 3) (default: ${DEFAULTS.outOfOrder})`,
  },
  "remove-missing": {
    type: "boolean",
    help: "repair: also delete rows of applied migrations whose file is gone",
  },
  yes: {
    type: "boolean",
    short: "y",
    help: "repair: make the changes without asking (required when not on a terminal)",
  },
  verbose: {
    type: "boolean",
    short: "v",
    help: "also print the target, lock and history details, and every PostgreSQL notice",
  },
  all: { type: "boolean", help: "verify, lint: every migration, not only the pending ones" },
  "scratch-url": {
    type: "string",
    value: "URL",
    help:
      `verify, drift: server where a temporary database is created and dropped, or pglite:memory (default: ${DEFAULTS.scratchUrl})`,
  },
  "no-sum": {
    type: "boolean",
    help: `neither check nor update ${DEFAULTS.sumFile} in the migrations directory`,
  },
  "no-lint": {
    type: "boolean",
    help: "apply: do not refuse migrations that break lint error rules",
  },
  format: { type: "string", value: "FORMAT", help: "lint: text, json or github (default: text)" },
  error: {
    type: "string",
    value: "RULES",
    help: `lint, apply: comma-separated rules to treat as errors (rules: ${
      Object.keys(LINT_LEVELS).join(", ")
    })`,
  },
  warn: {
    type: "string",
    value: "RULES",
    help: "lint, apply: comma-separated rules to treat as warnings",
  },
  off: { type: "string", value: "RULES", help: "lint, apply: comma-separated rules to turn off" },
};

const COMMON: OptionName[] = [
  "database-url",
  "password-file",
  "migrations-dir",
  "table",
  "json",
  "verbose",
  "help",
  "connect-timeout",
  "connect-wait",
];
const RUN: OptionName[] = [
  "lock-mode",
  "lock-wait",
  "lock-timeout",
  "lock-retries",
  "statement-timeout",
];

/** A command's help and the options it accepts. */
export interface CommandSpec {
  /** One line for --help. */
  summary: string;
  /** Its synopsis. */
  usage: string;
  /** Options it accepts. */
  options: OptionName[];
}

/** Every command, in the order --help lists them. */
export const COMMANDS: Record<string, CommandSpec> = {
  init: {
    summary: "create the tracking table (idempotent)",
    usage: "init [--create-database]",
    options: [...COMMON, "lock-wait", "create-database"],
  },
  create: {
    summary: "write a new migration file DIR/YYYYMMDD_HHMMSS_slug.sql",
    usage: "create <description>",
    options: [...COMMON, "no-transaction", "no-sum"],
  },
  status: {
    summary: "show every migration: applied, pending, modified or missing",
    usage: "status [--exit-code]",
    options: [...COMMON, "exit-code", "out-of-order"],
  },
  apply: {
    summary: "apply pending migrations in version order",
    usage: "apply [--to VERSION] [--dry-run | --sql]",
    options: [
      ...COMMON,
      ...RUN,
      "to",
      "dry-run",
      "sql",
      "single-transaction",
      "create-database",
      "out-of-order",
      "no-sum",
      "no-lint",
      "error",
      "warn",
      "off",
    ],
  },
  rollback: {
    summary: "revert applied migrations, most recent first",
    usage: "rollback [--steps N | --to VERSION] [--dry-run | --sql]",
    options: [...COMMON, ...RUN, "steps", "to", "dry-run", "sql", "single-transaction"],
  },
  validate: {
    summary: "check files and, with a database, checksums and missing files; change nothing",
    usage: "validate [--out-of-order refuse]",
    options: [...COMMON, "no-sum", "out-of-order"],
  },
  repair: {
    summary:
      "set recorded checksums of modified migrations to the files' (--remove-missing: drop rows of missing files)",
    usage: "repair [--remove-missing] [--yes] [--dry-run]",
    options: [...COMMON, "lock-mode", "lock-wait", "remove-missing", "yes", "dry-run"],
  },
  baseline: {
    summary: "record every migration up to VERSION as applied without running it",
    usage: "baseline --version VERSION",
    options: [...COMMON, "lock-mode", "lock-wait"],
  },
  history: {
    summary: "show the tracking table's rows in applied order, with timings and who applied them",
    usage: "history",
    options: COMMON,
  },
  verify: {
    summary: "check on a scratch database that each DOWN undoes its UP and UP runs again",
    usage: "verify [--all] [--scratch-url URL]",
    options: [...COMMON, "all", "scratch-url", "no-sum"],
  },
  drift: {
    summary:
      "check that the database's schema is the one its applied migrations make (replayed on a scratch database)",
    usage: "drift [--scratch-url URL] [--ignore LIST]",
    options: [...COMMON, "scratch-url", "ignore"],
  },
  lint: {
    summary:
      "report dangerous DDL and incomplete DOWN sections (pending migrations, --all, or files)",
    usage: "lint [--all | FILE...] [--format text|json|github] [--error|--warn|--off RULES]",
    options: [...COMMON, "all", "format", "error", "warn", "off"],
  },
  schema: {
    summary: "print the database schema from the system catalogs (SQL-like text, or --json)",
    usage: "schema",
    options: COMMON,
  },
  import: {
    summary:
      "write another tool's migrations (dbmate, golang-migrate, flyway, node-pg-migrate) as data-bridge files",
    usage: "import --from TOOL DIR [--dry-run]",
    options: ["migrations-dir", "json", "verbose", "help", "from", "dry-run", "no-sum"],
  },
  sum: {
    summary: `rewrite ${DEFAULTS.sumFile}, the integrity file of the migrations directory`,
    usage: "sum",
    options: COMMON,
  },
};

/** Other names of commands. */
export const ALIASES: Record<string, string> = { up: "apply", migrate: "apply", down: "rollback" };

/** How each option is read; `baseline --version` takes a value. */
function parseOptions(
  name: string,
): Record<string, { type: "string" | "boolean"; short?: string }> {
  if (name !== "baseline") return OPTIONS;
  return { ...OPTIONS, version: { type: "string" } };
}

/** A command line split into option values and positionals. */
interface Scanned {
  values: Record<string, string | boolean>;
  positionals: string[];
  /** Where the first positional is in the arguments, or -1. */
  first: number;
}

/**
 * Reads a command line the POSIX way (as `node:util` `parseArgs` does):
 * `--name value`, `--name=value`, short booleans alone or grouped (`-hV`),
 * everything after `--` positional; a repeated option keeps its last value.
 * Written here rather than taken from `node:util`, which costs every run of
 * the compiled binary ~0.6 ms to load (a tenth of its start).
 *
 * Strict, it throws for an unknown option, a value given to a boolean, and
 * a missing value, which is also what an option-like next argument is
 * (`--to --json`), unless it is a negative number (`--steps -1`, so that the
 * reader of the value can say what is wrong with it). Not strict, it
 * throws for nothing: unknown options count as booleans.
 */
function scanArgs(
  argv: readonly string[],
  options: Record<string, { type: "string" | "boolean"; short?: string }>,
  strict: boolean,
): Scanned {
  const values: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  let first = -1;
  const positional = (i: number) => {
    if (first < 0) first = i;
    positionals.push(argv[i]);
  };
  const problem = (message: string) => new UsageError("USAGE", message);
  // The value after an option that takes one, at `i`; `undefined` when missing.
  const valueAt = (i: number): string | undefined => {
    const next = argv[i];
    if (next === undefined) return undefined;
    if (strict && next.length > 1 && next[0] === "-" && !/^-\d/.test(next)) return undefined;
    return next;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      for (let j = i + 1; j < argv.length; j++) positional(j);
      break;
    }
    if (arg.length < 2 || arg[0] !== "-") {
      positional(i);
      continue;
    }
    if (arg[1] === "-") {
      const eq = arg.indexOf("=");
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const spec = Object.hasOwn(options, name) ? options[name] : undefined;
      if (spec === undefined) {
        if (strict) throw problem(`unknown option --${name}; run data-bridge --help`);
        values[name] = eq < 0 ? true : arg.slice(eq + 1);
      } else if (spec.type === "boolean") {
        if (eq >= 0 && strict) {
          throw problem(`option --${name} takes no value; run data-bridge --help`);
        }
        values[name] = true;
      } else if (eq >= 0) {
        values[name] = arg.slice(eq + 1);
      } else {
        const value = valueAt(i + 1);
        if (value === undefined) {
          if (strict) throw problem(`option --${name} needs a value`);
        } else {
          values[name] = value;
          i++;
        }
      }
      continue;
    }
    // Short options: booleans, one or more (every option with a short form is one).
    for (let c = 1; c < arg.length; c++) {
      const name = shortName(options, arg[c]);
      if (name !== undefined) values[name] = true;
      else if (strict) throw problem(`unknown option -${arg[c]}; run data-bridge --help`);
    }
  }
  return { values, positionals, first };
}

/** The boolean option of a short form. */
function shortName(
  options: Record<string, { type: "string" | "boolean"; short?: string }>,
  letter: string,
): string | undefined {
  for (const name in options) {
    if (options[name].short === letter && options[name].type === "boolean") return name;
  }
  return undefined;
}

/**
 * The command word (the first positional) and the other arguments.
 *
 * @param argv Arguments after the program name.
 * @returns The command, if any, and the rest.
 * @example
 * ```ts
 * import { splitCommand } from "./cli_args.ts";
 * console.log(splitCommand(["--database-url", "pglite:memory", "status"]).command); // "status"
 * ```
 */
export function splitCommand(argv: string[]): { command?: string; rest: string[] } {
  const { first } = scanArgs(argv, OPTIONS, false);
  if (first < 0) return { rest: argv };
  return { command: argv[first], rest: argv.filter((_, i) => i !== first) };
}

/**
 * The options an environment variable may give, `DATA_BRIDGE_` and the
 * option's name in capitals (`DATA_BRIDGE_MIGRATIONS_DIR`): project and
 * deploy settings, not what one run asks for (`--to`, `--dry-run`, `--yes`).
 * A flag on the command line wins.
 */
export const ENV_OPTIONS: readonly OptionName[] = [
  "migrations-dir",
  "table",
  "lock-mode",
  "lock-wait",
  "lock-timeout",
  "lock-retries",
  "statement-timeout",
  "connect-timeout",
  "connect-wait",
  "password-file",
  "scratch-url",
  "ignore",
  "out-of-order",
];

/**
 * The environment variable of an option.
 *
 * @param key Option name.
 * @returns E.g. `DATA_BRIDGE_LOCK_TIMEOUT`.
 * @example
 * ```ts
 * import { envName } from "./cli_args.ts";
 * console.log(envName("migrations-dir")); // "DATA_BRIDGE_MIGRATIONS_DIR"
 * ```
 */
export function envName(key: OptionName): string {
  return `DATA_BRIDGE_${key.toUpperCase().replaceAll("-", "_")}`;
}

/** The options of each parsed command line that came from the environment. */
const FROM_ENV = new WeakMap<OptionValues, Set<OptionName>>();

/**
 * How errors name an option: its flag, or the environment variable it came from.
 *
 * @param values Parsed option values.
 * @param key Option name.
 * @returns E.g. `--table` or `DATA_BRIDGE_TABLE`.
 * @example
 * ```ts
 * import { optionLabel } from "./cli_args.ts";
 * console.log(optionLabel({ table: "x" }, "table")); // "--table"
 * ```
 */
export function optionLabel(values: OptionValues, key: OptionName): string {
  return FROM_ENV.get(values)?.has(key) ? envName(key) : `--${key}`;
}

/**
 * Parses a command's arguments strictly.
 *
 * @param name The command (not an alias).
 * @param argv Its arguments, without the command word.
 * @returns Option values and positionals.
 * @throws {UsageError} For an unknown option, a missing value, an option the
 *   command does not take, or a stray argument.
 * @example
 * ```ts
 * import { parseCommand } from "./cli_args.ts";
 * console.log(parseCommand("rollback", ["--steps", "2"]).values.steps); // "2"
 * ```
 */
export function parseCommand(
  name: string,
  argv: string[],
  env: (name: string) => string | undefined = () => undefined,
): { values: OptionValues; positionals: string[] } {
  const spec = COMMANDS[name];
  const parsed = scanArgs(argv, parseOptions(name), true);
  const values = parsed.values as OptionValues;
  for (const key of Object.keys(values) as OptionName[]) {
    if (!spec.options.includes(key) && key !== "version") {
      throw new UsageError(
        "USAGE",
        `--${key} is not an option of ${name}; run data-bridge ${name} --help`,
      );
    }
  }
  if (name !== "create" && name !== "lint" && name !== "import" && parsed.positionals.length) {
    throw new UsageError(
      "USAGE",
      `${name} takes no argument, got '${parsed.positionals[0]}'; run data-bridge ${name} --help`,
    );
  }
  // Settings from the environment, for the options this command takes and no flag gave.
  const fromEnv = new Set<OptionName>();
  for (const key of ENV_OPTIONS) {
    if (values[key] !== undefined || !spec.options.includes(key)) continue;
    const value = env(envName(key));
    if (value === undefined || value === "") continue;
    values[key] = value;
    fromEnv.add(key);
  }
  if (fromEnv.size) FROM_ENV.set(values, fromEnv);
  return { values, positionals: parsed.positionals };
}

/**
 * The text of `--help`.
 *
 * @returns Help for every command and option.
 * @example
 * ```ts
 * import { usage } from "./cli_args.ts";
 * console.log(usage().startsWith("data-bridge")); // true
 * ```
 */
export function usage(): string {
  const lines = [
    `data-bridge ${VERSION}: PostgreSQL schema migrations in plain SQL files`,
    "",
    "Usage: data-bridge <command> [options]",
    "",
    "Commands:",
    ...Object.entries(COMMANDS).map(([name, spec]) => {
      const aliases = Object.entries(ALIASES).filter(([, to]) => to === name).map(([a]) => a);
      const label = aliases.length ? `${name} (${aliases.join(", ")})` : name;
      return `  ${label.padEnd(22)}${spec.summary}`;
    }),
    `  ${"help [command]".padEnd(22)}show help for a command`,
    "",
    "Options:",
    ...optionLines(Object.keys(OPTIONS) as OptionName[]),
    "",
    ...environmentLines(),
    "",
    "Exit codes: 0 success, 1 failure at run time, 2 usage error, 3 validation failure,",
    "            4 migrations pending (status --exit-code), 130/143 interrupted by SIGINT/SIGTERM.",
    "Files: YYYYMMDD_HHMMSS_description.sql with a '-- UP' line and a '-- DOWN' line.",
  ];
  return lines.join("\n") + "\n";
}

/** What --help says of the environment: the database, and settings a flag would give. */
function environmentLines(): string[] {
  const flags = ENV_OPTIONS.map((key) => `--${key}`);
  const lines = [
    "Environment: DATABASE_URL, or libpq's PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE",
    "  (a password not given is looked up in ~/.pgpass or PGPASSFILE);",
  ];
  let line = `  DATA_BRIDGE_<OPTION> (e.g. ${envName("migrations-dir")}) for`;
  for (const flag of flags) {
    const next = `${line} ${flag}${flag === flags.at(-1) ? "" : ","}`;
    if (next.length > 96) {
      lines.push(line);
      line = `  ${flag}${flag === flags.at(-1) ? "" : ","}`;
    } else line = next;
  }
  lines.push(`${line} (a flag wins).`);
  return lines;
}

/**
 * The text of `data-bridge COMMAND --help`.
 *
 * @param name The command.
 * @returns Its synopsis, summary and options.
 * @example
 * ```ts
 * import { commandUsage } from "./cli_args.ts";
 * console.log(commandUsage("apply").includes("--dry-run")); // true
 * ```
 */
export function commandUsage(name: string): string {
  const spec = COMMANDS[name];
  const fromEnv = ENV_OPTIONS.filter((key) => spec.options.includes(key));
  return [
    `data-bridge ${spec.usage}`,
    "",
    `  ${spec.summary}`,
    "",
    "Options:",
    ...optionLines(spec.options),
    "",
    ...(fromEnv.length
      ? [
        `Environment: DATABASE_URL or PG*; DATA_BRIDGE_<OPTION> for ${
          fromEnv.map((key) => `--${key}`).join(", ")
        } (e.g. ${envName(fromEnv[0])}); a flag wins.`,
        "",
      ]
      : []),
  ].join("\n");
}

function optionLines(names: OptionName[]): string[] {
  return names.map((key) => {
    const o = OPTIONS[key];
    const flag = `${o.short ? `-${o.short}, ` : ""}--${key}${o.value ? ` ${o.value}` : ""}`;
    return `  ${flag.padEnd(30)}${o.help}`;
  });
}

/**
 * The string value of an option.
 *
 * @param values Parsed option values.
 * @param key Option name.
 * @returns The value, or `undefined` when absent.
 * @throws {UsageError} When the value is malformed, naming the flag.
 * @example
 * ```ts
 * import { text } from "./cli_args.ts";
 * console.log(text({ table: "audit.h" }, "table")); // "audit.h"
 * ```
 */
export function text(values: OptionValues, key: OptionName): string | undefined {
  const value = values[key];
  return typeof value === "string" ? value : undefined;
}

/**
 * A number of seconds.
 *
 * @param values Parsed option values.
 * @param key Option name.
 * @param allowZero Whether 0 is allowed.
 * @returns The number, or `undefined` when absent.
 * @throws {UsageError} When the value is malformed, naming the flag.
 * @example
 * ```ts
 * import { seconds } from "./cli_args.ts";
 * console.log(seconds({ "lock-wait": "1.5" }, "lock-wait", true)); // 1.5
 * ```
 */
export function seconds(
  values: OptionValues,
  key: OptionName,
  allowZero: boolean,
): number | undefined {
  const value = text(values, key);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || (!allowZero && n === 0)) {
    throw new UsageError(
      "USAGE",
      `${optionLabel(values, key)} must be a ${
        allowZero ? "non-negative" : "positive"
      } number of seconds, got '${value}'`,
    );
  }
  return n;
}

/**
 * A whole number of at least `min`.
 *
 * @param values Parsed option values.
 * @param key Option name.
 * @param min Smallest allowed value.
 * @returns The number, or `undefined` when absent.
 * @throws {UsageError} When the value is malformed, naming the flag.
 * @example
 * ```ts
 * import { wholeNumber } from "./cli_args.ts";
 * console.log(wholeNumber({ steps: "2" }, "steps", 1)); // 2
 * ```
 */
export function wholeNumber(
  values: OptionValues,
  key: OptionName,
  min: number,
): number | undefined {
  const value = text(values, key);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(
      "USAGE",
      `${optionLabel(values, key)} must be a whole number of at least ${min}, got '${value}'`,
    );
  }
  return Number(value);
}

/**
 * A PostgreSQL duration (`5s`, `500ms`, `2min`, `0`) within PostgreSQL's limit.
 *
 * @param values Parsed option values.
 * @param key Option name.
 * @returns The value as given, or `undefined` when absent.
 * @throws {UsageError} When the value is malformed, naming the flag.
 * @example
 * ```ts
 * import { duration } from "./cli_args.ts";
 * console.log(duration({ "lock-timeout": "5s" }, "lock-timeout")); // "5s"
 * ```
 */
export function duration(values: OptionValues, key: OptionName): string | undefined {
  const value = text(values, key);
  if (value === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?$/.exec(value);
  if (!m) {
    throw new UsageError(
      "USAGE",
      `${optionLabel(values, key)} must be a duration such as 5s, 500ms, 2min or 0, got '${value}'`,
    );
  }
  // PostgreSQL's limit for lock_timeout and statement_timeout: INT_MAX milliseconds.
  const ms = Number(m[1]) * DURATION_UNIT_MS[m[2] ?? "ms"];
  if (ms > 2 ** 31 - 1) {
    throw new UsageError(
      "USAGE",
      `${
        optionLabel(values, key)
      } ${value} is over PostgreSQL's limit of 2147483647ms (about 24 days)`,
    );
  }
  return value;
}

const DURATION_UNIT_MS: Record<string, number> = {
  us: 0.001,
  ms: 1,
  s: 1000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * A migration version (or `0` when allowed).
 *
 * @param values Parsed option values.
 * @param key Option name.
 * @param allowZero Whether `0` is allowed.
 * @returns The version, or `undefined` when absent.
 * @throws {UsageError} When the value is malformed, naming the flag.
 * @example
 * ```ts
 * import { version } from "./cli_args.ts";
 * console.log(version({ to: "20250128_120000" }, "to", false)); // "20250128_120000"
 * ```
 */
export function version(
  values: OptionValues,
  key: OptionName,
  allowZero: boolean,
): string | undefined {
  const value = text(values, key);
  if (value === undefined) return undefined;
  if (allowZero && value === "0") return value;
  if (!isVersion(value)) {
    throw new UsageError(
      "USAGE",
      `--${key} must be a migration version YYYYMMDD_HHMMSS${
        allowZero ? " or 0" : ""
      }, got '${value}'`,
    );
  }
  return value;
}

/**
 * The password in the first line of `--password-file`.
 *
 * @param values Parsed option values.
 * @returns The password, or `undefined` without the option.
 * @throws {UsageError} When the value is malformed, naming the flag.
 * @example
 * ```ts
 * import { passwordFile } from "./cli_args.ts";
 * console.log(passwordFile({})); // undefined
 * ```
 */
export function passwordFile(values: OptionValues): string | undefined {
  const path = text(values, "password-file");
  if (path === undefined) return undefined;
  let content: string;
  try {
    content = readTextFileSync(path);
  } catch (error) {
    throw new UsageError(
      "USAGE",
      `${optionLabel(values, "password-file")} ${path} cannot be read (${
        (error as { code?: string }).code ?? "error"
      })`,
    );
  }
  const password = content.split(/\r?\n/)[0];
  if (!password) {
    throw new UsageError("USAGE", `${optionLabel(values, "password-file")} ${path} is empty`);
  }
  return password;
}

/**
 * The `--lock-mode`.
 *
 * @param values Parsed option values.
 * @returns `session`, `table`, `none`, or `undefined` when absent.
 * @throws {UsageError} When the value is malformed, naming the flag.
 * @example
 * ```ts
 * import { lockMode } from "./cli_args.ts";
 * console.log(lockMode({ "lock-mode": "table" })); // "table"
 * ```
 */
export function lockMode(values: OptionValues): LockMode | undefined {
  const value = text(values, "lock-mode");
  if (value === undefined) return undefined;
  if (value !== "session" && value !== "table" && value !== "none") {
    throw new UsageError(
      "USAGE",
      `${optionLabel(values, "lock-mode")} must be session, table or none, got '${value}'`,
    );
  }
  return value;
}

/**
 * The `--out-of-order` policy.
 *
 * @param values Parsed option values.
 * @returns `allow` or `refuse`, or `undefined` when absent.
 * @throws {UsageError} When the value is neither, naming the flag (or its variable).
 * @example
 * ```ts
 * import { outOfOrder } from "./cli_args.ts";
 * console.log(outOfOrder({ "out-of-order": "refuse" })); // "refuse"
 * ```
 */
export function outOfOrder(values: OptionValues): "allow" | "refuse" | undefined {
  const value = text(values, "out-of-order");
  if (value === undefined) return undefined;
  if (value !== "allow" && value !== "refuse") {
    throw new UsageError(
      "USAGE",
      `${optionLabel(values, "out-of-order")} must be allow or refuse, got '${value}'`,
    );
  }
  return value;
}

/**
 * The migrations directory.
 *
 * @param values Parsed option values.
 * @returns `--migrations-dir`, else the default.
 * @throws {UsageError} When the value is malformed, naming the flag.
 * @example
 * ```ts
 * import { migrationsDir } from "./cli_args.ts";
 * console.log(migrationsDir({})); // "migrations"
 * ```
 */
export function migrationsDir(values: OptionValues): string {
  const dir = text(values, "migrations-dir");
  if (dir === "") throw new UsageError("USAGE", "--migrations-dir is empty; give a directory");
  return dir ?? DEFAULTS.migrationsDir;
}
