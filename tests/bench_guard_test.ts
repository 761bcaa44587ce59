/**
 * The benchmark's guard in the test command: 100 migrations applied and
 * rolled back by the CLI (under Bun, whose start-up is closest to the
 * compiled binary's), beside psql sending the same SQL, on the same server
 * in the same run. It fails only on a gross regression (more than 3×
 * the floor), never on an absolute time; `deno task bench` measures the
 * real targets.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { measure, type Sample, summarize } from "../scripts/bench_measure.ts";
import { writeWorkload } from "../scripts/bench_workloads.ts";
import { findPgBin } from "../scripts/pg_cluster.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { childEnv, CLI, command } from "./support/cli.ts";
import { adminQuery, freshDatabase } from "./support/db.ts";

const RUNS = 5;
const LIMIT = 3;

Deno.test("apply and rollback of 100 migrations stay within 3× psql sending the same SQL", async () => {
  const root = mkdtempSync(join(tmpdir(), "data-bridge-guard-"));
  const psql = join(findPgBin(), "psql");
  const env = childEnv({ NO_COLOR: "1" });
  try {
    const files = writeWorkload(root, "table_index", 100);
    const tool = (args: string[], url: string): Sample => {
      const [file, argv] = command("bun", CLI, [
        ...args,
        "--database-url",
        url,
        "--migrations-dir",
        files.dir,
      ]);
      return measure(file, argv, { env, cwd: root });
    };
    const floor = (url: string, script: string): Sample =>
      measure(psql, [url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", script], { env });
    // Warm up Deno's caches, so the first timed run does not pay for them.
    measure(...command("bun", CLI, ["--version"]), { env });

    const samples = { floorUp: [], floorDown: [], up: [], down: [] } as Record<string, Sample[]>;
    for (let r = 0; r < RUNS; r++) {
      const a = await freshDatabase();
      samples.floorUp.push(floor(a.url, files.floorUp));
      samples.floorDown.push(floor(a.url, files.floorDown));
      await a.drop();
      const b = await freshDatabase();
      samples.up.push(tool(["apply"], b.url));
      const [{ n }] = await adminQuery<{ n: number }>(
        b.url,
        "SELECT count(*)::int AS n FROM _migrations",
      );
      assertEquals(n, 100, "every migration applied");
      samples.down.push(tool(["rollback", "--to", "0"], b.url));
      await b.drop();
    }
    const ratio = (tool: Sample[], base: Sample[]) =>
      summarize(tool).medianMs / summarize(base).medianMs;
    const up = ratio(samples.up, samples.floorUp);
    const down = ratio(samples.down, samples.floorDown);
    const report = `apply ${up.toFixed(2)}×, rollback ${down.toFixed(2)}× the psql floor`;
    console.log(report);
    assert(up <= LIMIT && down <= LIMIT, `gross regression: ${report} (limit ${LIMIT}×)`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
