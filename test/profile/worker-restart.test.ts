// A profile worker that dies is replaced with no baselines in memory; the
// processor hands the new one the saved baseline (the body of the last
// persisted delta), so the next delta starts exactly where the last one
// ended instead of becoming a new baseline, or continuing from a stale one.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../src/core/log.js';
import { ProfileProcessor, type NewBaseline, type ProcessResult } from '../../src/profile/processor.js';
import { WorkerPool } from '../../src/profile/workers.js';
import { waitFor } from '../helpers/processes.js';
import { fixtureProfile } from '../helpers/records.js';
import { testTarget } from '../helpers/targets.js';

test('after a worker is replaced, the next delta continues from the saved baseline, exactly', { timeout: 30_000 }, async () => {
  const saved = new Map<string, NewBaseline>();
  let replaced = 0;
  let processor: ProfileProcessor | null = null;
  const pool = new WorkerPool(1, silentLogger(), () => {
    replaced++;
    processor?.engineReset();
  });
  const asked: string[] = [];
  processor = new ProfileProcessor({
    engine: pool,
    saved: async (targetId, type) => {
      asked.push(type);
      return saved.get(`${targetId}/${type}`);
    },
  });
  try {
    const target = testTarget();
    const scrape = async (file: string): Promise<ProcessResult> => {
      const r = await processor!.process({ target, type: 'heap', body: fixtureProfile(file), startedAtMs: Date.now(), finishedAtMs: Date.now() });
      if (r.kind !== 'shipped' || r.baseline) saved.set(`${target.id}/heap`, r.baseline!); // what the spool would keep
      return r;
    };
    assert.equal((await scrape('heap-1.pb.gz')).kind, 'baseline');
    const second = await scrape('heap-2.pb.gz');
    assert.equal(second.kind, 'shipped');
    assert.deepEqual(asked, ['heap'], 'asked once, at the first scrape (nothing saved yet)');

    // The worker dies; a new one takes its place.
    await (pool as unknown as { slots: Array<{ worker: { terminate(): Promise<number> } }> }).slots[0]!.worker.terminate();
    await waitFor(() => replaced === 1, 5_000, 'the worker to be replaced');

    const third = await scrape('heap-3.pb.gz');
    assert.equal(third.kind, 'shipped', 'a delta, not a new baseline');
    assert.equal(asked.length, 2, 'the processor asked for the saved baseline again');
    if (second.kind !== 'shipped' || third.kind !== 'shipped') return;
    assert.equal(third.record.startNs, second.record.endNs, 'the window starts where the last delta ended');
  } finally {
    await pool.close();
  }
});
