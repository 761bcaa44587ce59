/**
 * The JIT policies data-bridge asks Bun for while `fn` runs, recorded by a
 * stand-in for `Bun.unsafe.setJITPolicy` (the tests run on Deno, which has
 * none), after `holdBackJit` as the compiled binary's entry calls it.
 */
import { holdBackJit } from "../../lib/runtime.ts";

/** The binary's held-back policy, as `holdBackJit` is given it here. */
export const HELD = 1_000_000;

export async function jitPolicies(fn: () => unknown): Promise<number[]> {
  const g = globalThis as { Bun?: unknown };
  const policies: number[] = [];
  g.Bun = { unsafe: { setJITPolicy: (scale: number) => policies.push(scale) } };
  try {
    holdBackJit(HELD);
    await fn();
    return policies.slice(1);
  } finally {
    delete g.Bun;
  }
}
