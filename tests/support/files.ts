/** Temporary migration directories for tests. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A migration file's content from its sections. */
export function migrationText(up: string, down = "", header = ""): string {
  return `${header}${header ? "\n" : ""}-- UP\n${up}\n-- DOWN\n${down}\n`;
}

/** A temporary directory with the given files; `remove` deletes it. */
export function tempMigrations(
  files: Record<string, string | Uint8Array> = {},
): {
  dir: string;
  root: string;
  write(name: string, content: string | Uint8Array): string;
  remove(): void;
} {
  const root = mkdtempSync(join(tmpdir(), "db-test-"));
  const dir = join(root, "migrations");
  mkdirSync(dir);
  const write = (name: string, content: string | Uint8Array) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  for (const [name, content] of Object.entries(files)) write(name, content);
  return { dir, root, write, remove: () => rmSync(root, { recursive: true, force: true }) };
}
