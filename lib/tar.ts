/**
 * Tar archives in memory: the regular files of a POSIX (ustar) or GNU tar
 * archive, read and written. The embedded database's contrib extensions
 * arrive as one (see `lib/pglite_contrib.ts`); directories are implied by the
 * files' paths, and links, devices and owners are not kept.
 *
 * @module
 */

/** A regular file of an archive. */
export interface TarFile {
  /** Path inside the archive, `/`-separated, without a leading `/`. */
  path: string;
  /** The file's bytes. */
  data: Uint8Array;
}

const BLOCK = 512;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * The regular files of an uncompressed tar archive, in archive order.
 * Directory entries are skipped; GNU long names (`L`) and pax `path`
 * records (`x`) are honoured; an archive may hold several end markers (tar
 * files concatenated).
 *
 * @param archive The archive's bytes.
 * @returns Its regular files.
 * @throws {Error} When a header's checksum is wrong or an entry runs past the
 *   end (a damaged or truncated archive), or an entry is a link or device.
 * @example
 * ```ts
 * import { readTar, writeTar } from "./tar.ts";
 * const data = new TextEncoder().encode("hello\n");
 * const [file] = readTar(writeTar([{ path: "a/b.txt", data }]));
 * console.log(file.path); // "a/b.txt"
 * ```
 */
export function readTar(archive: Uint8Array): TarFile[] {
  const files: TarFile[] = [];
  let longName: string | null = null;
  for (let at = 0; at + BLOCK <= archive.length;) {
    const header = archive.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) {
      at += BLOCK;
      continue;
    }
    if (checksum(header) !== octal(header, 148, 8)) {
      throw new Error(`tar archive damaged: bad header checksum at byte ${at}`);
    }
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156] || 48);
    const start = at + BLOCK;
    const end = start + size;
    if (end > archive.length) throw new Error(`tar archive truncated at byte ${archive.length}`);
    const body = archive.subarray(start, end);
    at = start + Math.ceil(size / BLOCK) * BLOCK;
    if (type === "L") {
      longName = text(body, 0, body.length);
      continue;
    }
    if (type === "x") {
      longName = paxPath(body) ?? longName;
      continue;
    }
    const path = longName ?? headerPath(header);
    longName = null;
    if (type === "5" || type === "g") continue;
    if (type !== "0" && type !== "7") {
      throw new Error(`tar archive holds ${path}, which is not a regular file (type ${type})`);
    }
    files.push({ path: path.replace(/^\.?\/+/, ""), data: body.slice() });
  }
  return files;
}

/**
 * A ustar archive of `files` (mode 0644, owner 0, time 0), ending in the two
 * zero blocks tar expects.
 *
 * @param files Regular files; a path may be up to 255 bytes when it splits
 *   at a `/` into at most 155 and 100.
 * @returns The archive's bytes.
 * @throws {Error} When a path cannot be stored in a ustar header.
 * @example
 * ```ts
 * import { writeTar } from "./tar.ts";
 * const archive = writeTar([{ path: "x.txt", data: new Uint8Array(3) }]);
 * console.log(archive.length); // 2048: a header, one block of data, two end blocks
 * ```
 */
export function writeTar(files: readonly TarFile[]): Uint8Array<ArrayBuffer> {
  let total = 2 * BLOCK;
  for (const file of files) total += BLOCK + Math.ceil(file.data.length / BLOCK) * BLOCK;
  const out = new Uint8Array(total);
  let at = 0;
  for (const file of files) {
    const [prefix, name] = splitPath(file.path);
    const header = out.subarray(at, at + BLOCK);
    header.set(encoder.encode(name), 0);
    header.set(encoder.encode("0000644\0"), 100);
    header.set(encoder.encode("0000000\0"), 108);
    header.set(encoder.encode("0000000\0"), 116);
    header.set(encoder.encode(`${file.data.length.toString(8).padStart(11, "0")}\0`), 124);
    header.set(encoder.encode("00000000000\0"), 136);
    header[156] = 48; // "0": a regular file
    header.set(encoder.encode("ustar\u000000"), 257);
    header.set(encoder.encode(prefix), 345);
    header.set(encoder.encode(`${checksum(header).toString(8).padStart(6, "0")}\0 `), 148);
    out.set(file.data, at + BLOCK);
    at += BLOCK + Math.ceil(file.data.length / BLOCK) * BLOCK;
  }
  return out;
}

/** The header's sum with its checksum field read as blanks. */
function checksum(header: Uint8Array): number {
  let sum = 8 * 32;
  for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += header[i];
  return sum;
}

function octal(header: Uint8Array, offset: number, length: number): number {
  const digits = text(header, offset, length).trim();
  return digits === "" ? 0 : Number.parseInt(digits, 8);
}

function text(bytes: Uint8Array, offset: number, length: number): string {
  const field = bytes.subarray(offset, offset + length);
  const nul = field.indexOf(0);
  return decoder.decode(nul === -1 ? field : field.subarray(0, nul));
}

function headerPath(header: Uint8Array): string {
  const name = text(header, 0, 100);
  // The prefix field is ustar's ("ustar\0"); GNU tar ("ustar  ") uses those bytes otherwise.
  const ustar = text(header, 257, 6) === "ustar" && header[262] === 0;
  const prefix = ustar ? text(header, 345, 155) : "";
  return prefix ? `${prefix}/${name}` : name;
}

/** The `path` record of a pax extended header (`LEN path=VALUE\n`, LEN in bytes). */
function paxPath(body: Uint8Array): string | null {
  for (let at = 0; at < body.length;) {
    const space = body.indexOf(32, at);
    const length = space === -1 ? NaN : Number.parseInt(text(body, at, space - at), 10);
    if (!(length > space - at)) break;
    const record = text(body, space + 1, at + length - 1 - (space + 1));
    if (record.startsWith("path=")) return record.slice(5);
    at += length;
  }
  return null;
}

function splitPath(path: string): [string, string] {
  const bytes = encoder.encode(path).length;
  if (bytes <= 100) return ["", path];
  for (let cut = path.indexOf("/"); cut !== -1; cut = path.indexOf("/", cut + 1)) {
    const prefix = path.slice(0, cut);
    if (encoder.encode(prefix).length <= 155 && bytes - cut - 1 <= 100) {
      return [prefix, path.slice(cut + 1)];
    }
  }
  throw new Error(`tar path too long for a ustar header: ${path}`);
}
