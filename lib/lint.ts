/**
 * `lint`: reads migration files with the project's lexer and reports the
 * rules of `lint_rules.ts` they break, with `file:line`, rule id, why and
 * the safe alternative; applies `-- lint:ignore RULE reason` comments and
 * the level (error, warning, off) of each rule.
 *
 * A `-- lint:ignore RULE[,RULE] reason` comment applies to the statement it
 * is in, else to a statement ending earlier on its line, else to the next
 * statement of its section; in a section with no statement after it, to the
 * section itself (e.g. `irreversible` in an empty DOWN). A comment without
 * a reason or naming an unknown rule ignores nothing and is reported
 * (`invalid-ignore`).
 *
 * @module
 */
import { DEFAULTS, LINT_LEVELS } from "./config.ts";
import { ValidationError } from "./errors.ts";
import {
  groupTokens,
  KIND,
  LexError,
  scanTokens,
  scanTokensShared,
  splitStatements,
  type Statement,
  TOKEN_KINDS,
  type TokenList,
} from "./lexer.ts";
import { checkFile, type FileModel, type RuleId, RULES } from "./lint_rules.ts";
import type { Stmt, Tok } from "./lint_sql.ts";
import { lineCounter, locate, startsLine } from "./location.ts";
import { baseName, collectGarbageSoon, longWork, nextTurn, nodeFs } from "./runtime.ts";
import {
  type Migration,
  parsedScan,
  parsedSource,
  parseMigrationSync,
  type ScannedSource,
} from "./migration.ts";
import { type StatementKind, statementKind } from "./statement_kind.ts";

export { type RuleId, RULES } from "./lint_rules.ts";
import type { LintLevels } from "./lint_levels.ts";

export { type LintLevel, type LintLevels, lintLevels } from "./lint_levels.ts";

/** One rule broken at one place. */
export interface LintFinding {
  /** File as given. */
  file: string;
  /** 1-based line. */
  line: number;
  /** Rule. */
  rule: RuleId;
  /** `error` or `warning`. */
  level: "error" | "warning";
  /** What is wrong here. */
  message: string;
  /** Why it matters. */
  why: string;
  /** The safe alternative. */
  fix: string;
}

/** What {@link lintFiles} returns. */
export interface LintReport {
  /** Files linted. */
  files: string[];
  /** Findings, by file then line. */
  findings: LintFinding[];
  /** Number of errors. */
  errors: number;
  /** Number of warnings. */
  warnings: number;
}

const MARKER_RE = /^--\s*(UP|DOWN)\s*$/i;
const NO_TRANSACTION_RE = /^--\s*Transaction\s*:\s*none\s*$/i;
const IGNORE_RE = /^--\s*lint:ignore\b\s*(.*)$/i;
const MIGRATION_NAME_RE = /^\d{8}_\d{6}_.+\.sql$/;

/**
 * Every rule id, in documentation order.
 *
 * @returns The ids.
 * @example
 * ```ts
 * import { ruleIds } from "./lint.ts";
 * console.log(ruleIds().includes("drop-table")); // true
 * ```
 */
export function ruleIds(): RuleId[] {
  return Object.keys(RULES) as RuleId[];
}

/**
 * Lints one file's text.
 *
 * @param file How to name the file (its path); a migration file name also
 *   gets the checks of `apply` (markers, header, encoding...).
 * @param text The file's text.
 * @param levels Rule levels (default: {@link lintLevels} of the defaults only).
 * @returns Findings of the rules not `off`, by line.
 * @example
 * ```ts
 * import { lintText } from "./lint.ts";
 * const findings = await lintText(
 *   "20250101_000000_index.sql",
 *   "-- UP\nCREATE INDEX users_email ON users (email);\n-- DOWN\nDROP INDEX users_email;\n",
 * );
 * console.log(findings.map((f) => `${f.line} ${f.rule}`)); // ["2 index-not-concurrently"]
 * ```
 */
export function lintText(
  file: string,
  text: string,
  levels: LintLevels = { ...LINT_LEVELS } as LintLevels,
): Promise<LintFinding[]> {
  try {
    return Promise.resolve(lintTextSync(file, text, levels));
  } catch (error) {
    return Promise.reject(error);
  }
}

function lintTextSync(
  file: string,
  text: string,
  levels: LintLevels,
  validated = false,
  parsed?: ScannedSource,
): LintFinding[] {
  const raw: { rule: RuleId; line: number; message: string }[] = [];
  let tokens: TokenList;
  try {
    // Without a parse to come (which scans over the shared arrays), the
    // shared arrays serve: the tokens are done with when this returns.
    tokens = parsed?.tokens ?? (validated ? scanTokensShared(text) : scanTokens(text));
  } catch (error) {
    if (!(error instanceof LexError)) throw error;
    const { line } = locate(text, error.offset);
    raw.push({ rule: "invalid-migration", line, message: `unterminated ${error.what} opens here` });
    return finish(file, raw, [], levels);
  }
  if (!validated && MIGRATION_NAME_RE.test(baseName(file))) {
    try {
      parseMigrationSync({ name: baseName(file), file, content: text });
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      // Reported by the rule concurrently-in-transaction, with more precision.
      if (error.code !== "NEEDS_NO_TRANSACTION") {
        raw.push({
          rule: "invalid-migration",
          line: error.line ?? 1,
          message: error.message.replace(`${file}:${error.line}: `, "").replace(`${file}: `, ""),
        });
      }
    }
  }
  const scanned = parsed ?? scan(text, tokens);
  const model = fileModel(text, scanned);
  raw.push(...checkFile(model.model));
  return finish(file, raw, suppressions(text, scanned, model), levels);
}

/** Options of {@link lintFiles}. */
export interface LintFilesOptions {
  /**
   * The files were already parsed as migrations (as `apply` has done):
   * their format is not checked again, only the rules run.
   */
  validated?: boolean;
}

/**
 * Lints files.
 *
 * @param paths Files to lint.
 * @param levels Rule levels.
 * @param options `validated` skips re-checking the files' format.
 * @returns The report.
 * @throws {ValidationError} `FILE_UNREADABLE` when a file cannot be read.
 * @example
 * ```ts
 * import { lintFiles } from "./lint.ts";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { join } from "node:path";
 * import { tmpdir } from "node:os";
 * const path = join(mkdtempSync(join(tmpdir(), "db-")), "20250101_000000_drop.sql");
 * writeFileSync(path, "-- UP\nDROP TABLE users;\n-- DOWN\n-- lint:ignore irreversible data is gone\n");
 * const report = await lintFiles([path]);
 * console.log(report.errors, report.findings[0].rule); // 1 "drop-table"
 * ```
 */
export async function lintFiles(
  paths: readonly string[],
  levels: LintLevels = { ...LINT_LEVELS } as LintLevels,
  options: LintFilesOptions = {},
): Promise<LintReport> {
  return await lintSources(
    paths.map((path) => ({ path, text: () => readText(path) })),
    levels,
    options,
  );
}

/**
 * Lints the files of parsed migrations (those built in code have none).
 * A migration parsed with `keepSource` is linted from the text it was
 * parsed from, which is the text that runs; another is read from its file.
 *
 * @param migrations Parsed migrations.
 * @param levels Rule levels.
 * @param options `validated` skips re-checking the files' format.
 * @returns The report, naming the files.
 * @throws {ValidationError} `FILE_UNREADABLE` when a file must be read and cannot be.
 * @example
 * ```ts
 * import { lintMigrations } from "./lint.ts";
 * import { migrationFile, parseMigrationFile } from "./migration.ts";
 * const f = migrationFile({
 *   name: "20250101_000000_index.sql",
 *   file: "migrations/20250101_000000_index.sql",
 *   content: "-- UP\nCREATE INDEX i ON t (c);\n-- DOWN\nDROP INDEX i;\n",
 * });
 * const report = await lintMigrations([parseMigrationFile(f, { keepSource: true })]);
 * console.log(report.findings.map((x) => x.rule)); // ["index-not-concurrently"]
 * ```
 */
export async function lintMigrations(
  migrations: readonly Migration[],
  levels: LintLevels = { ...LINT_LEVELS } as LintLevels,
  options: LintFilesOptions = {},
): Promise<LintReport> {
  return await lintSources(
    migrations.flatMap((m) => {
      const path = m.file;
      if (path === null) return [];
      const kept = parsedSource(m);
      return [
        kept === undefined
          ? { path, text: () => readText(path) }
          : { path, text: () => kept, scan: parsedScan(m) },
      ];
    }),
    levels,
    options,
  );
}

async function lintSources(
  sources: readonly { path: string; text: () => string; scan?: ScannedSource }[],
  levels: LintLevels,
  options: LintFilesOptions,
): Promise<LintReport> {
  const findings: LintFinding[] = [];
  let chars = 0;
  let turn = 0;
  const work = longWork();
  try {
    for (let i = 0; i < sources.length; i++) {
      // A turn of the event loop now and then (every 50 files or 64 KiB)
      // keeps a Ctrl-C handler responsive and lets queries sent meanwhile
      // (apply makes its tables while this runs) make progress.
      if (i % 50 === 49 || chars - turn > 65536) {
        turn = chars;
        await nextTurn();
      }
      // Each file's model is garbage once its rules have run: collected as
      // the lint goes, 1000 files' peak memory is ~2 MB lower.
      if (i % DEFAULTS.gcEveryMigrations === DEFAULTS.gcEveryMigrations - 1) collectGarbageSoon();
      const path = sources[i].path;
      const text = sources[i].text();
      chars += text.length;
      work.add(text.length + DEFAULTS.longWorkFileChars);
      findings.push(
        ...lintTextSync(path, text, levels, options.validated === true, sources[i].scan),
      );
    }
  } finally {
    work.end();
  }
  return {
    files: sources.map((s) => s.path),
    findings,
    errors: findings.filter((f) => f.level === "error").length,
    warnings: findings.filter((f) => f.level === "warning").length,
  };
}

function readText(path: string): string {
  try {
    return new TextDecoder().decode(nodeFs().readFileSync(path));
  } catch (error) {
    throw new ValidationError(
      "FILE_UNREADABLE",
      `${path}: cannot be read (${(error as Error).message})`,
      { file: path },
    );
  }
}

// ---------------------------------------------------------------- file model

interface Section {
  name: "up" | "down";
  statements: Stmt[];
  ranges: { start: number; end: number }[];
  /** Offset where the section's text starts. */
  start: number;
}

/** What the model of a file is built from: as a parse left it, or scanned here. */
interface Scan {
  tokens: TokenList;
  /** Marker tokens' indexes; -1 when missing. */
  up: number;
  down: number;
  /** Each section's statements, when already split. */
  statements?: { up: Statement[]; down: Statement[] };
}

/** Finds the comments and markers (the first `-- UP`, the first `-- DOWN` after it). */
function scan(text: string, tokens: TokenList): Scan {
  let up = -1;
  let down = -1;
  const { starts, ends } = tokens;
  for (const i of tokens.comments) {
    const marker = MARKER_RE.exec(text.slice(starts[i], ends[i]));
    if (marker && startsLine(text, starts[i])) {
      if (marker[1].toUpperCase() === "UP" && up === -1) up = i;
      else if (marker[1].toUpperCase() === "DOWN" && down === -1 && up !== -1) down = i;
    }
  }
  return { tokens, up, down };
}

function fileModel(text: string, scanned: Scan): { model: FileModel; sections: Section[] } {
  const { tokens, up, down } = scanned;
  const { starts, ends, comments } = tokens;
  const transactional = !comments.some((i) =>
    (up === -1 || i < up) && NO_TRANSACTION_RE.test(text.slice(starts[i], ends[i]))
  );
  const lineAt = lineCounter(text);
  const sections: Section[] = [];
  const section = (
    name: "up" | "down",
    from: number,
    to: number,
    start: number,
    split?: Statement[],
  ) => {
    const statements = split ?? splitStatements(text, tokens, from, to);
    sections.push({
      name,
      start,
      ranges: statements.map((s) => ({ start: s.start, end: s.end })),
      statements: statements.map((s) =>
        new ModelStmt(
          // No rule looks past the head of an INSERT: its rows, often many,
          // are not modelled.
          toks(
            text,
            tokens,
            s.firstToken,
            createsByName(s.words) ? nameEnd(text, tokens, s.firstToken, s.endToken) : s.endToken,
            s.words[0] === "INSERT" ? 8 : Infinity,
          ),
          statementKind(s),
          s.start,
          lineAt,
        )
      ),
    });
  };
  if (up === -1) {
    section("up", 0, tokens.length, 0);
  } else {
    const to = down === -1 ? tokens.length : down;
    section("up", up + 1, to, ends[up], scanned.statements?.up);
    if (down !== -1) section("down", down + 1, tokens.length, ends[down], scanned.statements?.down);
  }
  return {
    model: {
      transactional,
      up: sections[0].statements,
      down: sections[1]?.statements ?? null,
      get downLine() {
        return down === -1 ? 0 : lineAt(starts[down]);
      },
    },
    sections,
  };
}

/**
 * A statement of the model whose line is counted when a finding asks for
 * it: most files have none, and counting the lines of a file up to its
 * DOWN section was a tenth of the lint of large files (W3: ~1 ms of ~10).
 */
class ModelStmt implements Stmt {
  readonly toks: Tok[];
  readonly kind: StatementKind;
  readonly #start: number;
  readonly #lineAt: (offset: number) => number;

  constructor(toks: Tok[], kind: StatementKind, start: number, lineAt: (offset: number) => number) {
    this.toks = toks;
    this.kind = kind;
    this.#start = start;
    this.#lineAt = lineAt;
  }

  get line(): number {
    return this.#lineAt(this.#start);
  }
}

/**
 * Whether a statement creates an object the rules know by its name alone:
 * a `CREATE` of anything but an index, a trigger or a policy (whose table,
 * after `ON`, counts too). No rule reads such a statement past its name.
 */
function createsByName(words: readonly string[]): boolean {
  return words[0] === "CREATE" && !words.includes("INDEX") && !words.includes("TRIGGER") &&
    !words.includes("POLICY");
}

/**
 * The index of a statement's first parenthesis (a `(` or a group), where
 * the name of what a `CREATE` makes has ended: its columns, parameters and
 * body are not modelled (W3's lint ~0.5 ms sooner).
 */
function nameEnd(text: string, tokens: TokenList, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    const code = tokens.kinds[i];
    if (code === KIND.group) return i;
    if (code === KIND.punct && text.charCodeAt(tokens.starts[i]) === 40) return i;
  }
  return to;
}

/**
 * Tokens `[from, to)`, comments dropped, with parenthesis depth (from
 * `base`), at most `limit` of them, appended to `out`; a `group` token
 * (text a parse did not scan token by token) is scanned here into its
 * tokens.
 */
function toks(
  text: string,
  tokens: TokenList,
  from: number,
  to: number,
  limit = Infinity,
  out: Tok[] = [],
  base = 0,
): Tok[] {
  let depth = base;
  for (let i = from; i < to && out.length < limit; i++) {
    const code = tokens.kinds[i];
    if (code === KIND.group) {
      // Balanced: its tokens go on from this depth and come back to it.
      const inner = groupTokens(text, tokens.starts[i], tokens.ends[i]);
      toks(text, inner, 0, inner.length, limit, out, depth);
      continue;
    }
    if (code === KIND.line_comment || code === KIND.block_comment) continue;
    const kind = TOKEN_KINDS[code];
    const raw = text.slice(tokens.starts[i], tokens.ends[i]);
    if (code === KIND.punct && raw === ")") depth = Math.max(0, depth - 1);
    out.push({ kind, text: raw, up: code === KIND.word ? raw.toUpperCase() : raw, depth });
    if (code === KIND.punct && raw === "(") depth++;
  }
  return out;
}

// ---------------------------------------------------------------- suppressions

/** Lines a suppression covers, and its rules. */
interface Suppression {
  rules: Set<RuleId>;
  from: number;
  to: number;
}

function suppressions(
  text: string,
  scanned: Scan,
  model: { sections: Section[] },
): Suppression[] & { invalid?: { line: number; message: string }[] } {
  const out: Suppression[] & { invalid?: { line: number; message: string }[] } = [];
  out.invalid = [];
  const { tokens } = scanned;
  for (const i of tokens.comments) {
    const t = { start: tokens.starts[i], end: tokens.ends[i] };
    // A comment whose first word starts with a letter other than l is no
    // lint:ignore: the markers and most comments are neither sliced nor matched.
    let at = t.start + 2;
    while (text.charCodeAt(at) === 32 || text.charCodeAt(at) === 9) at++;
    const first = text.charCodeAt(at) | 32;
    if (first >= 97 && first <= 122 && first !== 108) continue;
    const m = IGNORE_RE.exec(text.slice(t.start, t.end));
    if (!m) continue;
    const line = locate(text, t.start).line;
    const [list, ...reason] = m[1].trim().split(/\s+/);
    const names = (list ?? "").split(",").filter(Boolean);
    const unknown = names.filter((n) => !(n in RULES));
    if (names.length === 0 || unknown.length || reason.join("").length === 0) {
      out.invalid.push({
        line,
        message: names.length === 0
          ? "'-- lint:ignore' names no rule"
          : unknown.length
          ? `'-- lint:ignore' names unknown rule ${unknown.join(", ")}`
          : `'-- lint:ignore ${names.join(",")}' gives no reason`,
      });
      continue;
    }
    const rules = new Set(names as RuleId[]);
    const section = [...model.sections].reverse().find((s) => t.start >= s.start);
    if (!section) {
      out.push({ rules, from: line, to: line });
      continue;
    }
    const ranges = section.ranges;
    const inside = ranges.find((r) => r.start <= t.start && t.end <= r.end);
    const before = [...ranges].reverse().find((r) =>
      r.end <= t.start && locate(text, r.end).line === line
    );
    const after = ranges.find((r) => r.start >= t.end);
    const target = inside ?? before ?? after;
    if (target) {
      out.push({
        rules,
        from: locate(text, target.start).line,
        to: locate(text, target.end).line,
      });
    } else {
      // No statement after it in its section: covers the section (and its marker line).
      const markerLine = locate(text, section.start - 1).line;
      out.push({ rules, from: markerLine, to: locate(text, text.length).line });
    }
  }
  return out;
}

function finish(
  file: string,
  raw: { rule: RuleId; line: number; message: string }[],
  suppressed: Suppression[] & { invalid?: { line: number; message: string }[] },
  levels: LintLevels,
): LintFinding[] {
  const all = [
    ...raw,
    ...(suppressed.invalid ?? []).map((x) => ({ rule: "invalid-ignore" as RuleId, ...x })),
  ];
  return all
    .filter((f) => levels[f.rule] !== "off")
    .filter((f) =>
      f.rule === "invalid-ignore" || f.rule === "invalid-migration" ||
      !suppressed.some((s) => s.rules.has(f.rule) && f.line >= s.from && f.line <= s.to)
    )
    .sort((a, b) => a.line - b.line)
    .map((f) => ({
      file,
      line: f.line,
      rule: f.rule,
      level: levels[f.rule] as "error" | "warning",
      message: f.message,
      why: RULES[f.rule].why,
      fix: RULES[f.rule].fix,
    }));
}

// ---------------------------------------------------------------- output

/**
 * A report as text, one finding per line with its why and fix below, then
 * a summary line.
 *
 * @param report From {@link lintFiles}.
 * @returns Lines ending in a newline.
 * @example
 * ```ts
 * import { formatLintText } from "./lint.ts";
 * console.log(formatLintText({ files: ["a.sql"], findings: [], errors: 0, warnings: 0 }));
 * // "1 file linted: no problems.\n"
 * ```
 */
export function formatLintText(report: LintReport): string {
  const out: string[] = [];
  for (const f of report.findings) {
    out.push(`${f.file}:${f.line}: ${f.level} [${f.rule}] ${f.message}`);
    out.push(`  why: ${f.why}`, `  fix: ${f.fix}`);
  }
  const n = report.files.length;
  const files = `${n} file${n === 1 ? "" : "s"} linted`;
  out.push(
    report.findings.length === 0
      ? `${files}: no problems.`
      : `${files}: ${report.errors} error${
        report.errors === 1 ? "" : "s"
      }, ${report.warnings} warning${report.warnings === 1 ? "" : "s"}.`,
  );
  return `${out.join("\n")}\n`;
}

/**
 * A report as GitHub Actions workflow commands (`::error file=...,line=...::msg`),
 * which GitHub shows as annotations on the pull request.
 *
 * @param report From {@link lintFiles}.
 * @returns One line per finding.
 * @example
 * ```ts
 * import { formatLintGithub } from "./lint.ts";
 * const line = formatLintGithub({
 *   files: ["m.sql"], errors: 1, warnings: 0,
 *   findings: [{
 *     file: "m.sql", line: 2, rule: "drop-table", level: "error",
 *     message: "DROP TABLE users", why: "data is lost", fix: "acknowledge",
 *   }],
 * });
 * console.log(line);
 * // "::error file=m.sql,line=2,title=drop-table::DROP TABLE users: data is lost. Fix: acknowledge\n"
 * ```
 */
export function formatLintGithub(report: LintReport): string {
  const data = (s: string) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
  const prop = (s: string) => data(s).replace(/:/g, "%3A").replace(/,/g, "%2C");
  return report.findings.map((f) =>
    `::${f.level === "error" ? "error" : "warning"} file=${prop(f.file)},line=${f.line},title=${
      prop(f.rule)
    }::${data(`${f.message}: ${f.why}. Fix: ${f.fix}`)}\n`
  ).join("");
}
