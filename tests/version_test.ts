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

Deno.test("dateProblem is null exactly for the dates and times that exist, across months, days and leap years", () => {
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  let checked = 0;
  for (const year of [1900, 2000, 2023, 2024, 2025, 2100, 9999]) {
    for (let month = 0; month <= 13; month++) {
      for (let day = 0; day <= 32; day++) {
        for (const time of ["000000", "235959", "240000", "236000", "235960", "995959"]) {
          const version = `${pad(year, 4)}${pad(month)}${pad(day)}_${time}`;
          const [h, mi, se] = [0, 2, 4].map((i) => Number(time.slice(i, i + 2)));
          const date = new Date(Date.UTC(year, month - 1, day, h, mi, se));
          const exists = month >= 1 && date.getUTCFullYear() === year &&
            date.getUTCMonth() === month - 1 && date.getUTCDate() === day &&
            date.getUTCHours() === h && date.getUTCMinutes() === mi && date.getUTCSeconds() === se;
          assertEquals(dateProblem(version) === null, exists, version);
          checked++;
        }
      }
    }
  }
  assertEquals(checked, 7 * 14 * 33 * 6);
});

Deno.test("versions round-trip through dates in UTC", () => {
  const date = new Date("2025-12-31T23:59:58Z");
  assertEquals(versionFromDate(date), "20251231_235958");
  assertEquals(dateFromVersion("20251231_235958").getTime(), date.getTime());
});
