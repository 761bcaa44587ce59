import {
  COMMANDS,
  duration,
  ENV_OPTIONS,
  envName,
  lockMode,
  migrationsDir,
  optionLabel,
  parseCommand,
  seconds,
  splitCommand,
  version,
  wholeNumber,
} from "../lib/cli_args.ts";
import { UsageError } from "../lib/errors.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "./support/assert.ts";

const SPLITS: Array<[string[], string | undefined, string[]]> = [
  [["status"], "status", []],
  [["--database-url", "pglite:memory", "status", "--json"], "status", [
    "--database-url",
    "pglite:memory",
    "--json",
  ]],
  [["create", "apply", "users"], "create", ["apply", "users"]],
  [["--version"], undefined, ["--version"]],
];
for (const [argv, command, rest] of SPLITS) {
  Deno.test(`splitCommand(${JSON.stringify(argv)}) finds ${command}`, () => {
    assertEquals(splitCommand(argv), command === undefined ? { rest } : { command, rest });
  });
}

// How a command line reads, as POSIX and node:util parseArgs read it.
const PARSES: Array<[string, string[], Record<string, string | boolean> | RegExp, string[]?]> = [
  ["a value after the option", ["status", "--table", "t"], { table: "t" }],
  ["a value after =", ["status", "--table=a=b"], { table: "a=b" }],
  ["an empty value after =", ["status", "--table="], { table: "" }],
  ["booleans", ["apply", "--json", "--dry-run"], { json: true, "dry-run": true }],
  ["short booleans grouped", ["repair", "-hy"], { help: true, yes: true }],
  ["the last of a repeated option", ["status", "--table", "a", "--table", "b"], { table: "b" }],
  ["a negative number as a value", ["rollback", "--steps", "-2"], { steps: "-2" }],
  ["a lone dash as a value", ["status", "--table", "-"], { table: "-" }],
  ["positionals after --", ["create", "--", "--json", "x"], {}, ["--json", "x"]],
  ["baseline's --version with a value", ["baseline", "--version", "20250128_120000"], {
    version: "20250128_120000",
  }],
  ["an unknown option", ["status", "--nope"], /^unknown option --nope; run data-bridge --help$/],
  ["an unknown short option", ["status", "-hx"], /^unknown option -x; run data-bridge --help$/],
  ["a missing value at the end", ["rollback", "--steps"], /^option --steps needs a value$/],
  [
    "an option where the value should be",
    ["apply", "--to", "--json"],
    /^option --to needs a value$/,
  ],
  ["a value given to a boolean", ["apply", "--json=yes"], /^option --json takes no value; run/],
  ["baseline's --version without a value", ["baseline", "--version"], /^option --version needs/],
  // -V prints the version; baseline's --version is a value, which has no short form.
  ["-V given to baseline", ["baseline", "-V"], /^unknown option -V; run data-bridge --help$/],
  ["a stray argument", ["status", "now"], /^status takes no argument, got 'now'/],
];
for (const [what, [name, ...argv], expected, positionals] of PARSES) {
  Deno.test(`parseCommand reads ${what}`, () => {
    if (expected instanceof RegExp) {
      const error = assertThrows<UsageError>(() => parseCommand(name, argv));
      assert(error instanceof UsageError);
      assertEquals(error.code, "USAGE");
      assertMatch(error.message, expected);
      return;
    }
    const parsed = parseCommand(name, argv);
    assertEquals({ ...parsed.values }, expected);
    assertEquals(parsed.positionals, positionals ?? []);
  });
}

Deno.test("splitCommand takes an option's value for the value, not for the command", () => {
  assertEquals(splitCommand(["--table", "status", "apply"]), {
    command: "apply",
    rest: ["--table", "status"],
  });
  assertEquals(splitCommand(["--unknown", "status"]), { command: "status", rest: ["--unknown"] });
  assertEquals(splitCommand(["--", "status"]), { command: "status", rest: ["--"] });
});

Deno.test("parseCommand: baseline's --version takes a value; other commands' options are checked", () => {
  assertEquals(
    parseCommand("baseline", ["--version", "20250128_120000"]).values.version,
    "20250128_120000",
  );
  assertEquals(parseCommand("rollback", ["--steps", "-1"]).values.steps, "-1");
  const error = assertThrows<UsageError>(() => parseCommand("status", ["--steps", "1"]));
  assert(error instanceof UsageError);
  assertMatch(error.message, /--steps is not an option of status/);
  assert(Object.keys(COMMANDS).length >= 13);
});

const READERS: Array<[string, () => unknown, unknown]> = [
  ["seconds 1.5", () => seconds({ "lock-wait": "1.5" }, "lock-wait", true), 1.5],
  ["seconds 0 allowed", () => seconds({ "lock-wait": "0" }, "lock-wait", true), 0],
  [
    "seconds 0 refused",
    () => seconds({ "connect-timeout": "0" }, "connect-timeout", false),
    UsageError,
  ],
  ["seconds -1", () => seconds({ "lock-wait": "-1" }, "lock-wait", true), UsageError],
  ["whole number 2", () => wholeNumber({ steps: "2" }, "steps", 1), 2],
  ["whole number abc", () => wholeNumber({ steps: "abc" }, "steps", 1), UsageError],
  ["whole number 1.5", () => wholeNumber({ steps: "1.5" }, "steps", 1), UsageError],
  ["duration 500ms", () => duration({ "lock-timeout": "500ms" }, "lock-timeout"), "500ms"],
  ["duration 30d", () => duration({ "lock-timeout": "30d" }, "lock-timeout"), UsageError],
  ["duration soon", () => duration({ "lock-timeout": "soon" }, "lock-timeout"), UsageError],
  ["version", () => version({ to: "20250128_120000" }, "to", false), "20250128_120000"],
  ["version 0", () => version({ to: "0" }, "to", true), "0"],
  ["version 0 refused", () => version({ to: "0" }, "to", false), UsageError],
  ["absent", () => version({}, "to", false), undefined],
];
for (const [name, read, expected] of READERS) {
  Deno.test(`option reader: ${name}`, () => {
    if (expected === UsageError) {
      const error = assertThrows<UsageError>(read);
      assert(error instanceof UsageError);
      assertEquals(error.exitCode, 2);
      assertMatch(error.message, /^--[a-z-]+ /);
    } else assertEquals(read(), expected);
  });
}

Deno.test("DATA_BRIDGE_ variables give the settings a command takes; a flag wins", () => {
  const vars: Record<string, string> = {
    DATA_BRIDGE_MIGRATIONS_DIR: "db/migrations",
    DATA_BRIDGE_TABLE: "app.schema_history",
    DATA_BRIDGE_LOCK_TIMEOUT: "10s",
    DATA_BRIDGE_CONNECT_WAIT: "30",
    DATA_BRIDGE_SCRATCH_URL: "", // empty: not set
    DATA_BRIDGE_TO: "20250101_000000", // not a setting: one run's choice
    DATA_BRIDGE_YES: "1",
  };
  const env = (name: string) => vars[name];
  const apply = parseCommand("apply", ["--table", "flag_table"], env).values;
  assertEquals(apply, {
    table: "flag_table",
    "migrations-dir": "db/migrations",
    "lock-timeout": "10s",
    "connect-wait": "30",
  });
  assertEquals([optionLabel(apply, "table"), optionLabel(apply, "lock-timeout")], [
    "--table",
    "DATA_BRIDGE_LOCK_TIMEOUT",
  ]);
  // status takes no --lock-timeout: the variable is not for it.
  assertEquals(parseCommand("status", [], env).values, {
    table: "app.schema_history",
    "migrations-dir": "db/migrations",
    "connect-wait": "30",
  });
  assertEquals(parseCommand("verify", [], env).values["scratch-url"], undefined);
  for (const key of ENV_OPTIONS) {
    assert(
      Object.values(COMMANDS).some((c) => c.options.includes(key)),
      `${key} is some command's option`,
    );
    assertMatch(envName(key), /^DATA_BRIDGE_[A-Z_]+$/);
  }
});

Deno.test("a bad setting from the environment is named by its variable", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  const cases: Array<
    [Record<string, string>, (values: ReturnType<typeof parseCommand>["values"]) => unknown, RegExp]
  > = [
    [
      { DATA_BRIDGE_LOCK_TIMEOUT: "soon" },
      (v) => duration(v, "lock-timeout"),
      /^DATA_BRIDGE_LOCK_TIMEOUT must be a duration/,
    ],
    [
      { DATA_BRIDGE_CONNECT_WAIT: "-1" },
      (v) => seconds(v, "connect-wait", true),
      /^DATA_BRIDGE_CONNECT_WAIT must be a non-negative number/,
    ],
    [
      { DATA_BRIDGE_LOCK_RETRIES: "x" },
      (v) => wholeNumber(v, "lock-retries", 0),
      /^DATA_BRIDGE_LOCK_RETRIES must be a whole number/,
    ],
    [
      { DATA_BRIDGE_LOCK_MODE: "row" },
      (v) => lockMode(v),
      /^DATA_BRIDGE_LOCK_MODE must be session, table or none, got 'row'$/,
    ],
  ];
  for (const [vars, read, message] of cases) {
    const { values } = parseCommand("apply", [], env(vars));
    assertMatch(assertThrows<UsageError>(() => read(values)).message, message);
  }
  assertEquals(migrationsDir(parseCommand("apply", [], env({})).values), "migrations");
});
