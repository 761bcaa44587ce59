import { splitStatements } from "../lib/lexer.ts";
import { statementKind } from "../lib/statement_kind.ts";
import { assertEquals } from "./support/assert.ts";

const CASES: Array<[string, string]> = [
  ["CREATE INDEX CONCURRENTLY i ON t (a)", "no_transaction"],
  ["create unique index concurrently i on t (a)", "no_transaction"],
  ["DROP INDEX CONCURRENTLY IF EXISTS i", "no_transaction"],
  ["REINDEX INDEX CONCURRENTLY i", "no_transaction"],
  ["REINDEX (VERBOSE) TABLE CONCURRENTLY t", "no_transaction"],
  ["VACUUM ANALYZE t", "no_transaction"],
  ["CREATE DATABASE x", "no_transaction"],
  ["ALTER SYSTEM SET work_mem = '4MB'", "no_transaction"],
  ["ALTER TABLE p DETACH PARTITION c CONCURRENTLY", "no_transaction"],
  ["REFRESH MATERIALIZED VIEW CONCURRENTLY v", "plain"],
  ["CREATE INDEX i ON t (a)", "plain"],
  ["SELECT 'CREATE INDEX CONCURRENTLY'", "plain"],
  [
    "CREATE FUNCTION f() RETURNS void AS $$ CREATE INDEX CONCURRENTLY x ON t (a) $$ LANGUAGE sql",
    "plain",
  ],
  ["/* CREATE INDEX CONCURRENTLY */ CREATE INDEX i ON t (a)", "plain"],
  ["BEGIN", "transaction_control"],
  ["START TRANSACTION ISOLATION LEVEL SERIALIZABLE", "transaction_control"],
  ["COMMIT", "transaction_control"],
  ["END", "transaction_control"],
  ["ROLLBACK", "transaction_control"],
  ["DO $$ BEGIN NULL; END $$", "plain"],
  ["COPY t (a, b) FROM STDIN", "copy_stdin"],
  ["COPY t FROM '/tmp/x.csv'", "plain"],
  ["ALTER TYPE mood ADD VALUE 'ok'", "plain"],
];

for (const [sql, kind] of CASES) {
  Deno.test(`statementKind: ${sql} is ${kind}`, () => {
    const [statement] = splitStatements(sql);
    assertEquals(statementKind(statement), kind);
  });
}
