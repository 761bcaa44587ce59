import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  baseName,
  fileExists,
  holdBackJit,
  isDirectory,
  joinPath,
  longWork,
  nextTurn,
  openSocket,
  readDirectory,
  readTextFileSync,
} from "../lib/runtime.ts";
import { DEFAULTS, LONG_WORK_JIT_POLICY } from "../lib/config.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { random } from "./support/random.ts";

/** Keeps the thread busy, as reading migration files does between turns. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

Deno.test("nextTurn lets a connection opened beside synchronous work open within a few turns", async () => {
  // Turns until a socket opened beside 1 ms of work a turn is open. Deno's
  // scheduler polls sockets when it has nothing ready, or every 61 tasks: with
  // the machine busy, an odd trial takes that long, so the median of nine is
  // what is checked. Deno's setImmediate took ~58 turns in every trial.
  async function trial(): Promise<number> {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const accepted = listener.accept();
    try {
      let open = false;
      const socket = openSocket(
        { host: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port },
        { data() {}, closed() {} },
      );
      socket.then(() => (open = true), () => {});
      let turns = 0;
      while (!open && turns < 200) {
        busy(1);
        await nextTurn();
        turns++;
      }
      assert(open, "the socket never opened");
      (await socket).close();
      (await accepted).close();
      return turns;
    } finally {
      listener.close();
    }
  }
  const turns: number[] = [];
  for (let i = 0; i < 9; i++) turns.push(await trial());
  turns.sort((a, b) => a - b);
  assert(turns[4] <= 8, `the socket opened after ${turns.join(", ")} turns of 1 ms of work`);
});

Deno.test("readTextFileSync reads a file as node:fs does: a byte-order mark kept, bytes that are not UTF-8 replaced", () => {
  const dir = mkdtempSync(join(tmpdir(), "data-bridge-runtime-"));
  try {
    const cases: [string, Uint8Array][] = [
      ["plain", new TextEncoder().encode("-- UP\nSELECT 1;\n")],
      ["byte-order mark", new Uint8Array([0xef, 0xbb, 0xbf, 0x2d, 0x2d, 0x0a])],
      ["not UTF-8", new Uint8Array([0x61, 0xff, 0xfe, 0x62, 0xc3])],
      ["non-ASCII", new TextEncoder().encode("-- UP\nSELECT 'é ü 漢';\n")],
      ["empty", new Uint8Array(0)],
    ];
    for (const [name, bytes] of cases) {
      const file = join(dir, `${name}.sql`);
      writeFileSync(file, bytes);
      assertEquals(readTextFileSync(file), readFileSync(file, "utf8"), name);
    }
    assertEquals(readTextFileSync(join(dir, "byte-order mark.sql")).charCodeAt(0), 0xfeff);
    let code = "";
    try {
      readTextFileSync(join(dir, "missing.sql"));
    } catch (error) {
      code = error instanceof Error ? error.name : "thrown";
    }
    assert(code !== "", "a missing file was read");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("joinPath joins and normalizes as node:path does", async () => {
  const { posix } = await import("node:path");
  const cases: string[][] = [
    ["migrations", "a.sql"],
    ["./migrations/", "a.sql"],
    ["migrations//sub/", "x"],
    ["/abs/dir", "x"],
    ["/", "x"],
    ["a/../..", "x"],
    ["../up", "x"],
    ["a/./b/../c", "d.sql"],
    ["", "x"],
    ["", ""],
    ["."],
    ["./"],
    ["a", "b/"],
    ["a/.."],
    ["a/../"],
    ["/.."],
    ["//x//", "..", "y"],
    ["dir with space", "ü.sql"],
  ];
  for (const parts of cases) {
    assertEquals(joinPath(...parts), posix.join(...parts), parts.join(" | "));
  }
  // Generated: segments of names, dots and separators.
  const pieces = ["a", "b", ".", "..", "", "/", "c/", "/d", "./", "../"];
  const next = random(3);
  for (let i = 0; i < 3000; i++) {
    const parts = Array.from({ length: 1 + next(4) }, () => {
      let part = "";
      for (let j = next(4); j >= 0; j--) part += pieces[next(pieces.length)];
      return part;
    });
    assertEquals(joinPath(...parts), posix.join(...parts), JSON.stringify(parts));
  }
});

Deno.test("the directory listing, existence and directory checks agree with node:fs, errors included", async () => {
  const fs = await import("node:fs");
  const dir = mkdtempSync(join(tmpdir(), "data-bridge-runtime-"));
  try {
    writeFileSync(join(dir, "a.sql"), "-- UP\n");
    fs.mkdirSync(join(dir, "sub"));
    fs.symlinkSync(join(dir, "a.sql"), join(dir, "link.sql"));
    fs.symlinkSync(join(dir, "nothing"), join(dir, "broken.sql"));
    const types = (entries: { name: string; isFile(): boolean }[]) =>
      entries.map((e) => `${e.name}:${e.isFile()}`).sort();
    assertEquals(
      types(readDirectory(dir)),
      types(fs.readdirSync(dir, { withFileTypes: true })),
    );
    for (const name of ["a.sql", "sub", "link.sql", "broken.sql", "missing"]) {
      const path = join(dir, name);
      assertEquals(fileExists(path), fs.existsSync(path), name);
    }
    assertEquals(isDirectory(dir), true);
    assertEquals(isDirectory(join(dir, "a.sql")), false);
    const codeOf = (fn: () => unknown) => {
      try {
        fn();
        return "none";
      } catch (error) {
        return `${(error as { code?: string }).code}: ${(error as Error).message}`;
      }
    };
    for (const path of [join(dir, "missing"), join(dir, "a.sql", "x")]) {
      assertEquals(codeOf(() => isDirectory(path)), codeOf(() => fs.statSync(path)), path);
      assertEquals(
        codeOf(() => readDirectory(path)),
        codeOf(() => fs.readdirSync(path, { withFileTypes: true })),
        path,
      );
      assertEquals(
        codeOf(() => readTextFileSync(path)),
        codeOf(() => fs.readFileSync(path, "utf8")),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("baseName gives node:path's basename", async () => {
  const { posix } = await import("node:path");
  for (
    const path of [
      "a.sql",
      "m/a.sql",
      "/abs/m/a.sql",
      "m/sub/",
      "m//",
      "/",
      "",
      ".",
      "..",
      "a/..",
      "//x",
    ]
  ) {
    assertEquals(baseName(path), posix.basename(path), JSON.stringify(path));
  }
});

Deno.test("cli.ts and mod.ts import no node: module before they run (on Deno the first starts the Node layer)", async () => {
  const root = new URL("../", import.meta.url);
  for (const entry of ["cli.ts", "mod.ts"]) {
    const info = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", new URL(entry, root).pathname],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(info.success, new TextDecoder().decode(info.stderr));
    const graph = JSON.parse(new TextDecoder().decode(info.stdout)) as {
      roots: string[];
      modules: {
        specifier: string;
        dependencies?: { specifier: string; isDynamic?: boolean; code?: { specifier: string } }[];
      }[];
    };
    const modules = new Map(graph.modules.map((m) => [m.specifier, m]));
    const seen = new Set<string>();
    const found: string[] = [];
    const walk = (specifier: string) => {
      if (seen.has(specifier)) return;
      seen.add(specifier);
      for (const dep of modules.get(specifier)?.dependencies ?? []) {
        // Dynamic imports run when used; type-only ones have no `code`.
        const code = dep.isDynamic ? undefined : dep.code?.specifier;
        if (code === undefined) continue;
        if (code.startsWith("node:")) found.push(`${specifier.slice(root.href.length)} -> ${code}`);
        else walk(code);
      }
    };
    walk(graph.roots[0]);
    assert(seen.size > 20, `${entry}: the graph has only ${seen.size} modules`);
    assertEquals(found, [], entry);
  }
});

Deno.test("longWork lets the JITs work past longWorkChars, with their own thresholds past fullJitChars, and holds them back at its end", () => {
  // The policies Bun would be given, recorded by a stand-in for its API
  // (the tests run on Deno, which has none).
  const g = globalThis as { Bun?: unknown };
  const policies: number[] = [];
  g.Bun = { unsafe: { setJITPolicy: (scale: number) => policies.push(scale) } };
  try {
    const counted = longWork();
    counted.add(DEFAULTS.longWorkChars * 10);
    counted.end();
    assertEquals(policies, [], "nothing is changed before holdBackJit");
    holdBackJit(1_000_000);
    const work = longWork();
    work.add(DEFAULTS.longWorkChars);
    assertEquals(policies, [1_000_000], "not past longWorkChars yet");
    work.add(1);
    work.add(DEFAULTS.longWorkFileChars);
    assertEquals(policies, [1_000_000, LONG_WORK_JIT_POLICY]);
    work.add(DEFAULTS.fullJitChars);
    work.add(1);
    work.end();
    work.end();
    assertEquals(policies, [1_000_000, LONG_WORK_JIT_POLICY, 1, 1_000_000]);
    longWork().end();
    assertEquals(policies.length, 4, "work that never got long changes nothing");
  } finally {
    delete g.Bun;
  }
});
