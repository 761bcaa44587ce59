import { spawnSync } from "node:child_process";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadMigrations } from "../lib/load.ts";
import { checkSum, renderSum, sumPath, sumProblem, writeSum } from "../lib/sum.ts";
import type { ValidationError } from "../lib/errors.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "./support/assert.ts";
import { migrationText, tempMigrations } from "./support/files.ts";

const A = "20250101_000000_a.sql";
const B = "20250102_000000_b.sql";
const C = "20250103_000000_c.sql";

Deno.test("each sum line depends on its file and every file before it; the header on all", async () => {
  const base = (await renderSum([
    { name: A, checksum: "1" },
    { name: B, checksum: "2" },
    { name: C, checksum: "3" },
  ])).split("\n");
  const changedFirst = (await renderSum([
    { name: A, checksum: "9" },
    { name: B, checksum: "2" },
    { name: C, checksum: "3" },
  ])).split("\n");
  const changedLast = (await renderSum([
    { name: A, checksum: "1" },
    { name: B, checksum: "2" },
    { name: C, checksum: "9" },
  ])).split("\n");
  assertEquals(base.length, 5); // header, 3 files, final newline
  assertMatch(base[0], /^h1:[A-Za-z0-9+/]{43}=$/);
  assertMatch(base[1], new RegExp(`^${A} h1:[A-Za-z0-9+/]{43}=$`));
  for (const i of [0, 1, 2, 3]) assert(base[i] !== changedFirst[i], `line ${i} changes`);
  assertEquals(changedLast.slice(1, 3), base.slice(1, 3));
  assert(changedLast[0] !== base[0] && changedLast[3] !== base[3]);
});

Deno.test("a missing sum file is fine; a written one matches its directory", async () => {
  const t = tempMigrations({ [A]: migrationText("SELECT 1;"), [B]: migrationText("SELECT 2;") });
  try {
    assertEquals(await checkSum(t.dir), "absent");
    assertEquals(await writeSum(t.dir), { path: sumPath(t.dir), files: 2 });
    assertEquals(await checkSum(t.dir), "ok");
    assertEquals(await checkSum(t.dir, await loadMigrations(t.dir)), "ok");
    assertEquals(readFileSync(sumPath(t.dir), "utf8").split("\n")[2].split(" ")[0], B);
  } finally {
    t.remove();
  }
});

const MISMATCHES: Array<{ name: string; change: (dir: string) => void; message: RegExp }> = [
  {
    name: "a file added after the sum was written",
    change: (dir) => writeFileSync(join(dir, C), migrationText("SELECT 3;")),
    message: new RegExp(`${C} was added since the sum was written`),
  },
  {
    name: "a file added before the last one (merged from another branch)",
    change: (dir) => writeFileSync(join(dir, "20250101_120000_x.sql"), migrationText("SELECT 3;")),
    message: /20250101_120000_x\.sql was added since the sum was written/,
  },
  {
    name: "a changed file",
    change: (dir) => writeFileSync(join(dir, A), migrationText("SELECT 42;")),
    message: new RegExp(`${A} changed since the sum was written`),
  },
  {
    name: "a removed file",
    change: (dir) => rmSync(join(dir, B)),
    message: new RegExp(`${B} is listed but no longer in the directory`),
  },
  {
    name: "a renamed file",
    change: (dir) => renameSync(join(dir, B), join(dir, "20250104_000000_b.sql")),
    message: /20250104_000000_b\.sql was added since the sum was written/,
  },
  {
    name: "merge conflict markers",
    change: (dir) => {
      const path = sumPath(dir);
      const [head, ...rest] = readFileSync(path, "utf8").split("\n");
      writeFileSync(
        path,
        `<<<<<<< HEAD\n${head}\n=======\nh1:x\n>>>>>>> other\n${rest.join("\n")}`,
      );
    },
    message: /git merge conflict markers/,
  },
  {
    name: "a header edited by hand",
    change: (dir) => {
      const path = sumPath(dir);
      writeFileSync(path, readFileSync(path, "utf8").replace(/^h1:./, "h1:#"));
    },
    message: /header hash is wrong/,
  },
];

for (const c of MISMATCHES) {
  Deno.test(`the sum check names ${c.name} and how to fix it`, async () => {
    const t = tempMigrations({ [A]: migrationText("SELECT 1;"), [B]: migrationText("SELECT 2;") });
    try {
      await writeSum(t.dir);
      c.change(t.dir);
      const problem = await sumProblem(t.dir);
      assert(problem !== null);
      assertEquals([problem.code, problem.exitCode], ["SUM_MISMATCH", 3]);
      assertMatch(problem.message, new RegExp(`^${sumPath(t.dir)} does not match the directory: `));
      assertMatch(problem.message, c.message);
      assertMatch(problem.hint!, /run 'data-bridge sum'/);
      await assertRejects<ValidationError>(() => checkSum(t.dir), (e) => {
        assertEquals(e.code, "SUM_MISMATCH");
      });
      await writeSum(t.dir);
      assertEquals(await sumProblem(t.dir), null);
    } finally {
      t.remove();
    }
  });
}

Deno.test("two branches that each add a migration conflict on the sum file in git", async () => {
  const t = tempMigrations({ [A]: migrationText("SELECT 1;") });
  try {
    await writeSum(t.dir);
    const base = readFileSync(sumPath(t.dir), "utf8");
    writeFileSync(join(t.dir, B), migrationText("SELECT 2;"));
    await writeSum(t.dir);
    const ours = readFileSync(sumPath(t.dir), "utf8");
    rmSync(join(t.dir, B));
    writeFileSync(join(t.dir, C), migrationText("SELECT 3;"));
    await writeSum(t.dir);
    const theirs = readFileSync(sumPath(t.dir), "utf8");
    const files = ["ours", "base", "theirs"].map((n) => join(t.root, n));
    [ours, base, theirs].forEach((text, i) => writeFileSync(files[i], text));
    const merge = spawnSync("git", ["merge-file", "-p", ...files], { encoding: "utf8" });
    assert((merge.status ?? 0) > 0, `git merge-file reports conflicts: ${merge.stdout}`);
    assertMatch(merge.stdout, /^<<<<<<< /m);
  } finally {
    t.remove();
  }
});
