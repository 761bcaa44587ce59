/**
 * The driver for PostgreSQL servers on data-bridge's own wire client: one
 * connection on the runtime's native sockets, startup and password
 * authentication (SCRAM-SHA-256, MD5, cleartext), simple and extended
 * queries pipelined on it, and cancel requests. It makes the plain TCP and
 * Unix-socket connections; postgres.js makes the TLS ones (see
 * lib/connect.ts).
 *
 * @module
 */
import { DEFAULTS } from "./config.ts";
import { type ConnInfo, readPem, readRootCert } from "./conninfo.ts";
import { passwordFromFile } from "./pgpass.ts";
import {
  lostError,
  type SessionState,
  transientConnectError,
  translateDriverError,
  waitingNotice,
} from "./connection_errors.ts";
import {
  advisoryUnlock,
  atomicOnServer,
  type Driver,
  type DriverOptions,
  keepAdvisoryLock,
  type Queryable,
  type QueryOptions,
  type Row,
  runTransaction,
  type TransactionStatement,
  tryAdvisoryLock,
} from "./driver.ts";
import { type DataBridgeError, interruptedError, RuntimeError } from "./errors.ts";
import { type ByteSocket, env, openSocket, type SocketAddress, warmCrypto } from "./runtime.ts";
import { md5Password, scramContinue, scramStart, type ScramState, scramVerify } from "./scram.ts";
import {
  Backend,
  type Columns,
  encodeParam,
  MessageReader,
  MessageWriter,
  readColumns,
  readFields,
  readRow,
  readText,
  serverError,
} from "./wire_protocol.ts";

/** Prepared statements kept per session, for the queries a run repeats. */
const STATEMENT_CACHE = 100;

/** A server error as the wire client reports it. */
type ServerError = ReturnType<typeof serverError>;

/** One Sync or Query sent, answered by everything up to its ReadyForQuery. */
interface Request {
  columns: Columns | null;
  rows: Row[];
  error: ServerError | null;
  /** The SQL of a named statement this request prepares, until its ParseComplete. */
  parsing: string | null;
  resolve(rows: Row[]): void;
  reject(error: unknown): void;
}

/**
 * Opens a session on a PostgreSQL server with the wire client. Nothing
 * connects until the first query.
 *
 * @param info Where and as whom, from `connInfo`.
 * @param target The target as shown to users (password masked).
 * @param options Timeouts, application name, notice handler.
 * @returns The driver.
 * @example
 * ```ts
 * import { connInfo } from "./conninfo.ts";
 * import { openWire } from "./wire_driver.ts";
 * const info = connInfo("postgres://app@db.example.com/app", () => undefined)!;
 * const driver = openWire(info, "postgres://app@db.example.com:5432/app", {});
 * console.log(driver.kind); // "postgres"
 * await driver.close();
 * ```
 */
export function openWire(info: ConnInfo, target: string, options: DriverOptions = {}): Driver {
  return new WireDriver(info, target, options);
}

class WireDriver implements Driver {
  readonly kind = "postgres" as const;
  readonly target: string;
  #info: ConnInfo;
  #options: DriverOptions;
  #socket: ByteSocket | null = null;
  #starting: Promise<void> | null = null;
  #ready = false;
  #lost = false;
  /** Why the session was lost, when the server said (e.g. its FATAL idle-in-transaction timeout). */
  #lostWith: DataBridgeError | null = null;
  #closed = false;
  #checkInterval = true;
  #reader = new MessageReader();
  #writer = new MessageWriter();
  /**
   * How many bytes at the writer's start only early requests wrote (see
   * QueryOptions.early), and how many of them this connection attempt sent.
   */
  #earlyEnd = 0;
  #earlySent = 0;
  #flushQueued = false;
  #requests: Request[] = [];
  #statements = new Map<string, string>();
  #statementCount = 0;
  /** Ends the connection attempt under way, if any. */
  #abortAttempt: ((error: unknown) => void) | null = null;
  /** Ends the pause between two connection attempts, if any. */
  #wake: (() => void) | null = null;
  /** Why the connection was given up when the signal aborted, before it was made. */
  #interrupted: DataBridgeError | null = null;
  #onAbort = () => {
    if (this.#ready || this.#closed) return;
    const error = interruptedError(this.#options.signal!, "before the connection was made");
    this.#interrupted = error;
    this.#abortAttempt?.(error);
    this.#wake?.();
  };
  /** The password file's password: not looked up yet (`undefined`), or none (`""`). */
  #filePassword: string | undefined;
  #processId = 0;
  #secretKey = 0;

  /** The PEM root certificates of `sslrootcert`, read once. */
  #ca: string | undefined;
  /** The client's certificate and key (`sslcert`, `sslkey`), read once. */
  #client: { cert: string; key: string; passphrase?: string } | undefined;

  constructor(info: ConnInfo, target: string, options: DriverOptions) {
    this.#info = info;
    this.target = target;
    this.#options = options;
    options.signal?.addEventListener("abort", this.#onAbort);
    const tls = info.tls;
    this.#ca = tls?.rootCert === undefined ? undefined : readRootCert(tls.rootCert);
    this.#client = tls?.client && {
      cert: readPem(tls.client.cert, "sslcert", "CERTIFICATE"),
      key: readPem(tls.client.key, "sslkey", "PRIVATE KEY"),
      ...(tls.client.passphrase === undefined ? {} : { passphrase: tls.client.passphrase }),
    };
  }

  query<T extends Row = Row>(
    sql: string,
    params: readonly unknown[] = [],
    options: QueryOptions = {},
  ): Promise<T[]> {
    const early = options.early === true;
    // Without parameters, one simple Query: the server neither keeps the
    // statement in its plan cache nor copies its tree there, which costs a
    // new session's first query ~0.7 ms of the server's CPU (the history
    // read of a no-op apply, 200 alternated runs); the rows come as text,
    // as the extended protocol is asked for them.
    if (params.length === 0) {
      return this.#request((w) => w.query(sql), null, early) as Promise<T[]>;
    }
    let name = "";
    let parsing: string | null = null;
    const known = this.#statements.get(sql);
    if (known !== undefined) name = known;
    else if (this.#statements.size < STATEMENT_CACHE) {
      // Never reused: a name freed by a failed Parse may still be taken on the server.
      name = `data_bridge_${++this.#statementCount}`;
      this.#statements.set(sql, name);
      parsing = sql;
    }
    return this.#request(
      (w) => {
        if (name === "" || parsing !== null) w.parse(name, sql);
        w.bind(name, params.map(encodeParam));
        w.describePortal();
        w.execute();
        w.sync();
      },
      parsing,
      early,
    ) as Promise<T[]>;
  }

  async exec(script: string): Promise<void> {
    await this.#request((w) => w.query(script), null);
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return runTransaction(this, fn, () => !this.#lost && !this.#closed);
  }

  atomic(statements: readonly TransactionStatement[]): Promise<Row[][]> {
    return atomicOnServer(this, statements, this.#checkInterval);
  }

  get pipelinesAtomic(): boolean {
    return this.#checkInterval;
  }

  tryLock(): Promise<boolean> {
    return tryAdvisoryLock(this);
  }

  keepLock(): Promise<boolean> {
    return keepAdvisoryLock(this);
  }

  async unlock(): Promise<void> {
    if (this.#lost || this.#closed) return;
    await advisoryUnlock(this);
  }

  async cancel(): Promise<void> {
    if (!this.#ready) {
      // Nothing but early reads was sent yet: no other queued query may run later.
      this.#fail(new RuntimeError("INTERRUPTED", "cancelled before the connection was made"));
      return;
    }
    if (this.#requests.length === 0) return;
    // One cancel request stops what the session runs; what was pipelined
    // behind it fails in the aborted transaction, its COMMIT rolls back.
    const writer = new MessageWriter();
    writer.cancelRequest(this.#processId, this.#secretKey);
    try {
      const socket = await openSocket(this.#address(), { data() {}, closed() {} });
      socket.write(writer.take());
      socket.close();
    } catch {
      // The session is gone or unreachable: nothing left to cancel.
    }
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#options.signal?.removeEventListener("abort", this.#onAbort);
    this.#wake?.();
    // The error is only made when a handshake or a request waits for it.
    if (this.#abortAttempt) this.#abortAttempt(lostError(this.target));
    const socket = this.#socket;
    if (socket && this.#ready) {
      // Terminate is sent and the socket closed at once: waiting for the
      // server's end of the socket adds nothing.
      this.#writer.terminate();
      socket.write(this.#writer.take());
    }
    socket?.close();
    this.#socket = null;
    if (this.#requests.length) this.#failPending(lostError(this.target));
    else this.#writer.take();
    return Promise.resolve();
  }

  /**
   * Queues a request; it is written once the session is ready, or, when it
   * is early and only early ones were queued before it, with the last
   * message of the authentication.
   */
  #request(
    build: (w: MessageWriter) => void,
    parsing: string | null,
    early = false,
  ): Promise<Row[]> {
    if (this.#closed || this.#lost) {
      return Promise.reject(this.#lostWith ?? lostError(this.target));
    }
    return new Promise<Row[]>((resolve, reject) => {
      const before = this.#writer.length;
      build(this.#writer);
      if (early && !this.#ready && this.#earlyEnd === before) this.#earlyEnd = this.#writer.length;
      this.#requests.push({ columns: null, rows: [], error: null, parsing, resolve, reject });
      if (this.#ready) this.#scheduleFlush();
      else this.#starting ??= this.#start();
    });
  }

  #scheduleFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    // Everything issued in one synchronous run leaves in one write.
    queueMicrotask(() => {
      this.#flushQueued = false;
      if (this.#writer.length && this.#socket) this.#socket.write(this.#writer.take());
    });
  }

  #address(): SocketAddress {
    const info = this.#info;
    return info.socket ? { path: info.socket } : { host: info.host, port: info.port };
  }

  #state(): SessionState {
    return {
      target: this.target,
      established: this.#ready,
      lost: this.#lost,
      seconds: this.#connectTimeout(),
      sslMode: this.#info.tls?.mode,
    };
  }

  /** Seconds, at most what a timer can hold (about 24 days). */
  #connectTimeout(): number {
    const seconds = this.#options.connectTimeoutSeconds ?? this.#info.connectTimeout ??
      DEFAULTS.connectTimeoutSeconds;
    return Math.min(seconds, Math.floor((2 ** 31 - 1) / 1000));
  }

  /**
   * Connects and authenticates, then sends what was queued meanwhile. An
   * attempt that fails the way a server coming up makes it fail is made
   * again, with backoff, while `connectWaitSeconds` last.
   */
  async #start(): Promise<void> {
    const started = Date.now();
    const wait = this.#options.connectWaitSeconds ?? DEFAULTS.connectWaitSeconds;
    let delay: number = DEFAULTS.connectRetryMs;
    let retried = false;
    try {
      for (;;) {
        if (this.#options.signal?.aborted) this.#onAbort();
        if (this.#interrupted) throw this.#interrupted;
        try {
          await this.#attempt();
          break;
        } catch (error) {
          // A socket that connects after the timeout is closed at once.
          this.#abortAttempt?.(error);
          if (this.#interrupted) throw this.#interrupted;
          const e = error as { code?: string; message?: string };
          if (
            this.#checkInterval && e.code === "42704" &&
            /client_connection_check_interval/.test(e.message ?? "")
          ) {
            // PostgreSQL before 14 has no client_connection_check_interval.
            this.#checkInterval = false;
            this.#dropSocket();
            continue;
          }
          const left = started + wait * 1000 - Date.now();
          if (this.#closed || left <= 0 || !transientConnectError(error)) throw error;
          this.#dropSocket();
          if (!retried) this.#options.onNotice?.(waitingNotice(this.target, error, wait));
          await this.#pause(Math.min(delay, left));
          delay = Math.min(delay * 2, 1000);
          retried = true;
          if (this.#interrupted) throw this.#interrupted;
          // Closed (or cancelled) meanwhile: its requests were failed already.
          if (this.#closed) return;
        }
      }
    } catch (error) {
      this.#dropSocket();
      const waited = retried ? (Date.now() - started) / 1000 : undefined;
      this.#failPending(translateDriverError(error, { ...this.#state(), waited }).error);
      this.#starting = null;
      return;
    }
    this.#abortAttempt = null;
    if (this.#closed || this.#lost) {
      // Closed, or the socket broke between the session's start and now.
      this.#dropSocket();
      return;
    }
    this.#ready = true;
    const sent = this.#earlySent;
    this.#earlyEnd = this.#earlySent = 0;
    if (this.#writer.length > sent) this.#socket!.write(this.#writer.take().subarray(sent));
    else this.#writer.take();
  }

  /** The password file's password for this connection, read once (`""` for none). */
  #passwordFromFile(): string {
    if (this.#filePassword === undefined) {
      const { host, port, database, user } = this.#info;
      this.#filePassword = passwordFromFile(
        { host, port, database, user },
        env,
        (message) => this.#options.onNotice?.({ severity: "WARNING", client: true, message }),
      ) ?? "";
    }
    return this.#filePassword;
  }

  /** One handshake, bounded by the connect timeout. */
  async #attempt(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(Object.assign(new Error("connect timeout"), { code: "CONNECT_TIMEOUT" }));
      }, this.#connectTimeout() * 1000);
    });
    try {
      await Promise.race([this.#handshake(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits `ms` between two attempts, or until the driver is closed. */
  #pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  #dropSocket(): void {
    const socket = this.#socket;
    this.#socket = null;
    this.#reader = new MessageReader();
    socket?.close();
  }

  /** One attempt: socket, startup message, authentication, ReadyForQuery. */
  #handshake(): Promise<void> {
    const info = this.#info;
    const parameters: Record<string, string> = {
      user: info.user,
      database: info.database,
      client_encoding: "UTF8",
      application_name: this.#options.applicationName ?? DEFAULTS.applicationName,
      ...info.parameters,
    };
    if (this.#options.applicationName !== undefined) {
      parameters.application_name = this.#options.applicationName;
    }
    if (this.#checkInterval) {
      parameters.client_connection_check_interval = DEFAULTS.clientConnectionCheckInterval;
    }
    const given = this.#options.password ?? info.password;
    // Without one given, the password file's, looked up when the server asks.
    const password = () => given ?? this.#passwordFromFile();
    // A new attempt sends the early requests again: the last one's server ran none of them.
    this.#earlySent = 0;
    return new Promise<void>((resolve, reject) => {
      let scram: ScramState | null = null;
      let serverSignature = "";
      let failed: ServerError | null = null;
      let done = false;
      let refused = false;
      const finish = (error?: unknown) => {
        if (done) return;
        done = true;
        refused = error !== undefined;
        if (error === undefined) resolve();
        else reject(error);
      };
      this.#abortAttempt = finish;
      // `last`: the client's last authentication message, which takes the
      // early requests along in the same write.
      const send = (build: (w: MessageWriter) => void, last = false) => {
        const w = new MessageWriter();
        build(w);
        if (last && this.#earlyEnd > this.#earlySent) {
          w.append(this.#writer.peek(this.#earlySent, this.#earlyEnd));
          this.#earlySent = this.#earlyEnd;
        }
        this.#socket?.write(w.take());
      };
      const startup = (type: number, body: Uint8Array) => {
        const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
        switch (type) {
          case Backend.Authentication: {
            const code = view.getInt32(0);
            if (code === 0) return;
            if (code === 3) return send((w) => w.password(password()), true);
            if (code === 5) {
              return send(
                (w) => w.password(md5Password(info.user, password(), body.slice(4, 8))),
                true,
              );
            }
            if (code === 10) {
              const mechanisms = readText(body, 4, body.length - 4).split("\0");
              if (!mechanisms.includes("SCRAM-SHA-256")) {
                return finish(
                  unsupported(`SASL mechanisms ${mechanisms.filter(Boolean).join(", ")}`),
                );
              }
              const first = scramStart();
              scram = first.state;
              return send((w) => w.saslInitial("SCRAM-SHA-256", first.message));
            }
            if (code === 11 && scram) {
              // The exchange waits for this answer: nothing else arrives meanwhile.
              scramContinue(scram, readText(body, 4, body.length - 4), password()).then(
                (final) => {
                  serverSignature = final.serverSignature;
                  send((w) => w.saslResponse(final.message), true);
                },
                finish,
              );
              return;
            }
            if (code === 12) {
              if (!scramVerify(serverSignature, readText(body, 4, body.length - 4))) {
                return finish(protocolError("the server's SCRAM signature is wrong"));
              }
              return;
            }
            return finish(unsupported(AUTH_NAMES[code] ?? `authentication request ${code}`));
          }
          case Backend.BackendKeyData:
            this.#processId = view.getInt32(0);
            this.#secretKey = view.getInt32(4);
            return;
          case Backend.ErrorResponse:
            failed = serverError(readFields(body));
            return finish(failed);
          case Backend.NoticeResponse:
            return this.#notice(body);
          case Backend.ParameterStatus:
          case Backend.NegotiateProtocolVersion:
            return;
          case Backend.ReadyForQuery:
            this.#handler = (t, b) => this.#message(t, b);
            return finish();
          default:
            return finish(protocolError(`unexpected message '${String.fromCharCode(type)}'`));
        }
      };
      this.#handler = startup;
      // With TLS, the server's one-byte answer to the SSLRequest comes first.
      let sslAnswer: ((chunk: Uint8Array) => void) | null = null;
      if (given) warmCrypto();
      openSocket(this.#address(), {
        data: (chunk) => {
          if (sslAnswer) {
            const take = sslAnswer;
            sslAnswer = null;
            return take(chunk);
          }
          try {
            this.#reader.push(chunk, (t, b) => this.#handler(t, b));
          } catch (error) {
            if (!done) finish(error);
            else this.#broken(error);
          }
        },
        closed: (error) => {
          if (!done) {
            finish(
              error ??
                Object.assign(new Error("the server closed the connection"), {
                  code: "CONNECTION_CLOSED",
                }),
            );
          } else if (!refused) {
            this.#socket = null;
            this.#broken(error);
          }
          // Else the attempt failed already (the server refused the session:
          // a wrong password, no such database): that error is what is
          // reported. Bun delivers the close before it reaches #start.
        },
      }).then((socket) => {
        if (done || this.#closed) {
          socket.close();
          return finish(lostError(this.target));
        }
        this.#socket = socket;
        const tls = info.tls;
        if (tls === null) return send((w) => w.startup(parameters));
        sslAnswer = (chunk) => {
          // Bytes after the answer would be read as if they came over TLS.
          if (chunk.length > 1) {
            return finish(protocolError("the server sent more than its answer to the SSLRequest"));
          }
          if (chunk[0] === 0x53 /* S */) {
            socket.startTls!({
              serverName: info.host,
              ca: this.#ca,
              verify: tls.verify,
              ...(this.#client ? { client: this.#client } : {}),
            }).then(
              () => send((w) => w.startup(parameters)),
              finish,
            );
          } else if (chunk[0] === 0x4e /* N */ && tls.mode === "prefer") {
            send((w) => w.startup(parameters));
          } else if (chunk[0] === 0x4e) {
            finish(protocolError("the server refused TLS: it answered the SSLRequest with N"));
          } else {
            finish(protocolError("the server did not answer the SSLRequest with S or N"));
          }
        };
        send((w) => w.sslRequest());
      }, finish);
    });
  }

  #handler: (type: number, body: Uint8Array) => void = () => {};

  /** A message of a ready session. */
  #message(type: number, body: Uint8Array): void {
    const request = this.#requests[0];
    switch (type) {
      case Backend.DataRow:
        request.rows.push(readRow(body, request.columns!));
        return;
      case Backend.RowDescription:
        request.columns = readColumns(body);
        return;
      case Backend.ParseComplete:
        if (request) request.parsing = null;
        return;
      case Backend.ReadyForQuery: {
        this.#requests.shift();
        if (request.error) {
          if (request.parsing !== null) this.#statements.delete(request.parsing);
          if (request.error.code === "26000") this.#statements.clear();
          request.reject(this.#translate(request.error));
        } else request.resolve(request.rows);
        return;
      }
      case Backend.ErrorResponse: {
        const error = serverError(readFields(body));
        if (request) request.error ??= error;
        else this.#broken(error);
        return;
      }
      case Backend.NoticeResponse:
        return this.#notice(body);
      case Backend.CopyInResponse:
      case Backend.CopyBothResponse:
        // COPY ... FROM STDIN has no data to read here: refuse it.
        this.#writer.copyFail(
          "data-bridge sends no COPY data; use COPY ... FROM a file on the server",
        );
        this.#scheduleFlush();
        return;
      default:
        // CommandComplete, BindComplete, NoData, EmptyQueryResponse,
        // ParameterStatus, NotificationResponse, COPY TO STDOUT data.
        return;
    }
  }

  #notice(body: Uint8Array): void {
    const fields = readFields(body);
    this.#options.onNotice?.({
      severity: fields.V ?? fields.S ?? "NOTICE",
      message: fields.M ?? "",
    });
  }

  #translate(error: unknown): DataBridgeError {
    const { error: translated, lost } = translateDriverError(error, this.#state());
    if (lost) this.#lost = true;
    return translated;
  }

  /** The session broke: every waiting query fails. */
  #broken(error?: unknown): void {
    if (this.#closed) return;
    const first = this.#requests[0];
    const cause = first?.error ?? error ??
      Object.assign(new Error("the server closed the connection"), {
        code: "CONNECTION_CLOSED",
      });
    this.#lost = true;
    // The peer may still be there (a message this client cannot read): let it go.
    this.#socket?.close();
    this.#socket = null;
    const translated = this.#translate(cause);
    // What the server said as it ended the session is the cause of what fails after.
    if (error !== undefined && !first?.error) this.#lostWith = translated;
    this.#failPending(translated);
  }

  #fail(error: unknown): void {
    this.#closed = true;
    this.#wake?.();
    this.#dropSocket();
    this.#failPending(error);
  }

  #failPending(error: unknown): void {
    const waiting = this.#requests;
    this.#requests = [];
    this.#writer.take();
    this.#earlyEnd = this.#earlySent = 0;
    for (const request of waiting) request.reject(error);
  }
}

const AUTH_NAMES: Record<number, string> = {
  2: "Kerberos V5 authentication",
  7: "GSSAPI authentication",
  8: "GSSAPI authentication",
  9: "SSPI authentication",
};

function unsupported(what: string): Error {
  return Object.assign(new Error(`the server asks for ${what}, which data-bridge does not speak`), {
    code: "AUTH_UNSUPPORTED",
  });
}

function protocolError(message: string): Error {
  return Object.assign(new Error(message), { code: "PROTOCOL" });
}
