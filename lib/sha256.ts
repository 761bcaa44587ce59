/**
 * SHA-256 (FIPS 180-4) in TypeScript, synchronous: the checksum of each
 * migration file where the runtime has no synchronous SHA-256 of its own
 * without loading a module that costs more than the hashing. Deno's is
 * `node:crypto`, and the first `node:` module a Deno run imports loads its
 * whole Node layer (~25 ms); this takes 6-13 ms for 1000 small files from
 * cold and ~3 ms once V8 has compiled it (`node:crypto`: 3-4 ms, after the
 * layer). Web Crypto's digest is asynchronous (1000 at once: 17-21 ms).
 *
 * @module
 */

const K = new Uint32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);

/** The message schedule and the state, reused by every call (JavaScript runs one at a time). */
const W = new Uint32Array(64);
const H = new Uint32Array(8);
/**
 * The padded message: grown when a longer one comes, never shrunk. It and
 * the hex digits are made by the first call: this module loads wherever
 * the runtime module does, also where a native SHA-256 serves (Bun), and
 * the table's loop cost each start ~0.1 ms there.
 */
let padded = new Uint8Array(0);
const encoder = new TextEncoder();
const HEX: string[] = [];

/** A buffer of at least `size` bytes for the padded message. */
function room(size: number): Uint8Array {
  if (padded.length < size) padded = new Uint8Array(Math.max(size, 4096));
  return padded;
}

/**
 * SHA-256 as 64 lowercase hex characters. A string is hashed as its UTF-8
 * bytes (a lone surrogate as U+FFFD, as `TextEncoder` encodes it).
 *
 * @param data Text or bytes.
 * @returns The digest in hex.
 * @throws {RangeError} For input of 2^53 bits or more (never a file's).
 * @example
 * ```ts
 * import { sha256 } from "./sha256.ts";
 * console.log(sha256("abc").slice(0, 8)); // "ba7816bf"
 * ```
 */
export function sha256(data: string | Uint8Array): string {
  let length: number;
  if (typeof data === "string") {
    length = encoder.encodeInto(data, room(data.length * 3 + 72)).written;
  } else {
    room(data.length + 72).set(data);
    length = data.length;
  }
  const bits = length * 8;
  if (!Number.isSafeInteger(bits)) throw new RangeError("sha256: input too long");
  // The message, a 1 bit, zeros, and its length in bits (64 bits, big-endian).
  const total = ((length + 9 + 63) >> 6) << 6;
  padded[length] = 0x80;
  padded.fill(0, length + 1, total - 8);
  const high = Math.floor(bits / 0x100000000);
  padded[total - 8] = high >>> 24;
  padded[total - 7] = high >>> 16;
  padded[total - 6] = high >>> 8;
  padded[total - 5] = high;
  padded[total - 4] = bits >>> 24;
  padded[total - 3] = bits >>> 16;
  padded[total - 2] = bits >>> 8;
  padded[total - 1] = bits;
  H[0] = 0x6a09e667;
  H[1] = 0xbb67ae85;
  H[2] = 0x3c6ef372;
  H[3] = 0xa54ff53a;
  H[4] = 0x510e527f;
  H[5] = 0x9b05688c;
  H[6] = 0x1f83d9ab;
  H[7] = 0x5be0cd19;
  compress(padded, total);
  if (HEX.length === 0) {
    for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, "0"));
  }
  let hex = "";
  for (let i = 0; i < 8; i++) {
    const v = H[i];
    hex += HEX[v >>> 24] + HEX[(v >>> 16) & 255] + HEX[(v >>> 8) & 255] + HEX[v & 255];
  }
  return hex;
}

/** Runs the compression function over `length` bytes (whole 64-byte blocks) into H. */
function compress(bytes: Uint8Array, length: number): void {
  let h0 = H[0], h1 = H[1], h2 = H[2], h3 = H[3], h4 = H[4], h5 = H[5], h6 = H[6], h7 = H[7];
  for (let at = 0; at < length; at += 64) {
    for (let t = 0; t < 16; t++) {
      const j = at + t * 4;
      W[t] = (bytes[j] << 24) | (bytes[j + 1] << 16) | (bytes[j + 2] << 8) | bytes[j + 3];
    }
    for (let t = 16; t < 64; t++) {
      const x = W[t - 15], y = W[t - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      W[t] = (W[t - 16] + s0 + W[t - 7] + s1) | 0;
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    for (let t = 0; t < 64; t++) {
      const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + s1 + ((e & f) ^ (~e & g)) + K[t] + W[t]) | 0;
      const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
    h5 = (h5 + f) | 0;
    h6 = (h6 + g) | 0;
    h7 = (h7 + h) | 0;
  }
  H[0] = h0;
  H[1] = h1;
  H[2] = h2;
  H[3] = h3;
  H[4] = h4;
  H[5] = h5;
  H[6] = h6;
  H[7] = h7;
}
