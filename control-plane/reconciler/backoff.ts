/**
 * When a service is looked at again: soon while its backend is working (5 ms
 * doubling to 2 s: a backend that finishes at once is noticed at once, one
 * that takes minutes costs two more polls), and after failures in a row with exponential backoff from
 * 1 s to 60 s, jittered, so that a burst of failures spreads out and a
 * failing service never crowds out the others.
 */
const POLL_MIN_MS = 5;
const POLL_MAX_MS = 2_000;
const BACKOFF_MIN_MS = 1_000;
const BACKOFF_MAX_MS = 60_000;

/** The wait before poll number `n` (from 0) of a backend that is still working. */
export function pollDelay(n: number): number {
  return Math.min(POLL_MIN_MS * 2 ** n, POLL_MAX_MS);
}

/** The wait after the `failures`-th failure in a row (from 1); `random` in [0, 1). */
export function failureDelay(failures: number, random: () => number): number {
  const ceiling = Math.min(BACKOFF_MIN_MS * 2 ** (failures - 1), BACKOFF_MAX_MS);
  // Equal jitter: at least half the step.
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
