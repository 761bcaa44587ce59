import {
  classify,
  historyProblems,
  type HistoryRow,
  mergedLate,
  nothingToApply,
  pairRows,
  planApply,
  planRollback,
  recordedAsIs,
  selectRollback,
} from "../lib/classify.ts";
import { Migration } from "../lib/migration.ts";
import type { UsageError, ValidationError } from "../lib/errors.ts";
import { assertEquals, assertMatch, assertThrows } from "./support/assert.ts";

const m = (version: string, down = "SELECT 0;") =>
  Migration.new({ version, name: `m ${version}`, up: "SELECT 1;", down });
const A = await m("20250101_000000");
const B = await m("20250102_000000");
const C = await m("20250103_000000");
const D = await m("20250104_000000");

function row(migration: Migration, at: number, checksum = migration.checksum): HistoryRow {
  return {
    version: migration.version,
    description: migration.description,
    appliedAt: new Date(at),
    checksum,
    executionMs: 1,
    appliedBy: "app",
  };
}

Deno.test("classify finds applied, pending, modified and missing migrations", () => {
  const entries = classify([A, B, C], [row(A, 1), row(B, 2, "0".repeat(64)), row(D, 3)]);
  assertEquals(entries.map((e) => [e.version, e.state]), [
    [A.version, "applied"],
    [B.version, "modified"],
    [C.version, "pending"],
    [D.version, "missing"],
  ]);
  const problems = historyProblems(entries);
  assertEquals(problems.map((p) => p.code), ["CHECKSUM_MISMATCH", "MISSING_FILE"]);
  assertEquals(
    problems[0].message,
    `Checksum mismatch for migration ${B.version}. The migration file has been modified after being applied.`,
  );
  assertEquals(
    problems[1].message,
    `Migration ${D.version} is applied but not found in migration files`,
  );
});

Deno.test("a checksum mismatch names the modified file", () => {
  const edited = { ...B, file: "migrations/20250102_000000_b.sql" };
  const [problem] = historyProblems(classify([edited], [row(B, 2, "0".repeat(64))]));
  assertEquals(
    problem.message,
    `Checksum mismatch for migration ${B.version}. The migration file migrations/20250102_000000_b.sql has been modified after being applied.`,
  );
  assertEquals(problem.file, "migrations/20250102_000000_b.sql");
});

Deno.test("planApply selects pending migrations up to --to and flags late merges", () => {
  const entries = classify([A, B, C, D], [row(A, 1), row(C, 2)]);
  const plan = planApply(entries);
  assertEquals(plan.pending.map((x) => x.version), [B.version, D.version]);
  assertEquals(plan.outOfOrder.map((x) => x.version), [B.version]);
  assertEquals(planApply(entries, { to: B.version }).pending.map((x) => x.version), [B.version]);
  const error = assertThrows<UsageError>(() => planApply(entries, { to: "20990101_000000" }));
  assertEquals([error.code, error.exitCode], ["UNKNOWN_VERSION", 2]);
});

Deno.test("planRollback reverts the most recently applied first", () => {
  // B was merged late: applied after C.
  const entries = classify([A, B, C], [row(A, 1), row(C, 2), row(B, 3)]);
  assertEquals(planRollback(entries).map((s) => s.migration.version), [B.version]);
  assertEquals(planRollback(entries, { steps: 2 }).map((s) => s.migration.version), [
    B.version,
    C.version,
  ]);
  assertEquals(planRollback(entries, { steps: 10 }).length, 3);
  assertEquals(planRollback(entries, { to: A.version }).map((s) => s.migration.version), [
    B.version,
    C.version,
  ]);
  assertEquals(planRollback(entries, { to: "0" }).length, 3);
});

Deno.test("planRollback refuses an irreversible migration before anything runs", async () => {
  const irreversible = await m("20250105_000000", "");
  const entries = classify([A, irreversible], [row(A, 1), row(irreversible, 2)]);
  const error = assertThrows<ValidationError>(() => planRollback(entries, { steps: 2 }));
  assertEquals([error.code, error.exitCode], ["IRREVERSIBLE", 3]);
  assertMatch(error.message, /Migration 20250105_000000 is irreversible/);
  assertEquals(planRollback(entries, { to: irreversible.version }).length, 0);
});

Deno.test("classify takes a file that was not parsed, described by its history row", () => {
  const file = { version: A.version, checksum: A.checksum, file: "db/a.sql" };
  const entries = classify([file, C], [{ ...row(A, 1), description: "from the row" }]);
  assertEquals(entries.map((e) => [e.state, e.description, e.migration === file]), [
    ["applied", "from the row", true],
    ["pending", C.description, false],
  ]);
  assertEquals(planApply(entries).pending, [C]);
});

Deno.test("selectRollback chooses from the history alone, as planRollback does", () => {
  const entries = classify([A, B, C], [row(A, 1), row(C, 2)]);
  for (const options of [{}, { steps: 2 }, { to: "0" }, { to: A.version }]) {
    assertEquals(
      selectRollback(entries, options).map((e) => e.version),
      planRollback(entries, options).map((s) => s.migration.version),
    );
  }
  const unparsed = classify([{ version: C.version, checksum: C.checksum, file: "c.sql" }], [
    row(C, 2),
  ]);
  assertEquals(selectRollback(unparsed).map((e) => e.version), [C.version]);
});

Deno.test("nothingToApply agrees with an empty plan and no history problems, case by case", async (t) => {
  const m = (version: string, checksum = "a") => ({ version, checksum, file: null });
  const r = (version: string, checksum = "a") => ({ version, checksum });
  const CASES: Array<
    [string, ReturnType<typeof m>[], ReturnType<typeof r>[], string | undefined, boolean]
  > = [
    ["nothing at all", [], [], undefined, true],
    [
      "all applied",
      [m("20250101_000000"), m("20250102_000000")],
      [r("20250101_000000"), r("20250102_000000")],
      undefined,
      true,
    ],
    [
      "one pending",
      [m("20250101_000000"), m("20250102_000000")],
      [r("20250101_000000")],
      undefined,
      false,
    ],
    [
      "pending after --to",
      [m("20250101_000000"), m("20250102_000000")],
      [r("20250101_000000")],
      "20250101_000000",
      true,
    ],
    [
      "pending up to --to",
      [m("20250101_000000"), m("20250102_000000")],
      [r("20250101_000000")],
      "20250102_000000",
      false,
    ],
    [
      "an older one pending (merged branch)",
      [m("20250101_000000"), m("20250102_000000")],
      [r("20250102_000000")],
      undefined,
      false,
    ],
    ["modified", [m("20250101_000000", "b")], [r("20250101_000000")], undefined, false],
    [
      "missing file",
      [m("20250101_000000")],
      [r("20250101_000000"), r("20250102_000000")],
      undefined,
      false,
    ],
    [
      "as many rows as files, one of another version",
      [m("20250101_000000"), m("20250102_000000")],
      [r("20250101_000000"), r("20250103_000000")],
      undefined,
      false,
    ],
    [
      "as many rows as files, the last one modified",
      [m("20250101_000000"), m("20250102_000000")],
      [r("20250101_000000"), r("20250102_000000", "b")],
      undefined,
      false,
    ],
    [
      "all applied, rows out of order",
      [m("20250101_000000"), m("20250102_000000")],
      [r("20250102_000000"), r("20250101_000000")],
      undefined,
      true,
    ],
  ];
  for (const [name, files, rows, to, expected] of CASES) {
    await t.step(name, () => {
      assertEquals(nothingToApply(files, rows, to), expected);
      // The same answer as the full classification.
      const history = rows.map((row) => ({
        ...row,
        description: "",
        appliedAt: new Date(0),
        executionMs: null,
        appliedBy: null,
      }));
      const entries = classify(files, history);
      const full = historyProblems(entries).length === 0 &&
        planApply(entries, to === undefined ? {} : { to }).pending.length === 0;
      assertEquals(full, expected);
    });
  }
});

Deno.test("pairRows pairs as a map would, in order or not, with repeated versions", () => {
  /** What a map from version to its last row gives. */
  const byMap = (ms: string[], rs: [string, number][]) => {
    const map = new Map(rs.map(([v, n]) => [v, n]));
    const paired = ms.map((v) => {
      const n = map.get(v);
      map.delete(v);
      return n;
    });
    return { paired, unpaired: [...map.values()] };
  };
  const cases: [string, string[], [string, number][]][] = [
    ["both empty", [], []],
    ["in order, some of each side alone", ["a", "c", "d", "f"], [["b", 1], ["c", 2], ["e", 3], [
      "f",
      4,
    ], ["g", 5]]],
    ["only rows", [], [["a", 1], ["b", 2]]],
    ["only migrations", ["a", "b"], []],
    ["migrations out of order", ["c", "a", "b"], [["a", 1], ["c", 2]]],
    ["rows out of order", ["a", "b", "c"], [["c", 1], ["a", 2]]],
    ["a repeated row version", ["a", "b"], [["a", 1], ["b", 2], ["b", 3]]],
    ["a repeated row version no migration has", ["a"], [["b", 1], ["b", 2]]],
    ["a repeated migration version", ["a", "a", "b"], [["a", 1], ["b", 2]]],
  ];
  for (const [what, ms, rs] of cases) {
    const got = pairRows(
      ms.map((version) => ({ version })),
      rs.map(([version, n]) => ({ version, n })),
    );
    assertEquals(
      { paired: got.paired.map((r) => r?.n), unpaired: got.unpaired.map((r) => r.n) },
      byMap(ms, rs),
      what,
    );
  }
});

Deno.test("recordedAsIs holds only for the same versions and checksums at every index", () => {
  const a = { version: "20250101_000000", checksum: "a" };
  const b = { version: "20250102_000000", checksum: "b" };
  const CASES: Array<[string, typeof a[], typeof a[], boolean]> = [
    ["both empty", [], [], true],
    ["the same", [a, b], [{ ...a }, { ...b }], true],
    ["a row fewer", [a, b], [a], false],
    ["a row more", [a], [a, b], false],
    ["another checksum", [a, b], [a, { ...b, checksum: "c" }], false],
    ["another version", [a, b], [a, { ...b, version: "20250103_000000" }], false],
    ["another order", [a, b], [b, a], false],
  ];
  for (const [name, migrations, rows, expected] of CASES) {
    assertEquals(recordedAsIs(migrations, rows), expected, name);
  }
});

Deno.test("mergedLate names each pending migration with a recorded one after it, and the newest recorded", () => {
  const cases: Array<[string, string[], string]> = [
    // states in version order: a applied, p pending, m modified, x missing
    ["", [], ""],
    ["pp", [], ""],
    ["aap", [], "2"],
    ["apa", ["2"], "3"],
    ["ppaxp", ["1", "2"], "4"],
    ["apmpa", ["2", "4"], "5"],
  ];
  const states = { a: "applied", p: "pending", m: "modified", x: "missing" } as const;
  for (const [pattern, late, newest] of cases) {
    const migrations = [...pattern].map((c, i) => ({
      version: String(i + 1),
      state: states[c as keyof typeof states],
    }));
    assertEquals(mergedLate(migrations), { late, newest }, pattern);
  }
});
