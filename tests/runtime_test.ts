import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nextTurn, openSocket, readTextFileSync } from "../lib/runtime.ts";
import { assert, assertEquals } from "./support/assert.ts";

/** Keeps the thread busy, as reading migration files does between turns. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

Deno.test("nextTurn lets a connection opened beside synchronous work open within a few turns", async () => {
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
    // Deno's setImmediate alone took ~20 such turns: the socket opened only
    // when the work was done.
    assert(open, "the socket never opened");
    assert(turns <= 8, `the socket opened after ${turns} turns of 1 ms of work`);
    (await socket).close();
    (await accepted).close();
  } finally {
    listener.close();
  }
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
