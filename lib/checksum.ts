/**
 * Checksums of migration files: lowercase hex SHA-256 of the file's text
 * after dropping a UTF-8 byte order mark and turning CRLF and lone CR into
 * LF, so a Windows checkout of the same file has the same checksum.
 *
 * @module
 */

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

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

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
export async function checksum(text: string): Promise<string> {
  const bytes = new TextEncoder().encode(normalizeText(text));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  let out = "";
  for (const byte of digest) out += HEX[byte];
  return out;
}
