// ScrapeAdmission (src/scrape/admission.ts): what a scrape reserves of the
// memory budget before it is fetched (the last body times the factor, a
// default first, the body cap bounding it, a CPU window its body alone),
// how long it waits for room, and when the workers are behind (cumulative,
// non-CPU types only; past half the interval or past N jobs).
//
//   node --import tsx --test test/scrape/admission.test.ts

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LIMITS } from '../../src/core/limits.js';
import { MemoryBudget } from '../../src/core/memory-budget.js';
import { typeSpec, type ProfileTypeName } from '../../src/profile/types.js';
import { ScrapeAdmission, type WorkerBacklog } from '../../src/scrape/admission.js';
import { FakeClock, flushMicrotasks } from '../helpers/fake-clock.js';
import { testTarget } from '../helpers/targets.js';

const MiB = 1024 * 1024;
const spec = (t: ProfileTypeName) => typeSpec(t, undefined);
const GAP = 10_000;

describe('ScrapeAdmission estimates', () => {
  it('a default before the first body, then the last body times the factor, bounded by the body cap; a CPU window its body alone', () => {
    const a = new ScrapeAdmission({ clock: new FakeClock() });
    const t = testTarget({ bodySizeLimitBytes: 1 * MiB });
    assert.equal(a.estimate(t, spec('heap')), LIMITS.memoryEstimateFirstBodyBytes * LIMITS.memoryEstimateFactor);
    assert.equal(a.estimate(t, spec('cpu')), LIMITS.memoryEstimateFirstWindowBytes);
    a.bodyRead(t, spec('heap'), 200_000, null);
    assert.equal(a.estimate(t, spec('heap')), 200_000 * LIMITS.memoryEstimateFactor);
    assert.equal(a.estimate(t, spec('mutex')), LIMITS.memoryEstimateFirstBodyBytes * LIMITS.memoryEstimateFactor, 'per type');
    a.bodyRead(t, spec('heap'), 5 * MiB, null);
    assert.equal(a.estimate(t, spec('heap')), 1 * MiB * LIMITS.memoryEstimateFactor, 'never past what the body cap lets in');
    a.bodyRead(t, spec('cpu'), 30_000, null);
    assert.equal(a.estimate(t, spec('cpu')), 30_000);
    a.retainTargets(new Set());
    assert.equal(a.estimate(t, spec('heap')), LIMITS.memoryEstimateFirstBodyBytes * LIMITS.memoryEstimateFactor, 'a gone target is forgotten');
  });

  it('the reservation follows the body once it is read', async () => {
    const budget = new MemoryBudget(64 * MiB);
    const a = new ScrapeAdmission({ clock: new FakeClock(), budget });
    const t = testTarget();
    const r = await a.admit(t, spec('heap'), GAP);
    assert.ok(r.ok && r.reservation);
    assert.equal(budget.inUse, LIMITS.memoryEstimateFirstBodyBytes * LIMITS.memoryEstimateFactor);
    a.bodyRead(t, spec('heap'), 100_000, r.reservation);
    assert.equal(budget.inUse, 100_000 * LIMITS.memoryEstimateFactor);
    r.reservation.release();
    assert.equal(budget.inUse, 0);
  });
});

describe('ScrapeAdmission waits', () => {
  it('waits up to a tenth of the gap (at most memoryBudgetMaxWaitMs) for room, then skips with memory_budget', async () => {
    const clock = new FakeClock();
    const budget = new MemoryBudget(8 * MiB);
    const a = new ScrapeAdmission({ clock, budget });
    const t = testTarget();
    const hold = budget.reserve(8 * MiB)!;
    // Room comes back within the wait: admitted.
    const soon = a.admit(t, spec('heap'), GAP);
    await clock.advance(GAP / 10 - 1);
    hold.release();
    const got = await soon;
    assert.ok(got.ok && got.reservation, 'admitted once room came back');
    got.reservation.release();
    // No room within the wait: skipped.
    const hold2 = budget.reserve(8 * MiB)!;
    const late = a.admit(t, spec('heap'), 60 * GAP);
    let settled = false;
    void late.then(() => (settled = true));
    await clock.advance(LIMITS.memoryBudgetMaxWaitMs - 1);
    await flushMicrotasks();
    assert.equal(settled, false, 'still waiting');
    await clock.advance(1);
    const r = await late;
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.reason, 'memory_budget');
    hold2.release();
  });
});

describe('ScrapeAdmission: workers behind', () => {
  const admitWith = (backlog: WorkerBacklog, type: ProfileTypeName) => new ScrapeAdmission({ clock: new FakeClock(), backlog: () => backlog }).admit(testTarget(), spec(type), GAP);

  it('skips cumulative types past half the gap or past the job bound, and nothing else', async () => {
    const late = { jobs: 1, oldestWaitMs: GAP * LIMITS.workersBehindFraction + 1 };
    const deep = { jobs: LIMITS.workersBehindJobs + 1, oldestWaitMs: 0 };
    for (const b of [late, deep]) {
      for (const type of ['heap', 'mutex', 'block', 'allocs'] as const) {
        const r = await admitWith(b, type);
        assert.equal(!r.ok && r.reason, 'workers_behind', `${type} with ${JSON.stringify(b)}`);
      }
      for (const type of ['cpu', 'goroutine', 'threadcreate'] as const) assert.equal((await admitWith(b, type)).ok, true, `${type} is not skipped for the backlog`);
    }
    assert.equal((await admitWith({ jobs: LIMITS.workersBehindJobs, oldestWaitMs: GAP * LIMITS.workersBehindFraction }, 'heap')).ok, true, 'at the thresholds it still runs');
  });
});
