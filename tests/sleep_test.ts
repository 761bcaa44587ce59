import { sleep } from "../lib/sleep.ts";
import { assert } from "./support/assert.ts";

Deno.test("sleep waits its time without a signal, or one that does not abort", async () => {
  for (const signal of [undefined, new AbortController().signal]) {
    const started = performance.now();
    await sleep(50, signal);
    assert(performance.now() - started >= 45, "waited");
  }
});

Deno.test("sleep ends at once when its signal aborts, or had aborted, and leaves no timer", async () => {
  const controller = new AbortController();
  const started = performance.now();
  setTimeout(() => controller.abort("SIGINT"), 20);
  await sleep(60_000, controller.signal);
  assert(performance.now() - started < 1000, "cut short");
  const again = performance.now();
  await sleep(60_000, controller.signal);
  assert(performance.now() - again < 50, "already aborted");
  // The test's sanitizers fail it if a 60 s timer were left behind.
});
