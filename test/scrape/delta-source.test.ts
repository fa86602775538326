// delta_source decisions on the fake clock: auto asks godeltaprof, believes a
// 404 for an hour (less after a restart sign), and one process has one
// godeltaprof reader however often it is listed.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PROFILE_TYPES } from '../../src/profile/types.js';
import { DeltaSources, GODELTAPROF_REPROBE_MS } from '../../src/scrape/delta-source.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { testTarget } from '../helpers/targets.js';

const heap = PROFILE_TYPES.heap;
const mutex = PROFILE_TYPES.mutex;

function setup() {
  const clock = new FakeClock();
  return { clock, sources: new DeltaSources(() => clock.now()) };
}

describe('DeltaSources', () => {
  test('types godeltaprof does not serve have no plan; client never reads it', () => {
    const { sources } = setup();
    for (const t of ['cpu', 'goroutine', 'allocs', 'threadcreate'] as const) assert.equal(sources.plan(testTarget(), PROFILE_TYPES[t]), undefined, t);
    assert.deepEqual(sources.plan(testTarget({ deltaSource: 'client' }), heap), { godeltaprof: false, fallback: false });
  });

  test('auto: godeltaprof with fallback; a 404 holds for an hour, then it asks again', async () => {
    const { clock, sources } = setup();
    const t = testTarget();
    assert.deepEqual(sources.plan(t, heap), { godeltaprof: true, fallback: true });
    sources.notServed(t, heap);
    await clock.advance(GODELTAPROF_REPROBE_MS - 1);
    assert.deepEqual(sources.plan(t, heap), { godeltaprof: false, fallback: false });
    assert.deepEqual(sources.plan(t, mutex), { godeltaprof: true, fallback: true }, 'each type has its own answer');
    await clock.advance(1);
    assert.deepEqual(sources.plan(t, heap), { godeltaprof: true, fallback: true });
  });

  test('auto: a served answer keeps reading godeltaprof', async () => {
    const { clock, sources } = setup();
    const t = testTarget();
    sources.plan(t, heap);
    sources.served(t, heap);
    await clock.advance(GODELTAPROF_REPROBE_MS * 3);
    assert.deepEqual(sources.plan(t, heap), { godeltaprof: true, fallback: true });
  });

  test('auto: a restart sign (askAgain) asks again at once, for every type of the target only', () => {
    const { sources } = setup();
    const t = testTarget();
    const other = testTarget({ baseUrl: 'http://127.0.0.1:7070/debug/pprof' });
    for (const target of [t, other]) {
      for (const type of [heap, mutex]) {
        sources.plan(target, type);
        sources.notServed(target, type);
      }
    }
    sources.askAgain(t.id);
    assert.equal(sources.plan(t, heap)?.godeltaprof, true);
    assert.equal(sources.plan(t, mutex)?.godeltaprof, true);
    assert.equal(sources.plan(other, heap)?.godeltaprof, false);
  });

  test('godeltaprof: always godeltaprof, never a fallback', () => {
    const { sources } = setup();
    const t = testTarget({ deltaSource: 'godeltaprof' });
    assert.deepEqual(sources.plan(t, heap), { godeltaprof: true, fallback: false });
  });

  test('one reader per process and type: a second listing takes client deltas until the reader is gone', () => {
    const { sources } = setup();
    const a = testTarget({ goTags: { listing: 'a' } });
    const b = testTarget({ goTags: { listing: 'b' } });
    assert.notEqual(a.id, b.id);
    assert.equal(a.instance, b.instance);
    assert.deepEqual(sources.plan(a, heap), { godeltaprof: true, fallback: true });
    assert.deepEqual(sources.plan(b, heap), { godeltaprof: false, fallback: false, readBy: a.baseUrl });
    assert.deepEqual(sources.plan(b, mutex), { godeltaprof: true, fallback: true }, 'per type: b reads delta_mutex');
    assert.deepEqual(sources.plan(a, mutex)?.readBy, b.baseUrl);
    // Forced godeltaprof does not break the rule either.
    assert.equal(sources.plan(testTarget({ goTags: { listing: 'c' }, deltaSource: 'godeltaprof' }), heap)?.godeltaprof, false);
    sources.retainTargets(new Set([b.id]));
    assert.deepEqual(sources.plan(b, heap), { godeltaprof: true, fallback: true }, 'a is gone: b reads it now');
  });

  test('a 404 frees the reader slot: the other listing may try', () => {
    const { sources } = setup();
    const a = testTarget({ goTags: { listing: 'a' } });
    const b = testTarget({ goTags: { listing: 'b' } });
    sources.plan(a, heap);
    sources.notServed(a, heap);
    assert.deepEqual(sources.plan(b, heap), { godeltaprof: true, fallback: true });
  });
});
