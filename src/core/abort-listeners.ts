// Many short-lived things (a request's deadline, a reservation waiting for
// memory) wait on one long-lived signal: the collector's shutdown, or the
// scheduler's. An 'abort' listener each would pile up on it (Node warns past
// 10, and on Node 20 AbortSignal.any leaves a WeakRef per call for as long as
// the parent lives). Here a signal gets one listener, however many wait on it.

/** The callbacks waiting on each signal; its one listener runs them all. */
const waiting = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Runs `onAbort` when `signal` aborts (at once, if it already has). Returns
 * the function that stops waiting; call it when the waiter is done, so the
 * signal does not hold it.
 */
export function whenAborted(signal: AbortSignal, onAbort: () => void): () => void {
  if (signal.aborted) {
    onAbort();
    return () => undefined;
  }
  let set = waiting.get(signal);
  if (!set) {
    const created = new Set<() => void>();
    set = created;
    waiting.set(signal, created);
    signal.addEventListener(
      'abort',
      () => {
        // Over a copy, each run only if still waiting: a callback may stop
        // waiters (itself or others) while this runs.
        for (const f of [...created]) if (created.delete(f)) f();
      },
      { once: true },
    );
  }
  set.add(onAbort);
  const held = set;
  return () => {
    held.delete(onAbort);
  };
}
