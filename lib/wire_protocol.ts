/**
 * The PostgreSQL frontend/backend protocol (version 3.0), as far as
 * data-bridge speaks it: writing the messages a client sends, cutting the
 * server's byte stream into messages, and reading the fields of errors,
 * row descriptions and rows. Pure code, no I/O; lib/wire_driver.ts does the
 * talking.
 *
 * @module
 */

/** Message types the server sends (the first byte of each message). */
export const Backend = {
  Authentication: 0x52, // R
  BackendKeyData: 0x4b, // K
  BindComplete: 0x32, // 2
  CloseComplete: 0x33, // 3
  CommandComplete: 0x43, // C
  CopyData: 0x64, // d
  CopyDone: 0x63, // c
  CopyInResponse: 0x47, // G
  CopyOutResponse: 0x48, // H
  CopyBothResponse: 0x57, // W
  DataRow: 0x44, // D
  EmptyQueryResponse: 0x49, // I
  ErrorResponse: 0x45, // E
  NegotiateProtocolVersion: 0x76, // v
  NoData: 0x6e, // n
  NoticeResponse: 0x4e, // N
  NotificationResponse: 0x41, // A
  ParameterDescription: 0x74, // t
  ParameterStatus: 0x53, // S
  ParseComplete: 0x31, // 1
  PortalSuspended: 0x73, // s
  ReadyForQuery: 0x5a, // Z
  RowDescription: 0x54, // T
} as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });

/**
 * Builds client messages into one buffer, so that everything written in one
 * go leaves in one write.
 *
 * @example
 * ```ts
 * import { MessageWriter } from "./wire_protocol.ts";
 * const w = new MessageWriter();
 * w.parse("", "SELECT $1::int AS n");
 * w.bind("", ["7"]);
 * w.describePortal();
 * w.execute();
 * w.sync();
 * const bytes = w.take(); // ready for the socket
 * console.log(bytes[0] === 0x50); // true: 'P'
 * ```
 */
export class MessageWriter {
  #buf = new Uint8Array(4096);
  #view = new DataView(this.#buf.buffer);
  #len = 0;
  #start = 0;

  /** Bytes written and not yet taken. */
  get length(): number {
    return this.#len;
  }

  #ensure(more: number): void {
    const need = this.#len + more;
    if (need <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  #begin(type: number | null): void {
    this.#ensure(5);
    if (type !== null) this.#buf[this.#len++] = type;
    this.#start = this.#len;
    this.#len += 4;
  }

  #end(): void {
    this.#view.setInt32(this.#start, this.#len - this.#start);
  }

  #int16(n: number): void {
    this.#ensure(2);
    this.#view.setInt16(this.#len, n);
    this.#len += 2;
  }

  #int32(n: number): void {
    this.#ensure(4);
    this.#view.setInt32(this.#len, n);
    this.#len += 4;
  }

  #byte(n: number): void {
    this.#ensure(1);
    this.#buf[this.#len++] = n;
  }

  /** A string as UTF-8, without terminator. */
  #text(s: string): void {
    // UTF-8 takes at most three bytes per UTF-16 unit.
    this.#ensure(s.length * 3);
    this.#len += encoder.encodeInto(s, this.#buf.subarray(this.#len)).written;
  }

  /** A NUL-terminated string. */
  #cstring(s: string): void {
    this.#text(s);
    this.#byte(0);
  }

  #bytes(b: Uint8Array): void {
    this.#ensure(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }

  /**
   * StartupMessage: protocol 3.0 and the session's parameters.
   *
   * @param params `user`, `database` and any run-time parameters.
   */
  startup(params: Record<string, string>): void {
    this.#begin(null);
    this.#int32(196608);
    for (const [key, value] of Object.entries(params)) {
      this.#cstring(key);
      this.#cstring(value);
    }
    this.#byte(0);
    this.#end();
  }

  /**
   * CancelRequest for a running statement of another session.
   *
   * @param processId The session's backend process id.
   * @param secretKey Its secret key.
   */
  cancelRequest(processId: number, secretKey: number): void {
    this.#begin(null);
    this.#int32(80877102);
    this.#int32(processId);
    this.#int32(secretKey);
    this.#end();
  }

  /** SSLRequest: asks the server whether it will start TLS (it answers one byte, `S` or `N`). */
  sslRequest(): void {
    this.#begin(null);
    this.#int32(80877103);
    this.#end();
  }

  /**
   * PasswordMessage: a cleartext or MD5-hashed password.
   *
   * @param password What the server asked for.
   */
  password(password: string): void {
    this.#begin(0x70);
    this.#cstring(password);
    this.#end();
  }

  /**
   * SASLInitialResponse.
   *
   * @param mechanism E.g. `SCRAM-SHA-256`.
   * @param data The client-first message.
   */
  saslInitial(mechanism: string, data: string): void {
    const bytes = encoder.encode(data);
    this.#begin(0x70);
    this.#cstring(mechanism);
    this.#int32(bytes.length);
    this.#bytes(bytes);
    this.#end();
  }

  /**
   * SASLResponse.
   *
   * @param data The client-final message.
   */
  saslResponse(data: string): void {
    this.#begin(0x70);
    this.#text(data);
    this.#end();
  }

  /**
   * Query: a simple query, any number of statements.
   *
   * @param sql The text.
   */
  query(sql: string): void {
    this.#begin(0x51);
    this.#cstring(sql);
    this.#end();
  }

  /**
   * Parse: one statement, every parameter's type left to the server.
   *
   * @param name Prepared statement name (`""`: the unnamed one).
   * @param sql The statement.
   */
  parse(name: string, sql: string): void {
    this.#begin(0x50);
    this.#cstring(name);
    this.#cstring(sql);
    this.#int16(0);
    this.#end();
  }

  /**
   * Bind: the unnamed portal on a statement, parameters and results as text.
   *
   * @param statement Prepared statement name.
   * @param params Parameter values as text; `null` is SQL NULL.
   */
  bind(statement: string, params: readonly (string | null)[]): void {
    this.#begin(0x42);
    this.#byte(0);
    this.#cstring(statement);
    this.#int16(0);
    this.#int16(params.length);
    for (const p of params) {
      if (p === null) {
        this.#int32(-1);
        continue;
      }
      const at = this.#len;
      this.#int32(0);
      this.#text(p);
      this.#view.setInt32(at, this.#len - at - 4);
    }
    this.#int16(0);
    this.#end();
  }

  /** Describe of the unnamed portal: its row description. */
  describePortal(): void {
    this.#begin(0x44);
    this.#byte(0x50);
    this.#byte(0);
    this.#end();
  }

  /** Execute of the unnamed portal, all rows. */
  execute(): void {
    this.#begin(0x45);
    this.#byte(0);
    this.#int32(0);
    this.#end();
  }

  /** Sync: ends an extended-query batch; the server answers ReadyForQuery. */
  sync(): void {
    this.#begin(0x53);
    this.#end();
  }

  /**
   * CopyFail: refuses a COPY ... FROM STDIN the server started.
   *
   * @param reason Why, shown in the server's error.
   */
  copyFail(reason: string): void {
    this.#begin(0x66);
    this.#cstring(reason);
    this.#end();
  }

  /** Terminate: the session ends. */
  terminate(): void {
    this.#begin(0x58);
    this.#end();
  }

  /**
   * Bytes another writer wrote, as they are.
   *
   * @param bytes Whole messages.
   */
  append(bytes: Uint8Array): void {
    this.#ensure(bytes.length);
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
  }

  /**
   * A copy of some of the bytes written so far; the writer keeps them.
   *
   * @param start First offset.
   * @param end Offset after the last.
   * @returns The bytes.
   */
  peek(start: number, end: number): Uint8Array {
    return this.#buf.slice(start, Math.min(end, this.#len));
  }

  /**
   * Everything written so far, as a new array; the writer starts empty again.
   *
   * @returns The bytes.
   */
  take(): Uint8Array {
    const out = this.#buf.slice(0, this.#len);
    this.#len = 0;
    return out;
  }
}

/**
 * Cuts the server's byte stream into messages, however the chunks fall.
 *
 * @example
 * ```ts
 * import { MessageReader } from "./wire_protocol.ts";
 * const reader = new MessageReader();
 * const seen: number[] = [];
 * // ReadyForQuery ('Z', length 5, status 'I'), split across two chunks.
 * reader.push(new Uint8Array([0x5a, 0, 0]), (type) => seen.push(type));
 * reader.push(new Uint8Array([0, 5, 0x49]), (type) => seen.push(type));
 * console.log(seen); // [90]
 * ```
 */
export class MessageReader {
  #pending: Uint8Array | null = null;

  /**
   * Takes a chunk and calls `onMessage` for every message completed by it.
   * A message's body is only valid during its call.
   *
   * @param chunk Bytes from the socket.
   * @param onMessage Called with the type byte and the body.
   */
  push(chunk: Uint8Array, onMessage: (type: number, body: Uint8Array) => void): void {
    let data = chunk;
    if (this.#pending !== null) {
      const joined = new Uint8Array(this.#pending.length + chunk.length);
      joined.set(this.#pending);
      joined.set(chunk, this.#pending.length);
      data = joined;
      this.#pending = null;
    }
    let at = 0;
    while (data.length - at >= 5) {
      const length = ((data[at + 1] << 24) | (data[at + 2] << 16) | (data[at + 3] << 8) |
        data[at + 4]) >>> 0;
      if (length < 4) throw new ProtocolError(`message of length ${length}`);
      const end = at + 1 + length;
      if (end > data.length) break;
      onMessage(data[at], data.subarray(at + 5, end));
      at = end;
    }
    if (at < data.length) this.#pending = data.slice(at);
  }
}

/** The server sent something that is not the protocol. */
export class ProtocolError extends Error {
  /** Always `PROTOCOL`. */
  readonly code = "PROTOCOL";
  /**
   * @param message What was wrong.
   */
  constructor(message: string) {
    super(`PostgreSQL protocol error: ${message}`);
    this.name = "ProtocolError";
  }
}

/**
 * A string of `length` bytes of UTF-8 at `at`; ASCII without the decoder.
 *
 * @param bytes The message body.
 * @param at Offset.
 * @param length Byte length.
 * @returns The text.
 */
export function readText(bytes: Uint8Array, at: number, length: number): string {
  if (length <= 64) {
    let ascii = true;
    for (let i = at; i < at + length; i++) {
      if (bytes[i] > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      return String.fromCharCode.apply(null, bytes.subarray(at, at + length) as never);
    }
  }
  return decoder.decode(bytes.subarray(at, at + length));
}

/**
 * The fields of an ErrorResponse or NoticeResponse, by their code letter
 * (`S` severity, `V` severity not localised, `C` SQLSTATE, `M` message,
 * `D` detail, `H` hint, `P` position, ...).
 *
 * @param body The message body.
 * @returns Code letter to value.
 * @example
 * ```ts
 * import { readFields } from "./wire_protocol.ts";
 * const body = new TextEncoder().encode("SERROR\0C42P01\0Mno such table\0\0");
 * console.log(readFields(body).C); // "42P01"
 * ```
 */
export function readFields(body: Uint8Array): Record<string, string> {
  const fields: Record<string, string> = {};
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const code = String.fromCharCode(body[at]);
    const end = body.indexOf(0, at + 1);
    const stop = end === -1 ? body.length : end;
    fields[code] = decoder.decode(body.subarray(at + 1, stop));
    at = stop + 1;
  }
  return fields;
}

/**
 * A server error or notice in the shape client libraries give it (the
 * field names `lib/errors.ts` reads).
 *
 * @param fields From {@link readFields}.
 * @returns `severity`, `code`, `message`, `detail`, `hint`, `position`, ...
 * @example
 * ```ts
 * import { serverError } from "./wire_protocol.ts";
 * console.log(serverError({ V: "ERROR", C: "42601", M: "syntax error", P: "8" }).position); // "8"
 * ```
 */
export function serverError(fields: Record<string, string>): {
  severity: string;
  code: string;
  message: string;
  detail?: string;
  hint?: string;
  position?: string;
  where?: string;
} {
  return {
    severity: fields.V ?? fields.S ?? "ERROR",
    code: fields.C ?? "",
    message: fields.M ?? "",
    detail: fields.D,
    hint: fields.H,
    position: fields.P,
    where: fields.W,
  };
}

/** The columns of a result: names and type OIDs. */
export interface Columns {
  /** Column names. */
  names: string[];
  /** Type OIDs. */
  types: number[];
}

/**
 * Reads a RowDescription.
 *
 * @param body The message body.
 * @returns The columns.
 * @example
 * ```ts
 * import { readColumns } from "./wire_protocol.ts";
 * // One column "n" of type int4 (OID 23).
 * const body = new Uint8Array([0, 1, 0x6e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 23, 0, 4, 255, 255, 255, 255, 0, 0]);
 * console.log(readColumns(body)); // { names: ["n"], types: [23] }
 * ```
 */
export function readColumns(body: Uint8Array): Columns {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const count = view.getInt16(0);
  const names: string[] = [];
  const types: number[] = [];
  let at = 2;
  for (let i = 0; i < count; i++) {
    const end = body.indexOf(0, at);
    names.push(readText(body, at, end - at));
    at = end + 1;
    types.push(view.getUint32(at + 6));
    at += 18;
  }
  return { names, types };
}

/**
 * Reads a DataRow into an object, each value converted by its column's type
 * as postgres.js does by default: booleans, numbers (not int8 or numeric,
 * which stay strings), JSON, dates and timestamps, `bytea` as bytes;
 * everything else, arrays included, as text.
 *
 * @param body The message body.
 * @param columns The result's columns.
 * @returns Column name to value.
 * @example
 * ```ts
 * import { readRow } from "./wire_protocol.ts";
 * const body = new Uint8Array([0, 1, 0, 0, 0, 1, 0x37]);
 * console.log(readRow(body, { names: ["n"], types: [23] })); // { n: 7 }
 * ```
 */
export function readRow(body: Uint8Array, columns: Columns): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  // One native decode of the whole row; when it is ASCII (as history rows
  // are), each value is a substring at its byte offset.
  const whole = decoder.decode(body);
  const ascii = whole.length === body.length;
  const count = (body[0] << 8) | body[1];
  let at = 2;
  for (let i = 0; i < count; i++) {
    const length = (body[at] << 24) | (body[at + 1] << 16) | (body[at + 2] << 8) | body[at + 3];
    at += 4;
    if (length < 0) {
      row[columns.names[i]] = null;
      continue;
    }
    const type = columns.types[i];
    row[columns.names[i]] = type === 17
      ? decodeBytea(ascii ? whole.substring(at, at + length) : readText(body, at, length))
      : decodeValue(type, ascii ? whole.substring(at, at + length) : readText(body, at, length));
    at += length;
  }
  return row;
}

function decodeValue(type: number, text: string): unknown {
  switch (type) {
    case 16:
      return text === "t";
    case 21:
    case 23:
    case 26:
    case 700:
    case 701:
      return Number(text);
    case 114:
    case 3802:
      return JSON.parse(text);
    case 1082:
      return new Date(`${text}T00:00:00Z`);
    case 1114:
    case 1184:
      return parseTimestamp(text);
    default:
      return text;
  }
}

/**
 * A timestamp in PostgreSQL's ISO output (`2026-12-01 20:15:00.123456+00`)
 * as a Date: with a zone, that instant; without, local time (as
 * postgres.js). `infinity` and BC dates give an invalid Date.
 */
function parseTimestamp(text: string): Date {
  // ISO 8601 the Date parser reads: "T", and a zone offset with minutes.
  const zone = text.length - 3;
  const iso = text.charCodeAt(zone) === 43 || text.charCodeAt(zone) === 45 // + or -
    ? `${text.slice(0, 10)}T${text.slice(11)}:00`
    : `${text.slice(0, 10)}T${text.slice(11)}`;
  return new Date(iso);
}

function decodeBytea(text: string): Uint8Array {
  if (!text.startsWith("\\x")) return encoder.encode(text);
  const out = new Uint8Array((text.length - 2) / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(2 + i * 2, 2), 16);
  return out;
}

/**
 * A parameter value as the text PostgreSQL reads: `null`/`undefined` are
 * NULL, dates ISO 8601, bytes `\x` hex, objects JSON.
 *
 * @param value A JavaScript value.
 * @returns Its text, or `null` for SQL NULL.
 * @example
 * ```ts
 * import { encodeParam } from "./wire_protocol.ts";
 * console.log(encodeParam(7), encodeParam(null), encodeParam(true)); // "7" null "true"
 * ```
 */
export function encodeParam(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case "string":
      return value;
    case "number":
    case "bigint":
    case "boolean":
      return String(value);
  }
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) {
    let hex = "\\x";
    for (const b of value) hex += b.toString(16).padStart(2, "0");
    return hex;
  }
  return JSON.stringify(value);
}
