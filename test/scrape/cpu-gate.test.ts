import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CPU_WINDOW_REGROW_MS, CpuProfileGate, CpuWindows } from '../../src/scrape/cpu-gate.js';
import { FakeClock, flushMicrotasks } from '../helpers/fake-clock.js';

describe('CpuProfileGate', () => {
  test('one holder per instance; other instances are independent', () => {
    const gate = new CpuProfileGate(new FakeClock());
    const a = gate.tryAcquire('h:1');
    assert.ok(a);
    assert.equal(gate.tryAcquire('h:1'), null);
    assert.ok(gate.tryAcquire('h:2'));
    a();
    a(); // idempotent: a second release does not free someone else's hold
    const b = gate.tryAcquire('h:1');
    assert.ok(b);
    a();
    assert.equal(gate.tryAcquire('h:1'), null, 'a stale release must not free the current holder');
  });

  test('waiters get the CPU in arrival order, handed over without a gap', async () => {
    const clock = new FakeClock();
    const gate = new CpuProfileGate(clock);
    const first = gate.tryAcquire('p:6060')!;
    const order: string[] = [];
    const w1 = gate.acquire('p:6060', { maxWaitMs: 10_000 }).then((r) => (order.push('w1'), r));
    const w2 = gate.acquire('p:6060', { maxWaitMs: 10_000 }).then((r) => (order.push('w2'), r));
    assert.equal(gate.waiting('p:6060'), 2);
    await clock.advance(3_000);
    assert.deepEqual(order, []);
    first();
    const r1 = await w1;
    assert.ok(r1);
    assert.equal(gate.tryAcquire('p:6060'), null, 'handed over: still held');
    await flushMicrotasks();
    assert.deepEqual(order, ['w1']);
    r1();
    const r2 = await w2;
    assert.ok(r2);
    assert.deepEqual(order, ['w1', 'w2']);
    r2();
    assert.equal(gate.isHeld('p:6060'), false);
  });

  test('a waiter gives up after maxWaitMs, or when aborted, and leaves the queue', async () => {
    const clock = new FakeClock();
    const gate = new CpuProfileGate(clock);
    const holder = gate.tryAcquire('x:1')!;
    const timedOut = gate.acquire('x:1', { maxWaitMs: 10_000 });
    const ac = new AbortController();
    const aborted = gate.acquire('x:1', { maxWaitMs: 60_000, signal: ac.signal });
    ac.abort();
    assert.equal(await aborted, null);
    await clock.advance(9_999);
    assert.equal(gate.waiting('x:1'), 1);
    await clock.advance(1);
    assert.equal(await timedOut, null);
    assert.equal(gate.waiting('x:1'), 0);
    holder();
    assert.equal(gate.isHeld('x:1'), false, 'nobody left to hand over to');
  });
});

describe('CpuWindows', () => {
  test('starts at profile_duration and halves on WriteTimeout, down to 1s', () => {
    const w = new CpuWindows();
    assert.equal(w.seconds('t', 9_000), 9);
    assert.equal(w.shorten('t', 9), 4);
    assert.equal(w.seconds('t', 9_000), 4);
    assert.equal(w.shorten('t', 4), 2);
    assert.equal(w.shorten('t', 2), 1);
    assert.equal(w.shorten('t', 1), null);
    assert.equal(w.seconds('t', 9_000), 1);
    assert.equal(w.seconds('other', 9_000), 9);
    w.retainTargets(new Set(['other']));
    assert.equal(w.seconds('t', 9_000), 9, 'forgotten with its target');
  });

  test('a shortened window is tried twice as long every CPU_WINDOW_REGROW_MS, back up to profile_duration', async () => {
    const clock = new FakeClock();
    const w = new CpuWindows(() => clock.now());
    assert.equal(w.shorten('t', 9), 4);
    assert.equal(w.shorten('t', 4), 2);
    w.fits('t', 2, 9_000);
    await clock.advance(CPU_WINDOW_REGROW_MS - 1);
    assert.equal(w.seconds('t', 9_000), 2, 'not before the regrow time');
    await clock.advance(1);
    assert.equal(w.seconds('t', 9_000), 4, 'a probe: twice the window');
    assert.ok(w.isProbe('t', 4));
    assert.ok(!w.isProbe('t', 2));
    // The probe does not fit: back to 2s, for another period.
    assert.equal(w.shorten('t', 4), 2);
    assert.equal(w.seconds('t', 9_000), 2);
    await clock.advance(CPU_WINDOW_REGROW_MS);
    assert.equal(w.seconds('t', 9_000), 4);
    // This time it fits (WriteTimeout was raised): it is the window now, and grows on.
    w.fits('t', 4, 9_000);
    assert.equal(w.seconds('t', 9_000), 4);
    await clock.advance(CPU_WINDOW_REGROW_MS);
    assert.equal(w.seconds('t', 9_000), 8);
    w.fits('t', 8, 9_000);
    await clock.advance(CPU_WINDOW_REGROW_MS);
    assert.equal(w.seconds('t', 9_000), 9, 'never past profile_duration');
    w.fits('t', 9, 9_000);
    assert.ok(!w.isProbe('t', 9), 'back to the configured window: nothing shortened');
    await clock.advance(CPU_WINDOW_REGROW_MS * 3);
    assert.equal(w.seconds('t', 9_000), 9);
  });
});
