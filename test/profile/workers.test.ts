// profile/workers.ts: the pool of profile worker threads reports each
// worker's own heap (sent with its answers), by thread name.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../src/core/log.js';
import { ProfileProcessor } from '../../src/profile/processor.js';
import { WorkerPool } from '../../src/profile/workers.js';
import { fixtureProfile } from '../helpers/records.js';
import { testTarget } from '../helpers/targets.js';

test("each worker's heap as of its last answer, named profile-worker-N; none before it answered", { timeout: 30_000 }, async () => {
  const pool = new WorkerPool(2, silentLogger());
  try {
    assert.deepEqual(pool.threadHeaps(), [], 'no answers yet');
    const processor = new ProfileProcessor({ engine: pool });
    // Targets until both lanes have had a job.
    const lanes = new Set<number>();
    for (let i = 0; lanes.size < 2 && i < 50; i++) {
      const target = testTarget({ baseUrl: `http://10.0.0.${i + 1}:6060/debug/pprof` });
      lanes.add(pool.laneOf(target.id));
      await processor.process({ target, type: 'heap', body: fixtureProfile('heap-1.pb.gz'), startedAtMs: Date.now(), finishedAtMs: Date.now() });
    }
    const heaps = pool.threadHeaps();
    assert.deepEqual(heaps.map((h) => h.thread).sort(), ['profile-worker-0', 'profile-worker-1']);
    for (const h of heaps) assert.ok(h.usedBytes > 0 && h.totalBytes >= h.usedBytes && h.externalBytes >= 0, JSON.stringify(h));
  } finally {
    await pool.close();
  }
});
