import { splitStatements } from "../lib/lexer.ts";
import { statementKind } from "../lib/statement_kind.ts";
import { DatabaseError } from "../lib/errors.ts";
import { assertEquals } from "./support/assert.ts";
import { driverTest } from "./support/db.ts";

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

/** Statements PostgreSQL can be asked to run inside a transaction without changing anything. */
const ON_A_SERVER: string[] = [
  "CREATE INDEX CONCURRENTLY tx_i2 ON tx_t (a)",
  "DROP INDEX CONCURRENTLY IF EXISTS tx_i",
  "REINDEX INDEX CONCURRENTLY tx_i",
  "VACUUM ANALYZE tx_t",
  "CREATE DATABASE tx_never",
  "ALTER TABLE tx_p DETACH PARTITION tx_c CONCURRENTLY",
  "REFRESH MATERIALIZED VIEW CONCURRENTLY tx_v",
  "CREATE INDEX tx_i3 ON tx_t (a)",
  "ALTER TYPE tx_mood ADD VALUE 'ok'",
];

driverTest(
  "statementKind says no_transaction exactly for what PostgreSQL refuses in a transaction",
  async (ctx) => {
    await ctx.driver.exec(
      "CREATE TABLE tx_t (a int UNIQUE); CREATE INDEX tx_i ON tx_t (a); " +
        "CREATE MATERIALIZED VIEW tx_v AS SELECT a FROM tx_t; CREATE UNIQUE INDEX ON tx_v (a); " +
        "CREATE TABLE tx_p (a int) PARTITION BY LIST (a); " +
        "CREATE TABLE tx_c PARTITION OF tx_p FOR VALUES IN (1); CREATE TYPE tx_mood AS ENUM ('sad')",
    );
    for (const sql of ON_A_SERVER) {
      const [statement] = splitStatements(sql);
      // What runs is rolled back: the transaction ends in an error either way.
      const ran = new Error("ran");
      const outcome = await ctx.driver.transaction(async (tx) => {
        await tx.exec(sql);
        throw ran;
      }).catch((error) => error);
      const refused = outcome instanceof DatabaseError && outcome.pgCode === "25001";
      assertEquals(refused || outcome === ran, true, `${sql}: ${outcome}`);
      assertEquals(statementKind(statement) === "no_transaction", refused, sql);
    }
  },
);
