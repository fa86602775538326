// A request's abort signal: aborted at its deadline, or when a long-lived
// parent signal (the collector's shutdown) aborts first. Not
// AbortSignal.any([AbortSignal.timeout(ms), parent]): on Node 20 each call
// leaves a WeakRef in the parent's set of dependants for as long as the
// parent lives, one per scrape and per delivery (the soak's main-thread
// heap grew ~100 WeakRefs a second at 200 targets). Here a parent gets one
// abort listener however many requests follow it, and dispose() takes a
// request off it.

/** A request's deadline, tied to an optional parent signal. Call dispose() when the request is done. */
export interface Deadline {
  readonly signal: AbortSignal;
  /** True when the deadline fired (not the parent). */
  timedOut(): boolean;
  /** Stops the timer and forgets the request on the parent. Idempotent. */
  dispose(): void;
}

/** The requests following each parent signal: one listener on the parent aborts them all. */
const followers = new WeakMap<AbortSignal, Set<AbortController>>();

function follow(parent: AbortSignal, child: AbortController): () => void {
  let set = followers.get(parent);
  if (!set) {
    const created = new Set<AbortController>();
    set = created;
    followers.set(parent, created);
    parent.addEventListener(
      'abort',
      () => {
        for (const c of created) c.abort(parent.reason);
        created.clear();
      },
      { once: true },
    );
  }
  set.add(child);
  const held = set;
  return () => held.delete(child);
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
  let unfollow = (): void => undefined;
  if (parent?.aborted) controller.abort(parent.reason);
  else if (parent) unfollow = follow(parent, controller);
  return {
    signal: controller.signal,
    timedOut: () => fired,
    dispose() {
      clearTimeout(timer);
      unfollow();
    },
  };
}
