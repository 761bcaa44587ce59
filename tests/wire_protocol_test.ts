/** The wire protocol's messages: what the client writes, how the server's stream is cut and read. */
import {
  encodeParam,
  MessageReader,
  MessageWriter,
  readColumns,
  readFields,
  readRow,
  serverError,
} from "../lib/wire_protocol.ts";
import { assert, assertEquals, assertThrows } from "./support/assert.ts";

const enc = new TextEncoder();

/** A backend message: type letter, length, body. */
function message(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + body.length);
  out[0] = type.charCodeAt(0);
  new DataView(out.buffer).setInt32(1, 4 + body.length);
  out.set(body, 5);
  return out;
}

function int32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, n);
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A DataRow body holding text values (null for SQL NULL). */
function dataRow(values: (string | null)[]): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array([0, values.length])];
  for (const v of values) {
    if (v === null) parts.push(int32(-1));
    else {
      const b = enc.encode(v);
      parts.push(int32(b.length), b);
    }
  }
  return concat(...parts);
}

Deno.test("the writer frames each message with its type and length, big-endian", () => {
  const w = new MessageWriter();
  w.query("SELECT 1");
  w.sync();
  const bytes = w.take();
  assertEquals([...bytes.subarray(0, 5)], [0x51, 0, 0, 0, 13]);
  assertEquals(new TextDecoder().decode(bytes.subarray(5, 14)), "SELECT 1\0");
  assertEquals([...bytes.subarray(14)], [0x53, 0, 0, 0, 4]);
  assertEquals(w.length, 0, "take() empties the writer");
});

Deno.test("the startup message carries protocol 3.0 and the parameters, ended by a NUL", () => {
  const w = new MessageWriter();
  w.startup({ user: "app", database: "prod" });
  const bytes = w.take();
  const view = new DataView(bytes.buffer);
  assertEquals(view.getInt32(0), bytes.length);
  assertEquals(view.getInt32(4), 196608);
  assertEquals(new TextDecoder().decode(bytes.subarray(8)), "user\0app\0database\0prod\0\0");
});

Deno.test("bind sends NULL as length -1 and text values with their UTF-8 length", () => {
  const w = new MessageWriter();
  w.bind("s1", [null, "é"]);
  const b = w.take();
  // 'B', length, portal "", statement "s1", 0 formats, 2 params
  assertEquals(b[0], 0x42);
  const body = b.subarray(5);
  assertEquals([...body.subarray(0, 4)], [0, 0x73, 0x31, 0]);
  const view = new DataView(body.buffer, body.byteOffset);
  assertEquals(view.getInt16(4), 0);
  assertEquals(view.getInt16(6), 2);
  assertEquals(view.getInt32(8), -1);
  assertEquals(view.getInt32(12), 2);
  assertEquals(new TextDecoder().decode(body.subarray(16, 18)), "é");
  assertEquals(view.getInt16(18), 0);
});

Deno.test("the writer grows past its first buffer for a large script", () => {
  const w = new MessageWriter();
  const sql = "SELECT '" + "x".repeat(100_000) + "'";
  w.query(sql);
  const bytes = w.take();
  assertEquals(bytes.length, 5 + sql.length + 1);
  assertEquals(new DataView(bytes.buffer).getInt32(1), 4 + sql.length + 1);
});

Deno.test("the reader yields each message once, however the stream is split", () => {
  const stream = concat(
    message("S", enc.encode("TimeZone\0UTC\0")),
    message("Z", enc.encode("I")),
    message("C", enc.encode("SELECT 1\0")),
  );
  for (let cut = 0; cut <= stream.length; cut++) {
    for (const step of [1, 3, 7]) {
      const reader = new MessageReader();
      const seen: string[] = [];
      const chunks = [stream.subarray(0, cut)];
      for (let i = cut; i < stream.length; i += step) chunks.push(stream.subarray(i, i + step));
      for (const chunk of chunks) {
        reader.push(chunk, (t, body) => seen.push(`${String.fromCharCode(t)}:${body.length}`));
      }
      assertEquals(seen, ["S:13", "Z:1", "C:9"], `cut ${cut}, step ${step}`);
    }
  }
});

Deno.test("the reader refuses a length below 4: the peer is not PostgreSQL", () => {
  const reader = new MessageReader();
  assertThrows(() => reader.push(new Uint8Array([0x5a, 0, 0, 0, 2]), () => {}));
});

Deno.test("error fields are read by their code letters", () => {
  const fields = readFields(
    enc.encode('SERROR\0VERROR\0C42P01\0Mrelation "x" does not exist\0P15\0\0'),
  );
  assertEquals(serverError(fields), {
    severity: "ERROR",
    code: "42P01",
    message: 'relation "x" does not exist',
    detail: undefined,
    hint: undefined,
    position: "15",
    where: undefined,
  });
});

const COLUMN_CASES: Array<[string, number, string | null, unknown]> = [
  ["bool true", 16, "t", true],
  ["bool false", 16, "f", false],
  ["int2", 21, "-7", -7],
  ["int4", 23, "42", 42],
  ["oid", 26, "4294967295", 4294967295],
  ["float8", 701, "1.5", 1.5],
  ["int8 stays text (exact)", 20, "9007199254740993", "9007199254740993"],
  ["numeric stays text", 1700, "1.10", "1.10"],
  ["text, non-ASCII", 25, "crème brûlée", "crème brûlée"],
  ["jsonb", 3802, '{"a":[1,2]}', { a: [1, 2] }],
  ["text array stays text", 1009, "{a,b}", "{a,b}"],
  ["NULL", 25, null, null],
];

Deno.test("row values are converted by column type as postgres.js does", async (t) => {
  for (const [name, type, text, expected] of COLUMN_CASES) {
    await t.step(name, () => {
      const row = readRow(dataRow([text]), { names: ["v"], types: [type] });
      assertEquals(row.v, expected);
    });
  }
});

Deno.test("timestamps with a zone are that instant; dates are UTC midnight", () => {
  const cols = { names: ["a", "b", "c", "d"], types: [1184, 1184, 1184, 1082] };
  const row = readRow(
    dataRow([
      "2026-12-01 19:59:09.60378+00",
      "2026-12-01 19:59:09+05:30",
      "2026-12-01 19:59:09-08",
      "2026-12-01",
    ]),
    cols,
  );
  assertEquals((row.a as Date).toISOString(), "2026-12-01T19:59:09.603Z");
  assertEquals((row.b as Date).toISOString(), "2026-12-01T14:29:09.000Z");
  assertEquals((row.c as Date).toISOString(), "2026-12-02T03:59:09.000Z");
  assertEquals((row.d as Date).toISOString(), "2026-12-01T00:00:00.000Z");
  const inf = readRow(dataRow(["infinity"]), { names: ["t"], types: [1184] });
  assert(Number.isNaN((inf.t as Date).getTime()));
});

Deno.test("a row mixing ASCII and UTF-8 values keeps every value whole", () => {
  const row = readRow(dataRow(["20250101_000001", "café ☕", "x"]), {
    names: ["version", "description", "checksum"],
    types: [1043, 25, 1043],
  });
  assertEquals(row, { version: "20250101_000001", description: "café ☕", checksum: "x" });
});

Deno.test("bytea in hex output is bytes", () => {
  const row = readRow(dataRow(["\\x00ff10"]), { names: ["b"], types: [17] });
  assertEquals([...(row.b as Uint8Array)], [0, 255, 16]);
});

Deno.test("a row description gives names and type OIDs", () => {
  const field = (name: string, type: number) =>
    concat(enc.encode(`${name}\0`), int32(0), new Uint8Array(2), int32(type), new Uint8Array(8));
  const body = concat(new Uint8Array([0, 2]), field("version", 1043), field("ms", 23));
  assertEquals(readColumns(body), { names: ["version", "ms"], types: [1043, 23] });
});

Deno.test("parameters become text: NULL, numbers, booleans, dates, bytes, JSON", () => {
  assertEquals(encodeParam(null), null);
  assertEquals(encodeParam(undefined), null);
  assertEquals(encodeParam("x"), "x");
  assertEquals(encodeParam(7), "7");
  assertEquals(encodeParam(7n), "7");
  assertEquals(encodeParam(false), "false");
  assertEquals(encodeParam(new Date(Date.UTC(2026, 0, 2))), "2026-01-02T00:00:00.000Z");
  assertEquals(encodeParam(new Uint8Array([0, 171])), "\\x00ab");
  assertEquals(encodeParam({ a: 1 }), '{"a":1}');
});
