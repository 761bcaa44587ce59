/** The CLI's text: the status and history tables, times, durations. */
import { formatHistory, formatMs, formatStatus, formatTime, palette } from "../lib/format.ts";
import type { MigrationStatus } from "../lib/runner.ts";
import { assertEquals } from "./support/assert.ts";

function entry(
  version: string,
  state: MigrationStatus["state"],
  appliedAt: string | null,
  executionMs: number | null,
  description: string,
): MigrationStatus {
  return {
    version,
    description,
    file: null,
    state,
    appliedAt: appliedAt === null ? null : new Date(appliedAt),
    checksum: "c",
    executionMs,
  };
}

function status(migrations: MigrationStatus[], colour = false): string {
  return formatStatus({
    applied: migrations.filter((m) => m.appliedAt).map((m) => m.version),
    pending: migrations.filter((m) => m.state === "pending").map((m) => m.version),
    migrations,
  }, palette(colour));
}

Deno.test("status aligns columns, right-aligns MS and trims blanks only at line ends", () => {
  assertEquals(
    status([
      entry("20250101_000001", "applied", "2025-01-01T10:00:00.100Z", 4, "create users"),
      entry(
        "20250101_000002",
        "applied",
        "2025-01-01T10:00:00.900Z",
        1234,
        "  keeps inner  blanks",
      ),
      entry("20250101_000003", "modified", "2025-01-01T10:00:01.000Z", null, ""),
      entry("20250101_000004", "pending", null, null, "add index"),
    ]),
    [
      "VERSION          STATE     APPLIED AT                 MS  DESCRIPTION",
      "20250101_000001  applied   2025-01-01 10:00:00 UTC     4  create users",
      "20250101_000002  applied   2025-01-01 10:00:00 UTC  1234    keeps inner  blanks",
      "20250101_000003  modified  2025-01-01 10:00:01 UTC",
      "20250101_000004  pending                                  add index",
      "",
      "4 migrations: 2 applied, 1 pending, 1 modified",
      "",
    ].join("\n"),
  );
});

Deno.test("status names the pending migrations older than the newest recorded one (merged late) after its counts", () => {
  const at = "2025-01-01T10:00:00Z";
  const lines = (rows: MigrationStatus[]) => status(rows).trimEnd().split("\n").slice(-2);
  assertEquals(
    lines([
      entry("20250101_000001", "applied", at, 1, "a"),
      entry("20250101_000002", "pending", null, null, "b"),
      entry("20250101_000003", "pending", null, null, "c"),
      entry("20250101_000004", "missing", at, 1, "d"),
      entry("20250101_000005", "pending", null, null, "e"),
    ]),
    [
      "5 migrations: 1 applied, 3 pending, 1 missing",
      "merged late: 20250101_000002, 20250101_000003 are older than the newest applied migration 20250101_000004; apply applies them with a warning, --out-of-order refuse stops them",
    ],
  );
  assertEquals(
    lines([
      entry("20250101_000001", "pending", null, null, "a"),
      entry("20250101_000002", "applied", at, 1, "b"),
    ])[1],
    "merged late: 20250101_000001 is older than the newest applied migration 20250101_000002; apply applies it with a warning, --out-of-order refuse stops it",
  );
  // Pending only after the newest recorded: nothing merged late.
  assertEquals(
    lines([
      entry("20250101_000001", "applied", at, 1, "a"),
      entry("20250101_000002", "pending", null, null, "b"),
    ]),
    ["", "2 migrations: 1 applied, 1 pending"],
  );
});

Deno.test("status shows each row's own time when rows of one second and of the next alternate", () => {
  const text = status([
    entry("20250101_000001", "applied", "2025-01-01T10:00:00.999Z", 1, "a"),
    entry("20250101_000002", "applied", "2025-01-01T10:00:01.000Z", 1, "b"),
    entry("20250101_000003", "applied", "2025-01-01T10:00:00.000Z", 1, "c"),
    entry("20250101_000004", "missing", "2025-01-01T10:00:00.500Z", 1, "d"),
  ]);
  assertEquals(text.split("\n").slice(1, 5).map((l) => l.slice(26, 49)), [
    "2025-01-01 10:00:00 UTC",
    "2025-01-01 10:00:01 UTC",
    "2025-01-01 10:00:00 UTC",
    "2025-01-01 10:00:00 UTC",
  ]);
  assertEquals(text.trimEnd().split("\n").at(-1), "4 migrations: 3 applied, 1 missing");
});

Deno.test("status paints the state column and the heading only with colours on", () => {
  const rows = [
    entry("20250101_000001", "applied", "2025-01-01T10:00:00Z", 1, "a"),
    entry("20250101_000002", "pending", null, null, "b"),
    entry("20250101_000003", "modified", "2025-01-01T10:00:00Z", 1, "c"),
    entry("20250101_000004", "missing", "2025-01-01T10:00:00Z", 1, "d"),
  ];
  const coloured = status(rows, true).split("\n");
  assertEquals(coloured[0].startsWith("\x1b[1mVERSION"), true);
  assertEquals(coloured[1].includes("\x1b[32mapplied \x1b[39m"), true);
  assertEquals(coloured[2].includes("\x1b[33mpending \x1b[39m"), true);
  assertEquals(coloured[3].includes("\x1b[31mmodified\x1b[39m"), true);
  assertEquals(coloured[4].includes("\x1b[31mmissing \x1b[39m"), true);
  assertEquals(status(rows).includes("\x1b["), false);
  assertEquals(status([]), "No migrations.\n");
});

Deno.test("history lists rows as given, with who applied them", () => {
  assertEquals(
    formatHistory([
      {
        version: "20250101_000001",
        description: "first",
        appliedAt: new Date("2025-01-01T10:00:00Z"),
        checksum: "c",
        executionMs: 12,
        appliedBy: "alice",
      },
      {
        version: "20250101_000002",
        description: "second",
        appliedAt: new Date("2025-01-02T10:00:00Z"),
        checksum: "c",
        executionMs: null,
        appliedBy: null,
      },
    ], palette(false)),
    [
      "APPLIED AT               VERSION          MS  BY     DESCRIPTION",
      "2025-01-01 10:00:00 UTC  20250101_000001  12  alice  first",
      "2025-01-02 10:00:00 UTC  20250101_000002             second",
      "",
    ].join("\n"),
  );
  assertEquals(formatHistory([], palette(false)), "No migrations applied.\n");
});

Deno.test("times are UTC to the second and durations switch to seconds at 1000 ms", () => {
  const cases: [Date, string][] = [
    [new Date("2025-01-28T12:00:00.999Z"), "2025-01-28 12:00:00 UTC"],
    [new Date("1999-12-31T23:59:59Z"), "1999-12-31 23:59:59 UTC"],
  ];
  for (const [date, text] of cases) assertEquals(formatTime(date), text);
  const durations: [number, string][] = [[0, "0 ms"], [12.4, "12 ms"], [999.4, "999 ms"], [
    1000,
    "1.0 s",
  ], [3450, "3.5 s"]];
  for (const [ms, text] of durations) assertEquals(formatMs(ms), text);
});
