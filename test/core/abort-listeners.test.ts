// core/abort-listeners.ts: many short-lived waiters on one long-lived signal
// (the collector's shutdown, the scheduler's) cost that signal one listener,
// and a waiter that stopped waiting is not held by it. Its users here:
// deadlines, memory reservations waiting for room, clock sleeps and CPU
// gate waits, all on one signal as in the collector.

import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, test } from 'node:test';
import { whenAborted } from '../../src/core/abort-listeners.js';
import { sleep } from '../../src/core/clock.js';
import { deadlineSignal } from '../../src/core/deadline.js';
import { MemoryBudget } from '../../src/core/memory-budget.js';
import { CpuProfileGate } from '../../src/scrape/cpu-gate.js';
import { FakeClock, flushMicrotasks } from '../helpers/fake-clock.js';

const listeners = (s: AbortSignal) => getEventListeners(s, 'abort').length;

describe('whenAborted', () => {
  test('one listener however many wait; each waiter runs once on abort; one that stopped waiting does not run', () => {
    const ac = new AbortController();
    const ran: number[] = [];
    const stops = Array.from({ length: 50 }, (_, i) => whenAborted(ac.signal, () => ran.push(i)));
    assert.equal(listeners(ac.signal), 1);
    stops[7]!();
    stops[7]!(); // idempotent
    ac.abort();
    assert.deepEqual(ran, Array.from({ length: 50 }, (_, i) => i).filter((i) => i !== 7));
    // Stopping after the abort is harmless.
    stops[3]!();
    assert.equal(ran.length, 49);
  });

  test('an already aborted signal runs the waiter at once and adds no listener', () => {
    const ac = new AbortController();
    ac.abort();
    let ran = 0;
    whenAborted(ac.signal, () => ran++)();
    assert.equal(ran, 1);
    assert.equal(listeners(ac.signal), 0);
  });

  test('a waiter may stop another (or itself) while the abort runs them', () => {
    const ac = new AbortController();
    const ran: string[] = [];
    let stopB = (): void => undefined;
    const stopA = whenAborted(ac.signal, () => {
      ran.push('a');
      stopA();
      stopB();
    });
    stopB = whenAborted(ac.signal, () => ran.push('b'));
    ac.abort();
    // a ran first and stopped b: b had stopped waiting, so it does not run.
    assert.deepEqual(ran, ['a']);
  });

  test('deadlines, budget waits, sleeps and CPU gate waits on one signal: one listener while they wait, and none held once done', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const budget = new MemoryBudget(10);
    const held = budget.reserve(10)!;
    const gate = new CpuProfileGate(clock);
    const cpu = gate.tryAcquire('host:1')!;
    const deadlines = Array.from({ length: 20 }, () => deadlineSignal(60_000, ac.signal));
    const waits = Array.from({ length: 20 }, () => budget.reserveWithin(5, clock, 1_000, ac.signal));
    const sleeps = Array.from({ length: 20 }, () => sleep(clock, 1_000, ac.signal));
    const gateWaits = Array.from({ length: 20 }, () => gate.acquire('host:1', { maxWaitMs: 1_000, signal: ac.signal }));
    assert.equal(listeners(ac.signal), 1);

    // All finish on their own (timers run out, deadlines disposed): the signal runs none of them later.
    for (const d of deadlines) d.dispose();
    clock.advance(1_000);
    await flushMicrotasks();
    assert.deepEqual(await Promise.all(waits), Array(20).fill(null));
    await Promise.all(sleeps);
    assert.deepEqual(await Promise.all(gateWaits), Array(20).fill(null));
    held.release();
    cpu();
    ac.abort();
    assert.ok(deadlines.every((d) => !d.signal.aborted), 'a disposed deadline is not aborted by the parent');
  });

  test('an abort ends every kind of wait at once', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const budget = new MemoryBudget(10);
    budget.reserve(10);
    const gate = new CpuProfileGate(clock);
    gate.tryAcquire('host:1');
    const d = deadlineSignal(60_000, ac.signal);
    const wait = budget.reserveWithin(5, clock, 60_000, ac.signal);
    const slept = sleep(clock, 60_000, ac.signal);
    const gateWait = gate.acquire('host:1', { maxWaitMs: 60_000, signal: ac.signal });
    ac.abort(new Error('shutdown'));
    assert.equal(d.signal.aborted, true);
    assert.equal((d.signal.reason as Error).message, 'shutdown');
    assert.equal(d.timedOut(), false);
    assert.equal(await wait, null);
    await slept;
    assert.equal(await gateWait, null);
    assert.equal(clock.pending, 0, 'every fake-clock timer was cleared by the abort');
    d.dispose();
  });
});
