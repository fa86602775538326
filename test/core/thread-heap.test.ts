// core/thread-heap.ts: a thread's own heap, read by the thread, and sent
// with its answers at most once a second.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { heapReports, thisThreadHeap } from '../../src/core/thread-heap.js';

test("this thread's heap: in use within reserved, external memory counted", () => {
  const h = thisThreadHeap();
  assert.ok(h.usedBytes > 0 && h.totalBytes >= h.usedBytes && h.externalBytes >= 0, JSON.stringify(h));
});

test('heapReports: the first answer carries the heap, then at most one answer per interval', () => {
  let now = 10_000;
  let reads = 0;
  const next = heapReports(1_000, () => now, () => ({ usedBytes: ++reads, totalBytes: 100, externalBytes: 0 }));
  assert.equal(next()?.usedBytes, 1, 'the first answer');
  for (const dt of [0, 1, 500, 498]) {
    now += dt;
    assert.equal(next(), undefined, `${now - 10_000} ms after the first`);
  }
  now = 11_000;
  assert.equal(next()?.usedBytes, 2, 'a second later');
  now = 11_999;
  assert.equal(next(), undefined);
  assert.equal(reads, 2, 'the heap is read only when it is sent');
});
