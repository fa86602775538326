// --check's words for a schedule and a trigger (src/server/describe-schedule.ts),
// at a fixed moment, in UTC (patterns are read in the process's time zone).

process.env.TZ = 'UTC';

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stableHash } from '../../src/core/hash.js';
import { localTime, scheduleLines, triggerLine } from '../../src/server/describe-schedule.js';
import { goTargetConfig } from '../helpers/targets.js';

const NOW = Date.UTC(2026, 11, 6, 10, 2, 17, 123);

describe('scheduleLines', () => {
  const c = goTargetConfig({
    profileDurationMs: 5_000,
    schedule: { goroutine: { pattern: '0 */5 * * * *', minGapMs: 300_000 }, cpu: { pattern: '*/20 * * * * *', minGapMs: 20_000 } },
    scheduleSpreadMs: 60_000,
  });

  it('for a target: each pattern, its window for cpu, the target\'s offset and the next three runs', () => {
    const id = '0123456789abcdef';
    assert.deepEqual(scheduleLines(c, NOW, `${id}/`), [
      `goroutine at "0 */5 * * * *" (this target ${(stableHash(`${id}/goroutine`) % 60_000) / 1000}s after each run): next 2026-12-06T10:05:00+00:00, 2026-12-06T10:10:00+00:00, 2026-12-06T10:15:00+00:00`,
      `cpu (5s window) at "*/20 * * * * *" (this target ${(stableHash(`${id}/cpu`) % 20_000) / 1000}s after each run): next 2026-12-06T10:02:20+00:00, 2026-12-06T10:02:40+00:00, 2026-12-06T10:03:00+00:00`,
    ]);
  });

  it('for a discovery template: the spread window instead of one target\'s offset', () => {
    assert.deepEqual(scheduleLines(c, NOW), [
      'goroutine at "0 */5 * * * *" (each target at its own offset within 1m0s after each run): next 2026-12-06T10:05:00+00:00, 2026-12-06T10:10:00+00:00, 2026-12-06T10:15:00+00:00',
      'cpu (5s window) at "*/20 * * * * *" (each target at its own offset within 20s after each run): next 2026-12-06T10:02:20+00:00, 2026-12-06T10:02:40+00:00, 2026-12-06T10:03:00+00:00',
    ]);
    assert.deepEqual(scheduleLines(goTargetConfig(), NOW), []);
  });

  it('localTime shows the local offset and milliseconds only when there are some', () => {
    assert.equal(localTime(Date.UTC(2026, 0, 2, 3, 4, 5)), '2026-01-02T03:04:05+00:00');
    assert.equal(localTime(Date.UTC(2026, 0, 2, 3, 4, 5, 60)), '2026-01-02T03:04:05.060+00:00');
  });
});

describe('triggerLine', () => {
  it('says the thresholds, the crossing, the types and the cooldown', () => {
    const c = goTargetConfig({ trigger: { above: { cpu_cores: 0.6, goroutines: 10_000 }, types: ['cpu', 'goroutine'], cooldownMs: 120_000 } });
    assert.equal(
      triggerLine(c),
      'trigger: when cpu_cores above 0.6 or goroutines above 10000 (crossing from at or below, once per excursion), take cpu, goroutine at once, tagged trigger=<metric>; cooldown 2m0s',
    );
    assert.equal(triggerLine(goTargetConfig()), undefined);
  });
});
