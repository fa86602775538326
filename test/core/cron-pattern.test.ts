import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkCron, parseCron } from '../../src/core/cron-pattern.js';

const START = Date.UTC(2026, 11, 6, 10, 2, 17, 123);
const S = 1000;

describe('parseCron', () => {
  it('takes six fields (seconds first) and refuses the rest in words', () => {
    assert.doesNotThrow(() => parseCron('0 */5 * * * *', 'UTC'));
    assert.doesNotThrow(() => parseCron('  0  0 3 * * MON-FRI ', 'UTC'));
    assert.throws(() => parseCron('*/5 * * * *'), /^Error: 5 field\(s\), not six$/);
    assert.throws(() => parseCron('@hourly'), /^Error: a nickname like @hourly has no seconds field$/);
    assert.throws(() => parseCron('0 0 0 * * * 2027'), /^Error: 7 field\(s\), not six$/);
    assert.throws(() => parseCron('0 61 * * * *'), /^Error: Invalid value for minute: 61$/);
    assert.throws(() => parseCron('x * * * * *'), /illegal characters/);
    assert.throws(() => parseCron('*/0 * * * * *'), /illegal stepping/);
  });
});

describe('checkCron', () => {
  const gap = (p: string) => checkCron(parseCron(p, 'UTC'), START).minGapMs;

  it('finds the shortest gap between runs, also across a minute, an hour or a day', () => {
    assert.equal(gap('*/15 * * * * *'), 15 * S);
    assert.equal(gap('0 */5 * * * *'), 300 * S);
    assert.equal(gap('0,5 * * * * *'), 5 * S);
    assert.equal(gap('0,59 * * * * *'), 1 * S, '59 -> 0 of the next minute');
    assert.equal(gap('0 0,10 * * * *'), 600 * S);
    assert.equal(gap('0 59 23,0 * * *'), 3600 * S);
    assert.equal(gap('0 0 3 * * *'), 86_400 * S);
    assert.equal(gap('0 0 9 * * MON'), 7 * 86_400 * S);
  });

  it('gives the next runs after a moment; none for a pattern no date matches', () => {
    assert.deepEqual(checkCron(parseCron('0 */5 * * * *', 'UTC'), START).next, [Date.UTC(2026, 11, 6, 10, 5), Date.UTC(2026, 11, 6, 10, 10), Date.UTC(2026, 11, 6, 10, 15)]);
    const never = checkCron(parseCron('0 0 0 31 2 *', 'UTC'), START);
    assert.deepEqual(never, { minGapMs: Infinity, next: [] });
  });
});
