#!/usr/bin/env -S deno run --allow-all
/**
 * The data-bridge command line: a thin layer over the API in `mod.ts`. It
 * parses arguments, calls the library, prints, and exits with the documented
 * code. It is the only module that prints or exits.
 *
 * ```sh
 * deno run -A cli.ts create "create users table"
 * deno run -A cli.ts apply --database-url postgres://localhost/mydb
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { existsSync, readFileSync } from "node:fs";
import { DEFAULTS, VERSION } from "./lib/config.ts";
import { createMigration } from "./lib/create.ts";
import {
  DataBridgeError,
  ExitCode,
  RuntimeError,
  UsageError,
  ValidationError,
} from "./lib/errors.ts";
import {
  formatError,
  formatHistory,
  formatMs,
  formatStatus,
  type Palette,
  palette,
} from "./lib/format.ts";
import type { RepairChange } from "./lib/classify.ts";
import { describeHolder } from "./lib/lock.ts";
import { type LockMode, MigrationRunner, type RunEvent } from "./lib/runner.ts";
import { describeTarget, maskUrl, resolveTarget, type Target } from "./lib/target.ts";
import { parseTableName } from "./lib/ident.ts";
import { isVersion } from "./lib/version.ts";
import * as runtime from "./lib/runtime.ts";
import { connect } from "./lib/connect.ts";
import { classify } from "./lib/classify.ts";
import {
  formatLintGithub,
  formatLintText,
  lintFiles,
  type LintLevel,
  lintLevels,
  ruleIds,
} from "./lib/lint.ts";
import { loadMigrations } from "./lib/load.ts";
import { renderSchema, snapshotSchema } from "./lib/schema.ts";
import { checkSum, sumEntries, sumPath, sumProblem, writeSum } from "./lib/sum.ts";
import { planVerify, readTargetHistory, verifyMigrations } from "./lib/verify.ts";
import { formatVerification, formatVerifySummary } from "./lib/verify_format.ts";

type OptionName =
  | "database-url"
  | "migrations-dir"
  | "table"
  | "json"
  | "help"
  | "version"
  | "connect-timeout"
  | "lock-wait"
  | "lock-timeout"
  | "lock-retries"
  | "statement-timeout"
  | "to"
  | "steps"
  | "dry-run"
  | "no-transaction"
  | "password-file"
  | "verbose"
  | "lock-mode"
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

interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  value?: string;
  help: string;
}

const OPTIONS: Record<OptionName, OptionSpec> = {
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
    help: `give up connecting after this long (default: ${DEFAULTS.connectTimeoutSeconds})`,
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
      `verify: server where a temporary database is created and dropped, or pglite:memory (default: ${DEFAULTS.scratchUrl})`,
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
    help: `lint, apply: comma-separated rules to treat as errors (rules: ${ruleIds().join(", ")})`,
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
];
const RUN: OptionName[] = [
  "lock-mode",
  "lock-wait",
  "lock-timeout",
  "lock-retries",
  "statement-timeout",
];

interface CommandSpec {
  summary: string;
  usage: string;
  options: OptionName[];
  run: (ctx: Context) => Promise<number>;
}

const COMMANDS: Record<string, CommandSpec> = {
  init: {
    summary: "create the tracking table (idempotent)",
    usage: "init",
    options: [...COMMON, "lock-wait"],
    run: runInit,
  },
  create: {
    summary: "write a new migration file DIR/YYYYMMDD_HHMMSS_slug.sql",
    usage: "create <description>",
    options: [...COMMON, "no-transaction", "no-sum"],
    run: runCreate,
  },
  status: {
    summary: "show every migration: applied, pending, modified or missing",
    usage: "status",
    options: COMMON,
    run: runStatus,
  },
  apply: {
    summary: "apply pending migrations in version order",
    usage: "apply [--to VERSION] [--dry-run]",
    options: [...COMMON, ...RUN, "to", "dry-run", "no-sum", "no-lint", "error", "warn", "off"],
    run: runApply,
  },
  rollback: {
    summary: "revert applied migrations, most recent first",
    usage: "rollback [--steps N | --to VERSION] [--dry-run]",
    options: [...COMMON, ...RUN, "steps", "to", "dry-run"],
    run: runRollback,
  },
  validate: {
    summary: "check files and, with a database, checksums and missing files; change nothing",
    usage: "validate",
    options: [...COMMON, "no-sum"],
    run: runValidate,
  },
  repair: {
    summary:
      "set recorded checksums of modified migrations to the files' (--remove-missing: drop rows of missing files)",
    usage: "repair [--remove-missing] [--yes] [--dry-run]",
    options: [...COMMON, "lock-mode", "lock-wait", "remove-missing", "yes", "dry-run"],
    run: runRepair,
  },
  baseline: {
    summary: "record every migration up to VERSION as applied without running it",
    usage: "baseline --version VERSION",
    options: [...COMMON, "lock-mode", "lock-wait"],
    run: runBaseline,
  },
  history: {
    summary: "show the tracking table's rows in applied order, with timings and who applied them",
    usage: "history",
    options: COMMON,
    run: runHistory,
  },
  verify: {
    summary: "check on a scratch database that each DOWN undoes its UP and UP runs again",
    usage: "verify [--all] [--scratch-url URL]",
    options: [...COMMON, "all", "scratch-url", "no-sum"],
    run: runVerify,
  },
  lint: {
    summary:
      "report dangerous DDL and incomplete DOWN sections (pending migrations, --all, or files)",
    usage: "lint [--all | FILE...] [--format text|json|github] [--error|--warn|--off RULES]",
    options: [...COMMON, "all", "format", "error", "warn", "off"],
    run: runLint,
  },
  schema: {
    summary: "print the database schema from the system catalogs (SQL-like text, or --json)",
    usage: "schema",
    options: COMMON,
    run: runSchema,
  },
  sum: {
    summary: `rewrite ${DEFAULTS.sumFile}, the integrity file of the migrations directory`,
    usage: "sum",
    options: COMMON,
    run: runSum,
  },
};

const ALIASES: Record<string, string> = { up: "apply", migrate: "apply", down: "rollback" };

interface Context {
  name: string;
  values: Partial<Record<OptionName, string | boolean>>;
  positionals: string[];
  json: boolean;
  /** Colours for stdout. */
  out: Palette;
  /** Colours for stderr. */
  err: Palette;
  signal: AbortSignal;
}

/**
 * Runs the command line.
 *
 * @param argv Arguments after the program name.
 * @returns The exit code.
 * @example
 * ```ts
 * import { main } from "./cli.ts";
 * const code = await main(["--version"]); // prints "data-bridge 0.1.0"
 * console.log(code); // 0
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  const json = argv.includes("--json");
  const colourOn = (stream: "stdout" | "stderr") =>
    runtime.isTerminal(stream) && runtime.env("NO_COLOR") === undefined && !json;
  const out = palette(colourOn("stdout"));
  const err = palette(colourOn("stderr"));
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (name: "SIGINT" | "SIGTERM") => () => {
    signals++;
    if (signals > 1) runtime.exit(name === "SIGTERM" ? ExitCode.SIGTERM : ExitCode.SIGINT);
    controller.abort(name);
  };
  const offInt = runtime.onSignal("SIGINT", onSignal("SIGINT"));
  const offTerm = runtime.onSignal("SIGTERM", onSignal("SIGTERM"));
  let name = "";
  try {
    const { command, rest } = splitCommand(argv);
    if (command === undefined) {
      if (argv.includes("--version") || argv.includes("-V")) {
        runtime.writeStdout(
          json ? `${JSON.stringify({ version: VERSION })}\n` : `data-bridge ${VERSION}\n`,
        );
        return ExitCode.OK;
      }
      if (argv.includes("--help") || argv.includes("-h") || argv.length === 0) {
        runtime.writeStdout(usage());
        return argv.length === 0 ? ExitCode.USAGE : ExitCode.OK;
      }
      throw new UsageError("USAGE", "no command given; run data-bridge --help");
    }
    name = ALIASES[command] ?? command;
    if (name === "help") {
      const topic = rest.find((a) => !a.startsWith("-"));
      const about = ALIASES[topic ?? ""] ?? topic;
      runtime.writeStdout(about && COMMANDS[about] ? commandUsage(about) : usage());
      return ExitCode.OK;
    }
    const spec = COMMANDS[name];
    if (!spec) {
      throw new UsageError("USAGE", `unknown command '${command}'; run data-bridge --help`);
    }
    const { values, positionals } = parse(name, spec, rest);
    if (values.help) {
      runtime.writeStdout(commandUsage(name));
      return ExitCode.OK;
    }
    return await spec.run({
      name,
      values,
      positionals,
      json,
      out,
      err,
      signal: controller.signal,
    });
  } catch (error) {
    return report(error, json, err, name === "rollback" ? "reverted" : "applied");
  } finally {
    offInt();
    offTerm();
  }
}

/** Options as `parseArgs` wants them; `baseline --version` takes a value. */
function parseOptions(name: string) {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const key of Object.keys(OPTIONS) as OptionName[]) {
    const o = OPTIONS[key];
    options[key] = { type: o.type, ...(o.short ? { short: o.short } : {}) };
  }
  if (name === "baseline") options.version = { type: "string" };
  return options;
}

/** The command word (the first positional) and the other arguments. */
function splitCommand(argv: string[]): { command?: string; rest: string[] } {
  let tokens;
  try {
    ({ tokens } = parseArgs({
      args: argv,
      options: parseOptions(""),
      allowPositionals: true,
      strict: false,
      tokens: true,
    }));
  } catch {
    return { rest: argv };
  }
  const first = tokens.find((t) => t.kind === "positional");
  if (!first) return { rest: argv };
  return { command: argv[first.index], rest: argv.filter((_, i) => i !== first.index) };
}

function parse(name: string, spec: CommandSpec, argv: string[]) {
  const options = parseOptions(name);
  let parsed;
  try {
    parsed = parseArgs({
      args: negativeValues(argv, options),
      options,
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError("USAGE", argumentProblem(error as Error & { code?: string }));
  }
  const values = parsed.values as Partial<Record<OptionName, string | boolean>>;
  for (const key of Object.keys(values) as OptionName[]) {
    if (!spec.options.includes(key) && key !== "version") {
      throw new UsageError(
        "USAGE",
        `--${key} is not an option of ${name}; run data-bridge ${name} --help`,
      );
    }
  }
  if (name !== "create" && name !== "lint" && parsed.positionals.length) {
    throw new UsageError(
      "USAGE",
      `${name} takes no argument, got '${parsed.positionals[0]}'; run data-bridge ${name} --help`,
    );
  }
  return { values, positionals: parsed.positionals };
}

/**
 * `--steps -1` as `--steps=-1`: parseArgs takes `-1` for an option, and the
 * user would hear that --steps needs a value instead of what is wrong with it.
 */
function negativeValues(argv: string[], options: ReturnType<typeof parseOptions>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") return [...out, ...argv.slice(i)];
    const option = arg.startsWith("--") && !arg.includes("=") ? options[arg.slice(2)] : undefined;
    if (option?.type === "string" && /^-\d/.test(argv[i + 1] ?? "")) {
      out.push(`${arg}=${argv[++i]}`);
    } else out.push(arg);
  }
  return out;
}

function argumentProblem(error: Error & { code?: string }): string {
  const option = /'(-[^']*)'/.exec(error.message)?.[1];
  switch (error.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown option ${option ?? ""}; run data-bridge --help`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return `option ${option ?? ""} needs a value`.replace(/ <value>/, "");
    default:
      return error.message.split("\n")[0];
  }
}

function usage(): string {
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
    "Exit codes: 0 success, 1 failure at run time, 2 usage error, 3 validation failure,",
    "            130/143 interrupted by SIGINT/SIGTERM.",
    "Files: YYYYMMDD_HHMMSS_description.sql with a '-- UP' line and a '-- DOWN' line.",
  ];
  return lines.join("\n") + "\n";
}

function commandUsage(name: string): string {
  const spec = COMMANDS[name];
  return [
    `data-bridge ${spec.usage}`,
    "",
    `  ${spec.summary}`,
    "",
    "Options:",
    ...optionLines(spec.options),
    "",
  ].join("\n");
}

function optionLines(names: OptionName[]): string[] {
  return names.map((key) => {
    const o = OPTIONS[key];
    const flag = `${o.short ? `-${o.short}, ` : ""}--${key}${o.value ? ` ${o.value}` : ""}`;
    return `  ${flag.padEnd(30)}${o.help}`;
  });
}

function report(
  error: unknown,
  json: boolean,
  colour: Palette,
  verb: string,
): number {
  const issues = "please report this at https://github.com/data-bridge/data-bridge/issues";
  const known = error instanceof DataBridgeError ? error : new RuntimeError(
    "INTERNAL",
    `internal error: ${oneLine((error as Error)?.message ?? String(error))}; ${issues}`,
  );
  // The drivers' catch-all for errors they do not know is INTERNAL too.
  if (known.code === "INTERNAL" && !known.message.includes(issues)) {
    known.message = `${oneLine(known.message)}; ${issues}`;
  }
  // An unexpected error's text is not ours: hide any password in a URL it quotes.
  if (known.code === "INTERNAL") {
    known.message = known.message.replace(/[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s'"`]+/g, maskUrl);
  }
  if (json) {
    runtime.writeStdout(
      `${JSON.stringify({ error: known.toJSON(), completed: known.completed })}\n`,
    );
  } else runtime.writeStderr(formatError(known, colour, verb));
  return known.exitCode;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

// ---------------------------------------------------------------- options

function text(ctx: Context, key: OptionName): string | undefined {
  const value = ctx.values[key];
  return typeof value === "string" ? value : undefined;
}

function seconds(ctx: Context, key: OptionName, allowZero: boolean): number | undefined {
  const value = text(ctx, key);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || (!allowZero && n === 0)) {
    throw new UsageError(
      "USAGE",
      `--${key} must be a ${
        allowZero ? "non-negative" : "positive"
      } number of seconds, got '${value}'`,
    );
  }
  return n;
}

function wholeNumber(ctx: Context, key: OptionName, min: number): number | undefined {
  const value = text(ctx, key);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(
      "USAGE",
      `--${key} must be a whole number of at least ${min}, got '${value}'`,
    );
  }
  return Number(value);
}

function duration(ctx: Context, key: OptionName): string | undefined {
  const value = text(ctx, key);
  if (value === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?$/.exec(value);
  if (!m) {
    throw new UsageError(
      "USAGE",
      `--${key} must be a duration such as 5s, 500ms, 2min or 0, got '${value}'`,
    );
  }
  // PostgreSQL's limit for lock_timeout and statement_timeout: INT_MAX milliseconds.
  const ms = Number(m[1]) * DURATION_UNIT_MS[m[2] ?? "ms"];
  if (ms > 2 ** 31 - 1) {
    throw new UsageError(
      "USAGE",
      `--${key} ${value} is over PostgreSQL's limit of 2147483647ms (about 24 days)`,
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

function version(ctx: Context, key: OptionName, allowZero: boolean): string | undefined {
  const value = text(ctx, key);
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

function passwordFile(ctx: Context): string | undefined {
  const path = text(ctx, "password-file");
  if (path === undefined) return undefined;
  let content: string;
  try {
    content = readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(
      "USAGE",
      `--password-file ${path} cannot be read (${(error as { code?: string }).code ?? "error"})`,
    );
  }
  const password = content.split(/\r?\n/)[0];
  if (!password) throw new UsageError("USAGE", `--password-file ${path} is empty`);
  return password;
}

function lockMode(ctx: Context): LockMode | undefined {
  const value = text(ctx, "lock-mode");
  if (value === undefined) return undefined;
  if (value !== "session" && value !== "table" && value !== "none") {
    throw new UsageError("USAGE", `--lock-mode must be session, table or none, got '${value}'`);
  }
  return value;
}

function migrationsDir(ctx: Context): string {
  const dir = text(ctx, "migrations-dir");
  if (dir === "") throw new UsageError("USAGE", "--migrations-dir is empty; give a directory");
  return dir ?? DEFAULTS.migrationsDir;
}

// ---------------------------------------------------------------- database

function target(ctx: Context): Target {
  const resolved = resolveTarget(text(ctx, "database-url"), runtime.env);
  if (resolved.source === "default") {
    runtime.writeStderr(
      `No DATABASE_URL: using the embedded database at ${DEFAULTS.embeddedPath}\n`,
    );
  }
  return resolved;
}

function runner(ctx: Context, verb: string, chosen?: Target): MigrationRunner {
  const table = text(ctx, "table") ?? DEFAULTS.table;
  parseTableName(table);
  // Every flag is checked before the target is chosen and announced.
  const options = {
    migrationsTable: table,
    lockWaitSeconds: seconds(ctx, "lock-wait", true),
    lockTimeout: duration(ctx, "lock-timeout"),
    lockRetries: wholeNumber(ctx, "lock-retries", 0),
    statementTimeout: duration(ctx, "statement-timeout"),
    lockMode: lockMode(ctx),
    driver: {
      connectTimeoutSeconds: seconds(ctx, "connect-timeout", false),
      password: passwordFile(ctx),
    },
  };
  const t = chosen ?? target(ctx);
  return new MigrationRunner(t, {
    ...options,
    onEvent: (event) => progress(ctx, verb, event, describeTarget(t, runtime.env)),
  });
}

let openLine = false;

function progress(ctx: Context, verb: string, event: RunEvent, where: string): void {
  const c = ctx.err;
  const o = ctx.out;
  const endLine = () => {
    if (openLine) runtime.writeStdout("\n");
    openLine = false;
  };
  switch (event.type) {
    case "warning":
      endLine();
      runtime.writeStderr(`${c.yellow("warning:")} ${event.message}\n`);
      break;
    case "notice":
      if (event.severity === "WARNING" || ctx.values.verbose) {
        endLine();
        runtime.writeStderr(
          `${c.yellow(`postgres ${event.severity.toLowerCase()}:`)} ${event.message}\n`,
        );
      }
      break;
    case "info":
      if (ctx.values.verbose) {
        endLine();
        runtime.writeStderr(`${c.dim(event.message)}\n`);
      }
      break;
    case "lock_wait":
      endLine();
      runtime.writeStderr(
        `waiting for the migration lock on ${where}${
          event.holder ? `, held by ${describeHolder(event.holder)}` : ""
        }\n`,
      );
      break;
    case "retry":
      endLine();
      runtime.writeStderr(
        `${c.yellow("retry")} ${event.attempt} of ${event.migration.version} in ${
          formatMs(event.delayMs)
        }: ${event.reason}\n`,
      );
      break;
    case "start":
      if (ctx.json) break;
      runtime.writeStdout(
        `${
          verb === "apply" ? "applying" : "reverting"
        } ${event.migration.version} ${event.migration.description} ... `,
      );
      openLine = true;
      break;
    case "done":
      if (ctx.json) break;
      runtime.writeStdout(
        event.skipped
          ? `${o.dim("skipped: another run did it")}\n`
          : `${o.green("done")} ${o.dim(`(${formatMs(event.ms)})`)}\n`,
      );
      openLine = false;
      break;
  }
}

function failed(ctx: Context): void {
  if (openLine) runtime.writeStdout(`${ctx.out.red("FAILED")}\n`);
  openLine = false;
}

// ---------------------------------------------------------------- commands

async function runInit(ctx: Context): Promise<number> {
  const r = runner(ctx, "init");
  try {
    await r.init();
  } finally {
    await r.close();
  }
  const table = text(ctx, "table") ?? DEFAULTS.table;
  runtime.writeStdout(
    ctx.json ? `${JSON.stringify({ table })}\n` : `Tracking table ${table} is ready.\n`,
  );
  return ExitCode.OK;
}

function runCreate(ctx: Context): Promise<number> {
  const description = ctx.positionals.join(" ").trim();
  if (!description) {
    throw new UsageError(
      "USAGE",
      'create needs a description: data-bridge create "create users table"',
    );
  }
  return createWithSum(ctx, description);
}

async function runStatus(ctx: Context): Promise<number> {
  const r = runner(ctx, "status");
  try {
    const report = await r.status(migrationsDir(ctx));
    runtime.writeStdout(
      ctx.json ? `${JSON.stringify(report)}\n` : formatStatus(report, ctx.out),
    );
  } finally {
    await r.close();
  }
  return ExitCode.OK;
}

async function runApply(ctx: Context): Promise<number> {
  const dryRun = ctx.values["dry-run"] === true;
  const to = version(ctx, "to", false);
  const r = runner(ctx, "apply");
  try {
    await checkBeforeApply(ctx, r, to);
  } catch (error) {
    await r.close();
    throw error;
  }
  const started = performance.now();
  let applied: string[];
  try {
    applied = await r.apply(migrationsDir(ctx), { to, dryRun, signal: ctx.signal });
  } catch (error) {
    failed(ctx);
    throw error;
  } finally {
    await r.close();
  }
  if (ctx.json) {
    runtime.writeStdout(
      `${JSON.stringify(dryRun ? { dryRun: true, wouldApply: applied } : { applied })}\n`,
    );
  } else if (dryRun) {
    runtime.writeStdout(
      applied.length
        ? `Would apply ${applied.length}: ${applied.join(", ")} (dry run, nothing changed)\n`
        : "Nothing to apply (dry run).\n",
    );
  } else {
    runtime.writeStdout(
      applied.length
        ? `Applied ${applied.length} migration${applied.length === 1 ? "" : "s"} in ${
          formatMs(performance.now() - started)
        }.\n`
        : "Nothing to apply: the database is up to date.\n",
    );
  }
  return ExitCode.OK;
}

async function runRollback(ctx: Context): Promise<number> {
  const dryRun = ctx.values["dry-run"] === true;
  const steps = wholeNumber(ctx, "steps", 1);
  const to = version(ctx, "to", true);
  if (steps !== undefined && to !== undefined) {
    throw new UsageError("USAGE", "give --steps or --to, not both");
  }
  const r = runner(ctx, "rollback");
  let reverted: string[];
  try {
    reverted = await r.rollback(migrationsDir(ctx), { steps, to, dryRun, signal: ctx.signal });
  } catch (error) {
    failed(ctx);
    throw error;
  } finally {
    await r.close();
  }
  if (ctx.json) {
    runtime.writeStdout(
      `${JSON.stringify(dryRun ? { dryRun: true, wouldRevert: reverted } : { reverted })}\n`,
    );
  } else if (dryRun) {
    runtime.writeStdout(
      reverted.length
        ? `Would revert ${reverted.length}: ${reverted.join(", ")} (dry run, nothing changed)\n`
        : "Nothing to revert (dry run).\n",
    );
  } else {
    runtime.writeStdout(
      reverted.length
        ? `Reverted ${reverted.length} migration${reverted.length === 1 ? "" : "s"}.\n`
        : "Nothing to revert.\n",
    );
  }
  return ExitCode.OK;
}

async function runValidate(ctx: Context): Promise<number> {
  const explicit = resolveTarget(text(ctx, "database-url"), runtime.env);
  const useDatabase = explicit.source !== "default" || existsSync(DEFAULTS.embeddedPath);
  const r = runner(ctx, "validate", useDatabase ? target(ctx) : explicit);
  let report;
  try {
    report = await r.validate(migrationsDir(ctx), { database: useDatabase });
  } finally {
    await r.close();
  }
  const sum = noSum(ctx) ? null : await sumProblem(migrationsDir(ctx));
  if (sum) report = { ...report, valid: false, problems: [...report.problems, sum] };
  if (ctx.json) {
    runtime.writeStdout(`${
      JSON.stringify({
        valid: report.valid,
        migrations: report.migrations,
        checkedDatabase: report.checkedDatabase,
        applied: report.applied,
        pending: report.pending,
        problems: report.problems.map((p) => p.toJSON()),
      })
    }\n`);
  } else {
    for (const problem of report.problems) {
      runtime.writeStderr(`${ctx.err.red("error:")} ${problem.message}\n`);
    }
    const scope = report.checkedDatabase
      ? `${report.applied.length} applied, ${report.pending.length} pending`
      : "files only: no database given (set DATABASE_URL to check the history too)";
    const count = report.problems.length;
    runtime.writeStdout(
      report.valid
        ? `OK: ${report.migrations} migrations valid (${scope}).\n`
        : `${count} problem${count === 1 ? "" : "s"} (${scope}).\n`,
    );
  }
  return report.valid ? ExitCode.OK : ExitCode.VALIDATION;
}

async function runRepair(ctx: Context): Promise<number> {
  const dryRun = ctx.values["dry-run"] === true;
  const yes = ctx.values.yes === true;
  const interactive = runtime.isTerminal("stdin") && runtime.isTerminal("stderr");
  if (!dryRun && !yes && !interactive) {
    throw new UsageError(
      "USAGE",
      "repair changes the recorded history: pass --yes to confirm (or run it on a terminal to be asked)",
    );
  }
  const r = runner(ctx, "repair");
  let changes;
  try {
    changes = await r.repair(migrationsDir(ctx), {
      removeMissing: ctx.values["remove-missing"] === true,
      dryRun,
      confirm: yes ? undefined : async (planned) => {
        for (const change of planned) runtime.writeStderr(`  ${describeChange(change)}\n`);
        const answer = await runtime.ask(
          `Make these ${planned.length} changes to the history? [y/N] `,
        );
        return /^y(es)?$/i.test(answer.trim());
      },
    });
  } finally {
    await r.close();
  }
  if (ctx.json) {
    runtime.writeStdout(
      `${
        JSON.stringify(dryRun ? { dryRun: true, wouldRepair: changes } : { repaired: changes })
      }\n`,
    );
  } else if (changes.length === 0) {
    runtime.writeStdout("Nothing repaired.\n");
  } else {
    for (const change of changes) {
      runtime.writeStdout(`${dryRun ? "would " : ""}${describeChange(change)}\n`);
    }
    const n = changes.length;
    runtime.writeStdout(`${dryRun ? "Would repair" : "Repaired"} ${n} row${n === 1 ? "" : "s"}.\n`);
  }
  return ExitCode.OK;
}

function describeChange(change: RepairChange): string {
  return change.action === "checksum"
    ? `set checksum of ${change.version}: ${change.from.slice(0, 12)}... -> ${
      change.to!.slice(0, 12)
    }...`
    : `remove ${change.version} (its file is gone)`;
}

async function runBaseline(ctx: Context): Promise<number> {
  const to = version(ctx, "version", false);
  if (to === undefined) {
    throw new UsageError(
      "USAGE",
      "baseline needs --version VERSION: the last migration already in the database",
    );
  }
  const r = runner(ctx, "baseline");
  let recorded;
  try {
    recorded = await r.baseline(migrationsDir(ctx), to);
  } finally {
    await r.close();
  }
  const n = recorded.length;
  runtime.writeStdout(
    ctx.json
      ? `${JSON.stringify({ baselined: recorded })}\n`
      : `Recorded ${n} migration${
        n === 1 ? "" : "s"
      } up to ${to} as applied, without running them.\n`,
  );
  return ExitCode.OK;
}

async function runHistory(ctx: Context): Promise<number> {
  const r = runner(ctx, "history");
  try {
    const rows = await r.history();
    runtime.writeStdout(
      ctx.json ? `${JSON.stringify({ history: rows })}\n` : formatHistory(rows, ctx.out),
    );
  } finally {
    await r.close();
  }
  return ExitCode.OK;
}

// ---------------------------------------------------------------- verify, lint, schema, sum

/** Connection options from --connect-timeout and --password-file. */
function driverOptions(ctx: Context) {
  return {
    connectTimeoutSeconds: seconds(ctx, "connect-timeout", false),
    password: passwordFile(ctx),
  };
}

function noSum(ctx: Context): boolean {
  return ctx.values["no-sum"] === true;
}

/** `create`, keeping the sum file up to date when the directory has one. */
async function createWithSum(ctx: Context, description: string): Promise<number> {
  const dir = migrationsDir(ctx);
  const useSum = !noSum(ctx);
  if (useSum) {
    const problem = await sumProblem(dir).catch(() => null);
    if (problem) throw problem;
  }
  const path = createMigration(description, dir, {
    noTransaction: ctx.values["no-transaction"] === true,
  });
  // The sum file is opt-in: `data-bridge sum` creates it, create keeps it up to date.
  const sum = useSum && existsSync(sumPath(dir)) ? (await writeSum(dir)).path : null;
  runtime.writeStdout(
    ctx.json ? `${JSON.stringify({ path, sum })}\n` : `${path}\n${sum ? `updated ${sum}\n` : ""}`,
  );
  return ExitCode.OK;
}

/** Rule levels from data-bridge.json and --error/--warn/--off. */
function levelsOf(ctx: Context) {
  const overrides: Record<string, LintLevel> = {};
  for (const [flag, level] of [["error", "error"], ["warn", "warning"], ["off", "off"]] as const) {
    for (const rule of (text(ctx, flag) ?? "").split(",").map((r) => r.trim()).filter(Boolean)) {
      overrides[rule] = level;
    }
  }
  return lintLevels(overrides);
}

/** apply refuses, before changing anything, a sum mismatch and lint errors in what it would run. */
async function checkBeforeApply(ctx: Context, r: MigrationRunner, to: string | undefined) {
  const dir = migrationsDir(ctx);
  const levels = ctx.values["no-lint"] === true ? null : levelsOf(ctx);
  if (!noSum(ctx)) await checkSum(dir, await loadMigrations(dir));
  if (levels === null) return;
  const status = await r.status(dir);
  const files = status.migrations
    .filter((m) => m.state === "pending" && m.file && (to === undefined || m.version <= to))
    .map((m) => m.file!);
  const report = await lintFiles(files, levels);
  const errors = report.findings.filter((f) => f.level === "error");
  if (errors.length === 0) return;
  const hint = "fix the migration, acknowledge with '-- lint:ignore RULE reason' above the " +
    "statement, or run apply --no-lint";
  throw ValidationError.of(errors.map((f) =>
    new ValidationError(
      "LINT_FAILED",
      `${f.file}:${f.line}: lint error [${f.rule}] ${f.message}: ${f.why}; nothing was applied`,
      { file: f.file, line: f.line, hint: `${f.fix}; or ${hint}` },
    )
  ));
}

async function runVerify(ctx: Context): Promise<number> {
  const dir = migrationsDir(ctx);
  const table = parseTableName(text(ctx, "table") ?? DEFAULTS.table);
  const all = ctx.values.all === true;
  const migrations = await loadMigrations(dir);
  if (!noSum(ctx)) await checkSum(dir, migrations);
  const history = all ? [] : await readTargetHistory(target(ctx), table, driverOptions(ctx));
  const plan = planVerify(migrations, history, all);
  const c = ctx.out;
  const report = await verifyMigrations(plan, {
    scratchUrl: text(ctx, "scratch-url") ?? DEFAULTS.scratchUrl,
    exclude: [table],
    onEvent: (event) => {
      if (ctx.json) return;
      if (event.type === "replay" && event.migration === plan.replay[0]) {
        runtime.writeStdout(c.dim(`replaying ${plan.replay.length} applied migration(s)\n`));
      }
      if (event.type === "done") runtime.writeStdout(formatVerification(event.result, c));
    },
  });
  runtime.writeStdout(
    ctx.json ? `${JSON.stringify(report)}\n` : formatVerifySummary(report),
  );
  return report.ok ? ExitCode.OK : ExitCode.VALIDATION;
}

async function runLint(ctx: Context): Promise<number> {
  const format = text(ctx, "format") ?? (ctx.json ? "json" : "text");
  if (!["text", "json", "github"].includes(format)) {
    throw new UsageError("USAGE", `--format must be text, json or github, got '${format}'`);
  }
  const levels = levelsOf(ctx);
  let files: string[];
  if (ctx.positionals.length) {
    if (ctx.values.all) throw new UsageError("USAGE", "give files or --all, not both");
    files = ctx.positionals;
  } else {
    const dir = migrationsDir(ctx);
    const migrations = await loadMigrations(dir).catch(() => null);
    if (migrations === null || ctx.values.all) {
      // Invalid files are reported as findings; lint reads them one by one.
      // With an invalid file the pending set is unknown: every file is linted.
      files = (await sumEntries(dir)).map((e) => join(dir, e.name));
    } else {
      const table = parseTableName(text(ctx, "table") ?? DEFAULTS.table);
      const history = await readTargetHistory(target(ctx), table, driverOptions(ctx));
      files = classify(migrations, history)
        .filter((e) => e.state === "pending" && e.file)
        .map((e) => e.file!);
    }
  }
  const report = await lintFiles(files, levels);
  runtime.writeStdout(
    format === "json"
      ? `${JSON.stringify({ ok: report.errors === 0, ...report })}\n`
      : format === "github"
      ? formatLintGithub(report)
      : formatLintText(report),
  );
  return report.errors === 0 ? ExitCode.OK : ExitCode.VALIDATION;
}

async function runSchema(ctx: Context): Promise<number> {
  const table = parseTableName(text(ctx, "table") ?? DEFAULTS.table);
  const driver = await connect(target(ctx), driverOptions(ctx));
  try {
    const snapshot = await snapshotSchema(driver, { exclude: [table] });
    runtime.writeStdout(ctx.json ? `${JSON.stringify(snapshot)}\n` : renderSchema(snapshot));
  } finally {
    await driver.close();
  }
  return ExitCode.OK;
}

async function runSum(ctx: Context): Promise<number> {
  const { path, files } = await writeSum(migrationsDir(ctx));
  runtime.writeStdout(
    ctx.json
      ? `${JSON.stringify({ path, files })}\n`
      : `Wrote ${path} (${files} migration file${files === 1 ? "" : "s"}).\n`,
  );
  return ExitCode.OK;
}

if (import.meta.main) {
  runtime.exit(await main(runtime.args()));
}
