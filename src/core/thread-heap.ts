// What a thread's V8 isolate holds, as the thread itself reads it. Worker
// threads send theirs with their answers, so /metrics can show every
// thread's heap (process.memoryUsage() and prom-client's nodejs_* gauges
// see only the main thread's isolate, and RSS sees them all together).

import { getHeapStatistics } from 'node:v8';

export interface ThreadHeap {
  /** V8 heap in use (live objects and garbage not yet collected). */
  readonly usedBytes: number;
  /** V8 heap reserved. */
  readonly totalBytes: number;
  /** Memory outside the heap held by this isolate's objects (ArrayBuffers, buffers). */
  readonly externalBytes: number;
}

/** The calling thread's heap, now (a few microseconds). */
export function thisThreadHeap(): ThreadHeap {
  const s = getHeapStatistics();
  return { usedBytes: s.used_heap_size, totalBytes: s.total_heap_size, externalBytes: s.external_memory };
}
