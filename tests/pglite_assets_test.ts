import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import {
  loadPGliteAssets,
  type PGliteAssetName,
  pgliteAssets,
  providePGliteAssets,
} from "../lib/pglite_assets.ts";
import { openPGlite } from "../lib/pglite_driver.ts";
import { embeddedAssetSource } from "../packaging/embedded_assets.ts";
import type { RuntimeError } from "../lib/errors.ts";
import { readTar, writeTar } from "../lib/tar.ts";
import { REPO_ROOT } from "../scripts/tools.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "./support/assert.ts";

const PGLITE_DIST = join(REPO_ROOT, "node_modules", "@electric-sql", "pglite", "dist");
/**
 * PGlite's files; as the contrib archive, citext's files alone, so that what
 * a start installs tells the provider's archive from PGlite's own tarballs.
 */
const readAsset = async (name: PGliteAssetName) =>
  name === "pglite-contrib.tgz"
    ? gzipSync(writeTar(readTar(gunzipSync(await readFile(join(PGLITE_DIST, "citext.tar.gz"))))))
    : await readFile(join(PGLITE_DIST, name));

/** Runs a test body with a provider set, and always removes it after. */
function withProvider(name: string, body: () => Promise<void>): void {
  Deno.test({
    name,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      try {
        await body();
      } finally {
        providePGliteAssets(null);
      }
    },
  });
}

Deno.test("without a provider there are no assets to pass, so PGlite reads its own files", async () => {
  providePGliteAssets(null);
  assertEquals(await pgliteAssets(), {});
});

withProvider("a source that answers null leaves PGlite to find its own files", async () => {
  let calls = 0;
  providePGliteAssets(() => {
    calls++;
    return Promise.resolve(null);
  });
  assertEquals(await pgliteAssets(), {});
  assertEquals(await pgliteAssets(), {});
  assertEquals(calls, 1);
});

Deno.test("the executable's source looks at Bun.embeddedFiles only when it is called", async () => {
  const g = globalThis as { Bun?: unknown };
  const had = "Bun" in g;
  const before = g.Bun;
  let looked = 0;
  g.Bun = {
    get embeddedFiles() {
      looked++;
      return [new File([], "other.txt")];
    },
  };
  try {
    const source = embeddedAssetSource();
    assert(source !== null);
    assertEquals(looked, 0);
    // Nothing of PGlite's embedded: PGlite finds its files itself.
    assertEquals(await source(), null);
    assertEquals(looked, 1);
  } finally {
    if (had) g.Bun = before;
    else delete g.Bun;
  }
  assertEquals(embeddedAssetSource(), null);
});

withProvider("a provided source is what PGlite starts from, and it is loaded once", async () => {
  const requested: string[] = [];
  let calls = 0;
  let provided: WebAssembly.Module[] = [];
  providePGliteAssets(async () => {
    calls++;
    const assets = await loadPGliteAssets((name) => {
      requested.push(name);
      return readAsset(name);
    });
    provided = [assets.pgliteWasmModule, assets.initdbWasmModule];
    return assets;
  });
  // Which modules PGlite instantiates: the provided ones, not its own files.
  const instantiated: unknown[] = [];
  const original = WebAssembly.instantiate;
  WebAssembly.instantiate = ((source: unknown, imports?: WebAssembly.Imports) => {
    instantiated.push(source);
    return original(source as WebAssembly.Module, imports);
  }) as typeof WebAssembly.instantiate;
  try {
    const driver = await openPGlite(null);
    try {
      assertEquals(await driver.query("SELECT 40 + 2 AS answer"), [{ answer: 42 }]);
      // The contrib extensions installed are the provided archive's: citext only.
      await driver.exec("CREATE EXTENSION citext");
      assertEquals(await driver.query("SELECT 'A'::citext = 'a' AS same"), [{ same: true }]);
      await assertRejects(() => driver.exec("CREATE EXTENSION hstore"), (error: Error) => {
        assertMatch(error.message, /extension "hstore" is not available/);
      });
    } finally {
      await driver.close();
    }
  } finally {
    WebAssembly.instantiate = original;
  }
  await pgliteAssets();
  assertEquals(calls, 1);
  assertEquals(requested.sort(), [
    "initdb.wasm",
    "pglite-contrib.tgz",
    "pglite.data",
    "pglite.wasm",
  ]);
  assert(instantiated.includes(provided[0]), "pglite.wasm came from the provider");
  assert(instantiated.includes(provided[1]), "initdb.wasm came from the provider");
  assert(
    instantiated.every((m) => m instanceof WebAssembly.Module),
    "nothing was compiled from PGlite's own files",
  );
});

withProvider("a source that fails names the file and is tried again on the next open", async () => {
  let fail = true;
  providePGliteAssets(() =>
    loadPGliteAssets((name) => {
      if (fail && name === "pglite.data") return Promise.reject(new Error("gone"));
      return readAsset(name);
    })
  );
  await assertRejects(() => openPGlite(null), (error: RuntimeError) => {
    assertEquals(error.code, "CONNECTION_FAILED");
    assertMatch(error.message, /pglite:memory: cannot read pglite\.data: gone/);
  });
  fail = false;
  const assets = await pgliteAssets();
  assert(assets.fsBundle && assets.fsBundle.size > 1_000_000, "pglite.data was loaded");
});

Deno.test("a file that is not WebAssembly is named in the error", async () => {
  await assertRejects(
    () =>
      loadPGliteAssets((name) =>
        name === "initdb.wasm" ? Promise.resolve(new Uint8Array([1, 2, 3])) : readAsset(name)
      ),
    (error: Error) => assertMatch(error.message, /^initdb\.wasm is not valid WebAssembly/),
  );
});
