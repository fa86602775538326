// What a thread's V8 isolate holds, as the thread itself reads it. Worker
// threads send theirs with an answer at most once a second, so /metrics can
// show every thread's heap (process.memoryUsage() and prom-client's nodejs_*
// gauges see only the main thread's isolate, and RSS sees them all together).

import { getHeapStatistics } from 'node:v8';

export interface ThreadHeap {
  /** V8 heap in use (live objects and garbage not yet collected). */
  readonly usedBytes: number;
  /** V8 heap reserved. */
  readonly totalBytes: number;
  /** Memory outside the heap held by this isolate's objects (ArrayBuffers, buffers). */
  readonly externalBytes: number;
}

/** The calling thread's heap, now. */
export function thisThreadHeap(): ThreadHeap {
  const s = getHeapStatistics();
  return { usedBytes: s.used_heap_size, totalBytes: s.total_heap_size, externalBytes: s.external_memory };
}

/**
 * For a thread that answers many times a second (a profile worker, once per
 * job): the heap to send with this answer, or undefined when one was sent
 * less than `everyMs` ago. The gauges need no more, and the answers stay
 * as small as they were.
 */
export function heapReports(everyMs = 1_000, now: () => number = Date.now, read: () => ThreadHeap = thisThreadHeap): () => ThreadHeap | undefined {
  let last = -Infinity;
  return () => {
    const t = now();
    if (t - last < everyMs) return undefined;
    last = t;
    return read();
  };
}
