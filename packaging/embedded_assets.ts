/**
 * PGlite's files embedded in a single-file executable made by
 * `bun build --compile` (see scripts/build_bun.ts), which lists them in
 * `Bun.embeddedFiles` under names such as `pglite-1a2b3c4d.wasm`, with the
 * contrib extensions' archive `pglite-contrib.tgz`.
 *
 * @module
 */
import {
  loadPGliteAssets,
  type PGliteAssetName,
  type PGliteAssetSource,
} from "../lib/pglite_assets.ts";

const NAMES: readonly PGliteAssetName[] = [
  "pglite.wasm",
  "initdb.wasm",
  "pglite.data",
  "pglite-contrib.tgz",
];

/**
 * Finds an embedded file by its original name, ignoring the hash Bun adds.
 *
 * @param files The embedded files.
 * @param name Original name.
 * @returns The file, or `undefined`.
 * @example
 * ```ts
 * import { findEmbedded } from "./embedded_assets.ts";
 * const files = [new File([], "pglite-x1y2z3.wasm")];
 * console.log(findEmbedded(files, "pglite.wasm")?.name); // "pglite-x1y2z3.wasm"
 * ```
 */
export function findEmbedded(files: readonly Blob[], name: string): Blob | undefined {
  const dot = name.lastIndexOf(".");
  const stem = name.slice(0, dot);
  const ext = name.slice(dot);
  return files.find((file) => {
    const fileName = (file as File).name ?? "";
    return fileName === name ||
      (fileName.startsWith(`${stem}-`) && fileName.endsWith(ext) &&
        /^[a-z0-9]+$/.test(fileName.slice(stem.length + 1, -ext.length)));
  });
}

/**
 * The source of PGlite's files embedded in this executable, or `null` when
 * this does not run on Bun (a Deno-compiled executable carries PGlite's
 * package folder instead, where PGlite finds its files itself).
 * `Bun.embeddedFiles` is only looked at when the embedded database starts:
 * its blobs count their ~15 MB towards the garbage collector's budget, and
 * every run that merely touched them paid a collection of ~2-4 ms.
 *
 * @returns The source (whose result is `null` when nothing is embedded, as
 *   when `bun packaging/binary.ts` runs from the sources), or `null`.
 * @example
 * ```ts
 * import { embeddedAssetSource } from "./embedded_assets.ts";
 * console.log(embeddedAssetSource()); // null outside Bun
 * ```
 */
export function embeddedAssetSource(): PGliteAssetSource | null {
  const bun = (globalThis as { Bun?: { embeddedFiles?: readonly Blob[] } }).Bun;
  if (!bun) return null;
  return () => {
    const files = bun.embeddedFiles;
    if (!files || !NAMES.every((name) => findEmbedded(files, name))) return Promise.resolve(null);
    return loadPGliteAssets((name) => Promise.resolve(findEmbedded(files, name) as Blob));
  };
}
