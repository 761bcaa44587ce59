/** The shipped example runs, under Deno and Bun, against a real server. */
import { fileURLToPath } from "node:url";
import { assertEquals } from "./support/assert.ts";
import { command, type Runtime, start } from "./support/cli.ts";
import { adminQuery, freshDatabase } from "./support/db.ts";

const EXAMPLE = fileURLToPath(
  new URL("../examples/postgres_migrations_example.ts", import.meta.url),
);

for (const runtime of ["deno", "bun"] as Runtime[]) {
  Deno.test(`examples/postgres_migrations_example.ts runs the API flow under ${runtime}`, async () => {
    const db = await freshDatabase();
    try {
      const [file, args] = command(runtime, EXAMPLE, []);
      const result = await start(file, args, { env: { DATABASE_URL: db.url } }).done;
      assertEquals(result.code, 0, result.stderr);
      const all = "20250128_120000, 20250128_130000, 20250128_140000";
      assertEquals(result.stdout.split("\n").slice(0, 5), [
        `Database: ${db.url.replace(/:[^:@/]*@/, ":***@")}`,
        `Status: applied [], pending [${all}]`,
        `Applied: [${all}]`,
        "Rolled back: [20250128_140000]",
        "Applied again: [20250128_140000]",
      ]);
      // The trigger of the third migration and the CHECK of the second work.
      await adminQuery(db.url, "INSERT INTO users (email) VALUES ('a@example.com')");
      await adminQuery(
        db.url,
        "INSERT INTO posts (user_id, title, updated_at) VALUES (1, 't', '2000-01-01')",
      );
      await adminQuery(db.url, "UPDATE posts SET title = 'u'");
      const [post] = await adminQuery<{ y: number }>(
        db.url,
        "SELECT extract(year FROM updated_at)::int AS y FROM posts",
      );
      assertEquals(post.y > 2000, true);
      const active = await adminQuery(db.url, "SELECT 1 FROM users WHERE status = 'active'");
      assertEquals(active.length, 1);
    } finally {
      await db.drop();
    }
  });
}
