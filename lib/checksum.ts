/**
 * Checksums of migration files: lowercase hex SHA-256 of the file's text
 * after dropping a UTF-8 byte order mark and turning CRLF and lone CR into
 * LF, so a Windows checkout of the same file has the same checksum.
 *
 * Hashing is `node:crypto`'s `createHash`, present in Deno, Bun and Node:
 * about 5-9 µs a file against 25-45 µs for Web Crypto's asynchronous
 * `crypto.subtle.digest` (measured on 1,000 migration files; see
 * bench/README.md), which adds up at 10,000 files.
 *
 * @module
 */
import { createHash } from "node:crypto";

/**
 * Normalises a migration file's text the way checksums see it: no leading
 * byte order mark, every line ending a single LF.
 *
 * @param text Decoded file content.
 * @returns The normalised text.
 * @example
 * ```ts
 * import { normalizeText } from "./checksum.ts";
 * console.log(normalizeText("\uFEFFa\r\nb\rc") === "a\nb\nc"); // true
 * ```
 */
export function normalizeText(text: string): string {
  const noBom = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  return noBom.includes("\r") ? noBom.replace(/\r\n?/g, "\n") : noBom;
}

/**
 * SHA-256 of text, as 64 lowercase hex characters, after
 * {@link normalizeText}.
 *
 * @param text File content (a BOM and CR line endings are ignored).
 * @returns The checksum.
 * @example
 * ```ts
 * import { checksum } from "./checksum.ts";
 * const unix = await checksum("-- UP\nSELECT 1;\n");
 * const windows = await checksum("-- UP\r\nSELECT 1;\r\n");
 * console.log(unix === windows, unix.length); // true 64
 * ```
 */
export function checksum(text: string): Promise<string> {
  return Promise.resolve(checksumSync(text));
}

/**
 * {@link checksum}, synchronously.
 *
 * @param text File content (a BOM and CR line endings are ignored).
 * @returns The checksum.
 * @example
 * ```ts
 * import { checksumSync } from "./checksum.ts";
 * console.log(checksumSync("-- UP\nSELECT 1;\n") === checksumSync("-- UP\r\nSELECT 1;\r\n")); // true
 * ```
 */
export function checksumSync(text: string): string {
  return createHash("sha256").update(normalizeText(text), "utf8").digest("hex");
}
