/**
 * Human-readable text for `verify`: one block per migration and a summary.
 * Pure functions returning strings; printing is the CLI's job.
 *
 * @module
 */
import type { Palette } from "./format.ts";
import { formatMs } from "./format.ts";
import { formatChange } from "./schema_diff.ts";
import type { MigrationVerification, StepError, VerifyReport } from "./verify.ts";

const DOWN_WORDS = { added: "left behind by DOWN", removed: "missing after DOWN" };
const REAPPLY_WORDS = {
  added: "only after UP ran again",
  removed: "missing after UP ran again",
  changed: "differs after UP ran again",
};

function step(what: string, error: StepError, file: string | null): string {
  const where = file && error.line ? ` (${file}:${error.line})` : "";
  return `${what} failed${where}: ${error.message}${
    error.pgCode ? ` (SQLSTATE ${error.pgCode})` : ""
  }${error.hint ? `\n    hint: ${error.hint}` : ""}`;
}

/**
 * One migration's outcome: a status line, then one indented line per
 * difference or failure.
 *
 * @param r From {@link VerifyReport.migrations}.
 * @param colour Palette.
 * @returns Lines ending in a newline.
 * @example
 * ```ts
 * import { formatVerification } from "./verify_format.ts";
 * import { palette } from "./format.ts";
 * const text = formatVerification({
 *   version: "20250101_000000", description: "users", file: null, status: "ok",
 *   downDifferences: [], reapplyDifferences: [], ms: 12,
 * }, palette(false));
 * console.log(text); // "20250101_000000 users: ok (12 ms)\n"
 * ```
 */
export function formatVerification(r: MigrationVerification, colour: Palette): string {
  const status = r.status === "ok"
    ? colour.green("ok")
    : r.status === "irreversible"
    ? colour.yellow(r.note ?? "irreversible")
    : r.status === "skipped"
    ? colour.yellow(r.note ?? "skipped")
    : colour.red("FAILED");
  const out = [
    `${r.version} ${r.description}: ${status}${
      r.status === "skipped" ? "" : ` ${colour.dim(`(${formatMs(r.ms)})`)}`
    }`,
  ];
  if (r.up) out.push(`  ${step("UP", r.up, r.file)}`);
  if (r.down) out.push(`  ${step("DOWN", r.down, r.file)}`);
  for (const c of r.downDifferences) out.push(`  ${formatChange(c, DOWN_WORDS)}`);
  if (r.reapply) out.push(`  ${step("UP applied again after DOWN", r.reapply, r.file)}`);
  for (const c of r.reapplyDifferences) out.push(`  ${formatChange(c, REAPPLY_WORDS)}`);
  return `${out.join("\n")}\n`;
}

/**
 * The closing summary of a verify run.
 *
 * @param report The report.
 * @returns One line ending in a newline.
 * @example
 * ```ts
 * import { formatVerifySummary } from "./verify_format.ts";
 * const line = formatVerifySummary({ ok: true, scratch: "pglite:memory", replayed: [], migrations: [] });
 * console.log(line); // "Nothing to verify.\n"
 * ```
 */
export function formatVerifySummary(report: VerifyReport): string {
  const n = report.migrations.length;
  if (n === 0) return "Nothing to verify.\n";
  const count = (s: string) => report.migrations.filter((m) => m.status === s).length;
  const parts = [
    `${count("ok")} ok`,
    count("irreversible") ? `${count("irreversible")} irreversible` : "",
    count("failed") ? `${count("failed")} failed` : "",
    count("skipped") ? `${count("skipped")} skipped` : "",
  ].filter(Boolean);
  return `${report.ok ? "Verified" : "Verify failed:"} ${n} migration${
    n === 1 ? "" : "s"
  } on ${report.scratch}: ${parts.join(", ")}.\n`;
}
