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
import { DEFAULTS, VERSION } from "./lib/config.ts";
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
import type { Classifiable, RepairChange } from "./lib/classify.ts";
import { describeHolder } from "./lib/lock.ts";
import { MigrationRunner, type RunEvent, type RunPlan, type StatusReport } from "./lib/runner.ts";
import { describeTarget, maskUrl, resolveTarget, type Target } from "./lib/target.ts";
import { parseTableName, type TableName } from "./lib/ident.ts";
import { lockTableName } from "./lib/history.ts";
import * as runtime from "./lib/runtime.ts";
import {
  ALIASES,
  COMMANDS,
  commandUsage,
  duration,
  lockMode,
  migrationsDir,
  optionLabel,
  type OptionValues,
  outOfOrder,
  parseCommand,
  passwordFile,
  seconds,
  splitCommand,
  text,
  usage,
  version,
  wholeNumber,
} from "./lib/cli_args.ts";
import { connect } from "./lib/connect.ts";
import { classify, mergedLate } from "./lib/classify.ts";
import { type LintLevel, lintLevels } from "./lib/lint_levels.ts";
import type { Migration } from "./lib/migration.ts";
import { loadMigrations } from "./lib/load.ts";

// Modules only some commands need are loaded by them: a deploy's `status`
// or `apply` does not pay for lint, verify, schema or sum code it never runs.
const lintModule = () => import("./lib/lint.ts");
const sumModule = () => import("./lib/sum.ts");
const scriptModule = () => import("./lib/script.ts");
const driftModule = () => import("./lib/drift.ts");
const verifyModule = () => import("./lib/verify.ts");

/** What each command runs. */
const HANDLERS: Record<string, (ctx: Context) => Promise<number>> = {
  init: runInit,
  create: runCreate,
  status: runStatus,
  apply: runApply,
  rollback: runRollback,
  validate: runValidate,
  repair: runRepair,
  baseline: runBaseline,
  history: runHistory,
  verify: runVerify,
  drift: runDrift,
  lint: runLint,
  schema: runSchema,
  import: runImport,
  sum: runSum,
};

interface Context {
  name: string;
  values: OptionValues;
  positionals: string[];
  json: boolean;
  /** Colours for stdout. */
  out: Palette;
  /** Colours for stderr. */
  err: Palette;
  signal: AbortSignal;
  /** The database `apply --create-database` created, once it has. */
  createdDatabase?: string;
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
    !json && runtime.env("NO_COLOR") === undefined && runtime.isTerminal(stream);
  // Asked for when something is written: the terminal check, the run's
  // first use of the file system, comes after the connection has started.
  let outColours: Palette | undefined;
  let errColours: Palette | undefined;
  const colours = {
    get out() {
      return outColours ??= palette(colourOn("stdout"));
    },
    get err() {
      return errColours ??= palette(colourOn("stderr"));
    },
  };
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
    const handler = HANDLERS[name];
    if (!handler) {
      throw new UsageError("USAGE", `unknown command '${command}'; run data-bridge --help`);
    }
    const { values, positionals } = parseCommand(name, rest, runtime.env);
    if (values.help) {
      runtime.writeStdout(commandUsage(name));
      return ExitCode.OK;
    }
    return await handler({
      name,
      values,
      positionals,
      json,
      get out() {
        return colours.out;
      },
      get err() {
        return colours.err;
      },
      signal: controller.signal,
    });
  } catch (error) {
    return report(error, json, colours.err, name === "rollback" ? "reverted" : "applied");
  } finally {
    offInt();
    offTerm();
  }
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

// ---------------------------------------------------------------- database

function target(ctx: Context): Target {
  const resolved = resolveTarget(text(ctx.values, "database-url"), runtime.env);
  if (resolved.source === "default") {
    runtime.writeStderr(
      `No DATABASE_URL: using the embedded database at ${DEFAULTS.embeddedPath}\n`,
    );
  }
  return resolved;
}

/** The tracking table `--table` (or `DATA_BRIDGE_TABLE`) names, checked. */
function tableName(ctx: Context): TableName {
  return parseTableName(
    text(ctx.values, "table") ?? DEFAULTS.table,
    optionLabel(ctx.values, "table"),
  );
}

function runner(ctx: Context, verb: string, chosen?: Target): MigrationRunner {
  const table = text(ctx.values, "table") ?? DEFAULTS.table;
  tableName(ctx);
  // Every flag is checked before the target is chosen and announced.
  const options = {
    migrationsTable: table,
    lockWaitSeconds: seconds(ctx.values, "lock-wait", true),
    lockTimeout: duration(ctx.values, "lock-timeout"),
    lockRetries: wholeNumber(ctx.values, "lock-retries", 0),
    statementTimeout: duration(ctx.values, "statement-timeout"),
    lockMode: lockMode(ctx.values),
    driver: driverOptions(ctx),
  };
  const t = chosen ?? target(ctx);
  // Described when an event needs it (a run with nothing to report shows none).
  let where: string | undefined;
  const describe = () => where ??= describeTarget(t, runtime.env);
  return new MigrationRunner(t, {
    ...options,
    endSessionAfterRead: true,
    onEvent: (event) => progress(ctx, verb, event, describe),
  });
}

let openLine = false;

function progress(ctx: Context, verb: string, event: RunEvent, where: () => string): void {
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
    case "database_created":
      ctx.createdDatabase = event.database;
      endLine();
      runtime.writeStderr(`created database ${event.database} on ${where()}\n`);
      break;
    case "lock_wait":
      endLine();
      runtime.writeStderr(
        `waiting for the migration lock on ${where()}${
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

/** Ends a progress line left open by a migration that failed, and throws its error on. */
function failed(ctx: Context, error: unknown): never {
  if (openLine) runtime.writeStdout(`${ctx.out.red("FAILED")}\n`);
  openLine = false;
  throw error;
}

// ---------------------------------------------------------------- commands

async function runInit(ctx: Context): Promise<number> {
  await withRunner(
    ctx,
    "init",
    (r) => r.init({ createDatabase: ctx.values["create-database"] === true }),
  );
  const table = text(ctx.values, "table") ?? DEFAULTS.table;
  runtime.writeStdout(
    ctx.json
      ? `${JSON.stringify({ table, ...createdField(ctx) })}\n`
      : `Tracking table ${table} is ready.\n`,
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

/**
 * Runs `fn` with a runner whose connection is closed as soon as `fn` is
 * done, before anything is printed: the server ends its session while the
 * output is made, not while this process exits beside it (on one machine,
 * the two exits competed for its CPUs: `status` of 1000 applied ~1.4 ms
 * sooner, 200 paired runs), and a slow reader of the output holds none.
 * `status` ends it sooner still, once its history query is answered (the
 * runner's `endSessionAfterRead`): ~0.7 ms in 650 paired runs.
 */
async function withRunner<T>(
  ctx: Context,
  verb: string,
  fn: (r: MigrationRunner) => Promise<T>,
  chosen?: Target,
): Promise<T> {
  const r = runner(ctx, verb, chosen);
  try {
    return await fn(r);
  } finally {
    await r.close();
  }
}

async function runStatus(ctx: Context): Promise<number> {
  const order = outOfOrder(ctx.values) ?? DEFAULTS.outOfOrder;
  const report = await withRunner(ctx, "status", (r) => r.status(migrationsDir(ctx.values)));
  runtime.writeStdout(ctx.json ? `${JSON.stringify(report)}\n` : formatStatus(report, ctx.out));
  return ctx.values["exit-code"] === true ? statusExitCode(report, order) : ExitCode.OK;
}

/**
 * `status --exit-code`: 0 when every migration is applied as it is, 3 when
 * one is modified or missing (what `apply` and `validate` refuse), or with
 * `--out-of-order refuse` merged late, else 4 when some are pending (what
 * `apply` would run).
 */
function statusExitCode(report: StatusReport, order: "allow" | "refuse"): number {
  const states = new Set(report.migrations.map((m) => m.state));
  if (states.has("modified") || states.has("missing")) return ExitCode.VALIDATION;
  if (order === "refuse" && mergedLate(report.migrations).late.length) return ExitCode.VALIDATION;
  return states.has("pending") ? ExitCode.PENDING : ExitCode.OK;
}

async function runApply(ctx: Context): Promise<number> {
  const sql = wantsScript(ctx);
  const dryRun = sql || ctx.values["dry-run"] === true;
  const to = version(ctx.values, "to", false);
  const order = outOfOrder(ctx.values);
  const check = beforeApply(ctx);
  const started = performance.now();
  let plan: RunPlan | null = null;
  const onPlan = (p: RunPlan) => plan = p;
  const applied = await withRunner(
    ctx,
    "apply",
    (r) =>
      r.apply(migrationsDir(ctx.values), {
        to,
        dryRun,
        signal: ctx.signal,
        check,
        onPlan,
        singleTransaction: singleTransaction(ctx),
        createDatabase: ctx.values["create-database"] === true,
        outOfOrder: order,
      })
        .catch((error) => failed(ctx, error)),
  );
  if (sql) return await printScript(ctx, "up", plan);
  printRun(ctx, "apply", applied, dryRun, {
    done: `Applied ${applied.length} migration${applied.length === 1 ? "" : "s"} in ${
      formatMs(performance.now() - started)
    }.\n`,
    nothing: "Nothing to apply: the database is up to date.\n",
  });
  return ExitCode.OK;
}

/** `createdDatabase` for a command's JSON, once `--create-database` made one. */
function createdField(ctx: Context): { createdDatabase?: string } {
  return ctx.createdDatabase === undefined ? {} : { createdDatabase: ctx.createdDatabase };
}

/** What apply or rollback did, or with --dry-run would do: JSON or a line. */
function printRun(
  ctx: Context,
  verb: "apply" | "revert",
  versions: string[],
  dryRun: boolean,
  text: { done: string; nothing: string },
): void {
  const past = verb === "apply" ? "applied" : "reverted";
  const would = verb === "apply" ? "wouldApply" : "wouldRevert";
  if (ctx.json) {
    runtime.writeStdout(
      `${
        JSON.stringify(
          dryRun ? { dryRun: true, [would]: versions } : { [past]: versions, ...createdField(ctx) },
        )
      }\n`,
    );
  } else if (dryRun) {
    runtime.writeStdout(
      versions.length
        ? `Would ${verb} ${versions.length}: ${versions.join(", ")} (dry run, nothing changed)\n`
        : `Nothing to ${verb} (dry run).\n`,
    );
  } else {
    runtime.writeStdout(versions.length ? text.done : text.nothing);
  }
}

async function runRollback(ctx: Context): Promise<number> {
  const sql = wantsScript(ctx);
  const dryRun = sql || ctx.values["dry-run"] === true;
  const steps = wholeNumber(ctx.values, "steps", 1);
  const to = version(ctx.values, "to", true);
  if (steps !== undefined && to !== undefined) {
    throw new UsageError("USAGE", "give --steps or --to, not both");
  }
  let plan: RunPlan | null = null;
  const onPlan = (p: RunPlan) => plan = p;
  const reverted = await withRunner(
    ctx,
    "rollback",
    (r) =>
      r.rollback(migrationsDir(ctx.values), {
        steps,
        to,
        dryRun,
        signal: ctx.signal,
        onPlan,
        singleTransaction: singleTransaction(ctx),
      })
        .catch((error) => failed(ctx, error)),
  );
  if (sql) return await printScript(ctx, "down", plan);
  printRun(ctx, "revert", reverted, dryRun, {
    done: `Reverted ${reverted.length} migration${reverted.length === 1 ? "" : "s"}.\n`,
    nothing: "Nothing to revert.\n",
  });
  return ExitCode.OK;
}

function singleTransaction(ctx: Context): boolean {
  return ctx.values["single-transaction"] === true;
}

/** `--sql`: a script on stdout, which --json would not be. */
function wantsScript(ctx: Context): boolean {
  if (ctx.values.sql !== true) return false;
  if (ctx.json) throw new UsageError("USAGE", "--sql prints an SQL script, not JSON: drop --json");
  return true;
}

/** `apply --sql`, `rollback --sql`: the run's script, from its dry run's plan. */
async function printScript(
  ctx: Context,
  direction: "up" | "down",
  plan: RunPlan | null,
): Promise<number> {
  const { migrationScript } = await scriptModule();
  const migrations = plan?.migrations ?? [];
  const verb = direction === "up" ? "apply" : "rollback";
  const count = `${migrations.length} migration${migrations.length === 1 ? "" : "s"}`;
  runtime.writeStdout(migrationScript({
    direction,
    migrations,
    table: tableName(ctx),
    // Nothing to run (the first read showed it): nothing to create either.
    history: plan?.history ?? "current",
    recorded: plan?.recorded ?? 0,
    singleTransaction: singleTransaction(ctx),
    lockMode: lockMode(ctx.values),
    lockTimeout: duration(ctx.values, "lock-timeout"),
    statementTimeout: duration(ctx.values, "statement-timeout"),
    header: [
      // Resolved again, not announced again.
      `data-bridge ${VERSION} ${verb} --sql: ${count} for ${
        describeTarget(resolveTarget(text(ctx.values, "database-url"), runtime.env), runtime.env)
      }`,
      `written ${new Date().toISOString()} from the tracking table as it was then.`,
      "Run it with psql (psql -X -f FILE URL). " + (singleTransaction(ctx)
        ? "All migrations commit together at the end; the first error stops psql and rolls back " +
          "every one of them."
        : "Each migration commits on its own with its history row; the first error stops psql " +
          "and rolls back the migration it was in.") +
      " A guard stops the script when the database has changed since; write the script again then.",
    ],
  }));
  return ExitCode.OK;
}

async function runValidate(ctx: Context): Promise<number> {
  const order = outOfOrder(ctx.values);
  const explicit = resolveTarget(text(ctx.values, "database-url"), runtime.env);
  const useDatabase = explicit.source !== "default" || runtime.fileExists(DEFAULTS.embeddedPath);
  let report = await withRunner(
    ctx,
    "validate",
    (r) =>
      r.validate(migrationsDir(ctx.values), {
        database: useDatabase,
        outOfOrder: order,
      }),
    useDatabase ? target(ctx) : explicit,
  );
  const sum = noSum(ctx) ? null : await (await sumModule()).sumProblem(migrationsDir(ctx.values));
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
        ? `OK: ${report.migrations} migration${
          report.migrations === 1 ? "" : "s"
        } valid (${scope}).\n`
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
  const changes = await withRunner(ctx, "repair", (r) =>
    r.repair(migrationsDir(ctx.values), {
      removeMissing: ctx.values["remove-missing"] === true,
      dryRun,
      confirm: yes ? undefined : async (planned) => {
        for (const change of planned) runtime.writeStderr(`  ${describeChange(change)}\n`);
        const answer = await runtime.ask(
          `Make these ${planned.length} changes to the history? [y/N] `,
        );
        return /^y(es)?$/i.test(answer.trim());
      },
    }));
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
  const to = version(ctx.values, "version", false);
  if (to === undefined) {
    throw new UsageError(
      "USAGE",
      "baseline needs --version VERSION: the last migration already in the database",
    );
  }
  const recorded = await withRunner(
    ctx,
    "baseline",
    (r) => r.baseline(migrationsDir(ctx.values), to),
  );
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
  const rows = await withRunner(ctx, "history", (r) => r.history());
  runtime.writeStdout(
    ctx.json ? `${JSON.stringify({ history: rows })}\n` : formatHistory(rows, ctx.out),
  );
  return ExitCode.OK;
}

// ---------------------------------------------------------------- verify, lint, schema, sum

/**
 * Connection options from --connect-timeout, --connect-wait and
 * --password-file; SIGINT or SIGTERM gives up a connection not made yet.
 */
function driverOptions(ctx: Context) {
  return {
    connectTimeoutSeconds: seconds(ctx.values, "connect-timeout", false),
    connectWaitSeconds: seconds(ctx.values, "connect-wait", true),
    password: passwordFile(ctx.values),
    signal: ctx.signal,
  };
}

function noSum(ctx: Context): boolean {
  return ctx.values["no-sum"] === true;
}

/** `create`, keeping the sum file up to date when the directory has one. */
async function createWithSum(ctx: Context, description: string): Promise<number> {
  const dir = migrationsDir(ctx.values);
  const useSum = !noSum(ctx);
  const { sumPath, sumProblem, writeSum } = await sumModule();
  const { createMigration } = await import("./lib/create.ts");
  if (useSum) {
    const problem = await sumProblem(dir).catch(() => null);
    if (problem) throw problem;
  }
  const path = createMigration(description, dir, {
    noTransaction: ctx.values["no-transaction"] === true,
  });
  // The sum file is opt-in: `data-bridge sum` creates it, create keeps it up to date.
  const sum = useSum && runtime.fileExists(sumPath(dir)) ? (await writeSum(dir)).path : null;
  runtime.writeStdout(
    ctx.json ? `${JSON.stringify({ path, sum })}\n` : `${path}\n${sum ? `updated ${sum}\n` : ""}`,
  );
  return ExitCode.OK;
}

/** Rule levels from data-bridge.json and --error/--warn/--off. */
function levelsOf(ctx: Context) {
  const overrides: Record<string, LintLevel> = {};
  for (const [flag, level] of [["error", "error"], ["warn", "warning"], ["off", "off"]] as const) {
    for (
      const rule of (text(ctx.values, flag) ?? "").split(",").map((r) => r.trim()).filter(Boolean)
    ) {
      overrides[rule] = level;
    }
  }
  return lintLevels(overrides);
}

/** apply refuses, before changing anything, a sum mismatch and lint errors in what it would run. */
function beforeApply(ctx: Context) {
  const dir = migrationsDir(ctx.values);
  const levels = ctx.values["no-lint"] === true ? null : levelsOf(ctx);
  return async (pending: readonly Migration[], all: readonly Classifiable[]): Promise<void> => {
    // The sum module is loaded only when there is a sum file to check.
    if (!noSum(ctx) && runtime.fileExists(runtime.joinPath(dir, DEFAULTS.sumFile))) {
      await (await sumModule()).checkSum(dir, all);
    }
    if (levels === null || pending.length === 0) return;
    const { lintMigrations } = await lintModule();
    // The text that runs, as parsed: not read again, not tokenized again.
    const report = await lintMigrations(pending, levels, { validated: true });
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
  };
}

async function runVerify(ctx: Context): Promise<number> {
  const dir = migrationsDir(ctx.values);
  const table = tableName(ctx);
  const all = ctx.values.all === true;
  const migrations = await loadMigrations(dir);
  const { planVerify, readTargetHistory, verifyMigrations } = await verifyModule();
  const { formatVerification, formatVerifySummary } = await import("./lib/verify_format.ts");
  if (!noSum(ctx)) await (await sumModule()).checkSum(dir, migrations);
  const history = all ? [] : await readTargetHistory(target(ctx), table, driverOptions(ctx));
  const plan = planVerify(migrations, history, all);
  const c = ctx.out;
  const report = await verifyMigrations(plan, {
    scratchUrl: text(ctx.values, "scratch-url") ?? DEFAULTS.scratchUrl,
    // The scratch server's password is its URL's, not --password-file's.
    scratchDriver: { ...driverOptions(ctx), password: undefined },
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

async function runDrift(ctx: Context): Promise<number> {
  const { checkDrift, formatDrift, parseIgnore } = await driftModule();
  const ignore = parseIgnore(text(ctx.values, "ignore") ?? "");
  const t = target(ctx);
  const migrations = await loadMigrations(migrationsDir(ctx.values));
  const report = await checkDrift(t, migrations, {
    ignore,
    table: tableName(ctx),
    driver: driverOptions(ctx),
    scratchUrl: text(ctx.values, "scratch-url") ?? DEFAULTS.scratchUrl,
    // The scratch server's password is its URL's, not --password-file's.
    scratchDriver: { ...driverOptions(ctx), password: undefined },
    targetName: describeTarget(t, runtime.env),
  });
  runtime.writeStdout(ctx.json ? `${JSON.stringify(report)}\n` : formatDrift(report, ctx.out));
  return report.ok ? ExitCode.OK : ExitCode.VALIDATION;
}

async function runLint(ctx: Context): Promise<number> {
  const format = text(ctx.values, "format") ?? (ctx.json ? "json" : "text");
  if (!["text", "json", "github"].includes(format)) {
    throw new UsageError("USAGE", `--format must be text, json or github, got '${format}'`);
  }
  const levels = levelsOf(ctx);
  const { formatLintGithub, formatLintText, lintFiles } = await lintModule();
  let files: string[];
  if (ctx.positionals.length) {
    if (ctx.values.all) throw new UsageError("USAGE", "give files or --all, not both");
    files = ctx.positionals;
  } else {
    const dir = migrationsDir(ctx.values);
    const migrations = await loadMigrations(dir).catch(() => null);
    if (migrations === null || ctx.values.all) {
      // Invalid files are reported as findings; lint reads them one by one.
      // With an invalid file the pending set is unknown: every file is linted.
      files = (await (await sumModule()).sumEntries(dir)).map((e) => runtime.joinPath(dir, e.name));
    } else {
      const table = tableName(ctx);
      const { readTargetHistory } = await verifyModule();
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
  const table = tableName(ctx);
  const { renderSchema, snapshotSchema } = await import("./lib/schema.ts");
  const driver = await connect(target(ctx), driverOptions(ctx));
  try {
    // data-bridge's own tables: the tracking table and the lock table of --lock-mode table.
    const snapshot = await snapshotSchema(driver, { exclude: [table, lockTableName(table)] });
    runtime.writeStdout(ctx.json ? `${JSON.stringify(snapshot)}\n` : renderSchema(snapshot));
  } finally {
    await driver.close();
  }
  return ExitCode.OK;
}

async function runImport(ctx: Context): Promise<number> {
  const { IMPORT_TOOLS, importMigrations, readSourceDir, refuseTaken, writeImported } =
    await import("./lib/import.ts");
  const tool = text(ctx.values, "from");
  if (tool === undefined || !(IMPORT_TOOLS as readonly string[]).includes(tool)) {
    throw new UsageError(
      "USAGE",
      `--from must name the tool: ${IMPORT_TOOLS.join(", ")}${
        tool === undefined ? "" : `, got '${tool}'`
      }`,
    );
  }
  if (ctx.positionals.length !== 1) {
    throw new UsageError(
      "USAGE",
      `import takes one directory, the ${tool} migrations' (data-bridge import --from ${tool} DIR)`,
    );
  }
  const dir = migrationsDir(ctx.values);
  const result = importMigrations(
    tool as typeof IMPORT_TOOLS[number],
    readSourceDir(ctx.positionals[0]),
  );
  const dryRun = ctx.values["dry-run"] === true;
  if (dryRun) refuseTaken(result.migrations, dir);
  const paths = dryRun
    ? result.migrations.map((m) => runtime.joinPath(dir, m.name))
    : writeImported(result.migrations, dir);
  const { sumPath, writeSum } = await sumModule();
  const sum = !dryRun && !noSum(ctx) && runtime.fileExists(sumPath(dir))
    ? (await writeSum(dir)).path
    : null;
  const newest = result.migrations.at(-1)?.name.slice(0, 15) ?? null;
  if (ctx.json) {
    runtime.writeStdout(`${
      JSON.stringify({
        ...(dryRun ? { dryRun: true } : {}),
        migrations: result.migrations.map((m, i) => ({
          from: m.from,
          sourceVersion: m.sourceVersion,
          path: paths[i],
        })),
        skipped: result.skipped,
        warnings: result.warnings,
        sum,
        newest,
      })
    }\n`);
    return ExitCode.OK;
  }
  const lines = result.migrations.map((m, i) => `  ${m.from.join(" + ")} -> ${paths[i]}\n`);
  for (const s of result.skipped) lines.push(`  skipped ${s.file}: ${s.why}\n`);
  for (const w of result.warnings) runtime.writeStderr(`warning: ${w}\n`);
  const n = result.migrations.length;
  const count = `${n} ${tool} migration${n === 1 ? "" : "s"}`;
  lines.push(
    dryRun
      ? `Would import ${count} into ${dir} (dry run, nothing written).\n`
      : `Imported ${count} into ${dir}${sum ? `; updated ${sum}` : ""}.\n`,
  );
  if (newest && !dryRun) {
    lines.push(
      `Where ${tool} has applied them, record them without running them: ` +
        `data-bridge baseline --version ${newest} (or the newest one it applied).\n`,
    );
  }
  runtime.writeStdout(lines.join(""));
  return ExitCode.OK;
}

async function runSum(ctx: Context): Promise<number> {
  const { writeSum } = await sumModule();
  const { path, files } = await writeSum(migrationsDir(ctx.values));
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
