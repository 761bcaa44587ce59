/**
 * libpq's password file, `~/.pgpass` (or `PGPASSFILE`): lines of
 * `hostname:port:database:username:password`, `*` matching anything in the
 * first four fields, `\:` and `\\` escaping, `#` starting a comment. Read
 * only when the server asks for a password and none was given (URL,
 * `PGPASSWORD`, `--password-file`), as libpq does; ignored, with a warning,
 * when others may read it.
 *
 * @module
 */
import { builtin } from "./runtime.ts";

/** What a line of the file is matched against. */
export interface PgpassKey {
  /** Host name, address, or socket directory (a path). */
  host: string;
  /** Port. */
  port: number | string;
  /** Database name. */
  database: string;
  /** User name. */
  user: string;
}

/** Socket directories libpq builds use as their default, which `localhost` stands for. */
const DEFAULT_SOCKET_DIRS = ["/tmp", "/var/run/postgresql", "/run/postgresql"];

/**
 * The password of the first line of a password file's text that matches.
 *
 * @param text The file's text.
 * @param key The connection.
 * @returns The password, or `undefined` when no line matches.
 * @example
 * ```ts
 * import { pgpassLookup } from "./pgpass.ts";
 * const text = "# staging\ndb.internal:5432:*:app:s3cr\\:et\n";
 * const key = { host: "db.internal", port: 5432, database: "app", user: "app" };
 * console.log(pgpassLookup(text, key)); // "s3cr:et"
 * ```
 */
export function pgpassLookup(text: string, key: PgpassKey): string | undefined {
  // As libpq: the default socket directory is matched as "localhost".
  const host = key.host === "" || DEFAULT_SOCKET_DIRS.includes(key.host.replace(/\/+$/, ""))
    ? "localhost"
    : key.host;
  const wanted = [host, String(key.port), key.database, key.user];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "");
    if (line === "" || line.startsWith("#")) continue;
    const fields = splitFields(line);
    if (fields.length < 5) continue;
    if (wanted.every((value, i) => fields[i].raw === "*" || fields[i].text === value)) {
      return fields[4].text;
    }
  }
  return undefined;
}

/**
 * The password for a connection from the password file, if there is one
 * and others cannot read it.
 *
 * @param key The connection.
 * @param env Reads environment variables (`PGPASSFILE`, `HOME`, `APPDATA`).
 * @param warn Told why a file that exists is not used.
 * @returns The password, or `undefined`.
 * @example
 * ```ts
 * import { passwordFromFile } from "./pgpass.ts";
 * const key = { host: "localhost", port: 5432, database: "app", user: "app" };
 * console.log(passwordFromFile(key, () => "/nonexistent/.pgpass", () => {})); // undefined
 * ```
 */
export function passwordFromFile(
  key: PgpassKey,
  env: (name: string) => string | undefined,
  warn: (message: string) => void,
): string | undefined {
  const path = pgpassPath(env);
  if (path === null) return undefined;
  const fs = builtin<typeof import("node:fs")>("node:fs");
  let mode: number;
  try {
    const stat = fs.statSync(path);
    if (!stat.isFile()) {
      warn(`password file "${path}" is not a plain file`);
      return undefined;
    }
    mode = stat.mode;
  } catch {
    return undefined; // none: nothing to say
  }
  const windows = builtin<typeof import("node:process")>("node:process").platform === "win32";
  if (!windows && (mode & 0o077) !== 0) {
    warn(
      `password file "${path}" has group or world access; permissions should be u=rw (0600) or less`,
    );
    return undefined;
  }
  try {
    return pgpassLookup(fs.readFileSync(path, "utf8"), key);
  } catch (error) {
    warn(
      `password file "${path}" cannot be read (${(error as { code?: string }).code ?? "error"})`,
    );
    return undefined;
  }
}

/** `PGPASSFILE`, else `~/.pgpass` (`%APPDATA%\postgresql\pgpass.conf` on Windows). */
function pgpassPath(env: (name: string) => string | undefined): string | null {
  const file = env("PGPASSFILE");
  if (file) return file;
  const appData = env("APPDATA");
  if (appData && builtin<typeof import("node:process")>("node:process").platform === "win32") {
    return `${appData}\\postgresql\\pgpass.conf`;
  }
  const home = env("HOME");
  return home ? `${home.replace(/\/+$/, "")}/.pgpass` : null;
}

/** A line's fields split at unescaped colons: as written, and with the escapes undone. */
function splitFields(line: string): { raw: string; text: string }[] {
  const fields: { raw: string; text: string }[] = [];
  let raw = "";
  let text = "";
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "\\" && i + 1 < line.length) {
      raw += c + line[i + 1];
      text += line[++i];
    } else if (c === ":" && fields.length < 4) {
      fields.push({ raw, text });
      raw = text = "";
    } else if (c === ":") {
      break; // the password ends at an unescaped colon, as in libpq
    } else {
      raw += c;
      text += c;
    }
  }
  fields.push({ raw, text });
  return fields;
}
