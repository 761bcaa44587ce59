/** SCRAM-SHA-256 and MD5 password answers, against published vectors. */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { md5Password, scramContinue, scramStart, scramVerify } from "../lib/scram.ts";
import { assert, assertEquals, assertRejects } from "./support/assert.ts";
import { command } from "./support/cli.ts";

// RFC 7677, section 3: user "user", password "pencil".
const NONCE = "rOprNGfwEbeRWgbNEkqO";
const SERVER_FIRST =
  "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

Deno.test("scram answers RFC 7677's exchange with its client proof and expects its server signature", async () => {
  const first = scramStart(NONCE, "user");
  assertEquals(first.message, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  const final = await scramContinue(first.state, SERVER_FIRST, "pencil");
  assertEquals(
    final.message,
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  );
  assert(scramVerify(final.serverSignature, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="));
});

Deno.test("scram refuses a server signature that is not the expected one", async () => {
  const first = scramStart(NONCE, "user");
  const final = await scramContinue(first.state, SERVER_FIRST, "not pencil");
  assert(!scramVerify(final.serverSignature, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="));
  assert(!scramVerify(final.serverSignature, "e=other-error"));
});

Deno.test("scram refuses a server nonce that does not extend the client's, and a malformed message", async () => {
  const { state } = scramStart(NONCE);
  await assertRejects(() => scramContinue(state, "r=someoneelse,s=c2FsdA==,i=4096", "pw"));
  await assertRejects(() => scramContinue(state, `r=${NONCE}x,s=c2FsdA==`, "pw"));
});

Deno.test("scram's client nonce is random", () => {
  assert(scramStart().state.nonce !== scramStart().state.nonce);
});

Deno.test("md5 answers as PostgreSQL computes it: md5(md5(password + user) + salt)", () => {
  // Computed independently: "md5" + md5(md5("secretapp").hex + bytes 1 2 3 4).hex
  assertEquals(
    md5Password("app", "secret", new Uint8Array([1, 2, 3, 4])),
    "md5911f527656472583a006e7727877b33e",
  );
  assert(
    md5Password("app", "secret", new Uint8Array([4, 3, 2, 1])) !==
      md5Password("app", "secret", new Uint8Array([1, 2, 3, 4])),
  );
});

Deno.test("scram gives RFC 7677's answer under Bun too, where its HMACs are computed at once", () => {
  const scram = fileURLToPath(new URL("../lib/scram.ts", import.meta.url));
  const script = `import { scramContinue, scramStart } from ${JSON.stringify(scram)};
const { state } = scramStart(${JSON.stringify(NONCE)}, "user");
const final = await scramContinue(state, ${JSON.stringify(SERVER_FIRST)}, "pencil");
console.log(JSON.stringify([final.message, final.serverSignature, typeof Bun.CryptoHasher]));`;
  const [bun, args] = command("bun", "-e", [script]);
  const out = JSON.parse(execFileSync(bun, args, { encoding: "utf8" }));
  assertEquals(out, [
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
    "function",
  ]);
});
