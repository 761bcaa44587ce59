/**
 * The seed's example flow with data-bridge's API: status, apply, roll back
 * one, apply again, printing each result.
 *
 * ```sh
 * deno run -A examples/postgres_migrations_example.ts            # embedded database
 * DATABASE_URL=postgres://localhost/mydb deno run -A examples/postgres_migrations_example.ts
 * bun examples/postgres_migrations_example.ts
 * ```
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import process from "node:process";
import { describeTarget, postgres, resolveTarget } from "../mod.ts";

const dir = fileURLToPath(new URL("./postgres_migrations", import.meta.url));
const url = process.env.DATABASE_URL;

console.log(`Database: ${describeTarget(resolveTarget(url, (k) => process.env[k]))}`);
await postgres.init(url);
try {
  await postgres.migrationInit();

  const before = await postgres.migrationStatus(dir);
  console.log(
    `Status: applied [${before.applied.join(", ")}], pending [${before.pending.join(", ")}]`,
  );

  const applied = await postgres.migrationApply(dir);
  console.log(`Applied: [${applied.join(", ")}]`);

  const reverted = await postgres.migrationRollback(dir, 1);
  console.log(`Rolled back: [${reverted.join(", ")}]`);

  const reapplied = await postgres.migrationApply(dir);
  console.log(`Applied again: [${reapplied.join(", ")}]`);

  const after = await postgres.migrationStatus(dir);
  for (const m of after.migrations) {
    console.log(`  ${m.version}  ${m.state.padEnd(8)}  ${m.description}`);
  }
} finally {
  await postgres.close();
}
