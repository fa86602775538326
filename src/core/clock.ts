// Time, passed in: the real clock in production, a fake one in tests so
// schedule tests are fast and exact.

import { whenAborted } from './abort-listeners.js';

export type TimerHandle = { readonly __timer: unique symbol } | object;

export interface Clock {
  /** Unix milliseconds. */
  now(): number;
  setTimer(fn: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  // setTimeout fires at once for delays past 2^31-1 ms (~24.8 days); a
  // capped timer fires early instead, and the scheduler re-arms.
  setTimer: (fn, delayMs) => setTimeout(fn, Math.min(MAX_TIMER_MS, Math.max(0, delayMs))),
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Resolves after `ms` on the given clock. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    let stopWaiting = (): void => undefined;
    const h = clock.setTimer(() => {
      stopWaiting();
      resolve();
    }, ms);
    // Many sleeps share the scheduler's one signal: one listener on it for all.
    if (signal)
      stopWaiting = whenAborted(signal, () => {
        clock.clearTimer(h);
        resolve();
      });
  });
}
