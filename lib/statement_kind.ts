/**
 * What running a statement needs, judged from its leading words (as
 * {@link splitStatements} collects them, outside strings, comments and
 * parentheses).
 *
 * @module
 */
import type { Statement } from "./lexer.ts";

/**
 * - `plain`: runs inside a transaction.
 * - `no_transaction`: PostgreSQL refuses it inside a transaction block
 *   (`CREATE INDEX CONCURRENTLY`, `VACUUM`, ...).
 * - `transaction_control`: opens or ends a transaction (`BEGIN`, `COMMIT`, ...).
 * - `copy_stdin`: `COPY ... FROM STDIN`, whose data lines are not SQL.
 */
export type StatementKind = "plain" | "no_transaction" | "transaction_control" | "copy_stdin";

const TRANSACTION_CONTROL = new Set([
  "BEGIN",
  "START",
  "COMMIT",
  "END",
  "ROLLBACK",
  "ABORT",
  "PREPARE",
]);

/**
 * Classifies a statement by its leading words.
 *
 * @param statement A statement from `splitStatements`.
 * @returns Its kind.
 * @example
 * ```ts
 * import { splitStatements } from "./lexer.ts";
 * import { statementKind } from "./statement_kind.ts";
 * const [create, refresh] = splitStatements(
 *   "CREATE INDEX CONCURRENTLY i ON t (a); REFRESH MATERIALIZED VIEW CONCURRENTLY v;",
 * );
 * console.log(statementKind(create), statementKind(refresh)); // "no_transaction" "plain"
 * ```
 */
export function statementKind(statement: Pick<Statement, "words">): StatementKind {
  const w = statement.words;
  const first = w[0];
  if (first === undefined) return "plain";
  if (TRANSACTION_CONTROL.has(first)) {
    if (first === "START" && w[1] !== "TRANSACTION") return "plain";
    if (first === "PREPARE" && w[1] !== "TRANSACTION") return "plain";
    return "transaction_control";
  }
  switch (first) {
    case "VACUUM":
      return "no_transaction";
    case "COPY":
      return hasSequence(w, "FROM", "STDIN") ? "copy_stdin" : "plain";
    case "CREATE":
      if (w[1] === "DATABASE" || w[1] === "TABLESPACE") return "no_transaction";
      if (w[1] === "SUBSCRIPTION") return "no_transaction";
      return isIndexConcurrently(w, 1) ? "no_transaction" : "plain";
    case "DROP":
      if (w[1] === "DATABASE" || w[1] === "TABLESPACE" || w[1] === "SUBSCRIPTION") {
        return "no_transaction";
      }
      return w[1] === "INDEX" && w[2] === "CONCURRENTLY" ? "no_transaction" : "plain";
    case "REINDEX":
      return w.includes("CONCURRENTLY") || w[1] === "DATABASE" || w[1] === "SYSTEM"
        ? "no_transaction"
        : "plain";
    case "ALTER":
      if (w[1] === "SYSTEM") return "no_transaction";
      if (w[1] === "DATABASE" && hasSequence(w, "SET", "TABLESPACE")) return "no_transaction";
      return w[1] === "TABLE" && hasSequence(w, "PARTITION") && w.includes("CONCURRENTLY") &&
          w.includes("DETACH")
        ? "no_transaction"
        : "plain";
    case "CLUSTER":
      return w.length === 1 ? "no_transaction" : "plain";
    default:
      return "plain";
  }
}

/** `CREATE [UNIQUE] INDEX CONCURRENTLY` starting at `i` (after CREATE). */
function isIndexConcurrently(w: string[], i: number): boolean {
  if (w[i] === "UNIQUE") i++;
  return w[i] === "INDEX" && w[i + 1] === "CONCURRENTLY";
}

function hasSequence(w: string[], ...sequence: string[]): boolean {
  outer: for (let i = 0; i + sequence.length <= w.length; i++) {
    for (let j = 0; j < sequence.length; j++) {
      if (w[i + j] !== sequence[j]) continue outer;
    }
    return true;
  }
  return false;
}
