/**
 * A seeded generator of whole numbers, for generated test cases that are the
 * same on every run.
 *
 * @param seed Any number.
 * @returns A function giving the next number in `[0, n)`.
 */
export function random(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n: number) => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state % n;
  };
}
