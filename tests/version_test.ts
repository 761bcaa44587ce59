import {
  dateFromVersion,
  dateProblem,
  isVersion,
  versionFromDate,
  versionProblem,
} from "../lib/version.ts";
import { assertEquals } from "./support/assert.ts";

const CASES: Array<[string, string | null]> = [
  ["20250128_120000", null],
  ["20240229_235959", null],
  ["20250229_120000", "day 29 does not exist in 2025-02"],
  ["20251399_250000", "month 13 does not exist"],
  ["20250100_120000", "day 0 does not exist in 2025-01"],
  ["20250128_240000", "hour 24 does not exist"],
  ["20250128_126000", "minute 60 does not exist"],
  ["20250128_120060", "second 60 does not exist"],
  ["2025012_120000", "expected YYYYMMDD_HHMMSS"],
  ["20250128120000", "expected YYYYMMDD_HHMMSS"],
  ["", "expected YYYYMMDD_HHMMSS"],
];

for (const [version, problem] of CASES) {
  Deno.test(`versionProblem(${JSON.stringify(version)}) is ${JSON.stringify(problem)}`, () => {
    assertEquals(versionProblem(version), problem);
    assertEquals(isVersion(version), problem === null);
  });
}

Deno.test("dateProblem agrees with versionProblem on every well-shaped version", () => {
  for (const [version, problem] of CASES) {
    if (problem === "expected YYYYMMDD_HHMMSS") continue;
    assertEquals(dateProblem(version), problem, version);
  }
});

Deno.test("versions round-trip through dates in UTC", () => {
  const date = new Date("2025-12-31T23:59:58Z");
  assertEquals(versionFromDate(date), "20251231_235958");
  assertEquals(dateFromVersion("20251231_235958").getTime(), date.getTime());
});
