// The profile stage for godeltaprof reads (ScrapedProfile.godeltaprof): the
// first read is the baseline, later ones ship as they were read over the
// window between our reads, a change of source never makes a window count
// twice, and the read's time is what a restart continues from. Bodies are
// real profiles recorded from the Go fixture (godeltaprof's have the same
// layout as Go's own; the end-to-end tests read real godeltaprof).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidProfileError } from '../../src/profile/errors.js';
import { ProfileProcessor, type NewBaseline, type ProcessResult } from '../../src/profile/processor.js';
import { fixtureProfile } from '../helpers/records.js';
import { testTarget } from '../helpers/targets.js';

const target = testTarget();
const T0 = 1_800_000_000_000;
const ns = (ms: number) => BigInt(ms) * 1_000_000n;

function read(proc: ProfileProcessor, file: string, atMs: number, godeltaprof = true, type = 'heap'): Promise<ProcessResult> {
  return proc.process({ target, type, body: fixtureProfile(file), godeltaprof, startedAtMs: atMs - 5, finishedAtMs: atMs });
}

describe('godeltaprof reads', () => {
  it('the first read is the baseline (an empty body at its time); the next ships byte for byte over [previous read, this read]', async () => {
    const proc = new ProfileProcessor();
    const first = await read(proc, 'heap-1.pb.gz', T0);
    assert.equal(first.kind, 'baseline');
    assert.deepEqual({ ...first.baseline, body: first.baseline.body.length }, { targetId: target.id, type: 'heap', timeNs: ns(T0), body: 0 });

    const second = await read(proc, 'heap-2.pb.gz', T0 + 10_000);
    assert.equal(second.kind, 'shipped');
    if (second.kind !== 'shipped') return;
    const r = second.record;
    assert.ok(r.pprof.equals(fixtureProfile('heap-2.pb.gz')), 'not re-encoded');
    assert.deepEqual([r.startNs, r.endNs, r.isDelta, r.datakitFileName, r.pyroscopeName], [ns(T0), ns(T0 + 10_000), true, 'delta-heap.pprof', 'memory']);
    assert.equal(second.baseline?.body.length, 0);
    assert.equal(second.baseline?.timeNs, ns(T0 + 10_000));
    assert.equal(second.stats.windowSeconds, 10);
    assert.equal(second.stats.delta?.alloc_space, second.stats.scraped.alloc_space, 'its alloc_* are the window\'s already');
  });

  it('a change of source starts over with a baseline, both ways', async () => {
    const proc = new ProfileProcessor();
    assert.equal((await read(proc, 'heap-1.pb.gz', T0, false)).kind, 'baseline');
    assert.equal((await read(proc, 'heap-2.pb.gz', T0 + 10_000, true)).kind, 'baseline', 'our own baseline is no godeltaprof read');
    assert.equal((await read(proc, 'heap-3.pb.gz', T0 + 20_000, true)).kind, 'shipped');
    assert.equal((await read(proc, 'heap-4.pb.gz', T0 + 30_000, false)).kind, 'baseline', 'a godeltaprof read is no baseline for our own delta');
    assert.equal((await read(proc, 'heap-5.pb.gz', T0 + 40_000, false)).kind, 'shipped');
  });

  it('after a restart the saved read (an empty body and its time) is where the next window starts', async () => {
    const saved = new Map<string, NewBaseline>();
    const proc = new ProfileProcessor({ saved: async (id, type) => saved.get(`${id}/${type}`) });
    saved.set(`${target.id}/heap`, { targetId: target.id, type: 'heap', timeNs: ns(T0), body: new Uint8Array(0) });
    const r = await read(proc, 'heap-2.pb.gz', T0 + 10_000);
    assert.equal(r.kind, 'shipped');
    if (r.kind === 'shipped') assert.deepEqual([r.record.startNs, r.record.endNs], [ns(T0), ns(T0 + 10_000)]);
    // A saved scraped body (our own delta's) is not a read: a new baseline.
    const other = new ProfileProcessor({ saved: async () => ({ body: fixtureProfile('heap-1.pb.gz'), timeNs: ns(T0) }) });
    assert.equal((await read(other, 'heap-2.pb.gz', T0 + 10_000)).kind, 'baseline');
  });

  it('our clock going back is a reset, never a window that ends before it starts', async () => {
    const proc = new ProfileProcessor();
    await read(proc, 'heap-1.pb.gz', T0);
    const r = await read(proc, 'heap-2.pb.gz', T0 - 1_000);
    assert.equal(r.kind, 'reset');
    if (r.kind === 'reset') assert.match(r.reason, /clock went back/);
  });

  it('validated: a body of another type, or not a profile, fails in words', async () => {
    const proc = new ProfileProcessor();
    await assert.rejects(read(proc, 'heap-1.pb.gz', T0, true, 'mutex'), (err: Error) => err instanceof InvalidProfileError && /not a mutex profile: it has sample types \[alloc_objects/.test(err.message));
    await assert.rejects(
      proc.process({ target, type: 'heap', body: Buffer.from('<html>login</html>'), godeltaprof: true, contentType: 'text/html', startedAtMs: T0, finishedAtMs: T0 }),
      (err: Error) => err instanceof InvalidProfileError && /HTML page/.test(err.message),
    );
  });
});
