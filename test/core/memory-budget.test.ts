// MemoryBudget (src/core/memory-budget.ts): [agent] memory_limit. Reserve
// fits or returns null, release gives bytes back once, a resize always
// succeeds (the body is already held) and shows in the peak, waiters are
// served oldest first when room comes back, and give up after their wait.
//
//   node --import tsx --test test/core/memory-budget.test.ts

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryBudget } from '../../src/core/memory-budget.js';
import { FakeClock, flushMicrotasks } from '../helpers/fake-clock.js';

describe('MemoryBudget', () => {
  it('reserves what fits, refuses what does not, and releases once', () => {
    const b = new MemoryBudget(100);
    const a = b.reserve(60);
    assert.ok(a);
    assert.equal(b.inUse, 60);
    assert.equal(b.reserve(41), null, '60 + 41 passes the limit of 100');
    const c = b.reserve(40);
    assert.ok(c, '60 + 40 is exactly the limit');
    assert.equal(b.inUse, 100);
    a.release();
    a.release();
    assert.equal(b.inUse, 40, 'a second release gives nothing back twice');
    assert.equal(a.bytes, 0);
    c.release();
    assert.equal(b.inUse, 0);
    assert.equal(b.peak, 100);
  });

  it('cuts a request larger than the limit to the limit: it runs alone rather than never', () => {
    const b = new MemoryBudget(100);
    const small = b.reserve(1)!;
    assert.equal(b.reserve(500), null, 'not beside anything else');
    small.release();
    const big = b.reserve(500);
    assert.ok(big);
    assert.equal(big.bytes, 100);
    assert.equal(b.inUse, 100);
  });

  it('a resize always succeeds, may pass the limit (the peak shows it), and keeps new reservations out until back under', () => {
    const b = new MemoryBudget(100);
    const r = b.reserve(30)!;
    r.resize(150);
    assert.equal(b.inUse, 150);
    assert.equal(b.peak, 150);
    assert.equal(b.reserve(1), null);
    r.resize(20);
    assert.equal(b.inUse, 20);
    assert.ok(b.reserve(80));
    assert.equal(b.peak, 150, 'the peak stays');
    r.release();
    r.resize(50);
    assert.equal(b.inUse, 80, 'a released reservation does not come back by a resize');
  });

  it('resize of the limit (a reload) applies to what comes next', () => {
    const b = new MemoryBudget(100);
    b.reserve(80);
    assert.equal(b.reserve(30), null);
    b.resize(200);
    assert.equal(b.limit, 200);
    assert.ok(b.reserve(30));
  });

  it('reserveWithin waits for room, serves waiters oldest first, and gives up after its wait', async () => {
    const clock = new FakeClock();
    const b = new MemoryBudget(100);
    const held = b.reserve(90)!;
    const order: string[] = [];
    const first = b.reserveWithin(50, clock, 1_000).then((r) => (order.push('first'), r));
    const second = b.reserveWithin(10, clock, 1_000).then((r) => (order.push('second'), r));
    // 10 would fit beside 90, but the older waiter goes first (no starvation of large ones).
    assert.equal(b.reserve(10), null, 'no overtaking of waiters');
    await flushMicrotasks();
    assert.deepEqual(order, []);
    held.release();
    const [a, c] = await Promise.all([first, second]);
    assert.deepEqual(order, ['first', 'second']);
    assert.equal(a?.bytes, 50);
    assert.equal(c?.bytes, 10);
    assert.equal(b.inUse, 60);

    const late = b.reserveWithin(50, clock, 1_000);
    await clock.advance(999);
    assert.equal(b.inUse, 60, 'still waiting');
    await clock.advance(1);
    assert.equal(await late, null, 'no room within the wait');
    assert.equal(b.inUse, 60);
    assert.equal(clock.pending, 0, 'no timer left behind');
  });

  it('an aborted wait gives up at once', async () => {
    const clock = new FakeClock();
    const b = new MemoryBudget(10);
    b.reserve(10);
    const ac = new AbortController();
    const p = b.reserveWithin(5, clock, 60_000, ac.signal);
    ac.abort();
    assert.equal(await p, null);
    assert.equal(clock.pending, 0);
  });

  it('many waiters on one signal (the scheduler shares one) add one abort listener, and all give up when it aborts', async () => {
    const clock = new FakeClock();
    const b = new MemoryBudget(10);
    const held = b.reserve(10)!;
    const ac = new AbortController();
    let listeners = 0;
    const add = ac.signal.addEventListener.bind(ac.signal);
    ac.signal.addEventListener = ((...args: Parameters<typeof add>) => {
      listeners++;
      add(...args);
    }) as typeof add;
    const waits = Array.from({ length: 20 }, () => b.reserveWithin(5, clock, 60_000, ac.signal));
    assert.equal(listeners, 1);
    held.release();
    const [first, second] = await Promise.all(waits.slice(0, 2));
    assert.ok(first && second, 'the two that fit are served');
    ac.abort();
    assert.deepEqual(await Promise.all(waits.slice(2)), Array(18).fill(null));
    assert.equal(clock.pending, 0);
    assert.equal(b.inUse, 10);
  });
});
