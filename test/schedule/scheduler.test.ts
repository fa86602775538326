import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { sleep } from '../../src/core/clock.js';
import { stableHash } from '../../src/core/hash.js';
import { nextSlot, phaseOf } from '../../src/schedule/phase.js';
import { Scheduler, type JobRunContext, type JobSpec, type SchedulerEvents } from '../../src/schedule/scheduler.js';
import { FakeClock } from '../helpers/fake-clock.js';

const START = 1_700_000_000_123; // deliberately not on a second boundary

interface Run {
  readonly key: string;
  readonly scheduledAt: number;
  readonly startedAt: number;
  tag: string;
}

/** Records runs; each run optionally takes `durationMs` of fake time. */
class Recorder {
  readonly runs: Run[] = [];
  readonly overlaps: { key: string; scheduledAt: number }[] = [];
  readonly starts: { key: string; scheduledAt: number; lateMs: number }[] = [];
  readonly errors: { key: string; err: unknown }[] = [];
  active = 0;
  maxActive = 0;
  readonly activeByKey = new Map<string, number>();
  maxActivePerKey = 0;

  constructor(private readonly clock: FakeClock) {}

  readonly events: SchedulerEvents = {
    onOverlap: (key, scheduledAt) => this.overlaps.push({ key, scheduledAt }),
    onStart: (key, scheduledAt, lateMs) => this.starts.push({ key, scheduledAt, lateMs }),
    onError: (key, err) => this.errors.push({ key, err }),
  };

  job(key: string, intervalMs: number, durationMs = 0, tag = 'v1'): JobSpec {
    return {
      key,
      intervalMs,
      run: async (ctx: JobRunContext) => {
        this.runs.push({ key, scheduledAt: ctx.scheduledAt, startedAt: this.clock.now(), tag });
        this.active++;
        const k = (this.activeByKey.get(key) ?? 0) + 1;
        this.activeByKey.set(key, k);
        this.maxActive = Math.max(this.maxActive, this.active);
        this.maxActivePerKey = Math.max(this.maxActivePerKey, k);
        try {
          if (durationMs > 0) await sleep(this.clock, durationMs);
        } finally {
          this.active--;
          this.activeByKey.set(key, (this.activeByKey.get(key) ?? 1) - 1);
        }
      },
    };
  }

  of(key: string): Run[] {
    return this.runs.filter((r) => r.key === key);
  }

  times(key: string): number[] {
    return this.of(key).map((r) => r.startedAt);
  }
}

/** Every slot of the grid phase + k*interval within [from, to], computed by brute force. */
function grid(key: string, intervalMs: number, from: number, to: number): number[] {
  const phase = phaseOf(key, intervalMs);
  const out: number[] = [];
  let t = from;
  while ((((t - phase) % intervalMs) + intervalMs) % intervalMs !== 0) t++;
  for (; t <= to; t += intervalMs) out.push(t);
  return out;
}

/** Keys the way the collector makes them: 16 hex of a target id, then the type. */
function collectorKey(i: number, type = 'heap'): string {
  const id = createHash('sha256').update(`http://10.${i >> 16}.${(i >> 8) & 255}.${i & 255}:6060/debug/pprof`).digest('hex').slice(0, 16);
  return `${id}/${type}`;
}

describe('phase', () => {
  it('is stable for a key: the same offset every call and every process (pinned values)', () => {
    assert.equal(stableHash(''), 1572119809);
    assert.equal(stableHash('a'), 1469464775);
    assert.equal(phaseOf('0123456789abcdef/heap', 10_000), 2689);
    assert.equal(phaseOf('0123456789abcdef/cpu', 10_000), 9481);
    assert.equal(phaseOf('0123456789abcdef/heap', 60_000), 22689);
    for (let i = 0; i < 50; i++) {
      const k = collectorKey(i);
      const p = phaseOf(k, 10_000);
      assert.equal(phaseOf(k, 10_000), p);
      assert.ok(Number.isInteger(p) && p >= 0 && p < 10_000);
    }
  });

  it('spreads 1,000 collector keys over all ten 1-second buckets of a 10 s interval, none above 2x the mean', () => {
    for (const type of ['heap', 'cpu']) {
      const buckets = new Array<number>(10).fill(0);
      for (let i = 0; i < 1000; i++) buckets[Math.floor(phaseOf(collectorKey(i, type), 10_000) / 1000)]!++;
      assert.equal(
        buckets.reduce((a, b) => a + b, 0),
        1000,
      );
      for (const [b, n] of buckets.entries()) {
        assert.ok(n > 0, `${type}: bucket ${b} is empty: ${buckets}`);
        assert.ok(n <= 200, `${type}: bucket ${b} has ${n} of 1000: ${buckets}`);
      }
    }
  });

  it('spreads near-identical keys too (target-0/heap ... target-999/heap)', () => {
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 1000; i++) buckets[Math.floor(phaseOf(`target-${i}/heap`, 10_000) / 1000)]!++;
    for (const n of buckets) assert.ok(n > 0 && n <= 200, `${buckets}`);
  });

  it('nextSlot: the first grid point after now (or at now when inclusive)', () => {
    assert.equal(nextSlot(1_000_000, 10_000, 2_500), 1_002_500);
    assert.equal(nextSlot(1_002_500, 10_000, 2_500), 1_012_500);
    assert.equal(nextSlot(1_002_500, 10_000, 2_500, true), 1_002_500);
    assert.equal(nextSlot(1_002_501, 10_000, 2_500, true), 1_012_500);
  });
});

describe('Scheduler', () => {
  it('fires each job exactly on its slot grid (phase + k*interval), on time', async () => {
    const clock = new FakeClock(START);
    const rec = new Recorder(clock);
    const s = new Scheduler(clock, rec.events);
    const jobs = [
      [collectorKey(1, 'heap'), 10_000],
      [collectorKey(1, 'cpu'), 15_000],
      [collectorKey(2, 'heap'), 60_000],
      [collectorKey(3, 'goroutine'), 10_000],
    ] as const;
    assert.deepEqual(s.sync(jobs.map(([k, i]) => rec.job(k, i))), { added: jobs.map(([k]) => k), removed: [], changed: [] });
    await clock.advance(180_000);
    for (const [key, interval] of jobs) {
      const want = grid(key, interval, START, START + 180_000);
      assert.deepEqual(rec.times(key), want, key);
      assert.deepEqual(
        rec.of(key).map((r) => r.scheduledAt),
        want,
      );
      assert.equal(want.length >= 180_000 / interval, true);
    }
    assert.ok(rec.starts.every((x) => x.lateMs === 0));
    assert.deepEqual(rec.overlaps, []);
    assert.deepEqual(rec.errors, []);
  });

  it('a job added exactly on one of its slots runs at once', async () => {
    const key = collectorKey(5);
    const onSlot = nextSlot(START, 10_000, phaseOf(key, 10_000));
    const clock = new FakeClock(onSlot);
    const rec = new Recorder(clock);
    new Scheduler(clock, rec.events).sync([rec.job(key, 10_000)]);
    await clock.advance(0);
    assert.deepEqual(rec.times(key), [onSlot]);
    await clock.advance(10_000);
    assert.deepEqual(rec.times(key), [onSlot, onSlot + 10_000]);
  });

  it('a restarted scheduler fires a job at the same offsets', async () => {
    const key = collectorKey(7);
    const a = new FakeClock(START);
    const ra = new Recorder(a);
    new Scheduler(a, ra.events).sync([ra.job(key, 10_000)]);
    await a.advance(30_000);
    const b = new FakeClock(START + 123_457);
    const rb = new Recorder(b);
    new Scheduler(b, rb.events).sync([rb.job(key, 10_000)]);
    await b.advance(30_000);
    const offsets = (ts: number[]) => ts.map((t) => t % 10_000);
    assert.equal(ra.runs.length, 3);
    assert.equal(rb.runs.length, 3);
    assert.deepEqual(offsets(ra.times(key)), offsets(rb.times(key)));
    assert.deepEqual(new Set(offsets(ra.times(key))), new Set([phaseOf(key, 10_000)]));
  });

  it('serves any number of jobs from a single timer', async () => {
    const clock = new FakeClock(START);
    const rec = new Recorder(clock);
    const s = new Scheduler(clock, rec.events);
    s.sync(Array.from({ length: 1000 }, (_, i) => rec.job(collectorKey(i), 10_000)));
    assert.equal(clock.pending, 1);
    await clock.advance(20_000);
    assert.equal(clock.pending, 1);
    assert.ok(rec.runs.length >= 1990 && rec.runs.length <= 2000, `${rec.runs.length}`);
    // Exactly two slots per job in [START, START+20s] unless its phase is at the very start.
    for (let i = 0; i < 1000; i++) assert.deepEqual(rec.times(collectorKey(i)), grid(collectorKey(i), 10_000, START, START + 20_000));
  });

  it('never runs a job twice at once: a slot that comes while the previous run goes on is skipped and reported', async () => {
    const clock = new FakeClock(START);
    const rec = new Recorder(clock);
    const s = new Scheduler(clock, rec.events);
    const key = collectorKey(11, 'cpu');
    const other = collectorKey(12, 'heap');
    s.sync([rec.job(key, 10_000, 25_000), rec.job(other, 10_000, 100)]);
    const [s0] = grid(key, 10_000, START, START + 10_000) as [number];
    await clock.advance(s0 - START + 100_000);
    // Runs at s0, s0+30s, s0+60s, s0+90s; the slots in between are skipped.
    assert.deepEqual(rec.times(key), [s0, s0 + 30_000, s0 + 60_000, s0 + 90_000]);
    assert.deepEqual(
      rec.overlaps.filter((o) => o.key === key).map((o) => o.scheduledAt),
      [s0 + 10_000, s0 + 20_000, s0 + 40_000, s0 + 50_000, s0 + 70_000, s0 + 80_000, s0 + 100_000],
    );
    assert.equal(rec.maxActivePerKey, 1);
    // The slow job does not delay the other one.
    assert.deepEqual(rec.times(other), grid(other, 10_000, START, s0 + 100_000));
    assert.equal(rec.overlaps.filter((o) => o.key === other).length, 0);
  });

  it('sync adds, removes and changes jobs: removed stop, kept keep their slot, a changed interval moves to its new grid', async () => {
    const clock = new FakeClock(START);
    const rec = new Recorder(clock);
    const s = new Scheduler(clock, rec.events);
    const [a, b, c, d] = [collectorKey(61), collectorKey(62), collectorKey(63), collectorKey(64)];
    s.sync([rec.job(a, 10_000), rec.job(b, 10_000), rec.job(d, 10_000)]);
    await clock.advance(35_000);
    const t1 = clock.now();
    const result = s.sync([rec.job(a, 10_000, 0, 'v2'), rec.job(b, 15_000), rec.job(c, 20_000)]);
    assert.deepEqual(result, { added: [c], removed: [d], changed: [b] });
    assert.equal(s.size, 3);
    assert.equal(s.nextRun(d), undefined);
    assert.equal(s.nextRun(a), grid(a, 10_000, t1 + 1, t1 + 10_000)[0]);
    assert.equal(s.nextRun(b), grid(b, 15_000, t1, t1 + 15_000)[0]);
    await clock.advance(60_000);
    const end = clock.now();

    // a: one unbroken grid across the sync, the new run() closure after it.
    assert.deepEqual(rec.times(a), grid(a, 10_000, START, end));
    assert.ok(rec.of(a).every((r) => (r.startedAt <= t1 ? r.tag === 'v1' : r.tag === 'v2')));
    // b: the 10 s grid before, the 15 s grid after.
    assert.deepEqual(rec.times(b), [...grid(b, 10_000, START, t1), ...grid(b, 15_000, t1 + 1, end)]);
    assert.notDeepEqual(grid(b, 15_000, t1 + 1, end), grid(b, 10_000, t1 + 1, end));
    // c: its grid from the sync on.
    assert.deepEqual(rec.times(c), grid(c, 20_000, t1, end));
    // d: nothing after removal.
    assert.deepEqual(rec.times(d), grid(d, 10_000, START, t1));
    // Syncing the same set again changes nothing.
    const before = rec.runs.length;
    assert.deepEqual(s.sync([rec.job(a, 10_000), rec.job(b, 15_000), rec.job(c, 20_000)]), { added: [], removed: [], changed: [] });
    await clock.advance(0);
    assert.equal(rec.runs.length, before);
  });

  it('a job removed and added back fires once per slot, on its grid', async () => {
    const clock = new FakeClock(START);
    const rec = new Recorder(clock);
    const s = new Scheduler(clock, rec.events);
    const key = collectorKey(21);
    s.sync([rec.job(key, 10_000)]);
    await clock.advance(12_000);
    s.sync([]);
    await clock.advance(1_000);
    s.sync([rec.job(key, 10_000)]);
    await clock.advance(40_000);
    assert.deepEqual(rec.times(key), grid(key, 10_000, START, START + 53_000));
  });

  it('a job removed while running and added back does not run concurrently with the old run', async () => {
    const clock = new FakeClock(START);
    const rec = new Recorder(clock);
    const s = new Scheduler(clock, rec.events);
    const key = collectorKey(22, 'cpu');
    const [s0] = grid(key, 10_000, START, START + 10_000) as [number];
    s.sync([rec.job(key, 10_000, 25_000)]);
    await clock.advance(s0 - START + 1_000); // running since s0
    s.sync([]); // reload without the target...
    await clock.advance(1_000);
    s.sync([rec.job(key, 10_000, 25_000)]); // ...and with it again
    await clock.advance(40_000);
    assert.equal(rec.maxActivePerKey, 1, `runs at ${rec.times(key).map((t) => t - s0)} ms after s0`);
  });

  it('stop() stops firing; sync after stop is refused; abortRunning aborts the running job', async () => {
    const clock = new FakeClock(START);
    const rec = new Recorder(clock);
    const s = new Scheduler(clock, rec.events);
    const key = collectorKey(31);
    let signal: AbortSignal | undefined;
    s.sync([
      {
        key,
        intervalMs: 10_000,
        run: async (ctx) => {
          signal = ctx.signal;
          rec.runs.push({ key, scheduledAt: ctx.scheduledAt, startedAt: clock.now(), tag: '' });
          await sleep(clock, 60_000, ctx.signal);
        },
      },
    ]);
    await clock.advance(10_000);
    assert.equal(rec.runs.length, 1);
    assert.equal(s.inFlight().length, 1);
    s.stop();
    await clock.advance(60_000 - 1);
    assert.equal(rec.runs.length, 1);
    assert.throws(() => s.sync([rec.job(key, 10_000)]), /stopped/);
    assert.equal(signal?.aborted, false);
    s.abortRunning();
    assert.equal(signal?.aborted, true);
    await Promise.all(s.inFlight());
    await clock.advance(0);
    assert.equal(s.inFlight().length, 0);
    await clock.advance(120_000);
    assert.equal(rec.runs.length, 1);
    assert.equal(clock.pending, 0);
  });

  it('after a long stall the missed slots are not fired in a burst: one late run, then back on the grid', async () => {
    const clock = new FakeClock(START);
    const rec = new Recorder(clock);
    const s = new Scheduler(clock, rec.events);
    const keys = [collectorKey(41), collectorKey(42), collectorKey(43)];
    s.sync(keys.map((k) => rec.job(k, 10_000)));
    await clock.advance(10_000);
    const runsBefore = new Map(keys.map((k) => [k, rec.times(k).length]));
    const stallStart = clock.now();
    clock.stall(55_000); // 5.5 intervals with the event loop frozen
    const wake = clock.now();
    await clock.advance(0);
    for (const k of keys) {
      const late = rec.of(k).slice(runsBefore.get(k));
      assert.equal(late.length, 1, `${k}: one run on waking up, not ${late.length}`);
      assert.equal(late[0]!.startedAt, wake);
      // It belongs to a slot that was missed, on the job's grid.
      assert.ok(grid(k, 10_000, stallStart + 1, wake).includes(late[0]!.scheduledAt));
    }
    // Not even as a string of skipped slots reported as overlaps.
    assert.deepEqual(rec.overlaps, []);
    const lateStarts = rec.starts.filter((x) => x.lateMs > 0);
    assert.equal(lateStarts.length, keys.length);
    for (const x of lateStarts) assert.equal(x.lateMs, wake - x.scheduledAt);
    await clock.advance(30_000);
    for (const k of keys) {
      assert.deepEqual(
        rec.times(k).slice(runsBefore.get(k)! + 1),
        grid(k, 10_000, wake + 1, wake + 30_000),
        k,
      );
    }
  });

  it('a run that throws or rejects is reported and the job keeps its schedule', async () => {
    const clock = new FakeClock(START);
    const rec = new Recorder(clock);
    const s = new Scheduler(clock, rec.events);
    let n = 0;
    const key = collectorKey(51);
    s.sync([
      {
        key,
        intervalMs: 10_000,
        run: (ctx) => {
          n++;
          rec.runs.push({ key, scheduledAt: ctx.scheduledAt, startedAt: clock.now(), tag: '' });
          if (n === 1) throw new Error('sync boom');
          if (n === 2) return Promise.reject(new Error('async boom'));
          return Promise.resolve();
        },
      },
    ]);
    await clock.advance(30_000);
    assert.deepEqual(
      rec.errors.map((e) => [e.key, (e.err as Error).message]),
      [
        [key, 'sync boom'],
        [key, 'async boom'],
      ],
    );
    assert.deepEqual(rec.times(key), grid(key, 10_000, START, START + 30_000));
    assert.equal(rec.times(key).length, 3);
  });

  it('when the wall clock steps back an hour, jobs keep firing every interval instead of waiting out the jump', async () => {
    const clock = new FakeClock(START);
    const rec = new Recorder(clock);
    let jumps = 0;
    const s = new Scheduler(clock, { ...rec.events, onClockJump: () => jumps++ });
    const key = collectorKey(7);
    s.sync([rec.job(key, 10_000)]);
    await clock.advance(25_000);
    const before = rec.of(key).length;
    assert.ok(before >= 2);
    clock.stepWallClock(-3_600_000);
    await clock.advance(30_000);
    const after = rec.of(key).slice(before);
    assert.equal(jumps, 1);
    assert.ok(after.length >= 2, `expected runs within 30 s after the jump, got ${after.length}`);
    // Back on its own grid, in the new time.
    for (const r of after.slice(1)) assert.equal((((r.scheduledAt - phaseOf(key, 10_000)) % 10_000) + 10_000) % 10_000, 0);
  });
});

describe('Scheduler.runNow (triggered runs)', () => {
  function reasonJob(clock: FakeClock, key: string, intervalMs: number, durationMs: number, seen: Array<{ at: number; reason: string | undefined }>): JobSpec {
    return {
      key,
      intervalMs,
      run: async (ctx) => {
        seen.push({ at: clock.now(), reason: ctx.reason });
        await sleep(clock, durationMs);
      },
    };
  }

  it('runs an idle job at once with its reason, and leaves its slots as they were', async () => {
    const clock = new FakeClock(START);
    const s = new Scheduler(clock);
    const key = collectorKey(81, 'goroutine');
    const seen: Array<{ at: number; reason: string | undefined }> = [];
    s.sync([reasonJob(clock, key, 10_000, 100, seen)]);
    const slot = s.nextRun(key)!;
    await clock.advance(slot - START + 3_000);
    assert.equal(s.runNow(key, 'cpu_cores'), true);
    assert.deepEqual(seen.at(-1), { at: slot + 3_000, reason: 'cpu_cores' });
    assert.equal(s.nextRun(key), slot + 10_000);
    await clock.advance(10_000);
    assert.deepEqual(seen, [
      { at: slot, reason: undefined },
      { at: slot + 3_000, reason: 'cpu_cores' },
      { at: slot + 10_000, reason: undefined },
    ]);
    assert.equal(s.runNow('no/such', 'cpu_cores'), false);
  });

  it('asked while a run is in flight: runs right after it ends, once for any number of asks; never two at once', async () => {
    const clock = new FakeClock(START);
    const overlaps: number[] = [];
    const s = new Scheduler(clock, { onOverlap: (_k, at) => overlaps.push(at) });
    const key = collectorKey(82, 'cpu');
    const seen: Array<{ at: number; reason: string | undefined }> = [];
    s.sync([reasonJob(clock, key, 10_000, 4_000, seen)]);
    const slot = s.nextRun(key)!;
    await clock.advance(slot - START + 1_000);
    assert.equal(s.runNow(key, 'goroutines'), true);
    assert.equal(s.runNow(key, 'cpu_cores'), true);
    assert.equal(seen.length, 1, 'not beside the run in flight');
    await clock.advance(3_000); // the slot's run ends at slot + 4 s
    assert.deepEqual(seen.at(-1), { at: slot + 4_000, reason: 'cpu_cores' });
    // The triggered run goes on until slot + 8 s; the slot at +10 s runs as usual.
    await clock.advance(7_000);
    assert.deepEqual(seen.map((r) => [r.at - slot, r.reason]), [
      [0, undefined],
      [4_000, 'cpu_cores'],
      [10_000, undefined],
    ]);
    assert.deepEqual(overlaps, []);
  });

  it('a slot that comes while a triggered run goes on is skipped, as for any run in flight', async () => {
    const clock = new FakeClock(START);
    const overlaps: number[] = [];
    const s = new Scheduler(clock, { onOverlap: (_k, at) => overlaps.push(at) });
    const key = collectorKey(83, 'cpu');
    const seen: Array<{ at: number; reason: string | undefined }> = [];
    s.sync([reasonJob(clock, key, 10_000, 1_000, seen)]);
    const slot = s.nextRun(key)! + 10_000; // the second slot
    await clock.advance(slot - START - 2_000);
    s.sync([reasonJob(clock, key, 10_000, 5_000, seen)]);
    s.runNow(key, 'cpu_cores'); // runs to slot + 3 s
    await clock.advance(12_000);
    assert.deepEqual(seen.map((r) => [r.at - slot, r.reason]), [
      [-10_000, undefined],
      [-2_000, 'cpu_cores'],
      [10_000, undefined],
    ]);
    assert.deepEqual(overlaps, [slot]);
  });

  it('a pending triggered run is dropped when the job is removed or the scheduler stops', async () => {
    const clock = new FakeClock(START);
    const s = new Scheduler(clock);
    const key = collectorKey(84, 'cpu');
    const seen: Array<{ at: number; reason: string | undefined }> = [];
    s.sync([reasonJob(clock, key, 10_000, 4_000, seen)]);
    await clock.advance(s.nextRun(key)! - START);
    s.runNow(key, 'cpu_cores');
    s.sync([]);
    await clock.advance(30_000);
    assert.equal(seen.length, 1);
    s.sync([reasonJob(clock, key, 10_000, 4_000, seen)]);
    await clock.advance(s.nextRun(key)! - clock.now());
    s.runNow(key, 'cpu_cores');
    s.stop();
    assert.equal(s.runNow(key, 'cpu_cores'), false);
    await clock.advance(30_000);
    assert.equal(seen.length, 2);
  });
});
