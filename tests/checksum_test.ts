import { checksum, normalizeText } from "../lib/checksum.ts";
import { assertEquals, assertMatch } from "./support/assert.ts";

Deno.test("checksum is lowercase hex SHA-256 of the text", async () => {
  // SHA-256("abc"), a published test vector.
  assertEquals(
    await checksum("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assertMatch(await checksum("-- UP\nSELECT 1;\n-- DOWN\n"), /^[0-9a-f]{64}$/);
});

Deno.test("checksum ignores CRLF, lone CR and a UTF-8 BOM", async () => {
  const unix = await checksum("-- UP\nSELECT 1;\n-- DOWN\nSELECT 2;\n");
  assertEquals(await checksum("-- UP\r\nSELECT 1;\r\n-- DOWN\r\nSELECT 2;\r\n"), unix);
  assertEquals(await checksum("-- UP\rSELECT 1;\r-- DOWN\rSELECT 2;\r"), unix);
  assertEquals(await checksum("\uFEFF-- UP\nSELECT 1;\n-- DOWN\nSELECT 2;\n"), unix);
});

Deno.test("checksum changes when the content changes", async () => {
  assertEquals(
    (await checksum("SELECT 1;")) === (await checksum("SELECT 2;")),
    false,
  );
  // A BOM in the middle of a file is content, not a marker.
  assertEquals(normalizeText("a\uFEFFb"), "a\uFEFFb");
});
