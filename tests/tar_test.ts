import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { readTar, type TarFile, writeTar } from "../lib/tar.ts";
import { REPO_ROOT } from "../scripts/tools.ts";
import { assertEquals, assertMatch, assertThrows } from "./support/assert.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (file: TarFile) => new TextDecoder().decode(file.data);
const long = `${"d".repeat(60)}/${"e".repeat(60)}/${"f".repeat(90)}.sql`;

/** Runs the system's tar in `dir`; returns its stdout. */
function tar(dir: string, args: string[]): Buffer {
  const run = spawnSync("tar", args, { cwd: dir });
  if (run.status !== 0) throw new Error(`tar ${args.join(" ")}: ${run.stderr}`);
  return run.stdout;
}

/** A folder with `files` written into it, removed after `fn`. */
function withFolder<T>(files: Record<string, string>, fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "db-tar-"));
  try {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const CASES: { name: string; files: TarFile[] }[] = [
  { name: "one small file", files: [{ path: "a.txt", data: bytes("hello\n") }] },
  { name: "an empty file", files: [{ path: "empty", data: new Uint8Array(0) }] },
  {
    name: "a file of exactly one block",
    files: [{ path: "b", data: new Uint8Array(512).fill(7) }],
  },
  {
    name: "binary data over several blocks",
    files: [{ path: "lib/x.so", data: Uint8Array.from({ length: 1300 }, (_, i) => i % 256) }],
  },
  { name: "a path of 100 bytes", files: [{ path: "p".repeat(100), data: bytes("x") }] },
  { name: "a path split into ustar's prefix", files: [{ path: long, data: bytes("long") }] },
  {
    name: "several files in nested folders",
    files: [
      { path: "share/postgresql/extension/x.control", data: bytes("comment = 'x'\n") },
      { path: "share/postgresql/extension/x--1.0.sql", data: bytes("SELECT 1;\n") },
      { path: "lib/postgresql/x.so", data: new Uint8Array([0, 97, 115, 109]) },
    ],
  },
];

for (const c of CASES) {
  Deno.test(`writeTar then readTar gives back ${c.name}`, () => {
    assertEquals(readTar(writeTar(c.files)), c.files);
  });
}

Deno.test("the system's tar reads what writeTar writes", () => {
  const files = CASES.flatMap((c) => c.files);
  withFolder({}, (dir) => {
    writeFileSync(join(dir, "x.tar"), writeTar(files));
    const listed = tar(dir, ["-tf", "x.tar"]).toString().trim().split("\n");
    assertEquals(listed, files.map((f) => f.path));
    tar(dir, ["-xf", "x.tar", long]);
    assertEquals(readFileSync(join(dir, long), "utf8"), "long");
  });
});

for (const format of ["ustar", "gnu", "pax"]) {
  Deno.test(`readTar reads the system tar's ${format} archives, long names included`, () => {
    const files = { "a/one.txt": "1\n", [long]: "long\n", "a/b/empty": "" };
    withFolder(files, (dir) => {
      const archive = tar(dir, [`--format=${format}`, "-cf", "-", "a", long.split("/")[0]]);
      const read = readTar(archive);
      assertEquals(
        Object.fromEntries(read.map((f) => [f.path, text(f)])),
        files,
      );
    });
  });
}

Deno.test("readTar reads archives written one after the other as one", () => {
  const a = writeTar([{ path: "a", data: bytes("1") }]);
  const b = writeTar([{ path: "b", data: bytes("2") }]);
  const both = new Uint8Array(a.length + b.length);
  both.set(a);
  both.set(b, a.length);
  assertEquals(readTar(both).map((f) => [f.path, text(f)]), [["a", "1"], ["b", "2"]]);
});

Deno.test("readTar refuses a damaged header, a truncated entry and a link", () => {
  const archive = writeTar([{ path: "a.txt", data: bytes("x".repeat(600)) }]);
  const damaged = archive.slice();
  damaged[3] ^= 1;
  assertMatch(assertThrows<Error>(() => readTar(damaged)).message, /bad header checksum at byte 0/);
  assertMatch(
    assertThrows<Error>(() => readTar(archive.subarray(0, 1024))).message,
    /truncated/,
  );
  withFolder({ "target.txt": "t" }, (dir) => {
    symlinkSync("target.txt", join(dir, "link"));
    const linked = tar(dir, ["-cf", "-", "link"]);
    assertMatch(
      assertThrows<Error>(() => readTar(linked)).message,
      /holds link, which is not a regular file \(type 2\)/,
    );
  });
});

Deno.test("readTar lists what the system's tar lists in PGlite's contrib tarballs", () => {
  const dist = join(REPO_ROOT, "node_modules", "@electric-sql", "pglite", "dist");
  for (const name of ["citext.tar.gz", "pgcrypto.tar.gz", "uuid-ossp.tar.gz"]) {
    const listed = tar(dist, ["-tzf", name]).toString().trim().split("\n")
      .filter((path) => !path.endsWith("/"));
    const read = readTar(gunzipSync(readFileSync(join(dist, name))));
    assertEquals(read.map((f) => f.path), listed);
    const sizes = tar(dist, ["-tvzf", name]).toString().trim().split("\n")
      .filter((line) => line.startsWith("-"))
      .map((line) => Number(line.split(/\s+/)[2]));
    assertEquals(read.map((f) => f.data.length), sizes);
  }
});
