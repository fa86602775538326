// Cron schedules on the scheduler's one timer, driven by the fake clock:
// next runs, the stable spread of many targets after each scheduled second,
// the window capped by the gap, overlap (protect), reload and clock steps.
// Expected times are computed here from the pattern's meaning (UTC), not by
// croner, so a wrong reading of croner's answer fails.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Cron } from 'croner';
import { sleep } from '../../src/core/clock.js';
import { stableHash } from '../../src/core/hash.js';
import { CronSlots } from '../../src/schedule/cron.js';
import { Scheduler, type JobSpec } from '../../src/schedule/scheduler.js';
import { FakeClock } from '../helpers/fake-clock.js';

const MIN = 60_000;
/** 2026-12-06T10:02:17.123Z: not on a second, not on a 5-minute boundary. */
const START = Date.UTC(2026, 11, 6, 10, 2, 17, 123);

function key(i: number, type = 'goroutine'): string {
  const id = createHash('sha256').update(`http://10.0.${i >> 8}.${i & 255}:6060/debug/pprof`).digest('hex').slice(0, 16);
  return `${id}/${type}`;
}

function slots(pattern: string, minGapMs: number, spreadMs = 60_000): CronSlots {
  return new CronSlots(pattern, { minGapMs, spreadMs, timezone: 'UTC' });
}

// Every multiple of `every` ms (UTC, from the epoch) in (from, to]: what a pattern like
// "0 */5 * * * *" means.
function multiplesOf(every: number, from: number, to: number): number[] {
  const out: number[] = [];
  for (let t = Math.floor(from / every) * every + every; t <= to; t += every) out.push(t);
  return out;
}

class Runs {
  readonly at = new Map<string, number[]>();
  readonly reasons: Array<{ key: string; reason: string | undefined; at: number }> = [];
  readonly overlaps: string[] = [];
  constructor(private readonly clock: FakeClock) {}
  job(k: string, cron: CronSlots, durationMs = 0): JobSpec {
    return {
      key: k,
      cron,
      run: async ({ reason }) => {
        this.at.set(k, [...(this.at.get(k) ?? []), this.clock.now()]);
        this.reasons.push({ key: k, reason, at: this.clock.now() });
        if (durationMs > 0) await sleep(this.clock, durationMs);
      },
    };
  }
  of(k: string): number[] {
    return this.at.get(k) ?? [];
  }
}

describe('CronSlots', () => {
  it('runAfter answers what croner answers, for any sequence of moments (its memo never changes an answer)', () => {
    for (const pattern of ['0 */5 * * * *', '*/15 * * * * *', '0 0,10 * * * *', '30 59 23 * * *']) {
      const s = slots(pattern, 10_000);
      const ref = new Cron(pattern, { paused: true, timezone: 'UTC', mode: '6-part' });
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 0, max: 3 * 24 * 3600_000 }), { minLength: 1, maxLength: 40 }), (offsets) => {
          for (const o of offsets) assert.equal(s.runAfter(START + o), ref.nextRun(new Date(START + o))!.getTime(), `${pattern} after +${o}`);
        }),
        { numRuns: 60 },
      );
    }
  });

  it('runAfter is strictly after, to the millisecond, on and around a scheduled second', () => {
    const s = slots('0 */5 * * * *', 5 * MIN);
    const r = Date.UTC(2026, 11, 6, 10, 5, 0);
    assert.equal(s.runAfter(r - 1), r);
    assert.equal(s.runAfter(r), r + 5 * MIN);
    assert.equal(s.runAfter(r + 999), r + 5 * MIN);
    assert.equal(s.next(r, 0, true), r);
    assert.equal(s.next(r, 0, false), r + 5 * MIN);
    assert.equal(s.next(r + 1234, 1234, true), r + 1234);
    assert.equal(s.next(r + 1235, 1234, true), r + 5 * MIN + 1234);
  });

  it('nextRuns: the next three runs of the pattern (no phase)', () => {
    assert.deepEqual(slots('0 */5 * * * *', 5 * MIN).nextRuns(START, 3), multiplesOf(5 * MIN, START, START + 15 * MIN));
    assert.deepEqual(slots('0 0 3 * * *', 24 * 60 * MIN).nextRuns(START, 3), [Date.UTC(2026, 11, 7, 3), Date.UTC(2026, 11, 8, 3), Date.UTC(2026, 11, 9, 3)]);
    assert.deepEqual(slots('0 0 0 31 2 *', Infinity).nextRuns(START, 3), [], 'a pattern that never runs has no runs');
  });

  it('the phase window is schedule_spread, capped by the shortest gap between runs; phase = stable hash mod window', () => {
    assert.equal(slots('0 */5 * * * *', 5 * MIN, 60_000).windowMs, 60_000);
    assert.equal(slots('*/15 * * * * *', 15_000, 60_000).windowMs, 15_000);
    assert.equal(slots('0 */5 * * * *', 5 * MIN, 0).windowMs, 1, 'schedule_spread = "0s": every target at the scheduled second');
    const s = slots('0 */5 * * * *', 5 * MIN, 60_000);
    assert.equal(s.phaseOf('0123456789abcdef/goroutine'), stableHash('0123456789abcdef/goroutine') % 60_000);
  });
});

describe('Scheduler with cron schedules', () => {
  it('fires a job at every run of its pattern plus its phase, on time, from one timer', async () => {
    const clock = new FakeClock(START);
    const runs = new Runs(clock);
    const s = new Scheduler(clock);
    const five = slots('0 */5 * * * *', 5 * MIN);
    const quarter = slots('*/15 * * * * *', 15_000);
    const a = key(1);
    const b = key(2, 'heap');
    s.sync([runs.job(a, five), runs.job(b, quarter)]);
    assert.equal(clock.pending, 1, 'one timer for every job');
    await clock.advance(31 * MIN);
    const pa = five.phaseOf(a);
    const pb = quarter.phaseOf(b);
    assert.ok(pb < 15_000);
    assert.deepEqual(runs.of(a), multiplesOf(5 * MIN, START - pa, START + 31 * MIN - pa).map((t) => t + pa));
    assert.deepEqual(runs.of(b), multiplesOf(15_000, START - pb, START + 31 * MIN - pb).map((t) => t + pb));
    assert.equal(runs.of(a).length, 6);
    assert.equal(s.nextRun(a), runs.of(a).at(-1)! + 5 * MIN);
    assert.equal(clock.pending, 1);
  });

  it('spreads 1,000 targets on one pattern over the window after each scheduled second: stable offsets, no second with a crowd', async () => {
    const clock = new FakeClock(START);
    const runs = new Runs(clock);
    const s = new Scheduler(clock);
    const five = slots('0 */5 * * * *', 5 * MIN);
    const keys = Array.from({ length: 1000 }, (_, i) => key(i));
    s.sync(keys.map((k) => runs.job(k, five)));
    await clock.advance(10 * MIN);
    const runAt = [Date.UTC(2026, 11, 6, 10, 5), Date.UTC(2026, 11, 6, 10, 10)];
    const perSecond = new Map<number, number>();
    for (const k of keys) {
      const ts = runs.of(k);
      assert.equal(ts.length, 2, k);
      const offsets = ts.map((t, i) => t - runAt[i]!);
      assert.equal(offsets[0], offsets[1], `${k}: the same offset after each run`);
      assert.ok(offsets[0]! >= 0 && offsets[0]! < 60_000, `${k}: within the minute after the run`);
      const sec = Math.floor(offsets[0]! / 1000);
      perSecond.set(sec, (perSecond.get(sec) ?? 0) + 1);
    }
    assert.equal(perSecond.size, 60, 'every second of the window has some');
    assert.ok(Math.max(...perSecond.values()) <= 40, `at most 40 of 1000 in one second (mean 16.7): ${[...perSecond.values()]}`);
    // A restarted collector: the same offsets.
    const clock2 = new FakeClock(START + 3 * MIN);
    const runs2 = new Runs(clock2);
    new Scheduler(clock2).sync(keys.slice(0, 50).map((k) => runs2.job(k, slots('0 */5 * * * *', 5 * MIN))));
    await clock2.advance(5 * MIN);
    for (const k of keys.slice(0, 50)) assert.equal((runs2.of(k)[0]! - runAt[0]!) % (5 * MIN), runs.of(k)[0]! - runAt[0]!, k);
  });

  it('with a pattern whose runs are closer than schedule_spread, every job runs within the gap after its run', async () => {
    const clock = new FakeClock(START);
    const runs = new Runs(clock);
    const quarter = slots('*/15 * * * * *', 15_000, 60_000);
    const keys = Array.from({ length: 200 }, (_, i) => key(i, 'heap'));
    new Scheduler(clock).sync(keys.map((k) => runs.job(k, quarter)));
    await clock.advance(2 * MIN);
    for (const k of keys) {
      const ts = runs.of(k);
      assert.ok(ts.length >= 7, `${k}: ${ts.length} runs in 2 minutes`);
      for (const t of ts) assert.ok(t % 15_000 < 15_000 && t % 15_000 === quarter.phaseOf(k), `${k}: fires ${t % 15_000} ms after its run`);
      for (let i = 1; i < ts.length; i++) assert.equal(ts[i]! - ts[i - 1]!, 15_000, `${k}: one run per scheduled second`);
    }
  });

  it('a run that outlasts the gap to the next run skips that run (croner\'s protect), then is back on the pattern', async () => {
    const clock = new FakeClock(START);
    const overlaps: number[] = [];
    const runs = new Runs(clock);
    const s = new Scheduler(clock, { onOverlap: (_k, at) => overlaps.push(at) });
    const quarter = slots('*/15 * * * * *', 15_000, 0);
    const k = key(9, 'cpu');
    s.sync([runs.job(k, quarter, 20_000)]);
    await clock.advance(61_000);
    const first = Date.UTC(2026, 11, 6, 10, 2, 30);
    // Runs at :30 (to :50), :45 skipped, :00 (to :20), :15 skipped.
    assert.deepEqual(runs.of(k), [first, first + 30_000]);
    assert.deepEqual(overlaps, [first + 15_000, first + 45_000]);
  });

  it('an uneven pattern ("0 0,10 * * * *") fires at both of its minutes every hour', async () => {
    const clock = new FakeClock(START);
    const runs = new Runs(clock);
    const uneven = slots('0 0,10 * * * *', 10 * MIN, 0);
    const k = key(3);
    new Scheduler(clock).sync([runs.job(k, uneven)]);
    await clock.advance(2 * 60 * MIN);
    assert.deepEqual(runs.of(k), [Date.UTC(2026, 11, 6, 10, 10), Date.UTC(2026, 11, 6, 11, 0), Date.UTC(2026, 11, 6, 11, 10), Date.UTC(2026, 11, 6, 12, 0)]);
  });

  it('sync: a new pattern moves the job to it; the same pattern keeps its slots; interval <-> cron both ways', async () => {
    const clock = new FakeClock(START);
    const runs = new Runs(clock);
    const s = new Scheduler(clock);
    const k = key(4);
    s.sync([runs.job(k, slots('0 */5 * * * *', 5 * MIN, 0))]);
    assert.equal(s.nextRun(k), Date.UTC(2026, 11, 6, 10, 5));
    assert.deepEqual(s.sync([runs.job(k, slots('0 */5 * * * *', 5 * MIN, 0))]).changed, [], 'an equal pattern (a new CronSlots) is no change');
    assert.deepEqual(s.sync([runs.job(k, slots('0 */10 * * * *', 10 * MIN, 0))]).changed, [k]);
    assert.equal(s.nextRun(k), Date.UTC(2026, 11, 6, 10, 10));
    assert.deepEqual(s.sync([{ key: k, intervalMs: 10_000, run: async () => {} }]).changed, [k]);
    assert.ok(s.nextRun(k)! - START <= 10_000);
    assert.deepEqual(s.sync([runs.job(k, slots('0 */10 * * * *', 10 * MIN, 0))]).changed, [k]);
    await clock.advance(10 * MIN);
    assert.deepEqual(runs.of(k), [Date.UTC(2026, 11, 6, 10, 10)]);
  });

  it('when the wall clock steps back an hour, a cron job fires at the pattern\'s runs of the new time', async () => {
    const clock = new FakeClock(START);
    const runs = new Runs(clock);
    const s = new Scheduler(clock);
    const k = key(5);
    s.sync([runs.job(k, slots('0 */5 * * * *', 5 * MIN, 0))]);
    await clock.advance(5 * MIN);
    assert.deepEqual(runs.of(k), [Date.UTC(2026, 11, 6, 10, 5)]);
    clock.stepWallClock(-60 * MIN);
    await clock.advance(11 * MIN);
    // The old timer fires at the moved due time; the job then takes the runs after the new now.
    const after = runs.of(k).slice(1);
    assert.ok(after.length >= 2, `${after.map((t) => new Date(t).toISOString())}`);
    for (const t of after) assert.equal(t % (5 * MIN), 0, new Date(t).toISOString());
    assert.ok(after.every((t) => t < Date.UTC(2026, 11, 6, 10, 0)), 'on the stepped-back clock');
  });
});
