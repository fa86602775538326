// A request's abort signal: aborted at its deadline, or when a long-lived
// parent signal (the collector's shutdown) aborts first. Not
// AbortSignal.any([AbortSignal.timeout(ms), parent]): on Node 20 each call
// leaves a WeakRef in the parent's set of dependants for as long as the
// parent lives, one per scrape and per delivery (the soak's main-thread
// heap grew ~100 WeakRefs a second at 200 targets). Here a parent gets one
// abort listener however many requests follow it (core/abort-listeners.ts),
// and dispose() takes a request off it.

import { whenAborted } from './abort-listeners.js';

/** A request's deadline, tied to an optional parent signal. Call dispose() when the request is done. */
export interface Deadline {
  readonly signal: AbortSignal;
  /** True when the deadline fired (not the parent). */
  timedOut(): boolean;
  /** Stops the timer and forgets the request on the parent. Idempotent. */
  dispose(): void;
}

export function deadlineSignal(timeoutMs: number, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  let fired = false;
  const timer = setTimeout(() => {
    fired = true;
    controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
  }, timeoutMs);
  // As AbortSignal.timeout's: a pending deadline does not keep the process up.
  timer.unref();
  const unfollow = parent ? whenAborted(parent, () => controller.abort(parent.reason)) : () => undefined;
  return {
    signal: controller.signal,
    timedOut: () => fired,
    dispose() {
      clearTimeout(timer);
      unfollow();
    },
  };
}
