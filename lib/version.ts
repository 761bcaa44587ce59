/**
 * Migration versions: `YYYYMMDD_HHMMSS`, a real UTC date and time. Versions
 * sort as strings in time order.
 *
 * @module
 */

const VERSION_RE = /^(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})$/;
/**
 * The pattern (without anchors) of a version whose date exists in every
 * month and year (day 01-28) and whose time exists: such a version is valid
 * without arithmetic.
 */
export const VALID_EVERY_MONTH =
  "\\d{4}(?:0[1-9]|1[0-2])(?:0[1-9]|1\\d|2[0-8])_(?:[01]\\d|2[0-3])[0-5]\\d[0-5]\\d";
const VALID_EVERY_MONTH_RE = new RegExp(`^${VALID_EVERY_MONTH}$`);

/**
 * Why a string is not a valid version, or `null` when it is one.
 *
 * @param version Candidate such as `20250128_120000`.
 * @returns `null`, or a short reason such as `"month 13 does not exist"`.
 * @example
 * ```ts
 * import { versionProblem } from "./version.ts";
 * console.log(versionProblem("20250128_120000")); // null
 * console.log(versionProblem("20251399_250000")); // "month 13 does not exist"
 * ```
 */
export function versionProblem(version: string): string | null {
  if (!VERSION_RE.test(version)) return "expected YYYYMMDD_HHMMSS";
  return dateProblem(version);
}

/**
 * {@link versionProblem} of a string already known to be shaped
 * `YYYYMMDD_HHMMSS` (digits, an underscore): whether its date and time exist.
 * For file names matched by a pattern that checks the shape, which then need
 * no second regular expression (this runs for every file of every run).
 *
 * @param version Fifteen characters, digits but the ninth, an underscore.
 * @returns `null`, or a short reason such as `"month 13 does not exist"`.
 * @example
 * ```ts
 * import { dateProblem } from "./version.ts";
 * console.log(dateProblem("20250230_120000")); // "day 30 does not exist in 2025-02"
 * ```
 */
export function dateProblem(version: string): string | null {
  // This runs for every file of every run. Most versions are told valid by
  // one native match (a day every month has, a time of day that exists); the
  // arithmetic below, for the other days and the reasons, costs ~1 µs a file
  // in the binary's interpreter (its JITs are held back).
  if (VALID_EVERY_MONTH_RE.test(version)) return null;
  const v = version;
  const year = (v.charCodeAt(0) - 48) * 1000 + (v.charCodeAt(1) - 48) * 100 +
    (v.charCodeAt(2) - 48) * 10 + v.charCodeAt(3) - 48;
  const month = (v.charCodeAt(4) - 48) * 10 + v.charCodeAt(5) - 48;
  const day = (v.charCodeAt(6) - 48) * 10 + v.charCodeAt(7) - 48;
  const hour = (v.charCodeAt(9) - 48) * 10 + v.charCodeAt(10) - 48;
  const minute = (v.charCodeAt(11) - 48) * 10 + v.charCodeAt(12) - 48;
  const second = (v.charCodeAt(13) - 48) * 10 + v.charCodeAt(14) - 48;
  if (month < 1 || month > 12) return `month ${month} does not exist`;
  if (day < 1 || day > daysInMonth(year, month)) {
    return `day ${day} does not exist in ${version.slice(0, 4)}-${version.slice(4, 6)}`;
  }
  if (hour > 23) return `hour ${hour} does not exist`;
  if (minute > 59) return `minute ${minute} does not exist`;
  if (second > 59) return `second ${second} does not exist`;
  return null;
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && leap ? 29 : DAYS[month - 1];
}

/**
 * Whether a string is a valid version.
 *
 * @param version Candidate.
 * @returns `true` for a valid `YYYYMMDD_HHMMSS` date and time.
 * @example
 * ```ts
 * import { isVersion } from "./version.ts";
 * console.log(isVersion("20250128_120000"), isVersion("2025")); // true false
 * ```
 */
export function isVersion(version: string): boolean {
  return versionProblem(version) === null;
}

/**
 * The version for a moment, in UTC.
 *
 * @param date The moment.
 * @returns `YYYYMMDD_HHMMSS`.
 * @example
 * ```ts
 * import { versionFromDate } from "./version.ts";
 * console.log(versionFromDate(new Date("2025-01-28T12:00:00Z"))); // "20250128_120000"
 * ```
 */
export function versionFromDate(date: Date): string {
  const p = (n: number, width = 2) => String(n).padStart(width, "0");
  return `${p(date.getUTCFullYear(), 4)}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}_` +
    `${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}`;
}

/**
 * The moment a version names.
 *
 * @param version A valid version.
 * @returns The UTC date.
 * @example
 * ```ts
 * import { dateFromVersion } from "./version.ts";
 * console.log(dateFromVersion("20250128_120000").toISOString()); // "2025-01-28T12:00:00.000Z"
 * ```
 */
export function dateFromVersion(version: string): Date {
  const m = VERSION_RE.exec(version);
  if (!m) throw new RangeError(`not a version: ${version}`);
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number);
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}
