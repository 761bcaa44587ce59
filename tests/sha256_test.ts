import { createHash } from "node:crypto";
import { sha256 } from "../lib/sha256.ts";
import { assertEquals } from "./support/assert.ts";
import { random } from "./support/random.ts";

Deno.test("sha256 gives the published test vectors", () => {
  const cases: [string, string][] = [
    ["", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
    ["abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
    [
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    ],
    [
      "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
    ],
    ["a".repeat(1_000_000), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"],
  ];
  for (const [text, digest] of cases) assertEquals(sha256(text), digest, text.slice(0, 20));
});

Deno.test("sha256 agrees with node:crypto on every length around the block boundaries, text and bytes", () => {
  const next = random(7);
  for (let length = 0; length <= 300; length++) {
    const bytes = new Uint8Array(length).map(() => next(256));
    assertEquals(
      sha256(bytes),
      createHash("sha256").update(bytes).digest("hex"),
      `${length} bytes`,
    );
  }
  // Text is hashed as UTF-8, non-ASCII and lone surrogates included.
  for (const text of ["é", "漢字 -- ;", "emoji 😀", "lone \uD800 surrogate", "\uFEFF-- UP\n"]) {
    assertEquals(sha256(text), createHash("sha256").update(text, "utf8").digest("hex"), text);
  }
  // A long input after short ones (the buffer grows), then a short one again.
  const long = "x".repeat(70_000);
  assertEquals(sha256(long), createHash("sha256").update(long).digest("hex"));
  assertEquals(sha256("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
});
