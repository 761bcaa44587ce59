import {
  COMMANDS,
  duration,
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
