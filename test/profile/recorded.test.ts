// The profile stage against real profiles recorded from the Go fixture
// (fixtures/profiles): heap/mutex/block-1..6 are consecutive scrapes of one
// process 2 s apart.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Profile } from 'pprof-format';
import { BaselineStore } from '../../src/profile/baselines.js';
import { ProfileProcessor, type ProcessResult, type ScrapedProfile } from '../../src/profile/processor.js';
import type { ProfileRecord } from '../../src/profile/record.js';
import type { ProfileTypeName } from '../../src/profile/types.js';
import { byKey, decode, fixture, i64, rows, sampleTypeNames, structureProblems, total, totalIn } from '../helpers/pprof-model.js';
import { assertGoOnPath, goPprof as runGoPprof, type GoPprofResult } from '../helpers/pprof.js';
import { cleanupAfterAll } from '../helpers/processes.js';
import { testTarget } from '../helpers/targets.js';

const target = testTarget();
const NOW_MS = 1_800_000_000_000;

/** When the fixture's profile says it was taken, in ns. */
function profileTime(name: string): bigint {
  return i64(decode(fixture(name)).timeNanos);
}

function scraped(type: ProfileTypeName, body: Buffer, t = target): ScrapedProfile {
  // A scrape that ends when the profile was written; the request took 20 ms.
  const ms = Number(i64(decode(body).timeNanos) / 1_000_000n);
  return { target: t, type, body, contentType: 'application/octet-stream', startedAtMs: ms - 20, finishedAtMs: ms };
}

function newProcessor(): { proc: ProfileProcessor; store: BaselineStore } {
  const store = new BaselineStore();
  return { proc: new ProfileProcessor({ baselines: store, now: () => NOW_MS }), store };
}

async function feed(proc: ProfileProcessor, type: ProfileTypeName, name: string): Promise<ProcessResult> {
  return proc.process(scraped(type, fixture(name)));
}

function record(r: ProcessResult): ProfileRecord {
  if (r.kind !== 'shipped') assert.fail(`expected shipped, got ${r.kind}${r.kind === 'reset' ? ` (${r.reason})` : ''}`);
  return r.record;
}

function noNegatives(p: Profile): void {
  for (const r of rows(p)) for (const v of r.values) assert.ok(v >= 0n, `negative value ${v} at ${r.key}`);
}

/** Per stack: current minus previous for the delta types, current for the rest. */
function expectedDelta(prevName: string, curName: string, deltaTypes: readonly number[]): Map<string, bigint[]> {
  const prev = byKey(decode(fixture(prevName)));
  const want = new Map<string, bigint[]>();
  for (const [k, v] of byKey(decode(fixture(curName)))) {
    const d = v.map((x, i) => (deltaTypes.includes(i) ? x - (prev.get(k)?.[i] ?? 0n) : x));
    if (d.some((x) => x !== 0n)) want.set(k, d);
  }
  return want;
}

const sorted = (m: Map<string, bigint[]>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

const cleanup = cleanupAfterAll();
let tmp = '';
before(() => {
  tmp = cleanup.tempDir('profile-recorded-test-');
});

const goPprof = (args: string[]): GoPprofResult => runGoPprof(args, { tmpDir: tmp, timeoutMs: 30_000 });

describe('heap deltas of recorded profiles', () => {
  it('heap-1 is the baseline; heap-2..6 ship deltas equal to current minus previous per stack, in-use kept', async () => {
    const { proc, store } = newProcessor();
    const first = await feed(proc, 'heap', 'heap-1.pb.gz');
    assert.equal(first.kind, 'baseline');
    assert.equal(first.scrapedSamples, decode(fixture('heap-1.pb.gz')).sample.length);
    assert.equal(first.empty, false);
    assert.equal(store.size, 1);
    for (let k = 2; k <= 6; k++) {
      const r = await feed(proc, 'heap', `heap-${k}.pb.gz`);
      const rec = record(r);
      const p = decode(rec.pprof);
      assert.deepEqual(sampleTypeNames(p), ['alloc_objects/count', 'alloc_space/bytes', 'inuse_objects/count', 'inuse_space/bytes']);
      noNegatives(p);
      assert.deepEqual(structureProblems(p), [], `heap-${k}`);
      assert.deepEqual(sorted(byKey(p)), sorted(expectedDelta(`heap-${k - 1}.pb.gz`, `heap-${k}.pb.gz`, [0, 1])), `heap-${k}`);
      assert.equal(rec.sampleCount, p.sample.length);
      assert.equal(r.scrapedSamples, decode(fixture(`heap-${k}.pb.gz`)).sample.length);
      // Window: previous profile's time to this one's.
      assert.equal(rec.startNs, profileTime(`heap-${k - 1}.pb.gz`));
      assert.equal(rec.endNs, profileTime(`heap-${k}.pb.gz`));
      assert.equal(i64(p.timeNanos), rec.endNs);
      assert.equal(i64(p.durationNanos), rec.endNs - rec.startNs);
      assert.equal(rec.isDelta, true);
      assert.equal(rec.type, 'heap');
    }
  });

  it('heap-2 delta: main.allocator allocated in the window, exactly its cumulative growth', async () => {
    const { proc } = newProcessor();
    await feed(proc, 'heap', 'heap-1.pb.gz');
    const p = decode(record(await feed(proc, 'heap', 'heap-2.pb.gz')).pprof);
    const got = totalIn(p, 'alloc_space', 'main.allocator');
    const want =
      totalIn(decode(fixture('heap-2.pb.gz')), 'alloc_space', 'main.allocator') -
      totalIn(decode(fixture('heap-1.pb.gz')), 'alloc_space', 'main.allocator');
    assert.ok(want > 0n, 'the fixture allocates between scrapes');
    assert.equal(got, want);
    // Far less than the cumulative value: it is a delta.
    assert.ok(got < totalIn(decode(fixture('heap-2.pb.gz')), 'alloc_space', 'main.allocator'));
  });

  it('alloc_* agree with `go tool pprof -base` (Go\'s own subtraction)', async () => {
    assertGoOnPath('this test checks the shipped delta against go tool pprof -base');
    const { proc } = newProcessor();
    await feed(proc, 'heap', 'heap-2.pb.gz');
    const ours = byKey(decode(record(await feed(proc, 'heap', 'heap-3.pb.gz')).pprof));
    const out = join(tmp, 'go-diff.pb.gz');
    const fx = (n: string) => new URL(n, new URL('../../fixtures/profiles/', import.meta.url)).pathname;
    const r = goPprof(['-proto', '-output', out, '-base', fx('heap-2.pb.gz'), fx('heap-3.pb.gz')]);
    assert.equal(r.status, 0, r.stderr);
    const goDiff = byKey(decode(readFileSync(out)));
    const keys = new Set([...ours.keys(), ...goDiff.keys()]);
    let nonzero = 0;
    for (const k of keys) {
      for (const i of [0, 1]) {
        const a = ours.get(k)?.[i] ?? 0n;
        assert.equal(a, goDiff.get(k)?.[i] ?? 0n, `${k} type ${i}`);
        if (a !== 0n) nonzero++;
      }
    }
    assert.ok(nonzero > 0);
  });

  it('deltas compose: heap-1 -> heap-3 equals heap-1 -> heap-2 plus heap-2 -> heap-3', async () => {
    const a = newProcessor();
    await feed(a.proc, 'heap', 'heap-1.pb.gz');
    const d12 = byKey(decode(record(await feed(a.proc, 'heap', 'heap-2.pb.gz')).pprof));
    const d23 = byKey(decode(record(await feed(a.proc, 'heap', 'heap-3.pb.gz')).pprof));
    const b = newProcessor();
    await feed(b.proc, 'heap', 'heap-1.pb.gz');
    const d13 = byKey(decode(record(await feed(b.proc, 'heap', 'heap-3.pb.gz')).pprof));
    const keys = new Set([...d12.keys(), ...d23.keys(), ...d13.keys()]);
    for (const k of keys) {
      for (const i of [0, 1]) {
        assert.equal((d12.get(k)?.[i] ?? 0n) + (d23.get(k)?.[i] ?? 0n), d13.get(k)?.[i] ?? 0n, `${k} type ${i}`);
      }
    }
  });

  it('after heap-6, a profile of another process resets, and becomes the new baseline', async () => {
    const { proc, store } = newProcessor();
    for (let k = 1; k <= 6; k++) await feed(proc, 'heap', `heap-${k}.pb.gz`);
    const r = await feed(proc, 'heap', 'heap-other-process.pb.gz');
    assert.equal(r.kind, 'reset');
    assert.match(r.kind === 'reset' ? r.reason : '', /restart/);
    assert.equal(store.get(target.id, 'heap')?.timeNanos, profileTime('heap-other-process.pb.gz'));

    // The same process 2 s later, nothing allocated: a delta with no allocations.
    const p = decode(fixture('heap-other-process.pb.gz'));
    p.timeNanos = i64(p.timeNanos) + 2_000_000_000n;
    const later = gzipSync(p.encode());
    const rec = record(await proc.process(scraped('heap', later)));
    const d = decode(rec.pprof);
    assert.equal(total(d, 'alloc_objects'), 0n);
    assert.equal(total(d, 'alloc_space'), 0n);
    assert.equal(total(d, 'inuse_space'), total(decode(fixture('heap-other-process.pb.gz')), 'inuse_space'));
    assert.equal(rec.startNs, profileTime('heap-other-process.pb.gz'));
  });

  it('a profile older than the baseline (time backwards) resets', async () => {
    const { proc } = newProcessor();
    await feed(proc, 'heap', 'heap-3.pb.gz');
    const r = await feed(proc, 'heap', 'heap-2.pb.gz');
    assert.equal(r.kind, 'reset');
    assert.match(r.kind === 'reset' ? r.reason : '', /backwards/);
  });

  it('baselines are per target: a second target starts with its own baseline', async () => {
    const { proc } = newProcessor();
    const other = testTarget({ baseUrl: 'http://10.0.0.7:6060/debug/pprof' });
    assert.notEqual(other.id, target.id);
    await feed(proc, 'heap', 'heap-1.pb.gz');
    const r = await proc.process(scraped('heap', fixture('heap-2.pb.gz'), other));
    assert.equal(r.kind, 'baseline');
    assert.equal((await feed(proc, 'heap', 'heap-2.pb.gz')).kind, 'shipped');
  });

  it('a shipped heap delta is read by `go tool pprof -raw` and `-top`', async () => {
    assertGoOnPath();
    const { proc } = newProcessor();
    await feed(proc, 'heap', 'heap-1.pb.gz');
    const rec = record(await feed(proc, 'heap', 'heap-2.pb.gz'));
    const file = join(tmp, 'delta-heap.pprof');
    writeFileSync(file, rec.pprof);
    const raw = goPprof(['-raw', file]);
    assert.equal(raw.status, 0, raw.stderr);
    assert.match(raw.stdout, /alloc_objects\/count alloc_space\/bytes inuse_objects\/count inuse_space\/bytes/);
    assert.match(raw.stdout, /main\.allocator/);
    const top = goPprof(['-top', '-sample_index=alloc_space', file]);
    assert.equal(top.status, 0, top.stderr);
    assert.match(top.stdout, /Type: alloc_space/);
    assert.match(top.stdout, /main\.allocator/);
  });
});

describe('mutex and block deltas of recorded profiles', () => {
  for (const [type, fn] of [
    ['mutex', 'main.lockContender'],
    ['block', 'main.channelBlocker'],
  ] as const) {
    it(`${type}-1 is the baseline; ${type}-2..6 ship per-stack deltas of contentions and delay with ${fn} in them`, async () => {
      const { proc } = newProcessor();
      assert.equal((await feed(proc, type, `${type}-1.pb.gz`)).kind, 'baseline');
      for (let k = 2; k <= 6; k++) {
        const rec = record(await feed(proc, type, `${type}-${k}.pb.gz`));
        const p = decode(rec.pprof);
        assert.deepEqual(sampleTypeNames(p), ['contentions/count', 'delay/nanoseconds']);
        noNegatives(p);
        assert.deepEqual(structureProblems(p), []);
        assert.deepEqual(sorted(byKey(p)), sorted(expectedDelta(`${type}-${k - 1}.pb.gz`, `${type}-${k}.pb.gz`, [0, 1])));
        assert.equal(rec.startNs, profileTime(`${type}-${k - 1}.pb.gz`));
        assert.equal(rec.endNs, profileTime(`${type}-${k}.pb.gz`));
        assert.equal(rec.isDelta, true);
        if (k === 2) {
          assert.ok(totalIn(p, 'delay', fn) > 0n, `${fn} has delay in ${type}-2's delta`);
          assert.ok(totalIn(p, 'contentions', fn) > 0n);
          assert.ok(totalIn(p, 'delay', fn) < totalIn(decode(fixture(`${type}-2.pb.gz`)), 'delay', fn));
        }
      }
    });

    it(`${type}-off (profiling off): no samples, flagged empty, whether first or after a baseline`, async () => {
      const { proc } = newProcessor();
      const alone = await feed(proc, type, `${type}-off.pb.gz`);
      assert.equal(alone.scrapedSamples, 0);
      assert.equal(alone.empty, true);
      assert.equal(alone.kind, 'baseline');
      const b = newProcessor();
      await feed(b.proc, type, `${type}-6.pb.gz`);
      const afterOn = await feed(b.proc, type, `${type}-off.pb.gz`);
      assert.equal(afterOn.scrapedSamples, 0);
      assert.equal(afterOn.empty, true);
      // Every stack with contentions vanished: nothing negative may ship.
      assert.equal(afterOn.kind, 'reset');
    });
  }

  it('a shipped mutex delta is read by `go tool pprof -top`', async () => {
    assertGoOnPath();
    const { proc } = newProcessor();
    await feed(proc, 'mutex', 'mutex-1.pb.gz');
    const file = join(tmp, 'delta-mutex.pprof');
    writeFileSync(file, record(await feed(proc, 'mutex', 'mutex-2.pb.gz')).pprof);
    const top = goPprof(['-top', '-sample_index=delay', file]);
    assert.equal(top.status, 0, top.stderr);
    assert.match(top.stdout, /main\.lockContender/);
  });
});

describe('cpu and goroutine profiles are shipped as scraped', () => {
  it('cpu: the exact bytes, window = request start + the duration Go measured', async () => {
    const { proc, store } = newProcessor();
    const body = fixture('cpu.pb.gz');
    const s = scraped('cpu', body);
    const r = await proc.process(s);
    const rec = record(r);
    assert.ok(rec.pprof.equals(body), 'bytes unchanged');
    assert.equal(rec.isDelta, false);
    assert.equal(rec.type, 'cpu');
    const dur = i64(decode(body).durationNanos);
    assert.ok(dur > 0n);
    assert.equal(rec.startNs, BigInt(s.startedAtMs) * 1_000_000n);
    assert.equal(rec.endNs, rec.startNs + dur);
    assert.equal(rec.sampleCount, decode(body).sample.length);
    assert.equal(store.size, 0, 'no baseline for cpu');
  });

  it('goroutine: the exact bytes; 42 goroutines parked in main.parkedGoroutine', async () => {
    const { proc } = newProcessor();
    const body = fixture('goroutine.pb.gz');
    const s = scraped('goroutine', body);
    const rec = record(await proc.process(s));
    assert.ok(rec.pprof.equals(body), 'bytes unchanged');
    const p = decode(rec.pprof);
    assert.ok(total(p, 'goroutine') >= 42n);
    assert.equal(totalIn(p, 'goroutine', 'main.parkedGoroutine'), 42n);
    assert.equal(rec.startNs, BigInt(s.startedAtMs) * 1_000_000n);
    assert.equal(rec.endNs, BigInt(s.finishedAtMs) * 1_000_000n);
    assert.equal(rec.isDelta, false);
  });

  it('an uncompressed goroutine profile is accepted and shipped gzipped', async () => {
    const { proc } = newProcessor();
    const raw = gunzipSync(fixture('goroutine.pb.gz'));
    const rec = record(await proc.process(scraped('goroutine', raw)));
    assert.equal(rec.pprof[0], 0x1f);
    assert.equal(rec.pprof[1], 0x8b);
    assert.ok(gunzipSync(rec.pprof).equals(raw));
  });
});

describe('the record', () => {
  it('is frozen, carries the target tags, and has a time-ordered id', async () => {
    const { proc } = newProcessor();
    await feed(proc, 'heap', 'heap-1.pb.gz');
    const rec = record(await feed(proc, 'heap', 'heap-2.pb.gz'));
    assert.ok(Object.isFrozen(rec));
    assert.ok(Object.isFrozen(rec.tags));
    assert.ok(Object.isFrozen(rec.customTags));
    assert.throws(() => {
      (rec as { startNs: bigint }).startNs = 0n;
    }, TypeError);
    assert.throws(() => {
      (rec.tags as Record<string, string>).service = 'x';
    }, TypeError);
    assert.equal(rec.targetId, target.id);
    assert.equal(rec.service, 'go-target');
    assert.equal(rec.env, 'test');
    assert.equal(rec.version, '1.2.3');
    assert.equal(rec.instance, '127.0.0.1:6060');
    assert.deepEqual(rec.tags, {
      host: 'test-host',
      instance: '127.0.0.1:6060',
      region: 'eu-1',
      service: 'go-target',
      env: 'test',
      version: '1.2.3',
      team: 'payments',
    });
    assert.deepEqual(rec.customTags, { region: 'eu-1', team: 'payments' });
    assert.match(rec.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(Number.parseInt(rec.id.replace(/-/g, '').slice(0, 12), 16), NOW_MS, 'the first 48 bits are the record time in ms');
  });
});
