/** How the lint rules read a statement's tokens: names, top-level words, ALTER TABLE actions. */
import { tokenize } from "../lib/lexer.ts";
import {
  alterTable,
  find,
  head,
  ident,
  nameAt,
  skipIf,
  splitCommas,
  type Stmt,
  type Tok,
} from "../lib/lint_sql.ts";
import { assertEquals } from "./support/assert.ts";

/** A statement's tokens as the lint models them: comments left out, parenthesis depth kept. */
function toks(sql: string): Tok[] {
  let depth = 0;
  const out: Tok[] = [];
  for (const t of tokenize(sql)) {
    if (t.kind === "line_comment" || t.kind === "block_comment") continue;
    const text = sql.slice(t.start, t.end);
    if (text === ")") depth--;
    out.push({ kind: t.kind, text, up: t.kind === "word" ? text.toUpperCase() : text, depth });
    if (text === "(") depth++;
  }
  return out;
}

const stmt = (sql: string): Stmt => ({ toks: toks(sql), line: 1, kind: "plain" });

Deno.test("nameAt reads plain, quoted and qualified names", () => {
  const cases: [string, number, { name: string; schema: string | null; next: number }][] = [
    ["users", 0, { name: "users", schema: null, next: 1 }],
    ["Users", 0, { name: "users", schema: null, next: 1 }],
    ['"Users"', 0, { name: "Users", schema: null, next: 1 }],
    ['"a""b"', 0, { name: 'a"b', schema: null, next: 1 }],
    ["app.users", 0, { name: "users", schema: "app", next: 3 }],
    ['db.app."T" x', 0, { name: "T", schema: "app", next: 5 }],
    ["( x", 0, { name: "", schema: null, next: 1 }],
  ];
  for (const [sql, at, want] of cases) assertEquals(nameAt(toks(sql), at), want, sql);
  assertEquals(ident(toks("'text'")[0]), null);
});

Deno.test("skipIf skips IF EXISTS, IF NOT EXISTS and ONLY", () => {
  const cases: [string, number][] = [
    ["DROP TABLE t", 2],
    ["DROP TABLE IF EXISTS t", 4],
    ["CREATE TABLE IF NOT EXISTS t", 5],
    ["ALTER TABLE ONLY t", 3],
    ["ALTER TABLE IF EXISTS ONLY t", 5],
  ];
  for (const [sql, want] of cases) assertEquals(skipIf(toks(sql), 2), want, sql);
});

Deno.test("find and head see only words outside parentheses", () => {
  const t = toks("CREATE INDEX i ON t (on_time) WHERE (x ON y)");
  assertEquals(find(t, ["ON"]), 3);
  assertEquals(find(t, ["ON"], 4), -1);
  assertEquals(find(t, ["WHERE"]), 8);
  assertEquals(head(stmt("CREATE UNIQUE INDEX (x) ON t"), 4), ["CREATE", "UNIQUE", "INDEX", "("]);
  assertEquals(splitCommas(toks("a, f(b, c), d")).length, 3);
});

Deno.test("alterTable gives the table, its schema and each action", () => {
  const a = alterTable(stmt("ALTER TABLE IF EXISTS ONLY app.t * ADD COLUMN c int, DROP COLUMN d"));
  assertEquals(a?.table, "t");
  assertEquals(a?.schema, "app");
  assertEquals(a?.actions.map((x) => x.map((y) => y.up).join(" ")), [
    "ADD COLUMN C INT",
    "DROP COLUMN D",
  ]);
  assertEquals(alterTable(stmt("ALTER INDEX i RENAME TO j")), null);
});
