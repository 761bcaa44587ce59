/**
 * Checksums of migration files: lowercase hex SHA-256 of the file's text
 * after dropping a UTF-8 byte order mark and turning CRLF and lone CR into
 * LF, so a Windows checkout of the same file has the same checksum.
 *
 * Hashing is synchronous (`sha256Hex` of lib/runtime.ts: `Bun.SHA256` on
 * Bun, `node:crypto` elsewhere): a few µs a file against 25-45 µs for Web
 * Crypto's asynchronous `crypto.subtle.digest` (measured on 1,000 migration
 * files; see bench/README.md), which adds up at 10,000 files.
 *
 * @module
 */
import { sha256Hex } from "./runtime.ts";

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
  return checksumNormalized(normalizeText(text));
}

/**
 * {@link checksumSync} of text already normalised by {@link normalizeText}:
 * hashed as it is (what every file of a run goes through once).
 *
 * @param text Text without a BOM or CR.
 * @returns The checksum.
 * @example
 * ```ts
 * import { checksumNormalized, checksumSync, normalizeText } from "./checksum.ts";
 * const text = normalizeText("-- UP\r\nSELECT 1;\r\n");
 * console.log(checksumNormalized(text) === checksumSync(text)); // true
 * ```
 */
export function checksumNormalized(text: string): string {
  return sha256Hex(text);
}

/**
 * {@link checksumSync} of a file's bytes, when they need no normalising (no
 * byte order mark, no CR): hashed as they are, without decoding and
 * encoding them again.
 *
 * @param bytes The file's UTF-8 content.
 * @returns The checksum, or `null` when the bytes hold a BOM or a CR (then
 *   use {@link checksumSync} on the decoded text).
 * @example
 * ```ts
 * import { checksumBytes, checksumSync } from "./checksum.ts";
 * const text = "-- UP\nSELECT 1;\n";
 * console.log(checksumBytes(new TextEncoder().encode(text)) === checksumSync(text)); // true
 * ```
 */
export function checksumBytes(bytes: Uint8Array): string | null {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return null;
  if (bytes.indexOf(13) !== -1) return null;
  return sha256Hex(bytes);
}
