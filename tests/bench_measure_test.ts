/** The benchmark's measuring: CPU time of a child to the microsecond, medians. */
import { measureCpu, median } from "../scripts/bench_measure.ts";
import { toolPath } from "../scripts/tools.ts";
import { assert, assertEquals, assertThrows } from "./support/assert.ts";

const BUN = toolPath("bun");

Deno.test("measureCpu counts the CPU a child burns, not the time it sleeps", () => {
  // 60 ms of busy work, then 200 ms asleep: the CPU time holds the first only.
  const busy = "const end = performance.now() + 60; while (performance.now() < end) {}" +
    " await Bun.sleep(200);";
  const ms = measureCpu(BUN, BUN, ["-e", busy]);
  assert(ms >= 50, `${ms} ms of CPU for 60 ms of busy work`);
  assert(ms < 200, `${ms} ms of CPU: the sleep was counted`);
});

Deno.test("measureCpu refuses a command that fails, with its stderr", () => {
  const error = assertThrows(() =>
    measureCpu(BUN, BUN, ["-e", "console.error('no such thing'); process.exit(3)"])
  );
  assert((error as Error).message.includes("no such thing"), (error as Error).message);
});

Deno.test("median of odd and even counts", () => {
  assertEquals([median([3, 1, 2]), median([4, 1, 3, 2]), median([5])], [2, 2.5, 5]);
});
