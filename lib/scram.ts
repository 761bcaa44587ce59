/**
 * Password authentication for the wire client: SCRAM-SHA-256 (RFC 5802 and
 * RFC 7677, without channel binding) on Web Crypto, and PostgreSQL's older
 * MD5 scheme.
 *
 * @module
 */
import { builtin, hmacSha256Now, sha256Now } from "./runtime.ts";

/** A SCRAM exchange in progress. */
export interface ScramState {
  /** The client's nonce. */
  nonce: string;
  /** client-first-message-bare. */
  clientFirstBare: string;
}

/** The client's first SCRAM message and the state to keep for the rest. */
export interface ScramFirst {
  /** client-first-message, sent in SASLInitialResponse. */
  message: string;
  /** What the next steps need. */
  state: ScramState;
}

/**
 * Starts a SCRAM-SHA-256 exchange. The user name is left to the startup
 * message: PostgreSQL ignores SCRAM's, so it is empty, as libpq sends it.
 *
 * @param nonce The client nonce; random when not given (tests pass one).
 * @param user SCRAM's user name (default empty; tests pass RFC 7677's).
 * @returns The first message and the state.
 * @example
 * ```ts
 * import { scramStart } from "./scram.ts";
 * const first = scramStart("rOprNGfwEbeRWgbNEkqO");
 * console.log(first.message); // "n,,n=,r=rOprNGfwEbeRWgbNEkqO"
 * ```
 */
export function scramStart(
  nonce: string = toBase64(crypto.getRandomValues(new Uint8Array(18))),
  user = "",
): ScramFirst {
  const clientFirstBare = `n=${user.replaceAll("=", "=3D").replaceAll(",", "=2C")},r=${nonce}`;
  return { message: `n,,${clientFirstBare}`, state: { nonce, clientFirstBare } };
}

/** The client's final SCRAM message and the server signature to expect. */
export interface ScramFinal {
  /** client-final-message, sent in SASLResponse. */
  message: string;
  /** The `v=` the server must answer with, base64. */
  serverSignature: string;
}

/**
 * Answers the server's first SCRAM message.
 *
 * @param state From {@link scramStart}.
 * @param serverFirst The server-first-message (`r=...,s=...,i=...`).
 * @param password The password.
 * @returns The final message and the expected server signature.
 * @throws {Error} When the server's message is malformed or its nonce does
 *   not extend the client's.
 * @example
 * ```ts
 * import { scramContinue, scramStart } from "./scram.ts";
 * const { state } = scramStart("abc");
 * const final = await scramContinue(state, "r=abcdef,s=c2FsdA==,i=4096", "secret");
 * console.log(final.message.startsWith("c=biws,r=abcdef,p=")); // true
 * ```
 */
export async function scramContinue(
  state: ScramState,
  serverFirst: string,
  password: string,
): Promise<ScramFinal> {
  const attrs = new Map<string, string>();
  for (const part of serverFirst.split(",")) attrs.set(part.slice(0, 1), part.slice(2));
  const nonce = attrs.get("r");
  const salt = attrs.get("s");
  const iterations = Number(attrs.get("i"));
  if (!nonce || !salt || !Number.isInteger(iterations) || iterations < 1) {
    throw new Error("malformed SCRAM server-first-message");
  }
  if (!nonce.startsWith(state.nonce)) throw new Error("the server's SCRAM nonce is not ours");
  const subtle = crypto.subtle;
  const passwordKey = await subtle.importKey(
    "raw",
    encoder.encode(saslPrep(password)),
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  const salted = new Uint8Array(
    await subtle.deriveBits(
      { name: "PBKDF2", hash: "SHA-256", salt: fromBase64(salt), iterations },
      passwordKey,
      256,
    ),
  );
  const clientKey = await hmac(salted, "Client Key");
  const storedKey = sha256Now(clientKey) ??
    new Uint8Array(await subtle.digest("SHA-256", clientKey as Uint8Array<ArrayBuffer>));
  const withoutProof = `c=biws,r=${nonce}`;
  const authMessage = `${state.clientFirstBare},${serverFirst},${withoutProof}`;
  const signature = await hmac(storedKey, authMessage);
  const proof = new Uint8Array(clientKey.length);
  for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i] ^ signature[i];
  const serverKey = await hmac(salted, "Server Key");
  return {
    message: `${withoutProof},p=${toBase64(proof)}`,
    serverSignature: toBase64(await hmac(serverKey, authMessage)),
  };
}

/**
 * Whether the server's final SCRAM message proves it knows the password.
 *
 * @param expected {@link ScramFinal.serverSignature}.
 * @param serverFinal The server-final-message (`v=...`).
 * @returns `true` when the signatures match.
 * @example
 * ```ts
 * import { scramVerify } from "./scram.ts";
 * console.log(scramVerify("c2ln", "v=c2ln")); // true
 * ```
 */
export function scramVerify(expected: string, serverFinal: string): boolean {
  const got = /(?:^|,)v=([^,]*)/.exec(serverFinal)?.[1];
  if (got === undefined || got.length !== expected.length) return false;
  let diff = 0;
  for (let i = 0; i < got.length; i++) diff |= got.charCodeAt(i) ^ expected.charCodeAt(i);
  return diff === 0;
}

/**
 * PostgreSQL's MD5 password answer: `md5` + md5(md5(password + user) + salt).
 *
 * @param user The user name.
 * @param password The password.
 * @param salt The four bytes the server sent.
 * @returns The answer.
 * @example
 * ```ts
 * import { md5Password } from "./scram.ts";
 * console.log(md5Password("u", "p", new Uint8Array([1, 2, 3, 4])).length); // 35
 * ```
 */
export function md5Password(user: string, password: string, salt: Uint8Array): string {
  const { createHash } = builtin<typeof import("node:crypto")>("node:crypto");
  const inner = createHash("md5").update(password + user).digest("hex");
  return "md5" + createHash("md5").update(inner).update(salt).digest("hex");
}

const encoder = new TextEncoder();

async function hmac(key: Uint8Array, text: string): Promise<Uint8Array> {
  const now = hmacSha256Now(key, text);
  if (now) return now;
  const k = await crypto.subtle.importKey(
    "raw",
    key as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, encoder.encode(text)));
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/**
 * SASLprep (RFC 4013) as PostgreSQL applies it to passwords, for the common
 * cases: non-ASCII spaces become spaces, characters mapped to nothing are
 * dropped, then NFKC. ASCII passwords are unchanged.
 */
function saslPrep(password: string): string {
  // deno-lint-ignore no-control-regex
  if (/^[\x00-\x7f]*$/.test(password)) return password;
  return password
    .replace(/[\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000]/g, " ")
    .replace(/[\u00ad\u034f\u1806\u180b-\u180d\u200c\u200d\u2060\ufe00-\ufe0f\ufeff]/g, "")
    .normalize("NFKC");
}
