// What a crossing is (src/schedule/trigger.ts), on the fake clock: a rising
// edge above the threshold, one firing per excursion, a cooldown per target
// across its metrics, and a crossing during the cooldown fired after it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TriggerConfig } from '../../src/config/types.js';
import { TriggerWatch } from '../../src/schedule/trigger.js';
import { FakeClock } from '../helpers/fake-clock.js';

const TRIGGER: TriggerConfig = { above: { cpu_cores: 0.6, goroutines: 1000 }, types: ['cpu', 'goroutine'], cooldownMs: 60_000 };

function setup() {
  const clock = new FakeClock();
  const watch = new TriggerWatch(clock);
  const fired: Array<{ at: number; metric: string; value: number }> = [];
  /** Feeds one value `afterMs` after the previous one. */
  const feed = async (afterMs: number, values: Record<string, number>, target = 't1') => {
    await clock.advance(afterMs);
    const f = watch.update(target, TRIGGER, values);
    if (f) fired.push({ at: clock.now() - clock0, metric: f.metric, value: f.value });
    return f;
  };
  const clock0 = clock.now();
  return { clock, watch, fired, feed };
}

describe('TriggerWatch', () => {
  it('fires on the first value above the threshold, with the metric, value, threshold, types and cooldown', async () => {
    const { feed } = setup();
    assert.equal(await feed(0, { cpu_cores: 0.6 }), null, 'at the threshold is not above it');
    assert.deepEqual(await feed(10_000, { cpu_cores: 0.61 }), { metric: 'cpu_cores', value: 0.61, threshold: 0.6, types: ['cpu', 'goroutine'], cooldownMs: 60_000 });
  });

  it('a first value that is already above fires (a collector started during an excursion takes one set)', async () => {
    const { feed, fired } = setup();
    await feed(0, { goroutines: 5000 });
    assert.deepEqual(fired, [{ at: 0, metric: 'goroutines', value: 5000 }]);
  });

  it('a value that stays above fires once, however long it stays; going below and above again fires again after the cooldown', async () => {
    const { feed, fired } = setup();
    await feed(0, { cpu_cores: 0.1 });
    for (let i = 0; i < 20; i++) await feed(10_000, { cpu_cores: 1.2 }); // 200 s above
    assert.deepEqual(fired.map((f) => f.at), [10_000]);
    await feed(10_000, { cpu_cores: 0.2 }); // back below at 210 s: re-armed
    await feed(10_000, { cpu_cores: 1.1 }); // 220 s: cooldown long over
    assert.deepEqual(fired.map((f) => f.at), [10_000, 220_000]);
  });

  it('a crossing during the cooldown is held: it fires at the first update after the cooldown while still above', async () => {
    const { feed, fired } = setup();
    await feed(0, { cpu_cores: 1 }); // fires at 0
    await feed(10_000, { cpu_cores: 0.1 }); // below at 10 s
    await feed(10_000, { cpu_cores: 1 }); // 20 s: a crossing, in the cooldown
    await feed(30_000, { cpu_cores: 1 }); // 50 s: still in it
    assert.equal(fired.length, 1);
    await feed(10_000, { cpu_cores: 1 }); // 60 s: cooldown over, still above
    assert.deepEqual(fired.map((f) => f.at), [0, 60_000]);
    await feed(10_000, { cpu_cores: 1 });
    assert.equal(fired.length, 2, 'and then once per excursion again');
  });

  it('a crossing in the cooldown that went back below before it ended does not fire', async () => {
    const { feed, fired } = setup();
    await feed(0, { cpu_cores: 1 });
    await feed(10_000, { cpu_cores: 0.1 });
    await feed(10_000, { cpu_cores: 1 });
    await feed(10_000, { cpu_cores: 0.1 });
    await feed(60_000, { cpu_cores: 0.1 });
    assert.equal(fired.length, 1);
  });

  it('the cooldown is per target, across its metrics; other targets are independent', async () => {
    const { feed, fired } = setup();
    await feed(0, { cpu_cores: 1 });
    await feed(5_000, { goroutines: 2000 }); // same target, in the cooldown
    assert.equal(fired.length, 1);
    assert.notEqual(await feed(0, { goroutines: 2000 }, 't2'), null, 'another target fires');
    await feed(55_000, { goroutines: 2000 }); // 60 s: t1's goroutines excursion fires now
    assert.deepEqual(fired.map((f) => [f.at, f.metric]), [[0, 'cpu_cores'], [5_000, 'goroutines'], [60_000, 'goroutines']]);
  });

  it('one update with two metrics above makes one firing; metrics without a threshold are ignored', async () => {
    const { feed, fired } = setup();
    await feed(0, { heap_live_bytes: 1e12, cpu_cores: 1, goroutines: 2000 });
    assert.equal(fired.length, 1);
    assert.equal(fired[0]!.metric, 'cpu_cores');
  });

  it('forgets targets that are gone: one that comes back starts armed, with no cooldown', async () => {
    const { feed, watch, fired } = setup();
    await feed(0, { cpu_cores: 1 });
    watch.retainTargets(new Set());
    await feed(1_000, { cpu_cores: 1 });
    assert.equal(fired.length, 2);
  });
});
