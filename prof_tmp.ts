import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { checksum, normalizeText } from "./lib/checksum.ts";
import { parseMigration } from "./lib/migration.ts";
const dir = process.argv[2];
let t = performance.now();
const names = readdirSync(dir).filter((n) => n.endsWith(".sql")).sort();
const lap = (what: string) => {
  const n = performance.now();
  console.log(what, (n - t).toFixed(1));
  t = n;
};
lap("readdir");
const bufs = names.map((n) => {
  statSync(join(dir, n));
  return readFileSync(join(dir, n));
});
lap("stat+read");
const texts = bufs.map((b) => new TextDecoder("utf-8", { fatal: true }).decode(b));
lap("decode");
await Promise.all(texts.map((x) => checksum(x)));
lap("checksum all (parallel)");
for (const x of texts) await checksum(x);
lap("checksum all (serial)");
await Promise.all(
  names.map((n, i) => parseMigration({ name: n, file: join(dir, n), content: bufs[i] })),
);
lap("parseMigration all");
await Promise.all(
  names.map((n, i) => parseMigration({ name: n, file: join(dir, n), content: bufs[i] })),
);
lap("parseMigration all again");
