import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createMigration } from "../lib/create.ts";
import { loadMigrations } from "../lib/load.ts";
import { assertEquals, assertMatch } from "./support/assert.ts";
import { tempMigrations } from "./support/files.ts";

const NOW = new Date("2025-01-28T12:00:00Z");

Deno.test("create writes a valid migration named from the UTC time and a slug", async () => {
  const t = tempMigrations();
  try {
    const dir = join(t.root, "new", "migrations");
    const path = createMigration("Create Users table", dir, { now: NOW });
    assertEquals(path, join(dir, "20250128_120000_create_users_table.sql"));
    const text = readFileSync(path, "utf8");
    assertMatch(
      text,
      /^-- Migration: 20250128_120000_create_users_table\n-- Description: Create Users table\n\n-- UP\n/,
    );
    const [m] = await loadMigrations(dir);
    assertEquals([m.version, m.description, m.transactional], [
      "20250128_120000",
      "Create Users table",
      true,
    ]);
    assertMatch(m.down, /DROP TABLE/);
  } finally {
    t.remove();
  }
});

Deno.test("create never overwrites: it takes the next free second", () => {
  const t = tempMigrations({ "20250128_120000_other.sql": "x", "20250128_120001_more.sql": "y" });
  try {
    const path = createMigration("mine", t.dir, { now: NOW });
    assertEquals(path, join(t.dir, "20250128_120002_mine.sql"));
    assertEquals(
      createMigration("mine", t.dir, { now: NOW }),
      join(t.dir, "20250128_120003_mine.sql"),
    );
  } finally {
    t.remove();
  }
});

Deno.test("create --no-transaction writes the header and a valid non-transactional migration", async () => {
  const t = tempMigrations();
  try {
    const path = createMigration("index users", t.dir, { now: NOW, noTransaction: true });
    assertMatch(readFileSync(path, "utf8"), /\n-- Transaction: none\n/);
    const [m] = await loadMigrations(t.dir);
    assertEquals(m.transactional, false);
  } finally {
    t.remove();
  }
});
