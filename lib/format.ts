/**
 * Human-readable text for the CLI: the status table, progress lines and
 * errors. Pure functions returning strings; printing is the CLI's job.
 *
 * @module
 */
import type { MigrationStatus, StatusReport } from "./runner.ts";
import { type HistoryRow, mergedLate } from "./classify.ts";
import { DataBridgeError } from "./errors.ts";

/** Colour functions: identity when colour is off. */
export interface Palette {
  /** Success. */
  green(text: string): string;
  /** Attention. */
  yellow(text: string): string;
  /** Failure. */
  red(text: string): string;
  /** Less important. */
  dim(text: string): string;
  /** Headings. */
  bold(text: string): string;
}

/**
 * A palette, coloured or plain.
 *
 * @param enabled Whether to emit ANSI colours.
 * @returns The palette.
 * @example
 * ```ts
 * import { palette } from "./format.ts";
 * console.log(palette(false).red("x")); // "x"
 * ```
 */
export function palette(enabled: boolean): Palette {
  if (!enabled) return PLAIN;
  const wrap = (open: number, close: number) => (text: string) =>
    `\x1b[${open}m${text}\x1b[${close}m`;
  return {
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    red: wrap(31, 39),
    dim: wrap(2, 22),
    bold: wrap(1, 22),
  };
}

const same = (text: string) => text;
/** The palette without colours (the tables skip painting with it). */
const PLAIN: Palette = Object.freeze({
  green: same,
  yellow: same,
  red: same,
  dim: same,
  bold: same,
});

/**
 * `status` as an aligned table with a summary line.
 *
 * @param report From `MigrationRunner.status`.
 * @param colour Palette.
 * @returns Lines ending in a newline.
 * @example
 * ```ts
 * import { formatStatus, palette } from "./format.ts";
 * const text = formatStatus({ applied: [], pending: [], migrations: [] }, palette(false));
 * console.log(text); // "No migrations.\n"
 * ```
 */
export function formatStatus(report: StatusReport, colour: Palette): string {
  const list = report.migrations;
  if (list.length === 0) return "No migrations.\n";
  const n = list.length;
  // Two passes, no row arrays: a status of thousands of migrations.
  const times: string[] = new Array(n);
  const ms: string[] = new Array(n);
  let wv = 7, ws = 5, wt = 10, wm = 2; // the headings' widths
  let applied = 0, pending = 0, modified = 0, missing = 0;
  // Migrations applied in one run share their second: each second formatted once.
  let second = NaN;
  let time = "";
  for (let i = 0; i < n; i++) {
    const m = list[i];
    if (m.version.length > wv) wv = m.version.length;
    const state = m.state;
    if (state.length > ws) ws = state.length;
    if (state === "applied") applied++;
    else if (state === "pending") pending++;
    else if (state === "modified") modified++;
    else missing++;
    let t = "";
    if (m.appliedAt) {
      const s = Math.floor(m.appliedAt.getTime() / 1000);
      if (s !== second) {
        second = s;
        time = formatTime(m.appliedAt);
      }
      t = time;
      if (t.length > wt) wt = t.length;
    }
    times[i] = t;
    const x = m.executionMs === null ? "" : String(m.executionMs);
    if (x.length > wm) wm = x.length;
    ms[i] = x;
  }
  const plain = colour === PLAIN;
  const paint = (state: MigrationStatus["state"], text: string) =>
    state === "applied"
      ? colour.green(text)
      : state === "pending"
      ? colour.yellow(text)
      : colour.red(text);
  const lines: string[] = new Array(n + 3);
  lines[0] = colour.bold(
    `${"VERSION".padEnd(wv)}  ${"STATE".padEnd(ws)}  ${"APPLIED AT".padEnd(wt)}  ${
      "MS".padStart(wm)
    }  DESCRIPTION`,
  );
  for (let i = 0; i < n; i++) {
    const m = list[i];
    const state = m.state.padEnd(ws);
    const d = m.description;
    const line = `${m.version.padEnd(wv)}  ${plain ? state : paint(m.state, state)}  ${
      times[i].padEnd(wt)
    }  ${ms[i].padStart(wm)}  ${d}`;
    // Only a line ending in blanks is trimmed (trimming every line copies it).
    lines[i + 1] = d === "" || d.charCodeAt(d.length - 1) <= 32 ? line.trimEnd() : line;
  }
  const counts: string[] = [];
  if (applied) counts.push(`${applied} applied`);
  if (pending) counts.push(`${pending} pending`);
  if (modified) counts.push(`${modified} modified`);
  if (missing) counts.push(`${missing} missing`);
  lines[n + 1] = "";
  lines[n + 2] = `${n} migration${n === 1 ? "" : "s"}: ${counts.join(", ")}`;
  // Looked for only where something is pending (a no-op status has nothing).
  const { late, newest } = pending ? mergedLate(list) : { late: [], newest: "" };
  if (late.length) {
    const one = late.length === 1;
    lines.push(
      `${colour.yellow("merged late:")} ${late.join(", ")} ${one ? "is" : "are"} older than ` +
        `the newest applied migration ${newest}; apply applies ${
          one ? "it" : "them"
        } with a warning, --out-of-order refuse stops ${one ? "it" : "them"}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/**
 * `history` as an aligned table, in applied order.
 *
 * @param rows From `MigrationRunner.history`.
 * @param colour Palette.
 * @returns Lines ending in a newline.
 * @example
 * ```ts
 * import { formatHistory, palette } from "./format.ts";
 * console.log(formatHistory([], palette(false))); // "No migrations applied.\n"
 * ```
 */
export function formatHistory(rows: readonly HistoryRow[], colour: Palette): string {
  if (rows.length === 0) return "No migrations applied.\n";
  return table(
    ["APPLIED AT", "VERSION", "MS", "BY", "DESCRIPTION"],
    rows.map((r) => [
      formatTime(r.appliedAt),
      r.version,
      r.executionMs === null ? "" : String(r.executionMs),
      r.appliedBy ?? "",
      r.description,
    ]),
    colour,
    new Set([2]),
  );
}

/** Columns padded to their widest cell; the last column is not padded. */
function table(
  header: string[],
  rows: string[][],
  colour: Palette,
  rightAligned: Set<number>,
  paint?: (row: number, text: string) => string,
): string {
  // Plain loops and one join: a status of thousands of migrations formats in one pass.
  const last = header.length - 1;
  const widths = header.map((h) => h.length);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    for (let i = 0; i < last; i++) if (row[i].length > widths[i]) widths[i] = row[i].length;
  }
  const right = header.map((_, i) => rightAligned.has(i));
  const line = (cells: string[], row: number) => {
    let text = "";
    for (let i = 0; i < last; i++) {
      const cell = cells[i];
      const padded = right[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i]);
      text += (paint && row >= 0 && i === 1 ? paint(row, padded) : padded) + "  ";
    }
    const end = cells[last];
    // Only a line ending in blanks is trimmed (trimming every line copies it).
    return end === "" || end.charCodeAt(end.length - 1) <= 32 ? (text + end).trimEnd() : text + end;
  };
  const lines: string[] = new Array(rows.length + 2);
  lines[0] = colour.bold(line(header, -1));
  for (let r = 0; r < rows.length; r++) lines[r + 1] = line(rows[r], r);
  lines[rows.length + 1] = "";
  return lines.join("\n");
}

/**
 * A timestamp as `YYYY-MM-DD HH:MM:SS UTC`.
 *
 * @param date The moment.
 * @returns The text.
 * @example
 * ```ts
 * import { formatTime } from "./format.ts";
 * console.log(formatTime(new Date("2025-01-28T12:00:00Z"))); // "2025-01-28 12:00:00 UTC"
 * ```
 */
export function formatTime(date: Date): string {
  const iso = date.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/**
 * A duration in milliseconds as `12 ms` or `3.4 s`.
 *
 * @param ms Milliseconds.
 * @returns The text.
 * @example
 * ```ts
 * import { formatMs } from "./format.ts";
 * console.log(formatMs(12.3), formatMs(3400)); // "12 ms" "3.4 s"
 * ```
 */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * An error for the terminal: `error: cause`, then the failing line with a
 * caret, PostgreSQL's detail and hint, and what the run completed before.
 *
 * @param error Any error; non-data-bridge errors are reported as internal.
 * @param colour Palette.
 * @param verb Past tense of what completed (`applied`, `reverted`).
 * @returns Lines ending in a newline.
 * @example
 * ```ts
 * import { formatError, palette } from "./format.ts";
 * import { UsageError } from "./errors.ts";
 * console.log(formatError(new UsageError("USAGE", "unknown command 'x'"), palette(false)));
 * // "error: unknown command 'x'\n"
 * ```
 */
export function formatError(error: DataBridgeError, colour: Palette, verb = "applied"): string {
  const out = [`${colour.red("error:")} ${error.message}`];
  if (error.excerpt && error.line !== undefined) {
    const [text, caret] = error.excerpt.split("\n");
    const gutter = String(error.line);
    out.push(
      `  ${colour.dim(`${gutter} |`)} ${text}`,
      `  ${colour.dim(`${" ".repeat(gutter.length)} |`)} ${colour.red(caret)}`,
    );
  }
  if (error.detail) out.push(`  detail: ${error.detail}`);
  if (error.hint) out.push(`  hint: ${error.hint}`);
  if (error instanceof DataBridgeError && "problems" in error) {
    const problems = (error as { problems: DataBridgeError[] }).problems;
    if (problems.length > 1) {
      for (const problem of problems.slice(1)) {
        out.push(`${colour.red("error:")} ${problem.message}`);
      }
    }
  }
  if (error.completed.length) {
    out.push(`${verb} before the failure: ${error.completed.join(", ")}`);
  }
  return out.join("\n") + "\n";
}
